"""The acceptance of the whole call center on a real FreeSWITCH: `ccctl serve`, SIPp callers and agent phones.

Opt-in like the rest of tests/integration: ``pytest tests/integration --fs-host 127.0.0.1`` on the
switch's host, with freeswitch-conf/ installed and `default_password` changed in vars.xml (see
freeswitch-conf/README.md), and Debian's ``sip-tester`` (SIPp) and ``sox``. Without --fs-host every
test here is skipped.

Each test starts `ccctl serve` as a process (cc.yaml pointing at the switch, a temporary SQLite
database seeded with a queue, its agents and their tiers, agents logged in), agent phones (SIPp on
free ports of 127.0.0.1, reached as ``sofia/internal/<agent>@127.0.0.1:<port>``) that answer, refuse
with 486, ring without answering, or answer and hang up, and SIPp callers that dial 7000, press
digits (RFC 2833) in the menu and wait for the switch's BYE or give up. Then it checks what the wire
tests check on cc.sim, here against what the real switch did:

- every call has its ``calls`` row, with the caller's number and the dialled number, ended, with a
  disposition and the hang-up cause;
- every member of the queue has exactly one ENTER and exactly one final queue event;
- no agent is stuck (every agent idle at the end, nothing in progress in the controller);
- no channel is left on the switch (``show channels as json`` has no row).
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from cc.model import (
    Agent,
    AgentState,
    AgentStateEvent,
    AgentStatus,
    QueueConfig,
    QueueEventType,
    RecordPolicy,
    Strategy,
    Tier,
)
from cc.store.db import Database, upgrade
from cc.store.repos import (
    AgentRepo,
    AgentStateEventRepo,
    CallLegRepo,
    CallRepo,
    QueueEventRepo,
    QueueRepo,
    RecordingRepo,
    TierRepo,
)
from tests.integration.conftest import OUTBOUND, CcServer, Esl, EventTap, Sipp, make_prompt, tcp_port_free, wait_callers
from tests.netproxy import CuttableProxy
from tests.pg import pg_schema_url

pytestmark = pytest.mark.timeout(180)

TERMINAL = {QueueEventType.ABANDON, QueueEventType.COMPLETE_AGENT, QueueEventType.COMPLETE_CALLER,
            QueueEventType.EXIT_TIMEOUT, QueueEventType.EXIT_NO_AGENT, QueueEventType.EXIT_FULL,
            QueueEventType.EXIT_KEY, QueueEventType.CALLBACK_REQUESTED}

MENU_FLOW = """\
flow: menu
start: menu
nodes:
  menu:
    menu:
      prompt: prompts/menu.wav
      choices: {"1": support}
      timeout: 5s
      retries: 1
      into: choice
    on_fail: bye
  support: {enqueue: {queue: support}, next: bye}
  bye: {hangup: NORMAL_CLEARING}
"""


def _setup(srv: CcServer, agents: list[Agent], queue: QueueConfig) -> None:
    """The flow, its prompt and the store: the queue, its agents (logged in, idle) and their tiers."""
    (srv.workdir / "flows" / "menu.yaml").write_text(MENU_FLOW)
    make_prompt(srv.workdir / "flows" / "prompts" / "menu.wav", 4.0)
    db = Database(srv.db_url)
    upgrade(engine=db.engine)
    QueueRepo(db).create(queue)
    for i, a in enumerate(agents):
        AgentRepo(db).create(a)
        TierRepo(db).add(Tier(a.id, queue.name, position=i + 1))
        # logged in when the last controller stopped: `ccctl serve` restores them
        AgentStateEventRepo(db).add(AgentStateEvent(f"it-login-{i}", 1.0, a.id, AgentStatus.AVAILABLE,
                                                    AgentState.IDLE))
    db.engine.dispose()


def _bridges(fs_api: Esl) -> list[dict[str, Any]]:
    """``show calls as json``: the switch's bridged pairs now."""
    doc = json.loads(fs_api.api("show calls as json"))
    return [row for row in doc.get("rows") or [] if row.get("b_uuid")]


def _queue(**kw: Any) -> QueueConfig:
    return QueueConfig("support", announce_position=False, **kw)


def _agent(agent_id: str, port: int, **kw: Any) -> Agent:
    kw.setdefault("wrap_up_s", 0.0)
    return Agent(agent_id, contact=f"sofia/internal/{agent_id}@127.0.0.1:{port}", **kw)


def _wait_agents_idle(srv: CcServer, timeout: float) -> dict[str, dict[str, Any]]:
    """Poll the controller until no agent is in a call state other than idle; the agents at the end."""
    deadline = time.monotonic() + timeout
    while True:
        agents = srv.agents()
        if all(a["state"] == "idle" for a in agents.values()) or time.monotonic() > deadline:
            return agents
        time.sleep(0.25)


def _wait_no_live_calls(srv: CcServer, timeout: float) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        calls = srv.live_calls()
        if not calls or time.monotonic() > deadline:
            return calls
        time.sleep(0.25)


class Outcome:
    """What the store holds after `ccctl serve` stopped."""

    def __init__(self, db_url: str) -> None:
        db = Database(db_url)
        self.calls = list(CallRepo(db).scan(0, 4e9))
        self.legs = list(CallLegRepo(db).scan(0, 4e9))
        self.queue_events = sorted(QueueEventRepo(db).scan(0, 4e9), key=lambda e: e.at)
        db.engine.dispose()
        self.by_member: dict[str, list[Any]] = defaultdict(list)
        for e in self.queue_events:
            self.by_member[e.member_uuid].append(e)

    def inbound(self) -> list[Any]:
        """The callers' calls rows."""
        return [c for c in self.calls if str(c.direction.value if hasattr(c.direction, "value") else c.direction)
                == "inbound"]

    def types(self, member: str) -> list[str]:
        """The member's queue event types, in order."""
        return [e.type.value for e in self.by_member[member]]


