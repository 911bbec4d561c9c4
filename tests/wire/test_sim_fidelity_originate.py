"""Fidelity of originates: the 2026-12 failure and answer-variant captures and the cc-style connect reply,
replayed against cc.sim and compared under the README's contract (tests/wire/sim_fixtures.compare)."""

from __future__ import annotations

import time
from pathlib import Path

import gevent
import gevent.server
import pytest

from cc.esl.capture import Record, read_capture
from cc.sim import AgentSpec, CallerSpec, Simulator
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
