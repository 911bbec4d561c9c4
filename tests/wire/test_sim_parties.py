"""Called parties over the inbound ESL (real TCP): a campaign's `bgapi originate` to busy, unanswered,
invalid, powered-off and answering numbers through `sofia/gateway/carrier/<number>`, the BACKGROUND_JOB
results, the legs' events and causes, the answered party bridged to an agent or hearing a message, and the
simulator's party counters (dials per outcome, legs up at once, the answered party's wait)."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import replace

import pytest

from cc.sim import AgentSpec, PartyPopulation, PartySpec, Simulator
from tests.wire.sim_fixtures import EslClient, Summary, summarize

SCALE = 0.02
OPTS = "ignore_early_media=true,origination_caller_id_number=4008001234"


def _pop(**numbers: PartySpec) -> PartyPopulation:
    return PartyPopulation(seed=4, numbers={n: replace(s, number=n) for n, s in numbers.items()})


def _uuid(i: int) -> str:
    return f"22222222-0000-0000-0000-{i:012d}"


class _Listener:
    """An inbound ESL client subscribed to everything, keeping full event headers."""

    def __init__(self, sim: Simulator) -> None:
        self.client = EslClient.connect(sim.inbound_address)
        assert self.client.read().content_type == "auth/request"
        assert self.client.command("auth ClueCon").reply_text == "+OK accepted"
        assert self.client.command("event plain ALL").reply_text.startswith("+OK")
        self.events: list[tuple[Summary, dict[str, str]]] = []

    def originate(self, uuid: str, number: str, timeout: int = 30) -> None:
        r = self.client.command(f"bgapi originate {{origination_uuid={uuid},{OPTS},originate_timeout={timeout}}}"
                                f"sofia/gateway/carrier/{number} &park()")
        assert r.reply_text.startswith("+OK Job-UUID: ")

    def api(self, cmd: str) -> str:
        r = self.client.command(f"api {cmd}")
        self._absorb()
        return r.text

    def _absorb(self) -> None:
        while self.client.frames:
            f = self.client.frames.pop(0)
            if f.is_event:
                self.events.append((summarize(f), dict(f.event().headers())))

    def until(self, cond: object, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not cond(self):   # type: ignore[operator]
            assert time.monotonic() < deadline, [s.name for s, _ in self.events][-20:]
            self.client.fill(0.05)
            self._absorb()

    def destroyed(self, uuid: str) -> bool:
        return any(s.name == "CHANNEL_DESTROY" and s.uuid == uuid for s, _ in self.events)

    def job(self, uuid: str) -> str | None:
        return next((s.body for s, _ in self.events if s.name == "BACKGROUND_JOB" and s.leg == uuid), None)

    def names(self, uuid: str) -> list[str]:
        """The leg's significant events, its BACKGROUND_JOB in its place."""
        return [s.name or "" for s, _ in self.events
                if not s.incidental and (s.uuid == uuid or (s.name == "BACKGROUND_JOB" and s.leg == uuid))]

    def header(self, uuid: str, event: str) -> dict[str, str]:
        return next(h for s, h in self.events if s.name == event and s.uuid == uuid)


REFUSED = ["CHANNEL_OUTGOING", "CHANNEL_CREATE", "CHANNEL_ORIGINATE", "CHANNEL_HANGUP", "CHANNEL_HANGUP_COMPLETE",
           "BACKGROUND_JOB", "CHANNEL_DESTROY"]


