"""Fidelity of originates: the 2026-12 failure and answer-variant captures and the cc-style connect reply,
replayed against cc.sim and compared under the README's contract (tests/wire/sim_fixtures.compare)."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import gevent
import gevent.server
import pytest

from cc.esl.capture import Record, read_capture
from cc.sim import AgentSpec, CallerSpec, PartyPopulation, PartySpec, Simulator
from cc.sim.parties import SIGNALS
from tests.wire.sim_fixtures import EslClient, Replayer, Summary, compare, summarize

SCALE = 0.05


def _report(problems: list[str]) -> str:
    return "\n".join(problems)


def _replay(sim: Simulator, records: list[Record], **kw: object) -> Replayer:
    client = EslClient.connect(sim.inbound_address)
    rp = Replayer(records, client, time_scale=SCALE, **kw)  # type: ignore[arg-type]
    rp.run(tail=0.3)
    client.close()
    return rp


def _channel_events(got: list[Summary], uuid: str) -> list[str]:
    return [s.name or "" for s in got if s.is_event and s.uuid == uuid]


@pytest.mark.timeout(60)
def test_originate_failures(captures_dir: Path) -> None:
    records = list(read_capture(captures_dir / "2026-12" / "inbound_originate_failures.esl").records)
    agents = [AgentSpec("agent@127.0.0.1:5092", mode="busy"), AgentSpec("agent@127.0.0.1:5094", mode="no_answer"),
              AgentSpec("agent@127.0.0.1:5096", mode="not_found"),
              AgentSpec("agent@127.0.0.1:5098", mode="unavailable"),
              AgentSpec("agent@127.0.0.1:5100", mode="error"), AgentSpec("1000", mode="offline")]
    with Simulator(time_scale=SCALE, agents=agents) as sim:
        rp = _replay(sim, records)
    problems = compare(rp.captured, rp.got, rp.uuid_map)
    assert not problems, _report(problems)
    jobs = [s.body for s in rp.got if s.name == "BACKGROUND_JOB"]
    assert jobs == ["-ERR USER_BUSY\n", "-ERR NO_ANSWER\n", "-ERR UNALLOCATED_NUMBER\n", "-ERR NO_USER_RESPONSE\n",
                    "-ERR NORMAL_TEMPORARY_FAILURE\n", "-ERR SUBSCRIBER_ABSENT\n", "-ERR USER_NOT_REGISTERED\n",
                    "-ERR INVALID_GATEWAY\n", "-ERR NORMAL_TEMPORARY_FAILURE\n"]
    # user/9999 and user/1000: not one event of the chosen uuids; the missing gateway: a bare CHANNEL_DESTROY
    assert not _channel_events(rp.got, "5cd10749-245f-41be-9218-959c1670fceb")
    assert not _channel_events(rp.got, "43575689-7c6b-4aa0-9fb0-d6fb9ef15a00")
    assert _channel_events(rp.got, "2d91490b-b495-47f5-8259-6eeeeb19cc2a") == ["CHANNEL_DESTROY", "CHANNEL_STATE"]


def _leg_event(got: list[Summary], uuid: str, name: str) -> Summary:
    return next(s for s in got if s.uuid == uuid and s.name == name)


@pytest.mark.timeout(60)
def test_originate_failure_values(captures_dir: Path) -> None:
    """The values that carry meaning on a refused and on a cancelled leg, and where they appear."""
    agents = [AgentSpec("agent@127.0.0.1:5092", mode="busy"), AgentSpec("agent@127.0.0.1:5094", mode="no_answer")]
    with Simulator(time_scale=SCALE, agents=agents) as sim:
        got: list[tuple[str, dict[str, str]]] = []
        sim.bus.listeners.append(lambda ev: got.append((ev.name, dict(ev.headers))))
        busy, ring = "11111111-0000-0000-0000-000000000001", "11111111-0000-0000-0000-000000000002"
        assert sim.api.execute("originate", f"{{origination_uuid={busy}}}sofia/internal/agent@127.0.0.1:5092 "
                               "&park()") == "-ERR USER_BUSY\n"
        assert sim.api.execute("originate", f"{{origination_uuid={ring},originate_timeout=2}}"
                               "sofia/internal/agent@127.0.0.1:5094 &park()") == "-ERR NO_ANSWER\n"
        deadline = time.monotonic() + 5
        while busy in sim.channels or ring in sim.channels:
            assert time.monotonic() < deadline
            gevent.sleep(0.01)

    def ev(uuid: str, name: str) -> dict[str, str]:
        return next(h for n, h in got if n == name and h.get("Unique-ID") == uuid)

    h = ev(busy, "CHANNEL_HANGUP")
    assert h["Caller-Channel-Hangup-Time"] == "0" and h["variable_sip_hangup_disposition"] == "recv_refuse"
    assert (h["variable_sip_term_status"], h["variable_sip_term_cause"]) == ("486", "17")
    assert h["variable_proto_specific_hangup_cause"] == "sip:486"
    assert (h["variable_sip_invite_failure_status"], h["variable_sip_invite_failure_phrase"]) == ("486", "Busy Here")
    c = ev(busy, "CHANNEL_HANGUP_COMPLETE")
    assert c["Caller-Channel-Hangup-Time"] != "0" and c["variable_hangup_cause_q850"] == "17"
    assert (c["variable_billsec"], c["variable_progresssec"], c["variable_duration"]) == ("0", "0", "0")
    h = ev(ring, "CHANNEL_HANGUP")
    assert h["Hangup-Cause"] == "NO_ANSWER" and "variable_sip_hangup_disposition" not in h
    c = ev(ring, "CHANNEL_HANGUP_COMPLETE")
    assert c["variable_sip_hangup_disposition"] == "send_cancel" and c["variable_hangup_cause_q850"] == "19"
    assert (c["variable_sip_invite_failure_status"], c["variable_sip_invite_failure_phrase"]) == ("487", "CANCEL")
    assert "variable_sip_term_status" not in c and "variable_proto_specific_hangup_cause" not in c
    assert c["variable_billsec"] == "0"


@pytest.mark.timeout(60)
def test_originate_answer_variants(captures_dir: Path) -> None:
    records = list(read_capture(captures_dir / "2026-12" / "inbound_originate_answer_variants.esl").records)
    agents = [AgentSpec("agent@127.0.0.1:5104", answer_after=2.5, talk_time=None),
              AgentSpec("agent@127.0.0.1:5106", answer_after=0.04, talk_time=None, hangup_after=0.5)]
    first = next(i for i, r in enumerate(records) if r.direction == "send" and r.data.startswith(b"bgapi"))
    with Simulator(time_scale=SCALE, agents=agents) as sim:
        def early_in_second(rp: Replayer) -> None:
            # originate_timeout=1 ends at the clock's next whole second: start early in one, so that the
            # phone's 180 (20 ms) comes first, as in both recordings
            deadline = time.monotonic() + 5
            while sim.scheduler.wall() % 1 > 0.5:
                assert time.monotonic() < deadline
                rp.pump(0.002)

        rp = _replay(sim, records, before={first: early_in_second})
    problems = compare(rp.captured, rp.got, rp.uuid_map)
    assert not problems, _report(problems)
    jobs = [s.body for s in rp.got if s.name == "BACKGROUND_JOB"]
    assert jobs == ["-ERR NO_ANSWER\n", "+OK 17cac73c-ca84-49fa-bd0b-644f6c18889a\n",
                    "+OK e47962c9-7ed1-43e8-9b09-17f0472f29d5\n"]


@pytest.mark.timeout(60)
def test_answer_then_bye_while_parked() -> None:
    """The phone's BYE while the leg is parked: recv_bye, billsec from the answer (no bridge)."""
    with Simulator(time_scale=SCALE, agents=[AgentSpec("1001", answer_after=1.0, talk_time=None,
                                                       hangup_after=3.0)]) as sim:
        got: list[tuple[str, dict[str, str]]] = []
        sim.bus.listeners.append(lambda ev: got.append((ev.name, dict(ev.headers))))
        out = sim.api.execute("originate", "user/1001 &park()")
        assert out.startswith("+OK ")
        uuid = out.split()[1]
        assert sim.channels[uuid].answered
        deadline = time.monotonic() + 5
        while uuid in sim.channels:
            assert time.monotonic() < deadline
            gevent.sleep(0.01)
    names = [n for n, h in got if h.get("Unique-ID") == uuid and n.startswith("CHANNEL_")
             and n not in ("CHANNEL_STATE", "CHANNEL_CALLSTATE")]
    assert names[-6:] == ["CHANNEL_PARK", "CHANNEL_HANGUP", "CHANNEL_UNPARK", "CHANNEL_EXECUTE_COMPLETE",
                          "CHANNEL_HANGUP_COMPLETE", "CHANNEL_DESTROY"]
    c = next(h for n, h in got if n == "CHANNEL_HANGUP_COMPLETE" and h.get("Unique-ID") == uuid)
    assert c["variable_sip_hangup_disposition"] == "recv_bye" and c["Hangup-Cause"] == "NORMAL_CLEARING"
    assert c["variable_billsec"] == "3"