def _check_invariants(out: Outcome, *, calls: int, service: str = "7000") -> None:
    """Every call has its row; one ENTER and one final queue event per member."""
    inbound = out.inbound()
    assert len(inbound) == calls, [(c.uuid, c.caller, c.callee) for c in out.calls]
    for c in inbound:
        assert c.caller.startswith("1555"), f"call {c.uuid}: caller {c.caller!r} (the SIPp From user is 1555N)"
        assert c.callee == service, f"call {c.uuid}: callee {c.callee!r}"
        assert c.flow == "menu", f"call {c.uuid}: flow {c.flow!r}"
        assert c.ended_at is not None, f"call {c.uuid} has no end"
        assert c.disposition, f"call {c.uuid}: no disposition (hangup cause {c.hangup_cause})"
        assert c.hangup_cause, f"call {c.uuid}: no hangup cause (disposition {c.disposition})"
    assert out.by_member, "no queue events at all"
    for member, events in out.by_member.items():
        kinds = [e.type for e in events]
        assert kinds.count(QueueEventType.ENTER) == 1, (member, [k.value for k in kinds])
        assert len([k for k in kinds if k in TERMINAL]) == 1, (member, [k.value for k in kinds])


def _finish(srv: CcServer, fs_api: Esl, agent_ids: list[str]) -> Outcome:
    """The end of every test: nothing left on the switch or in the controller; stop cc; the store."""
    left = fs_api.wait_no_channels(15)
    assert not left, "channels left on the switch: " + "; ".join(
        f"{r.get('uuid')} {r.get('name')} {r.get('application')} {r.get('callstate')}" for r in left)
    live = _wait_no_live_calls(srv, 10)
    assert not live, f"calls still in progress in cc: {live}"
    agents = _wait_agents_idle(srv, 10)
    stuck = {a: (v["status"], v["state"]) for a, v in agents.items() if v["state"] != "idle"}
    assert not stuck, f"agents stuck: {stuck}"
    assert set(agent_ids) <= set(agents)
    rc = srv.stop()
    assert rc == 0, srv.log_text()[-3000:]
    return Outcome(srv.db_url)


def test_menu_queue_and_agents_who_answer_and_hang_up(fs_api: Esl, sipp: Sipp, cc_server: CcServer) -> None:
    """Six callers press 1, wait in the queue, talk to one of three agents who hang up after 3 s."""
    phone = sipp.phone("uas_answer.xml", TALK_MS=3000)
    agents = [_agent(f"200{i}", phone.port) for i in range(1, 4)]
    _setup(cc_server, agents, _queue())
    cc_server.start({"7000": "menu.yaml"})
    callers = sipp.callers("7000", calls=6, rate=1.0, digits="1", wait_ms=45000)
    rc, err = wait_callers(callers, 120, sipp.workdir)
    assert rc == 0, f"SIPp callers: exit {rc}\n{err}\n--- ccctl serve:\n{cc_server.log_text()[-3000:]}"
    out = _finish(cc_server, fs_api, [a.id for a in agents])
    _check_invariants(out, calls=6)
    for member in out.by_member:
        assert out.types(member)[0] == "ENTER"
        assert "CONNECT" in out.types(member) and out.types(member)[-1] == "COMPLETE_AGENT", out.types(member)
    for c in out.inbound():
        assert c.answered_at is not None
    agent_legs = [leg for leg in out.legs if leg.agent_id]
    assert len(agent_legs) >= 6 and all(leg.ended_at is not None for leg in agent_legs)


def test_caller_hangs_up_while_talking(fs_api: Esl, sipp: Sipp, cc_server: CcServer) -> None:
    """Callers hang up while bridged to an agent who would stay: COMPLETE_CALLER and a disposition."""
    phone = sipp.phone("uas_answer.xml", TALK_MS=120000)
    agents = [_agent(f"210{i}", phone.port) for i in range(1, 3)]
    _setup(cc_server, agents, _queue())
    cc_server.start({"7000": "menu.yaml"})
    # digits end about 2.3 s after the answer; then enqueue, ring, bridge; the caller leaves 8 s later
    callers = sipp.callers("7000", calls=2, rate=1.0, digits="1", wait_ms=8000)
    rc, err = wait_callers(callers, 60, sipp.workdir)
    assert rc == 0, f"SIPp callers: exit {rc}\n{err}\n--- ccctl serve:\n{cc_server.log_text()[-3000:]}"
    out = _finish(cc_server, fs_api, [a.id for a in agents])
    _check_invariants(out, calls=2)
    for member in out.by_member:
        assert "CONNECT" in out.types(member) and out.types(member)[-1] == "COMPLETE_CALLER", out.types(member)