@pytest.mark.timeout(60)
def test_failed_dials_jobs_events_and_causes() -> None:
    """Busy, invalid (空号), off (关机), rejected, suspended (停机): refused at once as the captured 486/404/480
    (job after CHANNEL_HANGUP_COMPLETE); no answer: 180, then our CANCEL at originate_timeout (the job between
    CHANNEL_HANGUP and CHANNEL_HANGUP_COMPLETE); the far end's SIP answer in the leg's variables."""
    pop = _pop(**{"13900000001": PartySpec(outcome="busy"), "13900000002": PartySpec(outcome="invalid"),
                  "13900000003": PartySpec(outcome="off"), "13900000004": PartySpec(outcome="rejected"),
                  "13900000005": PartySpec(outcome="suspended"), "13900000006": PartySpec(outcome="no_answer")})
    want = {1: ("USER_BUSY", "486", "17"), 2: ("UNALLOCATED_NUMBER", "404", "1"),
            3: ("NO_USER_RESPONSE", "480", "18"), 4: ("CALL_REJECTED", "603", "21"),
            5: ("INCOMING_CALL_BARRED", "403", "54")}
    with Simulator(time_scale=SCALE, parties=pop) as sim:
        es = _Listener(sim)
        # the unanswered dial first, ringing 60 simulated seconds while the five refusals come and go: two legs
        # up at once however slowly a loaded host sends the next originate
        es.originate(_uuid(6), "13900000006", timeout=60)
        es.until(lambda e: any(s.name == "CHANNEL_PROGRESS" and s.uuid == _uuid(6) for s, _ in e.events))
        for i in range(1, 6):
            es.originate(_uuid(i), f"1390000000{i}", timeout=15)
        es.until(lambda e: all(e.destroyed(_uuid(i)) for i in range(1, 7)))
        stats = sim.stats()["parties"]
    for i, (cause, sip, q850) in want.items():
        u = _uuid(i)
        assert es.job(u) == f"-ERR {cause}\n"
        assert es.names(u) == REFUSED, (i, es.names(u))
        h = es.header(u, "CHANNEL_HANGUP_COMPLETE")
        assert (h["Hangup-Cause"], h["variable_sip_term_status"], h["variable_sip_term_cause"],
                h["variable_hangup_cause_q850"], h["variable_sip_hangup_disposition"]) == (
            cause, sip, q850, q850, "recv_refuse")
        assert h["Caller-Caller-ID-Number"] == "4008001234" and h["Caller-Destination-Number"] == f"1390000000{i}"
        assert h["variable_ignore_early_media"] == "true"
    u = _uuid(6)
    assert es.job(u) == "-ERR NO_ANSWER\n"
    assert es.names(u) == ["CHANNEL_OUTGOING", "CHANNEL_CREATE", "CHANNEL_ORIGINATE", "CHANNEL_PROGRESS",
                           "CHANNEL_HANGUP", "BACKGROUND_JOB", "CHANNEL_HANGUP_COMPLETE", "CHANNEL_DESTROY"]
    h = es.header(u, "CHANNEL_HANGUP_COMPLETE")
    assert (h["Hangup-Cause"], h["variable_sip_hangup_disposition"]) == ("NO_ANSWER", "send_cancel")
    assert "variable_sip_term_status" not in h
    progress, hangup = es.header(u, "CHANNEL_PROGRESS"), es.header(u, "CHANNEL_HANGUP")
    rang = (int(hangup["Event-Date-Timestamp"]) - int(progress["Event-Date-Timestamp"])) / 1e6
    assert 59 - 0.05 <= rang <= 60      # originate_timeout=60 ends on the clock's 60th second (N-1 to N s)
    assert stats["outcomes"] == {"busy": 1, "invalid": 1, "off": 1, "rejected": 1, "suspended": 1, "no_answer": 1}
    assert stats["causes"] == {"USER_BUSY": 1, "UNALLOCATED_NUMBER": 1, "NO_USER_RESPONSE": 1, "CALL_REJECTED": 1,
                               "INCOMING_CALL_BARRED": 1, "NO_ANSWER": 1}
    assert stats["peak_legs"] >= 2 and stats["legs_up"] == 0 and stats["answered"] == 0