@pytest.mark.timeout(60)
def test_outbound_connect_overlay(captures_dir: Path) -> None:
    """The cc-style dialplan (set cc_service_number, socket, hangup): the connect reply has the 2026-12
    header names (codec headers, no Channel-Presence-ID) and the dialplan's variable."""
    records = list(read_capture(captures_dir / "2026-12" / "outbound_connect_overlay.esl").records)
    result: dict[str, object] = {}

    def handle(sock: object, addr: object) -> None:
        client = EslClient(sock)  # type: ignore[arg-type]
        rp = Replayer(records, client, time_scale=SCALE)
        try:
            rp.run(tail=0.4)
            result["rp"] = rp
        except BaseException as exc:
            result["error"] = exc
        finally:
            client.close()

    server = gevent.server.StreamServer(("127.0.0.1", 0), handle)
    server.start()
    try:
        addr = f"127.0.0.1:{server.server_port}"
        route = [("set", "cc_service_number=4800"), ("socket", f"{addr} async full"),
                 ("hangup", "NORMAL_TEMPORARY_FAILURE")]
        with Simulator(time_scale=SCALE, routes={"4800": route}) as sim:
            h = sim.place_call(CallerSpec("4800"))
            deadline = time.monotonic() + 30
            while "rp" not in result and "error" not in result:
                assert time.monotonic() < deadline, "replay did not finish"
                gevent.sleep(0.05)
            if "error" in result:
                raise result["error"]  # type: ignore[misc]
            rp = result["rp"]
            assert isinstance(rp, Replayer)
            problems = compare(rp.captured, rp.got, rp.uuid_map)
            assert not problems, _report(problems)
            connect = next(s for s in rp.got if s.ctype == "command/reply" and s.varnames)
            assert "variable_cc_service_number" in connect.varnames
            assert "Channel-Presence-ID" not in connect.names and "Channel-Read-Codec-Name" in connect.names
            cap_connect = next(summarize(r.frame()) for r in records
                               if r.direction == "recv" and b"CHANNEL_DATA" in r.data[:60])
            assert connect.names == cap_connect.names
            res = h.wait(10)
            assert res.hangup_cause == "NORMAL_TEMPORARY_FAILURE" and not res.answered
    finally:
        server.stop()