def test_busy_and_unanswered_agents_are_passed_over(fs_api: Esl, sipp: Sipp, cc_server: CcServer) -> None:
    """One agent's phone refuses (486), one rings unanswered: the calls end with the agent who answers.

    Top-down in tier order: the first call is offered to the busy phone, then to the one that rings
    for the 3 s offer timeout, then to the one that answers; later calls skip the first two while
    their busy / no-answer delays run.
    """
    busy = sipp.phone("uas_busy.xml")
    ringing = sipp.phone("uas_noanswer.xml")
    answering = sipp.phone("uas_answer.xml", TALK_MS=2000)
    agents = [_agent("2201", busy.port), _agent("2202", ringing.port), _agent("2203", answering.port)]
    _setup(cc_server, agents, _queue(offer_timeout_s=3.0, strategy=Strategy.TOP_DOWN))
    cc_server.start({"7000": "menu.yaml"})
    callers = sipp.callers("7000", calls=3, rate=0.2, digits="1", wait_ms=60000, limit=1)
    rc, err = wait_callers(callers, 150, sipp.workdir)
    assert rc == 0, f"SIPp callers: exit {rc}\n{err}\n--- ccctl serve:\n{cc_server.log_text()[-3000:]}"
    out = _finish(cc_server, fs_api, [a.id for a in agents])
    _check_invariants(out, calls=3)
    for member in out.by_member:
        assert out.types(member)[-1] == "COMPLETE_AGENT", out.types(member)
        connect = [e for e in out.by_member[member] if e.type == QueueEventType.CONNECT]
        assert [e.agent_id for e in connect] == ["2203"], out.types(member)
    every = [(e.type.value, e.agent_id) for e in out.queue_events]
    assert ("AGENT_BUSY", "2201") in every or ("AGENT_REJECT", "2201") in every, every
    assert ("RING_NO_ANSWER", "2202") in every, every
    causes = {(leg.agent_id, leg.hangup_cause) for leg in out.legs if leg.agent_id in ("2201", "2202")}
    assert ("2201", "USER_BUSY") in causes, causes
    assert any(agent == "2202" and cause in ("NO_ANSWER", "ORIGINATOR_CANCEL") for agent, cause in causes), causes


def test_caller_gives_up_while_an_agent_rings(fs_api: Esl, sipp: Sipp, cc_server: CcServer) -> None:
    """The caller hangs up while the only agent's phone rings: ABANDON, the ringing leg is cancelled."""
    ringing = sipp.phone("uas_noanswer.xml")
    agents = [_agent("2301", ringing.port)]
    _setup(cc_server, agents, _queue(offer_timeout_s=60.0))
    cc_server.start({"7000": "menu.yaml"})
    callers = sipp.callers("7000", calls=1, rate=1.0, digits="1", wait_ms=6000)
    rc, err = wait_callers(callers, 60, sipp.workdir)
    assert rc == 0, f"SIPp callers: exit {rc}\n{err}\n--- ccctl serve:\n{cc_server.log_text()[-3000:]}"
    out = _finish(cc_server, fs_api, [a.id for a in agents])
    _check_invariants(out, calls=1)
    (member,) = out.by_member
    assert out.types(member)[-1] == "ABANDON", out.types(member)
    assert out.inbound()[0].disposition == "abandoned", out.inbound()[0]
    legs = [leg for leg in out.legs if leg.agent_id == "2301"]
    assert legs and all(leg.ended_at is not None for leg in legs), legs


def test_a_wrong_key_then_no_input_ends_in_the_menu(fs_api: Esl, sipp: Sipp, cc_server: CcServer) -> None:
    """A caller presses 9 (not a choice), then nothing: the menu gives up and the flow hangs up; no queue."""
    phone = sipp.phone("uas_answer.xml", TALK_MS=2000)
    agents = [_agent("2401", phone.port)]
    _setup(cc_server, agents, _queue())
    cc_server.start({"7000": "menu.yaml"})
    callers = sipp.callers("7000", calls=1, rate=1.0, digits="9", wait_ms=40000)
    rc, err = wait_callers(callers, 60, sipp.workdir)
    assert rc == 0, f"SIPp callers: exit {rc}\n{err}\n--- ccctl serve:\n{cc_server.log_text()[-3000:]}"
    left = fs_api.wait_no_channels(15)
    assert not left, left
    rc = cc_server.stop()
    assert rc == 0
    out = Outcome(cc_server.db_url)
    (call,) = out.inbound()
    assert call.caller.startswith("1555") and call.callee == "7000" and call.ended_at is not None, call
    assert not out.queue_events, [(e.type.value, e.member_uuid) for e in out.queue_events]


@pytest.mark.timeout(240)
def test_thirty_calls_through_six_agents(fs_api: Esl, sipp: Sipp, cc_server: CcServer) -> None:
    """30 callers at 3 calls/s through 6 agents who talk 2 s: all served, all invariants hold."""
    phone = sipp.phone("uas_answer.xml", TALK_MS=2000)
    agents = [_agent(f"25{i:02d}", phone.port) for i in range(1, 7)]
    _setup(cc_server, agents, _queue())
    cc_server.start({"7000": "menu.yaml"})
    callers = sipp.callers("7000", calls=30, rate=3.0, digits="1", wait_ms=90000)
    rc, err = wait_callers(callers, 200, sipp.workdir)
    assert rc == 0, f"SIPp callers: exit {rc}\n{err}\n--- ccctl serve:\n{cc_server.log_text()[-3000:]}"
    out = _finish(cc_server, fs_api, [a.id for a in agents])
    _check_invariants(out, calls=30)
    assert all(out.types(m)[-1] == "COMPLETE_AGENT" for m in out.by_member)
    assert len({c.caller for c in out.inbound()}) == 30


def test_sipp_is_the_callers_program(sipp: Sipp) -> None:
    """The SIPp the tests use can play RFC 2833 pcaps (the -PCAP build of Debian's sip-tester)."""
    version = subprocess.run([sipp.binary, "-v"], capture_output=True, text=True).stdout
    assert "PCAP" in version, version


