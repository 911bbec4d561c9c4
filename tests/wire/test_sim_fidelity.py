"""Fidelity: every capture's scenario replayed against cc.sim gives the same frames and events."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import gevent
import gevent.server
import pytest

from cc.esl.capture import Record, read_capture
from cc.sim import AgentSpec, CallerSpec, CallHandle, DigitPress, Simulator
from cc.sim.wav import write_silence
from tests.wire.sim_fixtures import EslClient, Replayer, Summary, compare, summarize

SCALE = 0.05


def _agents() -> list[AgentSpec]:
    return [AgentSpec("agent@127.0.0.1:5090", answer_after=0.02, talk_time=None),
            AgentSpec("agent@127.0.0.1:5092", mode="busy"),
            AgentSpec("agent@127.0.0.1:5094", mode="no_answer")]


def _send_index(records: list[Record], prefix: str, nth: int = 1) -> int:
    seen = 0
    for i, r in enumerate(records):
        if r.direction == "send" and r.data.decode().startswith(prefix):
            seen += 1
            if seen == nth:
                return i
    raise AssertionError(f"no send #{nth} starting with {prefix!r}")


def _report(problems: list[str]) -> str:
    return "\n".join(problems)


@pytest.mark.timeout(30)
def test_inbound_auth(captures_dir: Path) -> None:
    cap = read_capture(captures_dir / "inbound_auth.esl")
    assert len(cap.connections) == 3
    with Simulator(time_scale=SCALE) as sim:
        for conn in cap.connections:
            client = EslClient.connect(sim.inbound_address)
            rp = Replayer(list(conn), client, time_scale=SCALE)
            got = rp.run(tail=0.3)
            assert client.closed, "FreeSWITCH closes the connection after the disconnect notice"
            assert not compare(rp.captured, got, rp.uuid_map), _report(compare(rp.captured, got, rp.uuid_map))
            client.close()


@pytest.mark.timeout(30)
def test_inbound_api(captures_dir: Path) -> None:
    cap = read_capture(captures_dir / "inbound_api.esl")
    records = list(cap.records)
    with Simulator(time_scale=SCALE, routes={"6000": "park"}, agents=_agents()) as sim:
        def place(rp: Replayer) -> None:
            while sum(1 for s in rp.got if s.ctype == "api/response") < 2:
                assert rp.pump(0.05)
            h = sim.place_call(CallerSpec("6000", hangup_after=12.0))
            deadline = time.monotonic() + 5
            while h.channel.parked_by != "park":
                assert time.monotonic() < deadline, "caller never parked"
                rp.pump(0.01)

        client = EslClient.connect(sim.inbound_address)
        rp = Replayer(records, client, time_scale=SCALE,
                      before={_send_index(records, "api show channels as json", 2): place})
        got = rp.run(tail=0.3)
        problems = compare(rp.captured, got, rp.uuid_map)
        assert not problems, _report(problems)
        assert sum(1 for s in got if s.ctype == "api/response") == 11   # every body compared by compare()


def _media(tmp_path: Path) -> Callable[[str], str]:
    """Prompts of the captured lengths under tmp_path; a rewrite of the captured paths to them."""
    prompts = tmp_path / "prompts"
    for n, secs in (("tone1s.wav", 1.0), ("tone2s.wav", 2.0), ("tone20s.wav", 20.0)):
        write_silence(prompts / n, secs)
    recdir = tmp_path / "rec"

    def rewrite(text: str) -> str:
        return text.replace("/tmp/cc_prompts/", f"{prompts}/").replace("/tmp/cc_rec/", f"{recdir}/")

    return rewrite


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", ["inbound_events_plain", "inbound_events_json"])
def test_inbound_events(captures_dir: Path, tmp_path: Path, name: str) -> None:
    cap = read_capture(captures_dir / f"{name}.esl")
    records = list(cap.records)
    rewrite = _media(tmp_path)
    with Simulator(time_scale=SCALE, routes={"6000": "park"}, agents=_agents()) as sim:
        caller: list[CallHandle] = []

        def place(rp: Replayer) -> None:
            while sum(1 for s in rp.got if s.ctype == "command/reply") < 2:
                assert rp.pump(0.05)
            caller.append(sim.place_call(CallerSpec("6000")))

        def hang_up(rp: Replayer) -> None:
            # the caller's BYE (11 s after its answer in the capture) once every agent leg is gone, so a
            # slow machine cannot move it before the commands that need the caller
            deadline = time.monotonic() + 10
            # (and once the three originates' jobs came: the last bgapi may not have made its leg yet)
            while len(sim.channels) > 1 or sum(1 for s in rp.got if s.name == "BACKGROUND_JOB") < 3:
                assert time.monotonic() < deadline, "agent legs still up"
                rp.pump(0.02)
            caller[0].hangup()

        client = EslClient.connect(sim.inbound_address)
        rp = Replayer(records, client, time_scale=SCALE, rewrite=rewrite,
                      before={_send_index(records, "bgapi originate"): place, _send_index(records, "exit"): hang_up})
        got = rp.run(tail=0.3)
        problems = compare(rp.captured, got, rp.uuid_map)
        assert not problems, _report(problems)
        assert (tmp_path / "rec").is_dir() and len(list((tmp_path / "rec").glob("*.wav"))) == 1


OUTBOUND = {
    "outbound_ivr": CallerSpec("7000", digits=(DigitPress("123", 1.0, 0.5),)),
    "outbound_caller_hangup": CallerSpec("7001", hangup_after=2.0),
    "outbound_sync_nolinger": CallerSpec("7002"),
    "outbound_nolinger_caller_hangup": CallerSpec("7003", hangup_after=2.0),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", sorted(OUTBOUND))
def test_outbound(captures_dir: Path, tmp_path: Path, name: str) -> None:
    cap = read_capture(captures_dir / f"{name}.esl")
    records = list(cap.records)
    rewrite = _media(tmp_path)
    recdir = tmp_path / "rec"
    connect_seq = next(summarize(r.frame()).sequence for r in records
                      if r.direction == "recv" and b"CHANNEL_DATA" in r.data[:40])

    first_exec = min((x.sequence for x in (summarize(r.frame()) for r in records if r.direction == "recv")
                      if x.name == "CHANNEL_EXECUTE" and x.sequence > connect_seq), default=1 << 62)

    def stale(s: Summary) -> bool:
        # fired before the connect, or the socket application's own CHANNEL_PARK: FreeSWITCH delivers these
        # after myevents only sometimes (README, "What changes between runs"); cc.sim does not
        return s.is_event and (s.sequence < connect_seq or (s.name == "CHANNEL_PARK" and s.sequence < first_exec))

    result: dict[str, object] = {}

    def handle(sock: object, addr: object) -> None:
        client = EslClient(sock)  # type: ignore[arg-type]
        rp = Replayer(records, client, time_scale=SCALE, rewrite=rewrite, stale=stale)
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
        agents = [AgentSpec("agent@127.0.0.1:5090", answer_after=0.02, talk_time=2.0)]
        with Simulator(time_scale=SCALE, socket_address=("127.0.0.1", server.server_port), agents=agents) as sim:
            h = sim.place_call(OUTBOUND[name])
            deadline = time.monotonic() + 30
            while "got" not in result and "error" not in result:
                assert time.monotonic() < deadline, "replay did not finish"
                gevent.sleep(0.05)
            if "error" in result:
                raise result["error"]  # type: ignore[misc]
            rp = result["rp"]
            assert isinstance(rp, Replayer)
            problems = compare(rp.captured, rp.got, rp.uuid_map, stale)
            assert not problems, _report(problems)
            assert result["closed"], "the simulator closes the outbound socket like FreeSWITCH"
            res = h.wait(10)
            if name == "outbound_ivr":
                assert res.digits_pressed == "123"
                assert res.variables.get("cc_digits") == "123"
                assert res.variables.get("read_result") == "success"
                assert res.variables.get("cc_x") == "1" and res.variables.get("cc_y") == "2"
                assert "cc_y" in res.variables.get("export_vars", "")
                assert res.variables.get("DIALSTATUS") == "SUCCESS"
                wavs = list(recdir.glob("*.wav"))
                assert len(wavs) == 1
    finally:
        server.stop()