def _ev(name: str, uuid: str | None, varnames: tuple[str, ...] = (), **kw: object) -> Summary:
    return Summary("text/event-plain", name=name, uuid=uuid, varnames=frozenset(varnames), **kw)  # type: ignore[arg-type]


def test_compare_flags_invented_variables_job_places_and_leg_order() -> None:
    """The stricter checks themselves: a variable the capture lacks, a job after the wrong leg events,
    two legs' events swapped (unless FreeSWITCH varies that order itself)."""
    leg, other = "11111111-0000-0000-0000-00000000000a", "11111111-0000-0000-0000-00000000000b"
    job = _ev("BACKGROUND_JOB", None, leg=leg, body="-ERR USER_BUSY\n")
    cap = [_ev("CHANNEL_HANGUP", leg, ("variable_sip_term_status",)), _ev("CHANNEL_HANGUP_COMPLETE", leg), job,
           _ev("CHANNEL_DESTROY", leg), _ev("CHANNEL_PARK", other)]
    assert compare(cap, list(cap), {}) == []
    sim = [_ev("CHANNEL_HANGUP", leg, ("variable_sip_term_status", "variable_destination_number")),
           *cap[1:]]
    [problem] = compare(cap, sim, {})
    assert "variable_destination_number" in problem
    sim = [cap[0], cap[1], cap[3], job, cap[4]]
    assert any("BACKGROUND_JOB of leg" in p for p in compare(cap, sim, {}))
    sim = [cap[4], *cap[:4]]
    assert any(p.startswith("order:") for p in compare(cap, sim, {}))
    # the two legs' ends after a uuid_kill of a bridged pair may come either way round
    cap2 = [_ev("CHANNEL_HANGUP_COMPLETE", leg), _ev("CHANNEL_UNBRIDGE", other)]
    assert compare(cap2, cap2[::-1], {}) == []