def test_caller_hangs_up_during_the_menu(fs_api: Esl, sipp: Sipp, cc_server: CcServer) -> None:
    """Callers leave 1 s into the menu prompt, before any key: the call is recorded, no queue, nothing left."""
    phone = sipp.phone("uas_answer.xml", TALK_MS=2000)
    agents = [_agent("2601", phone.port)]
    _setup(cc_server, agents, _queue())
    cc_server.start({"7000": "menu.yaml"})
    callers = sipp.callers("7000", calls=3, rate=2.0, wait_ms=1000)
    rc, err = wait_callers(callers, 60, sipp.workdir)
    assert rc == 0, f"SIPp callers: exit {rc}\n{err}\n--- ccctl serve:\n{cc_server.log_text()[-3000:]}"
    out = _finish(cc_server, fs_api, [a.id for a in agents])
    assert len(out.inbound()) == 3
    for c in out.inbound():
        assert c.caller.startswith("1555") and c.callee == "7000" and c.ended_at is not None, c
        assert c.disposition, f"call {c.uuid}: no disposition (hangup cause {c.hangup_cause})"
    assert not out.queue_events, [(e.type.value, e.member_uuid) for e in out.queue_events]


def test_recorded_queue_calls_leave_their_files(fs_api: Esl, sipp: Sipp, cc_server: CcServer) -> None:
    """A queue that records every call: FreeSWITCH writes the file, cc records its row with the file's facts."""
    phone = sipp.phone("uas_answer.xml", TALK_MS=3000)
    agents = [_agent("2701", phone.port), _agent("2702", phone.port)]
    _setup(cc_server, agents, _queue(record_policy=RecordPolicy.ALWAYS))
    cc_server.start({"7000": "menu.yaml"})
    callers = sipp.callers("7000", calls=2, rate=1.0, digits="1", wait_ms=40000)
    rc, err = wait_callers(callers, 60, sipp.workdir)
    assert rc == 0, f"SIPp callers: exit {rc}\n{err}\n--- ccctl serve:\n{cc_server.log_text()[-3000:]}"
    out = _finish(cc_server, fs_api, [a.id for a in agents])
    _check_invariants(out, calls=2)
    db = Database(cc_server.db_url)
    recs = list(RecordingRepo(db).scan(0, 4e9))
    db.engine.dispose()
    assert len(recs) == 2, recs
    for r in recs:
        path = Path(r.path)
        assert path.is_file(), f"recording {r.path} not on disk"
        assert path.stat().st_size > 8000, (r.path, path.stat().st_size)
        assert r.stopped_at is not None and r.duration_s is not None, r
        # the agent hangs up 3 s after answering; the recording runs while the two talk
        assert 1.0 < r.duration_s < 10.0, r


def test_a_stalled_controller_leaves_no_call_in_limbo(fs_api: Esl, sipp: Sipp, cc_server: CcServer) -> None:
    """`ccctl serve` is stopped (SIGSTOP) for 12 s with calls in the menu, in the queue and talking.

    After SIGCONT every call ends one way or the other: each has its row and a disposition, each
    member its one final queue event, no agent is stuck, and no channel is left on the switch (none
    sits in the `socket` application, ringing, with nobody controlling it).
    """
    phone = sipp.phone("uas_answer.xml", TALK_MS=4000)
    agents = [_agent(f"28{i:02d}", phone.port) for i in range(1, 4)]
    _setup(cc_server, agents, _queue())
    cc_server.start({"7000": "menu.yaml"})
    assert cc_server.proc is not None
    callers = sipp.callers("7000", calls=12, rate=2.0, digits="1", wait_ms=60000)
    time.sleep(3.0)
    cc_server.proc.send_signal(signal.SIGSTOP)
    try:
        time.sleep(12.0)
    finally:
        cc_server.proc.send_signal(signal.SIGCONT)
    rc, err = wait_callers(callers, 150, sipp.workdir)
    left = fs_api.wait_no_channels(30)
    assert not left, "channels left on the switch after the stall: " + "; ".join(
        f"{r.get('name')} {r.get('application')} {r.get('callstate')}" for r in left) + \
        f"\n--- SIPp ({rc}):\n{err[-2000:]}\n--- ccctl serve:\n{cc_server.log_text()[-3000:]}"
    out = _finish(cc_server, fs_api, [a.id for a in agents])
    calls = out.inbound()
    assert len(calls) == 12, f"{len(calls)} calls rows for 12 calls"
    for c in calls:
        assert c.ended_at is not None and c.disposition, c
    for member, events in out.by_member.items():
        kinds = [e.type for e in events]
        assert kinds.count(QueueEventType.ENTER) == 1, (member, [k.value for k in kinds])
        assert len([k for k in kinds if k in TERMINAL]) == 1, (member, [k.value for k in kinds])