@pytest.mark.timeout(60)
def test_answered_party_bridged_to_an_agent_then_hangs_up() -> None:
    """The party rings 3 s and answers (job +OK after CHANNEL_ANSWER, then park); cc originates an agent leg
    and bridges them 2 s later; the party talks 20 s and hangs up (recv_bye). The simulator's wait is the
    answer-to-bridge time the events show."""
    pop = _pop(**{"13900000010": PartySpec(outcome="answer", ring=3, talk=20, patience=30)})
    with Simulator(time_scale=SCALE, parties=pop, agents=[AgentSpec("1001", answer_after=0.5, talk_time=None)]) as sim:
        es = _Listener(sim)
        party, agent = _uuid(10), _uuid(11)
        es.originate(party, "13900000010")
        es.until(lambda e: e.job(party) is not None)
        assert es.job(party) == f"+OK {party}\n"
        assert sim.stats()["parties"]["legs_up"] == 1
        es.client.command(f"bgapi originate {{origination_uuid={agent}}}user/1001 &park()")
        es.until(lambda e: e.job(agent) is not None)
        sim.scheduler.sleep(1.5)
        assert es.api(f"uuid_bridge {party} {agent}") == f"+OK {agent}\n"
        es.until(lambda e: e.destroyed(party) and e.destroyed(agent), timeout=15)
        stats = sim.stats()["parties"]
    names = es.names(party)
    assert names[:7] == ["CHANNEL_OUTGOING", "CHANNEL_CREATE", "CHANNEL_ORIGINATE", "CHANNEL_PROGRESS",
                         "CHANNEL_ANSWER", "BACKGROUND_JOB", "CHANNEL_EXECUTE"]
    assert "CHANNEL_BRIDGE" in names and names[-2:] == ["CHANNEL_HANGUP_COMPLETE", "CHANNEL_DESTROY"]
    h = es.header(party, "CHANNEL_HANGUP_COMPLETE")
    assert (h["Hangup-Cause"], h["variable_sip_hangup_disposition"]) == ("NORMAL_CLEARING", "recv_bye")
    answer = int(es.header(party, "CHANNEL_ANSWER")["Event-Date-Timestamp"])
    bridge = int(es.header(party, "CHANNEL_BRIDGE")["Event-Date-Timestamp"])
    hangup = int(es.header(party, "CHANNEL_HANGUP")["Event-Date-Timestamp"])
    assert abs((hangup - bridge) / 1e6 - 20) < 0.1                     # its talk time, from the bridge
    assert stats["answered"] == 1 and stats["bridged"] == 1 and stats["hung_up_waiting"] == 0
    assert stats["wait_s"]["count"] == 1
    assert abs(stats["wait_s"]["max"] - (bridge - answer) / 1e6) < 0.05
    assert stats["outcomes"] == {"answer": 1} and stats["causes"] == {"NORMAL_CLEARING": 1}


@pytest.mark.timeout(60)
def test_answered_party_hears_the_message_or_gives_up() -> None:
    """No agent free: one party hears a message (uuid_broadcast) 1 s after its answer, which ends its wait;
    another hears nothing and hangs up after its patience (4 s): counted as hung up waiting."""
    pop = _pop(**{"13900000020": PartySpec(outcome="answer", ring=1, patience=6),
                  "13900000021": PartySpec(outcome="answer", ring=1, patience=4)})
    with Simulator(time_scale=SCALE, parties=pop) as sim:
        es = _Listener(sim)
        msg, silent = _uuid(20), _uuid(21)
        es.originate(msg, "13900000020")
        es.originate(silent, "13900000021")
        es.until(lambda e: e.job(msg) is not None and e.job(silent) is not None)
        sim.scheduler.sleep(1.0)
        assert es.api(f"uuid_broadcast {msg} silence_stream://3000 aleg") == "+OK Message sent\n"
        es.until(lambda e: any(s.name == "PLAYBACK_STOP" and s.uuid == msg for s, _ in e.events))
        assert es.api(f"uuid_kill {msg}") == "+OK\n"
        es.until(lambda e: e.destroyed(msg) and e.destroyed(silent), timeout=15)
        stats = sim.stats()["parties"]
    h = es.header(silent, "CHANNEL_HANGUP_COMPLETE")
    assert (h["Hangup-Cause"], h["variable_sip_hangup_disposition"]) == ("NORMAL_CLEARING", "recv_bye")
    answer = int(es.header(silent, "CHANNEL_ANSWER")["Event-Date-Timestamp"])
    hangup = int(es.header(silent, "CHANNEL_HANGUP")["Event-Date-Timestamp"])
    assert abs((hangup - answer) / 1e6 - 4) < 0.05
    assert es.header(msg, "CHANNEL_HANGUP_COMPLETE")["variable_sip_hangup_disposition"] == "send_bye"
    started = int(es.header(msg, "PLAYBACK_START")["Event-Date-Timestamp"])
    answered = int(es.header(msg, "CHANNEL_ANSWER")["Event-Date-Timestamp"])
    assert stats["messaged"] == 1 and stats["bridged"] == 0 and stats["hung_up_waiting"] == 1
    assert abs(stats["wait_s"]["max"] - (started - answered) / 1e6) < 0.05
    assert stats["unserved_wait_s"]["count"] == 1 and abs(stats["unserved_wait_s"]["max"] - 4) < 0.05