# ---------------------------------------------------------------------------------------------- called parties
# A campaign dials customers through a gateway: `sofia/gateway/<gw>/<number>` reaches cc.sim's called parties
# (cc.sim.parties). Each outcome is replayed with the capture of the same SIP answer, the agent phone's dial
# string rewritten to a gateway dial of a number that behaves the same way.

_PARTY_NUMBERS = {
    "sofia/internal/agent@127.0.0.1:5092": "sofia/gateway/carrier/13800000092",   # 486: busy
    "sofia/internal/agent@127.0.0.1:5094": "sofia/gateway/carrier/13800000094",   # 180, never answers
    "sofia/internal/agent@127.0.0.1:5096": "sofia/gateway/carrier/13800000096",   # 404: invalid (空号)
    "sofia/internal/agent@127.0.0.1:5098": "sofia/gateway/carrier/13800000098",   # 480: off (关机)
    "sofia/internal/agent@127.0.0.1:5100": "sofia/gateway/carrier/13800000100",   # 503: unreachable
    "sofia/internal/agent@127.0.0.1:5104": "sofia/gateway/carrier/13800000104",   # rings 2.5 s, answers
    "sofia/internal/agent@127.0.0.1:5106": "sofia/gateway/carrier/13800000106",   # answers, leaves after 0.5 s
}


def _to_gateway(text: str) -> str:
    for a, b in _PARTY_NUMBERS.items():
        text = text.replace(a, b)
    return text


def _population(**numbers: PartySpec) -> PartyPopulation:
    return PartyPopulation(seed=1, numbers={n: replace(s, number=n) for n, s in numbers.items()})


@pytest.mark.timeout(60)
def test_party_refusals_match_the_captured_sip_answers(captures_dir: Path) -> None:
    """busy (486), no answer (180, our CANCEL at originate_timeout), invalid (404), off (480) and an
    unreachable number answered 503 -- every event, header name, cause, job body and job place as in
    inbound_originate_failures.esl; the unknown gateway is still INVALID_GATEWAY's bare CHANNEL_DESTROY."""
    records = list(read_capture(captures_dir / "2026-12" / "inbound_originate_failures.esl").records)
    pop = _population(**{"13800000092": PartySpec(outcome="busy"), "13800000094": PartySpec(outcome="no_answer"),
                         "13800000096": PartySpec(outcome="invalid"), "13800000098": PartySpec(outcome="off"),
                         "13800000100": PartySpec(outcome="off", sip=503)})
    with Simulator(time_scale=SCALE, agents=[AgentSpec("1000", mode="offline")], parties=pop) as sim:
        client = EslClient.connect(sim.inbound_address)
        rp = Replayer(records, client, time_scale=SCALE, rewrite=_to_gateway)
        rp.run(tail=0.3)
        client.close()
        stats = sim.stats()["parties"]
    problems = compare(rp.captured, rp.got, rp.uuid_map)
    assert not problems, _report(problems)
    jobs = [s.body for s in rp.got if s.name == "BACKGROUND_JOB"]
    assert jobs == ["-ERR USER_BUSY\n", "-ERR NO_ANSWER\n", "-ERR UNALLOCATED_NUMBER\n", "-ERR NO_USER_RESPONSE\n",
                    "-ERR NORMAL_TEMPORARY_FAILURE\n", "-ERR SUBSCRIBER_ABSENT\n", "-ERR USER_NOT_REGISTERED\n",
                    "-ERR INVALID_GATEWAY\n", "-ERR NORMAL_TEMPORARY_FAILURE\n"]
    assert stats["outcomes"] == {"busy": 1, "no_answer": 1, "invalid": 1, "off": 2}
    assert stats["no_leg"] == {"INVALID_GATEWAY": 1} and stats["dials"] == 6