def test_times_recorded_after_a_stall_are_the_switchs(fs: tuple[str, int, str], fs_api: Esl, sipp: Sipp,
                                                       cc_server: CcServer) -> None:
    """Agents hang up while `ccctl serve` is stopped: the records still carry the times the switch reported."""
    tap = EventTap(*fs, names=["CHANNEL_HANGUP_COMPLETE"])
    try:
        phone = sipp.phone("uas_answer.xml", TALK_MS=4000)
        agents = [_agent("2901", phone.port), _agent("2902", phone.port)]
        _setup(cc_server, agents, _queue())
        cc_server.start({"7000": "menu.yaml"})
        assert cc_server.proc is not None
        callers = sipp.callers("7000", calls=2, rate=10.0, digits="1", wait_ms=60000)
        deadline = time.monotonic() + 30
        # both callers bridged on the switch, not only the agents in call: cc counts an agent in call from his
        # leg's answer, before its uuid_bridge; a stop between the two let the agent's 4 s run out unbridged
        while not (all(a["state"] == "in_call" for a in cc_server.agents().values())
                   and len(_bridges(fs_api)) == 2):
            assert time.monotonic() < deadline, (cc_server.agents(), _bridges(fs_api))
            time.sleep(0.1)
        cc_server.proc.send_signal(signal.SIGSTOP)   # the agents hang up 4 s after answering: during the stall
        try:
            time.sleep(8.0)
        finally:
            cc_server.proc.send_signal(signal.SIGCONT)
        rc, err = wait_callers(callers, 60, sipp.workdir)
        assert rc == 0, f"SIPp callers: exit {rc}\n{err}"
        out = _finish(cc_server, fs_api, [a.id for a in agents])
        _check_invariants(out, calls=2)
        legs = [leg for leg in out.legs if leg.agent_id]
        assert len(legs) == 2, legs
        for leg in legs:
            ev = tap.of(leg.uuid, "CHANNEL_HANGUP_COMPLETE")
            assert ev is not None, f"the switch sent no CHANNEL_HANGUP_COMPLETE for {leg.uuid}"
            answered = int(ev["Caller-Channel-Answered-Time"]) / 1e6
            hung_up = int(ev["Caller-Channel-Hangup-Time"]) / 1e6
            assert leg.ended_at is not None and abs(leg.ended_at - hung_up) < 1.0, \
                f"leg {leg.uuid}: cc ended_at {leg.ended_at:.3f}, the switch's hangup time {hung_up:.3f}"
            done = [e for e in out.by_member[leg.call_uuid] if e.type == QueueEventType.COMPLETE_AGENT]
            assert len(done) == 1 and done[0].talk_s is not None
            assert abs(done[0].talk_s - (hung_up - answered)) < 1.0, \
                f"talk {done[0].talk_s:.2f} s recorded, {hung_up - answered:.2f} s on the switch"
    finally:
        tap.close()