@pytest.mark.timeout(60)
def test_population_outcomes_over_the_wire_and_concurrent_legs() -> None:
    """40 dials into a seeded population at once: each leg's BACKGROUND_JOB is the cause of the outcome the
    population drew for its number, the counters add up, and the legs were up together."""
    pop = PartyPopulation(seed=21, answer_rate=0.3, ring=(5, 8), patience=2,
                          mix={"busy": 0.2, "invalid": 0.1, "off": 0.1})
    expected = PartyPopulation(seed=21, answer_rate=0.3, ring=(5, 8), patience=2,
                               mix={"busy": 0.2, "invalid": 0.1, "off": 0.1})
    nums = [f"1370000{i:04d}" for i in range(40)]
    drawn = {n: expected.dial(n).outcome for n in nums}
    job_for = {"answer": None, "busy": "-ERR USER_BUSY\n", "invalid": "-ERR UNALLOCATED_NUMBER\n",
               "off": "-ERR NO_USER_RESPONSE\n", "no_answer": "-ERR NO_ANSWER\n"}
    with Simulator(time_scale=0.05, parties=pop) as sim:
        es = _Listener(sim)
        es.client.send("".join(f"bgapi originate {{origination_uuid={_uuid(100 + i)},{OPTS},originate_timeout=10}}"
                               f"sofia/gateway/carrier/{n} &park()\n\n" for i, n in enumerate(nums)))
        es.until(lambda e: all(e.destroyed(_uuid(100 + i)) for i in range(len(nums))), timeout=30)
        stats = sim.stats()["parties"]
    for i, n in enumerate(nums):
        u = _uuid(100 + i)
        want = job_for[drawn[n]]
        assert es.job(u) == (want if want is not None else f"+OK {u}\n"), (n, drawn[n])
    assert stats["outcomes"] == dict(Counter(drawn.values()))
    assert stats["dials"] == 40 and stats["legs_up"] == 0
    assert stats["peak_legs"] >= sum(1 for o in drawn.values() if o in ("answer", "no_answer"))
    assert stats["answered"] == stats["hung_up_waiting"] == sum(1 for o in drawn.values() if o == "answer")


@pytest.mark.timeout(60)
def test_answering_machine_hangs_up_after_its_time_bridged_or_not() -> None:
    """A machine answers like a person (the switch cannot tell) and hangs up ``talk`` s after its answer,
    whether or not an agent was bridged to it; nobody waiting for it to speak changes that."""
    pop = _pop(**{"13900000030": PartySpec(outcome="machine", ring=2, talk=12, patience=1)})
    with Simulator(time_scale=SCALE, parties=pop) as sim:
        es = _Listener(sim)
        m = _uuid(30)
        es.originate(m, "13900000030")
        es.until(lambda e: e.destroyed(m), timeout=15)
        stats = sim.stats()["parties"]
    assert es.job(m) == f"+OK {m}\n"
    answer = int(es.header(m, "CHANNEL_ANSWER")["Event-Date-Timestamp"])
    hangup = int(es.header(m, "CHANNEL_HANGUP")["Event-Date-Timestamp"])
    assert abs((hangup - answer) / 1e6 - 12) < 0.05
    assert es.header(m, "CHANNEL_HANGUP_COMPLETE")["variable_sip_hangup_disposition"] == "recv_bye"
    assert stats["outcomes"] == {"machine": 1} and stats["answered"] == 1 and stats["hung_up_waiting"] == 1