@pytest.mark.timeout(60)
def test_party_answers_match_the_captured_answer_variants(captures_dir: Path) -> None:
    """A party ringing 2.5 s: NO_ANSWER at originate_timeout=1, answered with originate_timeout=10 (job after
    CHANNEL_ANSWER, then park, then uuid_kill); a party that answers and hangs up 0.5 s later while parked
    (its patience: nobody spoke) -- as in inbound_originate_answer_variants.esl."""
    records = list(read_capture(captures_dir / "2026-12" / "inbound_originate_answer_variants.esl").records)
    pop = _population(**{"13800000104": PartySpec(outcome="answer", ring=2.5, talk=None, patience=None),
                         "13800000106": PartySpec(outcome="answer", ring=0.04, patience=0.5)})
    first = next(i for i, r in enumerate(records) if r.direction == "send" and r.data.startswith(b"bgapi"))
    with Simulator(time_scale=SCALE, parties=pop) as sim:
        def early_in_second(rp: Replayer) -> None:
            deadline = time.monotonic() + 5
            while sim.scheduler.wall() % 1 > 0.5:
                assert time.monotonic() < deadline
                rp.pump(0.002)

        client = EslClient.connect(sim.inbound_address)
        rp = Replayer(records, client, time_scale=SCALE, rewrite=_to_gateway, before={first: early_in_second})
        rp.run(tail=0.3)
        client.close()
        stats = sim.stats()["parties"]
    problems = compare(rp.captured, rp.got, rp.uuid_map)
    assert not problems, _report(problems)
    jobs = [s.body for s in rp.got if s.name == "BACKGROUND_JOB"]
    assert jobs == ["-ERR NO_ANSWER\n", "+OK 17cac73c-ca84-49fa-bd0b-644f6c18889a\n",
                    "+OK e47962c9-7ed1-43e8-9b09-17f0472f29d5\n"]
    assert stats["answered"] == 2 and stats["hung_up_waiting"] == 2
    assert stats["causes"] == {"NO_ANSWER": 1, "NORMAL_CLEARING": 2}


def _as_cause(summaries: list[Summary], leg: str, cause: str) -> list[Summary]:
    """The capture's summaries with ``leg``'s Hangup-Cause and BACKGROUND_JOB body replaced by ``cause``: the
    captured refusal, as the same refusal with another cause would look."""
    out = []
    for s in summaries:
        if s.uuid == leg and "Hangup-Cause" in s.values:
            s = replace(s, values={**s.values, "Hangup-Cause": cause})
        if s.name == "BACKGROUND_JOB" and s.leg == leg:
            s = replace(s, body=f"-ERR {cause}\n")
        out.append(s)
    return out


@pytest.mark.timeout(60)
def test_party_refusals_without_a_capture_follow_the_source(captures_dir: Path) -> None:
    """No capture shows a 603, a 403 with ``Reason: Q.850;cause=54`` or a down gateway. A refusal is a
    refusal: each must look exactly like the captured 486 (events, header names, job after
    CHANNEL_HANGUP_COMPLETE), with the cause mod_sofia gives (cc.sim.parties.SIGNALS: sofia_glue.c
    sofia_glue_sip_cause_to_freeswitch 603 -> CALL_REJECTED; sofia.c: a Reason's Q.850 cause wins, 54 ->
    INCOMING_CALL_BARRED); a known gateway that is down fails where an unknown one does (mod_sofia.c
    sofia_outgoing_channel, ``goto error``): the captured INVALID_GATEWAY shape, GATEWAY_DOWN."""
    records = list(read_capture(captures_dir / "2026-12" / "inbound_originate_failures.esl").records)
    cap_busy = "a41b637e-64ea-4ca7-ae38-ffbb78368931"
    for outcome, cause, sip, q850 in (("rejected", "CALL_REJECTED", "603", "21"),
                                      ("suspended", "INCOMING_CALL_BARRED", "403", "54")):
        assert SIGNALS[outcome].cause == cause
        pop = _population(**{"13800000092": PartySpec(outcome=outcome)})
        with Simulator(time_scale=SCALE, agents=[AgentSpec("agent@127.0.0.1:5094", mode="no_answer"),
                                                 AgentSpec("agent@127.0.0.1:5096", mode="not_found"),
                                                 AgentSpec("agent@127.0.0.1:5098", mode="unavailable"),
                                                 AgentSpec("agent@127.0.0.1:5100", mode="error"),
                                                 AgentSpec("1000", mode="offline")], parties=pop) as sim:
            got: list[tuple[str, dict[str, str]]] = []
            sim.bus.listeners.append(lambda ev, got=got: got.append((ev.name, dict(ev.headers))))
            client = EslClient.connect(sim.inbound_address)
            rp = Replayer(records, client, time_scale=SCALE,
                          rewrite=lambda t: t.replace("sofia/internal/agent@127.0.0.1:5092",
                                                      "sofia/gateway/carrier/13800000092"))
            rp.run(tail=0.3)
            client.close()
        problems = compare(_as_cause(rp.captured, cap_busy, cause), rp.got, rp.uuid_map)
        assert not problems, _report(problems)
        leg = rp.uuid_map.get(cap_busy, cap_busy)
        c = next(h for n, h in got if n == "CHANNEL_HANGUP_COMPLETE" and h["Unique-ID"] == leg)
        assert (c["Hangup-Cause"], c["variable_sip_term_status"], c["variable_sip_term_cause"],
                c["variable_hangup_cause_q850"], c["variable_proto_specific_hangup_cause"],
                c["variable_sip_hangup_disposition"]) == (cause, sip, q850, q850, f"sip:{sip}", "recv_refuse")
        assert c["variable_sip_invite_failure_phrase"] == {"603": "Decline", "403": "Forbidden"}[sip]
    # the gateway that is down
    cap_gw = "2d91490b-b495-47f5-8259-6eeeeb19cc2a"
    pop = PartyPopulation(gateways={"nosuchgw": "down"})
    agents = [AgentSpec("agent@127.0.0.1:5092", mode="busy"), AgentSpec("agent@127.0.0.1:5094", mode="no_answer"),
              AgentSpec("agent@127.0.0.1:5096", mode="not_found"),
              AgentSpec("agent@127.0.0.1:5098", mode="unavailable"),
              AgentSpec("agent@127.0.0.1:5100", mode="error"), AgentSpec("1000", mode="offline")]
    with Simulator(time_scale=SCALE, agents=agents, parties=pop) as sim:
        client = EslClient.connect(sim.inbound_address)
        rp = Replayer(records, client, time_scale=SCALE)
        rp.run(tail=0.3)
        client.close()
        assert sim.stats()["parties"]["no_leg"] == {"GATEWAY_DOWN": 1}
    problems = compare(_as_cause(rp.captured, cap_gw, "GATEWAY_DOWN"), rp.got, rp.uuid_map)
    assert not problems, _report(problems)
    assert _channel_events(rp.got, rp.uuid_map.get(cap_gw, cap_gw)) == ["CHANNEL_DESTROY", "CHANNEL_STATE"]