def _wait_in_call(srv: CcServer, count: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while sum(1 for a in srv.agents().values() if a["state"] == "in_call") < count:
        assert time.monotonic() < deadline, srv.agents()
        time.sleep(0.1)


def test_sigterm_lets_the_calls_in_progress_finish(fs_api: Esl, sipp: Sipp, cc_server: CcServer) -> None:
    """SIGTERM while two calls talk: cc stops taking calls, the talks end (agents hang up), the flows end
    with their hang-up, then cc exits 0 with everything written; nothing is left on the switch."""
    phone = sipp.phone("uas_answer.xml", TALK_MS=3000)
    agents = [_agent("3001", phone.port), _agent("3002", phone.port)]
    _setup(cc_server, agents, _queue())
    cc_server.start({"7000": "menu.yaml"})
    assert cc_server.proc is not None
    callers = sipp.callers("7000", calls=2, rate=10.0, digits="1", wait_ms=60000)
    _wait_in_call(cc_server, 2)
    cc_server.proc.send_signal(signal.SIGTERM)
    try:
        cc_server.proc.wait(20)
    except subprocess.TimeoutExpired:
        pytest.fail("ccctl serve did not exit within 20 s of SIGTERM (drain_timeout 5 s)")
    cc_server.log.close()
    assert cc_server.proc.returncode == 0, cc_server.log_text()[-3000:]
    rc, err = wait_callers(callers, 60, sipp.workdir)
    assert rc == 0, f"SIPp callers: exit {rc}\n{err}\n--- ccctl serve:\n{cc_server.log_text()[-3000:]}"
    left = fs_api.wait_no_channels(15)
    assert not left, left
    out = Outcome(cc_server.db_url)
    _check_invariants(out, calls=2)
    assert all(out.types(m)[-1] == "COMPLETE_AGENT" for m in out.by_member), dict(out.by_member)


def test_a_controller_killed_mid_call_leaves_nothing_after_its_restart(fs_api: Esl, sipp: Sipp,
                                                                      cc_server: CcServer) -> None:
    """`ccctl serve` is killed (SIGKILL) while two calls talk, and started again on the same database.

    The bridges go on without it; when the agents hang up, the callers are parked (park_after_bridge)
    with nobody controlling them. The restarted controller must learn from the switch what is left
    and settle it: no channel may stay on the switch, no agent stuck.
    """
    phone = sipp.phone("uas_answer.xml", TALK_MS=5000)
    agents = [_agent("3101", phone.port), _agent("3102", phone.port)]
    _setup(cc_server, agents, _queue())
    cc_server.start({"7000": "menu.yaml"}, extra="reconcile: {interval: 3s, grace: 2s}\n")
    callers = sipp.callers("7000", calls=2, rate=10.0, digits="1", wait_ms=60000)
    _wait_in_call(cc_server, 2)
    cc_server.kill()
    cc_server.launch()
    left = fs_api.wait_no_channels(30)
    assert not left, "channels left on the switch 30 s after the restart: " + "; ".join(
        f"{r.get('name')} app={r.get('application')} {r.get('callstate')}" for r in left)
    rc, err = wait_callers(callers, 60, sipp.workdir)
    assert rc == 0, f"SIPp callers: exit {rc}\n{err}"
    out = _finish(cc_server, fs_api, [a.id for a in agents])
    _check_invariants(out, calls=2)
    assert all(out.types(m)[-1] == "COMPLETE_AGENT" for m in out.by_member), dict(out.by_member)


def _wait_talking_and_queued(srv: CcServer, count: int, timeout: float = 15.0) -> None:
    """Wait until ``count`` of the controller's calls talk to an agent or wait in a queue."""
    deadline = time.monotonic() + timeout
    while len([c for c in srv.live_calls() if c["state"] in ("talking", "queued")]) < count:
        assert time.monotonic() < deadline, srv.live_calls()
        time.sleep(0.1)


def _hearing_prompt(fs_api: Esl, dest: str, count: int, timeout: float = 15.0) -> list[dict[str, Any]]:
    """Wait until ``count`` of the switch's channels to ``dest`` play a prompt; those channels."""
    deadline = time.monotonic() + timeout
    while True:
        rows = [r for r in fs_api.channels() if r.get("dest") == dest and r.get("application") == "playback"]
        if len(rows) >= count:
            return rows
        assert time.monotonic() < deadline, fs_api.channels()
        time.sleep(0.1)


GREETING_FLOW = """\
flow: greeting
start: hello
nodes:
  hello: {play: prompts/menu.wav, next: support}
  support: {enqueue: {queue: support}, next: bye}
  bye: {hangup: NORMAL_CLEARING}
"""


def test_callers_in_the_greeting_when_the_controller_is_killed_hear_it_again_after_its_restart(
        fs_api: Esl, sipp: Sipp, cc_server: CcServer) -> None:
    """`ccctl serve` is killed (SIGKILL) while two answered callers hear the greeting (a 4 s prompt before the
    queue); freeswitch-conf parks them. The restarted controller sends each through the dialplan again
    (``uuid_transfer`` to its ``cc_service_number``): the switch hands it to cc's socket under its UUID, the flow
    runs from the start as the call's second visit, and the caller reaches an agent instead of being hung up."""
    phone = sipp.phone("uas_answer.xml", TALK_MS=2000)
    agents = [_agent("3201", phone.port), _agent("3202", phone.port)]
    _setup(cc_server, agents, _queue())
    (cc_server.workdir / "flows" / "greeting.yaml").write_text(GREETING_FLOW)
    cc_server.start({"7000": "greeting.yaml"})
    callers = sipp.callers("7000", calls=2, rate=10.0, wait_ms=60000)
    hearing = _hearing_prompt(fs_api, "7000", 2)
    cc_server.kill()
    cc_server.launch()
    rc, err = wait_callers(callers, 90, sipp.workdir)
    assert rc == 0, f"SIPp callers: exit {rc}\n{err}\n--- ccctl serve:\n{cc_server.log_text()[-3000:]}"
    out = _finish(cc_server, fs_api, [a.id for a in agents])
    inbound = {c.uuid: c for c in out.inbound()}
    assert set(inbound) == {r["uuid"] for r in hearing}, (inbound, hearing)
    db = Database(cc_server.db_url)
    try:
        visits = {u: CallRepo(db).segments(u) for u in inbound}
    finally:
        db.engine.dispose()
    for u, c in inbound.items():
        assert (c.disposition, c.hangup_cause, c.flow) == ("flow-restarted", None, "greeting"), c
        # the answer the killed controller stored is kept (the switch's Caller-Channel-Answered-Time in uuid_dump)
        assert c.answered_at is not None and c.started_at <= c.answered_at <= c.ended_at, c
        [again] = visits[u]
        assert (again.segment, again.disposition, again.flow) == (2, "answered", "greeting"), again
        assert again.hangup_cause and again.ended_at is not None, again
        kinds = out.types(u)
        assert kinds[0] == "ENTER" and kinds.count("ENTER") == 1 and "CONNECT" in kinds, kinds
        assert kinds[-1] in ("COMPLETE_AGENT", "COMPLETE_CALLER"), kinds


def _role_becomes(srv: CcServer, role: str, timeout: float) -> float:
    """Wait until ``srv``'s /healthz names ``role``; the seconds it took."""
    t0 = time.monotonic()
    while True:
        try:
            if srv.get("/healthz").get("role") == role:
                return time.monotonic() - t0
        except OSError:
            pass
        assert time.monotonic() - t0 < timeout, f"not {role} after {timeout:.0f} s:\n{srv.log_text()[-3000:]}"
        time.sleep(0.1)


@pytest.mark.postgres
@pytest.mark.timeout(240)
def test_a_standby_takes_the_calls_over_when_the_leader_is_killed(fs: tuple[str, int, str], fs_api: Esl,
                                                                   sipp: Sipp, tmp_path: Path) -> None:
    """A standby pair on PostgreSQL as freeswitch-conf ships it (`socket` to 8084, then to 8085, then `park`):
    the leader is killed (SIGKILL) while two callers talk to the two agents, two wait in the queue and a fifth
    hears the greeting of 7001. The switch runs the second `socket` for the channels the leader's socket let go,
    the standby (not leading yet) closes it, they park; the standby leads `takeover_after` later, takes over the
    bridged calls and the waiting callers from their channels, sends the fifth through the dialplan again (its
    flow runs from the start on the new leader) and serves them all: every caller gets through its scenario,
    nothing is left on the switch, every call has its row and each stay one ENTER and one final line."""
    ha = ("ha: {role: auto, lock_id: 73913, check_interval: 1s, takeover_after: 3s}\n"
          "reconcile: {interval: 3s, grace: 2s}\n")
    with pg_schema_url() as url:
        leader = CcServer(tmp_path / "leader", fs, database=url)
        standby = CcServer(tmp_path / "standby", fs, database=url, outbound=(OUTBOUND[0], OUTBOUND[1] + 1))
        try:
            for srv in (leader, standby):
                (srv.workdir / "flows").mkdir(parents=True)
            phone = sipp.phone("uas_answer.xml", TALK_MS=12000)
            agents = [_agent("3301", phone.port), _agent("3302", phone.port)]
            _setup(leader, agents, _queue())   # the shared store, and the leader's flow
            (standby.workdir / "flows" / "menu.yaml").write_text(MENU_FLOW)
            make_prompt(standby.workdir / "flows" / "prompts" / "menu.wav", 4.0)
            routes = {"7000": "menu.yaml", "7001": "greeting.yaml"}
            for srv in (leader, standby):
                (srv.workdir / "flows" / "greeting.yaml").write_text(GREETING_FLOW)
            leader.start(routes, extra=ha)
            _role_becomes(leader, "leader", 30)
            standby.start(routes, extra=ha)
            assert standby.get("/healthz")["role"] in ("standby", "candidate")
            callers = sipp.callers("7000", calls=4, rate=10.0, digits="1", wait_ms=90000)
            _wait_in_call(leader, 2)
            _wait_talking_and_queued(leader, 4)   # 2 talk, 2 wait
            greeted = sipp.callers("7001", calls=1, rate=1.0, wait_ms=120000)
            hearing = _hearing_prompt(fs_api, "7001", 1)
            leader.kill()
            takeover_s = _role_becomes(standby, "leader", 30)
            rc, err = wait_callers(callers, 120, sipp.workdir)
            assert rc == 0, f"SIPp callers: exit {rc}\n{err}\n--- standby:\n{standby.log_text()[-3000:]}"
            rc, err = wait_callers(greeted, 120, sipp.workdir)
            assert rc == 0, f"SIPp caller of 7001: exit {rc}\n{err}\n--- standby:\n{standby.log_text()[-3000:]}"
            out = _finish(standby, fs_api, [a.id for a in agents])
        finally:
            for srv in (leader, standby):
                if srv.proc is not None and srv.proc.poll() is None:
                    srv.stop()
        [again] = hearing
        restarted = [c for c in out.inbound() if c.uuid == again["uuid"]]
        assert [(c.callee, c.disposition, c.flow) for c in restarted] == [("7001", "flow-restarted", "greeting")]
        out.calls = [c for c in out.calls if c.uuid != again["uuid"]]
        _check_invariants(out, calls=4)
        db = Database(url)
        try:
            [visit] = CallRepo(db).segments(again["uuid"])
        finally:
            db.engine.dispose()
        assert (visit.segment, visit.disposition, visit.flow) == (2, "answered", "greeting"), visit
        assert set(out.by_member) == {c.uuid for c in out.inbound()} | {again["uuid"]}
        for member in out.by_member:
            assert "CONNECT" in out.types(member) and out.types(member)[-1] == "COMPLETE_AGENT", out.types(member)
    print(json.dumps({"takeover_s": round(takeover_s, 2)}))


@pytest.mark.timeout(180)
def test_the_inbound_link_cut_for_ten_seconds_puts_no_agent_on_break(fs: tuple[str, int, str], fs_api: Esl,
                                                                      sipp: Sipp, tmp_path: Path) -> None:
    """cc's inbound ESL link reaches the switch through a TCP forwarder, which is cut for 10 s (links closed,
    the port refused) while two callers talk to the two agents and two wait. The talks end during the cut (the
    agents hang up after 6 s: their hang-ups go over the lost link). cc reconnects with backoff; no agent is
    put on break for the originates it could not send, the waiting callers are bridged after the restore,
    every caller gets through its scenario, nothing is left on the switch."""
    host, port, password = fs
    proxy = CuttableProxy((host, port))
    proxy.up()
    srv = CcServer(tmp_path / "cc", (host, proxy.port, password))
    (srv.workdir / "flows").mkdir(parents=True)
    try:
        phone = sipp.phone("uas_answer.xml", TALK_MS=6000)
        agents = [_agent("3401", phone.port), _agent("3402", phone.port)]
        _setup(srv, agents, _queue())
        srv.start({"7000": "menu.yaml"})
        callers = sipp.callers("7000", calls=4, rate=10.0, digits="1", wait_ms=90000)
        _wait_in_call(srv, 2)
        _wait_talking_and_queued(srv, 4)   # 2 talk, 2 wait
        proxy.down()
        time.sleep(10)
        proxy.up()
        rc, err = wait_callers(callers, 120, sipp.workdir)
        assert rc == 0, f"SIPp callers: exit {rc}\n{err}\n--- ccctl serve:\n{srv.log_text()[-3000:]}"
        on_break = {a: v["status"] for a, v in srv.agents().items() if v["status"] != "available"}
        assert not on_break, f"agents put on break by the link's loss: {on_break}"
        out = _finish(srv, fs_api, [a.id for a in agents])
    finally:
        proxy.down()
        if srv.proc is not None and srv.proc.poll() is None:
            srv.stop()
    _check_invariants(out, calls=4)
    for member in out.by_member:
        assert "CONNECT" in out.types(member) and out.types(member)[-1] == "COMPLETE_AGENT", out.types(member)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_hundred_calls_at_four_a_second_through_twenty_agents(fs_api: Esl, sipp: Sipp, cc_server: CcServer) -> None:
    """The load of issue 14's first real run: 100 callers at 4 calls/s, the menu, 20 agents who talk 5 s.

    With freeswitch-conf's fallback after `socket` being `hangup NORMAL_TEMPORARY_FAILURE`, it failed in 2
    of 4 runs (2026-12-07, FreeSWITCH cc93a68), one caller each, cut off right when cc bridged it:
    uuid_bridge ends the `socket` application, and the dialplan's next action ran before uuid_bridge had
    moved the channel out of CS_EXECUTE (FreeSWITCH log: "State Change CS_EXECUTE -> CS_HIBERNATE", then in
    the same millisecond "mod_dptools.c Hangup ... [CS_HIBERNATE] [NORMAL_TEMPORARY_FAILURE]"; events:
    CHANNEL_UNPARK, CHANNEL_EXECUTE_COMPLETE socket, CHANNEL_EXECUTE hangup, no CHANNEL_BRIDGE). With `park`
    as the fallback the same race (1 in 300 calls) runs park, then uuid_bridge bridges the call: 3 of 3
    runs passed.
    """
    phone = sipp.phone("uas_answer.xml", TALK_MS=5000)
    agents = [_agent(f"33{i:02d}", phone.port) for i in range(1, 21)]
    _setup(cc_server, agents, _queue())
    cc_server.start({"7000": "menu.yaml"})
    callers = sipp.callers("7000", calls=100, rate=4.0, digits="1", wait_ms=120000, limit=200)
    rc, err = wait_callers(callers, 240, sipp.workdir)
    assert rc == 0, f"SIPp callers: exit {rc}\n{err[-3000:]}\n--- ccctl serve:\n{cc_server.log_text()[-3000:]}"
    out = _finish(cc_server, fs_api, [a.id for a in agents])
    _check_invariants(out, calls=100)
    assert all(out.types(m)[-1] == "COMPLETE_AGENT" for m in out.by_member)
    assert len({c.caller for c in out.inbound()}) == 100


def test_a_call_the_switch_ends_keeps_the_switchs_hangup_cause(fs_api: Esl, sipp: Sipp, cc_server: CcServer) -> None:
    """Callers in the menu are hung up on the switch (``uuid_kill <uuid> CALL_REJECTED``): cc's calls rows
    carry the Hangup-Cause the switch sent, not a default."""
    phone = sipp.phone("uas_answer.xml", TALK_MS=2000)
    agents = [_agent("3401", phone.port)]
    _setup(cc_server, agents, _queue())
    cc_server.start({"7000": "menu.yaml"})
    callers = sipp.callers("7000", calls=4, rate=2.0, wait_ms=30000)
    killed: set[str] = set()
    deadline = time.monotonic() + 30
    while len(killed) < 4 and time.monotonic() < deadline:
        for row in fs_api.channels():
            if row.get("dest") == "7000" and row.get("application") == "play_and_get_digits" \
                    and row["uuid"] not in killed:
                assert fs_api.api(f"uuid_kill {row['uuid']} CALL_REJECTED").startswith("+OK")
                killed.add(row["uuid"])
        time.sleep(0.1)
    assert len(killed) == 4, killed
    rc, err = wait_callers(callers, 60, sipp.workdir)
    assert rc == 0, f"SIPp callers: exit {rc}\n{err}"
    out = _finish(cc_server, fs_api, [a.id for a in agents])
    causes = {c.uuid: c.hangup_cause for c in out.inbound()}
    assert set(causes) == killed
    assert set(causes.values()) == {"CALL_REJECTED"}, causes


def test_a_call_that_came_while_cc_was_down_is_settled_at_its_start(fs: tuple[str, int, str], fs_api: Esl,
                                                                    sipp: Sipp, cc_server: CcServer) -> None:
    """A call to 7000 while no controller listens: freeswitch-conf parks it (its fallback after `socket`).
    The controller started afterwards settles it: nothing stays on the switch, and the call has its row
    with the hang-up cause the switch reported."""
    tap = EventTap(*fs, names=["CHANNEL_HANGUP_COMPLETE"])
    try:
        phone = sipp.phone("uas_answer.xml", TALK_MS=2000)
        agents = [_agent("3501", phone.port)]
        _setup(cc_server, agents, _queue())
        assert tcp_port_free(*OUTBOUND), "something listens on the outbound port: the test needs cc down"
        callers = sipp.callers("7000", calls=1, rate=1.0, wait_ms=40000)
        deadline = time.monotonic() + 10
        parked: list[dict[str, Any]] = []
        while not parked and time.monotonic() < deadline:
            parked = [r for r in fs_api.channels() if r.get("dest") == "7000" and r.get("application") == "park"]
            time.sleep(0.2)
        assert parked, f"the call did not wait parked: {fs_api.channels()}"
        cc_server.start({"7000": "menu.yaml"})
        left = fs_api.wait_no_channels(30)
        assert not left, "channels left 30 s after cc started: " + "; ".join(
            f"{r.get('name')} app={r.get('application')} {r.get('callstate')}" for r in left) + \
            f"\n--- ccctl serve:\n{cc_server.log_text()[-2000:]}"
        wait_callers(callers, 60, sipp.workdir)   # answered and served, or refused: both end the caller
        out = _finish(cc_server, fs_api, [a.id for a in agents])
        (call,) = out.inbound()
        assert call.uuid == parked[0]["uuid"], call
        assert call.caller.startswith("1555") and call.callee == "7000", call
        assert call.ended_at is not None and call.disposition, call
        ev = tap.of(call.uuid, "CHANNEL_HANGUP_COMPLETE")
        assert ev is not None
        assert call.hangup_cause == ev["Hangup-Cause"], \
            f"row: {call.hangup_cause}, the switch: {ev['Hangup-Cause']} ({ev.get('variable_sip_hangup_disposition')})"
    finally:
        tap.close()
