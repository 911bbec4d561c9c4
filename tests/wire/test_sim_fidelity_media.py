"""Fidelity of hold, transfer, eavesdrop, recording and music on hold: the 2026-12 captures replayed on cc.sim."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path

import gevent
import gevent.server
import pytest

from cc.esl.capture import Record, read_capture
from cc.sim import AgentSpec, CallerSpec, CallHandle, Simulator
from tests.wire.sim_fixtures import EslClient, Replayer, Summary, compare, summarize

SCALE = 0.05
NEW = "2026-12"


def _send_index(records: list[Record], prefix: str, nth: int = 1) -> int:
    seen = 0
    for i, r in enumerate(records):
        if r.direction == "send" and r.data.decode().startswith(prefix):
            seen += 1
            if seen == nth:
                return i
    raise AssertionError(f"no send #{nth} starting with {prefix!r}")


def _agents() -> list[AgentSpec]:
    return [AgentSpec("agent@127.0.0.1:5090", answer_after=0.02, talk_time=None),
            AgentSpec("sup@127.0.0.1:5102", answer_after=0.02, talk_time=None)]


def _rewrite(tmp_path: Path) -> Callable[[str], str]:
    recdir = tmp_path / "rec"
    return lambda text: text.replace("/tmp/caps/rec/", f"{recdir}/")


class Seen:
    """Every event a simulator fires (an in-process bus listener): for the values the contract leaves out."""

    def __init__(self, sim: Simulator) -> None:
        self.events: list[dict[str, str]] = []
        sim.bus.listeners.append(lambda ev: self.events.append(dict(ev.headers)))

    def of(self, uuid: str, *names: str) -> list[dict[str, str]]:
        """Every event of channel ``uuid`` (all names, or those given), in order."""
        return [e for e in self.events if e.get("Unique-ID") == uuid and (not names or e["Event-Name"] in names)]


Hooks = Callable[[list[Record], Simulator, list[CallHandle], Seen], dict[int, Callable[[Replayer], None]]]


def _replay_inbound(captures_dir: Path, tmp_path: Path, name: str, *,
                    agents: list[AgentSpec] | None = None, scale: float = SCALE, hooks: Hooks | None = None,
                    edit: Callable[[list[Record]], list[Record]] = lambda r: r,
                    ) -> tuple[Replayer, list[Summary], Simulator, Seen]:
    """Replay an inbound capture (simulator time ``scale``); a caller dials 6000 (answer + park) before the
    first command that needs it, as in the capture."""
    cap = read_capture(captures_dir / NEW / f"{name}.esl")
    records = edit(list(cap.records))
    sim = Simulator(time_scale=scale, routes={"6000": "park", "9196": "echo"}, agents=agents or _agents())
    sim.start()
    caller: list[CallHandle] = []

    def place(rp: Replayer) -> None:
        while sum(1 for s in rp.got if s.ctype == "command/reply") < 2:
            assert rp.pump(0.05)
        caller.append(sim.place_call(CallerSpec("6000")))
        deadline = time.monotonic() + 5
        while caller[0].channel.parked_by != "park":
            assert time.monotonic() < deadline, "caller never parked"
            rp.pump(0.01)

    before: dict[int, Callable[[Replayer], None]] = {_send_index(records, "api uuid_", 1) if name == "inbound_transfer"
              else _send_index(records, "bgapi originate"): place}
    seen = Seen(sim)
    if hooks is not None:
        before.update(hooks(records, sim, caller, seen))
    client = EslClient.connect(sim.inbound_address)
    rp = Replayer(records, client, time_scale=scale, rewrite=_rewrite(tmp_path), before=before)
    try:
        got = rp.run(tail=0.3)
    finally:
        client.close()
    return rp, got, sim, seen


def _legs(rp: Replayer, records: list[Record], prefix: str) -> list[str]:
    """The simulator's uuids for the capture's uuids named in the first send starting with ``prefix``."""
    from tests.wire.sim_fixtures import UUID_RE
    text = records[_send_index(records, prefix)].data.decode()
    return [rp.uuid_map.get(u, u) for u in UUID_RE.findall(text)]   # origination_uuid: the same


@pytest.mark.timeout(60)
def test_inbound_bridge_hold(captures_dir: Path, tmp_path: Path) -> None:
    agents = [AgentSpec("agent@127.0.0.1:5090", answer_after=0.02, talk_time=7.0)]
    rp, got, sim, seen = _replay_inbound(captures_dir, tmp_path, "inbound_bridge_hold", agents=agents)
    try:
        problems = compare(rp.captured, got, rp.uuid_map)
        assert not problems, "\n".join(problems)
        caller, agent = _legs(rp, rp.records, "api uuid_bridge")
        # the agent leg's Channel-Call-UUID: its own, the caller's from CS_EXCHANGE_MEDIA on, its own at the end
        evs = seen.of(agent)
        joined = next(i for i, e in enumerate(evs) if e.get("Channel-State") == "CS_EXCHANGE_MEDIA")
        assert {e["Channel-Call-UUID"] for e in evs[:joined]} == {agent}
        assert evs[joined]["Event-Name"] == "CHANNEL_STATE"
        destroy = next(i for i, e in enumerate(evs) if e["Event-Name"] == "CHANNEL_DESTROY")
        assert {e["Channel-Call-UUID"] for e in evs[joined:destroy]} == {caller}
        assert {e["Channel-Call-UUID"] for e in evs[destroy:]} == {agent}
        assert {e["Channel-Call-UUID"] for e in seen.of(caller)} == {caller}
        # Other-Leg-* on both legs once bridged, and on the caller to the end
        assert seen.of(caller, "CHANNEL_DESTROY")[0]["Other-Leg-Unique-ID"] == agent
        assert seen.of(agent, "CHANNEL_HANGUP")[0]["Other-Leg-Unique-ID"] == caller
        # uuid_hold: switch_ivr_hold/unhold, UNHELD then ACTIVE, the agent hears local_stream://moh
        holds = seen.of(caller, "CHANNEL_HOLD", "CHANNEL_UNHOLD")
        assert [(e["Event-Name"], e["Event-Calling-Function"], e["Channel-Call-State"]) for e in holds] == [
            ("CHANNEL_HOLD", "switch_ivr_hold", "HELD"), ("CHANNEL_UNHOLD", "switch_ivr_unhold", "ACTIVE")] * 2
        states = ",".join(e["Channel-Call-State"] for e in seen.of(caller, "CHANNEL_CALLSTATE"))
        assert "HELD,UNHELD,ACTIVE,HELD,UNHELD,ACTIVE" in states, states
        moh = seen.of(agent, "CHANNEL_EXECUTE", "PLAYBACK_START", "PLAYBACK_STOP", "CHANNEL_EXECUTE_COMPLETE",
                    "PRIVATE_COMMAND")
        moh = [e for e in moh if e.get("Application", "playback") == "playback"]
        assert [(e["Event-Name"], e.get("Playback-Status") or e.get("Application-Response")) for e in moh] == [
            ("CHANNEL_EXECUTE", None), ("PLAYBACK_START", None), ("PLAYBACK_STOP", "break"),
            ("CHANNEL_EXECUTE_COMPLETE", "FILE PLAYED"), ("PRIVATE_COMMAND", None)] * 2
        assert {e.get("Application-Data") or e.get("Playback-File-Path") for e in moh
                if e["Event-Name"] != "PRIVATE_COMMAND"} == {"local_stream://moh"}
        assert moh[0]["Application-UUID"] == moh[3]["Application-UUID"] != moh[5]["Application-UUID"]
        # hold time: 1 s twice, in µs, and the CDR variables
        accum = [int(e["Caller-Channel-Hold-Accum"]) for e in holds]
        assert accum[0] == 0 and accum[1] >= 1_000_000     # 1 s on hold (more: the replay's scheduling slack)
        assert accum[1] <= int(holds[1]["Event-Date-Timestamp"]) - int(holds[0]["Caller-Channel-Last-Hold"])
        assert accum[3] >= accum[1] + 1_000_000 and accum[2] == accum[1]
        done = seen.of(caller, "CHANNEL_HANGUP_COMPLETE")[0]
        assert done["variable_hold_accum_usec"] == str(accum[3])
        assert done["variable_hold_accum_seconds"] == str(accum[3] // 1_000_000)
        assert done["variable_hold_events"].startswith("{{") and done["variable_hold_events"].count("},{") == 1
        assert done["variable_last_hold_uepoch"] == holds[2]["Caller-Channel-Last-Hold"]
        assert seen.of(agent, "CHANNEL_HANGUP_COMPLETE")[0]["variable_hold_accum_usec"] == "0"
    finally:
        sim.stop()


@pytest.mark.timeout(60)
def test_inbound_transfer(captures_dir: Path, tmp_path: Path) -> None:
    rp, got, sim, seen = _replay_inbound(captures_dir, tmp_path, "inbound_transfer")
    try:
        problems = compare(rp.captured, got, rp.uuid_map)
        assert not problems, "\n".join(problems)
        caller, agent = _legs(rp, rp.records, "api uuid_bridge")
        evs = seen.of(caller)
        # each uuid_transfer: routing again (RINGING/CS_ROUTING, ACTIVE/CS_EXECUTE), no second CHANNEL_ANSWER
        assert [e["Event-Name"] for e in evs].count("CHANNEL_ANSWER") == 1
        routing = [(e["Event-Name"], e.get("Channel-Call-State") if e["Event-Name"] == "CHANNEL_CALLSTATE"
                    else e["Channel-State"]) for e in evs if e["Event-Name"] in ("CHANNEL_CALLSTATE", "CHANNEL_STATE")]
        assert routing.count(("CHANNEL_STATE", "CS_ROUTING")) == 4    # the call's own + three transfers
        i = routing.index(("CHANNEL_STATE", "CS_ROUTING"), 5)   # the first transfer (the call's own is 3)
        assert routing[i - 1:i + 3] == [("CHANNEL_CALLSTATE", "RINGING"), ("CHANNEL_STATE", "CS_ROUTING"),
                                        ("CHANNEL_CALLSTATE", "ACTIVE"), ("CHANNEL_STATE", "CS_EXECUTE")]
        sources: list[str] = []
        for e in evs:
            src = e.get("Caller-Transfer-Source")
            if src and (not sources or sources[-1] != src):
                sources.append(src)
        kinds = [src.split(":")[2:] for src in sources]
        assert kinds == [["bl_xfer", "9196/public/XML"], ["bl_xfer", "6000/public/XML"], ["uuid_br", agent],
                         ["bl_xfer", "9196/public/XML"]]
        last = seen.of(caller, "CHANNEL_DESTROY")[0]
        assert last["variable_transfer_history"] == "ARRAY::" + "|:".join(sources)
        assert last["Caller-Destination-Number"] == "9196" and last["Caller-RDNIS"] == "6000"
        first_xfer = next(e for e in evs if e.get("Caller-Transfer-Source"))
        assert first_xfer["Event-Name"] == "CHANNEL_UNPARK"
        assert first_xfer["variable_transfer_history"] == sources[0]
        assert seen.of(agent, "CHANNEL_EXECUTE")[-1]["Caller-Transfer-Source"].split(":")[2:] == ["uuid_br", caller]
        # -bleg: the agent is hung up first, then the caller's CHANNEL_UNBRIDGE without Other-Leg headers
        names = [(e["Event-Name"], e["Unique-ID"]) for e in seen.events
                 if e.get("Unique-ID") in (caller, agent)]
        assert names.index(("CHANNEL_HANGUP", agent)) < names.index(("CHANNEL_UNBRIDGE", caller))
        unbridge = seen.of(caller, "CHANNEL_UNBRIDGE")[0]
        assert "Other-Leg-Unique-ID" not in unbridge and "Other-Type" not in unbridge
        assert unbridge["Bridge-B-Unique-ID"] == agent
        assert seen.of(agent, "CHANNEL_HANGUP_COMPLETE")[0]["variable_sip_hangup_disposition"] == "send_bye"
    finally:
        sim.stop()


@pytest.mark.timeout(60)
def test_inbound_eavesdrop(captures_dir: Path, tmp_path: Path) -> None:
    modes: list[str | None] = []

    def hooks(records: list[Record], sim: Simulator, caller: list[CallHandle], seen: Seen
              ) -> dict[int, Callable[[Replayer], None]]:
        def mode(digits: int) -> Callable[[Replayer], None]:
            def look(rp: Replayer) -> None:      # once the digit sent before this command has arrived
                sup = next(c for c in sim.channels.values() if c.current_app == "eavesdrop")
                deadline = time.monotonic() + 5
                while len(seen.of(sup.uuid, "DTMF")) < digits or sup.dtmf:
                    assert time.monotonic() < deadline
                    rp.pump(0.01)
                modes.append(sup.eavesdrop_mode)
            return look
        return {_send_index(records, "api uuid_recv_dtmf", 2): mode(1),
                _send_index(records, "api uuid_recv_dtmf", 3): mode(2), _send_index(records, "api uuid_kill"): mode(3)}

    rp, got, sim, seen = _replay_inbound(captures_dir, tmp_path, "inbound_eavesdrop", hooks=hooks)
    try:
        problems = compare(rp.captured, got, rp.uuid_map)
        assert not problems, "\n".join(problems)
        caller, agent = _legs(rp, rp.records, "api uuid_bridge")
        [sup] = _legs(rp, rp.records, "api uuid_kill")[:1]
        bugs = seen.of(agent, "MEDIA_BUG_START", "MEDIA_BUG_STOP")
        assert [(e["Event-Name"], e["Media-Bug-Function"], e["Media-Bug-Target"]) for e in bugs] == [
            ("MEDIA_BUG_START", "eavesdrop", agent), ("MEDIA_BUG_STOP", "eavesdrop", agent)]
        assert bugs[1]["Event-Calling-Function"] == "switch_core_media_bug_destroy"
        dtmf = seen.of(sup, "DTMF")
        assert [(e["DTMF-Digit"], e["DTMF-Duration"], e["DTMF-Source"]) for e in dtmf] == [
            ("2", "2000", "APP"), ("3", "2000", "APP"), ("0", "2000", "APP")]
        assert modes == ["target", "three_way", "listen"]       # digits 2, 3, 0: state only, no event
        done = seen.of(sup, "CHANNEL_EXECUTE_COMPLETE")[-1]
        assert (done["Application"], done["Application-Response"]) == ("eavesdrop", "_none_")
        sup_names = {e["Event-Name"] for e in seen.of(sup)}
        assert not sup_names & {"CHANNEL_BRIDGE", "CHANNEL_UNBRIDGE"}
        assert not any(k.startswith("Other-Leg") for e in seen.of(sup) for k in e)
        # the bridged pair did not notice: its first hang-up is the caller's uuid_kill
        assert seen.of(caller, "CHANNEL_HANGUP")[0]["Event-Date-Timestamp"] > done["Event-Date-Timestamp"]
    finally:
        sim.stop()


@pytest.mark.timeout(60)
def test_inbound_record(captures_dir: Path, tmp_path: Path) -> None:
    # record_ms counts whole 20 ms frames of the file: the stop is sent once the recording has run its 3.0
    # simulated seconds (not after the capture's gaps, whose scheduling slack would add frames); real time
    # so that the few ms between that moment and the stop stay within one frame
    def edit(records: list[Record]) -> list[Record]:
        i = _send_index(records, "api uuid_record", 4)
        records[i] = dataclasses.replace(records[i], t=records[_send_index(records, "api uuid_record", 3)].t)
        return records

    def hooks(records: list[Record], sim: Simulator, caller: list[CallHandle], seen: Seen
              ) -> dict[int, Callable[[Replayer], None]]:
        def stop_at_3s(rp: Replayer) -> None:
            [(started, _how)] = caller[0].channel.recordings.values()
            while sim.scheduler.now() - started < 3.002:
                rp.pump(0.001)
        return {_send_index(records, "api uuid_record", 4): stop_at_3s}

    rp, got, sim, seen = _replay_inbound(captures_dir, tmp_path, "inbound_record", scale=1.0, hooks=hooks, edit=edit)
    try:
        problems = compare(rp.captured, got, rp.uuid_map)
        assert not problems, "\n".join(problems)
        caller, _agent = _legs(rp, rp.records, "api uuid_bridge")
        recs = seen.of(caller, "RECORD_START", "RECORD_STOP", "MEDIA_BUG_START", "MEDIA_BUG_STOP")
        assert [e["Event-Name"] for e in recs] == ["RECORD_START", "MEDIA_BUG_START", "RECORD_STOP",
                                                   "MEDIA_BUG_STOP"]    # mask/unmask: no event
        stop = recs[2]
        assert stop["Record-Completion-Cause"] == "success-maxtime"
        assert {k: stop[f"variable_record_{k}"] for k in ("ms", "samples", "seconds", "file_size",
                                                          "completion_cause")} == {
            "ms": "3000", "samples": "24000", "seconds": "3", "file_size": "48044",
            "completion_cause": "success-maxtime"}
        wav = Path(stop["Record-File-Path"])
        assert wav.stat().st_size == 48044
    finally:
        sim.stop()


@pytest.mark.timeout(60)
def test_outbound_moh_say(captures_dir: Path, tmp_path: Path) -> None:
    cap = read_capture(captures_dir / NEW / "outbound_moh_say.esl")
    records = list(cap.records)
    connect_seq = next(summarize(r.frame()).sequence for r in records
                      if r.direction == "recv" and b"CHANNEL_DATA" in r.data[:40])

    def stale(s: Summary) -> bool:
        return s.is_event and s.sequence < connect_seq

    result: dict[str, object] = {}
    sim_ref: list[Simulator] = []

    def brk(rp: Replayer) -> None:
        # the capture's side connection: `api uuid_break <uuid>` 2 s into the music
        deadline = time.monotonic() + 2.0 * SCALE
        while time.monotonic() < deadline:
            rp.pump(0.01)
        [uuid] = [u for u in sim_ref[0].channels]
        assert sim_ref[0].api.execute("uuid_break", uuid) == "+OK\n"

    def handle(sock: object, addr: object) -> None:
        client = EslClient(sock)
        rp = Replayer(records, client, time_scale=SCALE, stale=stale,
                      before={_send_index(records, "sendmsg", 3): brk})
        try:
            result["got"] = rp.run(tail=0.4)
            result["rp"] = rp
            result["closed"] = client.closed
        except BaseException as exc:
            result["error"] = exc
        finally:
            client.close()

    server = gevent.server.StreamServer(("127.0.0.1", 0), handle)
    server.start()
    try:
        with Simulator(time_scale=SCALE, socket_address=("127.0.0.1", server.server_port)) as sim:
            sim_ref.append(sim)
            seen = Seen(sim)
            sim.place_call(CallerSpec("5010"))
            deadline = time.monotonic() + 30
            while "got" not in result and "error" not in result:
                assert time.monotonic() < deadline, "replay did not finish"
                gevent.sleep(0.05)
            if "error" in result:
                raise result["error"]  # type: ignore[misc]
            rp = result["rp"]
            assert isinstance(rp, Replayer)
            problems = compare(rp.captured, rp.got, rp.uuid_map, stale)
            assert not problems, "\n".join(problems)
            assert result["closed"]
            names = [x.name for x in rp.got if x.is_event]
            assert "PLAYBACK_START" not in names and "PLAYBACK_STOP" not in names     # not on myevents
            done = {x.values.get("Application"): x.values.get("Application-Response") for x in rp.got
                    if x.name == "CHANNEL_EXECUTE_COMPLETE"}
            assert done["playback"] == "FILE PLAYED" and done["say"] == "_none_"   # music broken off: FILE PLAYED
            [ms] = {e["variable_playback_ms"] for e in seen.events if e["Event-Name"] == "CHANNEL_EXECUTE_COMPLETE"
                    and e.get("Application") == "playback"}
            assert int(ms) >= 2000             # played until the uuid_break 2 s in, counted in ms
    finally:
        server.stop()