@pytest.mark.timeout(60)
def test_party_network_gives_up_ringing() -> None:
    """No capture: a network that stops an unanswered call itself (``no_answer_after``) answers the INVITE
    480 with ``Reason: Q.850;cause=19`` (SIGNALS["no_answer"]; the Reason's cause wins, sofia.c). The leg
    rings (CHANNEL_PROGRESS, as the captured 180) and then ends as the captured refusals do: HANGUP,
    HANGUP_COMPLETE (recv_refuse, sip_term_status 480), the job, DESTROY -- not the CANCEL order."""
    pop = _population(**{"13800000019": PartySpec(outcome="no_answer", no_answer_after=2.0)})
    leg = "11111111-0000-0000-0000-000000000019"
    with Simulator(time_scale=SCALE, parties=pop) as sim:
        client = EslClient.connect(sim.inbound_address)
        client.command("auth ClueCon")
        client.command("event plain ALL")
        client.command(f"bgapi originate {{origination_uuid={leg},originate_timeout=30}}"
                       "sofia/gateway/carrier/13800000019 &park()")
        seen: list[Summary] = []
        deadline = time.monotonic() + 10
        while not any(s.name == "CHANNEL_DESTROY" and s.uuid == leg for s in seen):
            assert time.monotonic() < deadline
            seen.append(summarize(client.read(5)))
        client.close()
    names = [s.name for s in seen if (s.uuid == leg or s.name == "BACKGROUND_JOB") and not s.incidental]
    assert names == ["CHANNEL_OUTGOING", "CHANNEL_CREATE", "CHANNEL_ORIGINATE", "CHANNEL_PROGRESS",
                     "CHANNEL_HANGUP", "CHANNEL_HANGUP_COMPLETE", "BACKGROUND_JOB", "CHANNEL_DESTROY"]
    job = next(s for s in seen if s.name == "BACKGROUND_JOB")
    assert job.body == "-ERR NO_ANSWER\n"
    hup = next(s for s in seen if s.name == "CHANNEL_HANGUP_COMPLETE")
    assert hup.values["Hangup-Cause"] == "NO_ANSWER"
    progress = next(s for s in seen if s.name == "CHANNEL_PROGRESS")
    hangup = next(s for s in seen if s.name == "CHANNEL_HANGUP")
    assert 1.9e6 <= hangup.timestamp - progress.timestamp <= 2.1e6    # event times, simulated microseconds
