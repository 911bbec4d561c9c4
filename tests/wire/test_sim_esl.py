"""cc.esl's Switch and CallChannel against cc.sim over real TCP: the scenarios of issue 3."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import gevent
import pytest

from cc.errors import CallGone, CommandFailed, ESLAuthError
from cc.esl.inbound import Switch
from cc.esl.outbound import CallChannel, OutboundServer
from cc.sim import AgentSpec, CallerSpec, DigitPress, Simulator
from cc.sim.wav import wav_duration, write_silence

SCALE = 0.02


@pytest.fixture
def prompts(tmp_path: Path) -> Path:
    d = tmp_path / "prompts"
    for n, secs in (("one.wav", 1.0), ("two.wav", 2.0), ("long.wav", 20.0)):
        write_silence(d / n, secs)
    return d


def _agents() -> list[AgentSpec]:
    return [AgentSpec("1001", answer_after=1.0, talk_time=None),
            AgentSpec("1002", mode="busy"),
            AgentSpec("1003", mode="no_answer"),
            AgentSpec("1004", mode="reject"),
            AgentSpec("1005", answer_after=0.5, talk_time=3.0)]


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[Simulator]:
    s = Simulator(time_scale=SCALE, agents=_agents(), routes={"6000": "park"}, recordings_dir=tmp_path)
    s.start()
    yield s
    s.stop()


@pytest.fixture
def switch(sim: Simulator) -> Iterator[Switch]:
    host, port = sim.inbound_address
    sw = Switch(host, port, "ClueCon")
    sw.connect()
    yield sw
    sw.close()


def _until(cond: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not met in time"
        gevent.sleep(0.005)


def _events(sw: Switch, until: Callable[[Any], bool], timeout: float = 5.0) -> list[Any]:
    out = []
    deadline = time.monotonic() + timeout
    while True:
        ev = sw.events.get(timeout=max(0.01, deadline - time.monotonic()))
        out.append(ev)
        if until(ev):
            return out


@pytest.mark.timeout(20)
def test_inbound_auth_api_bgapi_events(sim: Simulator, switch: Switch) -> None:
    assert "is ready" in switch.api("status")
    assert switch.api("uuid_exists 00000000-0000-0000-0000-000000000000") == "false"
    assert switch.bgapi("status").wait(5).startswith("UP ")
    switch.subscribe(["CHANNEL_CREATE", "CHANNEL_PARK"])
    h = sim.place_call(CallerSpec("6000", caller_id_number="15550001111"))
    evs = _events(switch, lambda e: e.name == "CHANNEL_PARK")
    assert [e.name for e in evs] == ["CHANNEL_CREATE", "CHANNEL_PARK"]
    assert evs[0].uuid == h.uuid and evs[0]["Caller-Caller-ID-Number"] == "15550001111"
    assert switch.api(f"uuid_getvar {h.uuid} outside_call") == "true"
    h.hangup()
    assert h.wait(5).hangup_cause == "NORMAL_CLEARING"
    host, port = sim.inbound_address
    with pytest.raises(ESLAuthError):
        Switch(host, port, "wrong", reconnect=False).connect()


def _serve(handler: Callable[[CallChannel], None]) -> OutboundServer:
    srv = OutboundServer("127.0.0.1", 0, handler)
    srv.start()
    return srv


@pytest.mark.timeout(20)
def test_ivr_call_with_digits(tmp_path: Path, prompts: Path) -> None:
    seen: dict[str, Any] = {}

    def ivr(ch: CallChannel) -> None:
        ch.answer()
        seen["first"] = ch.play_and_get_digits(1, 4, 1, 3000, "#", str(prompts / "two.wav"),
                                               "silence_stream://250", "choice", "\\d+")
        # wrong digits first, right ones on the retry
        seen["second"] = ch.play_and_get_digits(2, 2, 2, 3000, "#", str(prompts / "one.wav"),
                                                str(prompts / "one.wav"), "acct", "^1\\d$")
        # nothing pressed: timeout
        seen["third"] = ch.play_and_get_digits(1, 1, 1, 1000, "#", str(prompts / "one.wav"),
                                               "silence_stream://250", "none", "\\d")
        seen["third_result"] = ch.last_event.variable("read_result") if ch.last_event else None
        ch.set("cc_x", "1")
        ch.hangup()

    srv = _serve(ivr)
    try:
        with Simulator(time_scale=SCALE, socket_address=srv.address) as sim:
            h = sim.place_call(CallerSpec("7000", digits=(DigitPress("42#", 0.5, 0.3), DigitPress("95"),
                                                          DigitPress("12"))))
            res = h.wait(10)
    finally:
        srv.stop()
    assert seen["first"] == "42"
    assert seen["second"] == "12"
    assert seen["third"] is None and seen["third_result"] == "timeout"
    assert res.digits_pressed == "42#9512"
    assert res.variables["choice"] == "42" and res.variables["acct_invalid"] == "95"
    assert res.variables["read_terminator_used"] == "#"
    assert res.variables["cc_x"] == "1"
    assert res.answered and res.hangup_cause == "NORMAL_CLEARING"
    assert res.events.count("DTMF") == 7


@pytest.mark.timeout(20)
def test_caller_hangs_up_mid_playback(prompts: Path) -> None:
    seen: dict[str, Any] = {}

    def ivr(ch: CallChannel) -> None:
        ch.answer()
        t0 = time.monotonic()
        try:
            ch.playback(str(prompts / "long.wav"))
        except CallGone as exc:
            seen["gone"] = exc
            seen["after"] = (time.monotonic() - t0) / SCALE
            raise

    srv = _serve(ivr)
    try:
        with Simulator(time_scale=SCALE, socket_address=srv.address) as sim:
            res = sim.place_call(CallerSpec("7001", hangup_after=2.0)).wait(10)
            _until(lambda: srv.handled + srv.failed == 1)
    finally:
        srv.stop()
    assert isinstance(seen["gone"], CallGone)
    assert 1.5 < seen["after"] < 10, seen["after"]
    assert res.hangup_cause == "NORMAL_CLEARING" and res.variables["current_application_response"] \
        == "PLAYBACK ERROR"


@pytest.mark.timeout(30)
def test_originate_to_agents(sim: Simulator, switch: Switch) -> None:
    t0 = sim.scheduler.now()
    out = switch.bgapi("originate {origination_uuid=aaaaaaaa-0000-0000-0000-000000000001}user/1001 &park()").wait(5)
    assert out == "+OK aaaaaaaa-0000-0000-0000-000000000001\n"
    assert 0.9 < sim.scheduler.now() - t0 < 3.0    # answered after 1 s of ringing
    assert switch.api("uuid_exists aaaaaaaa-0000-0000-0000-000000000001") == "true"
    assert switch.bgapi("originate user/1002 &park()").wait(5) == "-ERR USER_BUSY\n"
    assert switch.bgapi("originate user/1004 &park()").wait(5) == "-ERR CALL_REJECTED\n"
    assert switch.bgapi("originate user/9999 &park()").wait(5) == "-ERR SUBSCRIBER_ABSENT\n"   # no such user
    t0 = sim.scheduler.now()
    assert switch.bgapi("originate {originate_timeout=3}user/1003 &park()").wait(5) == "-ERR NO_ANSWER\n"
    assert 1.9 < sim.scheduler.now() - t0 < 3.5     # whole seconds of the clock: between 2 and 3 s
    # 1001 is on a call now: busy; once free, an answer after 1 s is too late for a 0.5 s timeout
    with pytest.raises(CommandFailed) as err:
        switch.api("originate user/1001 &park()")
    assert err.value.reply == "-ERR USER_BUSY"
    switch.api("uuid_kill aaaaaaaa-0000-0000-0000-000000000001")
    _until(lambda: "aaaaaaaa-0000-0000-0000-000000000001" not in sim.channels)
    with pytest.raises(CommandFailed) as err:
        switch.api("originate {originate_timeout=0.5}user/1001 &park()")
    assert err.value.reply == "-ERR NO_ANSWER"
    with pytest.raises(CommandFailed) as err:
        switch.api("originate sofia/internal/nobody@127.0.0.1:5999 &park()")
    assert err.value.reply == "-ERR NORMAL_TEMPORARY_FAILURE"


@pytest.mark.timeout(30)
@pytest.mark.parametrize("who", ["agent", "caller"])
def test_uuid_bridge_then_hangup(sim: Simulator, switch: Switch, who: str) -> None:
    switch.subscribe(["CHANNEL_BRIDGE", "CHANNEL_UNBRIDGE", "CHANNEL_HANGUP_COMPLETE"])
    h = sim.place_call(CallerSpec("6000", talk_time=2.0 if who == "caller" else None))
    _until(lambda: h.channel.parked_by == "park")
    agent = "1005" if who == "agent" else "1001"
    out = switch.bgapi(f"originate {{origination_uuid=bbbbbbbb-0000-0000-0000-00000000000{agent[-1]}}}"
                       f"user/{agent} &park()").wait(5)
    b = out.split()[1]
    assert switch.api(f"uuid_bridge {h.uuid} {b}") == f"+OK {b}\n"
    res = h.wait(10)
    evs = _events(switch, lambda e: e.name == "CHANNEL_HANGUP_COMPLETE" and e.uuid == b)
    names = [(e.name, e.uuid) for e in evs]
    assert ("CHANNEL_BRIDGE", h.uuid) in names and ("CHANNEL_UNBRIDGE", h.uuid) in names
    assert res.bridged_to == b and res.hangup_cause == "NORMAL_CLEARING"
    assert res.variables["bridge_hangup_cause"] == "NORMAL_CLEARING"
    talk = res.ended - (res.bridged_at or 0)
    assert 1.5 < talk < 6, talk


@pytest.mark.timeout(30)
def test_park_after_bridge_and_recording_duration(sim: Simulator, switch: Switch, tmp_path: Path) -> None:
    h = sim.place_call(CallerSpec("6000"))
    _until(lambda: h.channel.parked_by == "park")
    b = switch.bgapi("originate user/1001 &park()").wait(5).split()[1]
    switch.api(f"uuid_setvar {h.uuid} park_after_bridge true")
    switch.api(f"uuid_bridge {h.uuid} {b}")
    _until(lambda: h.channel.bridged_to is not None)
    path = tmp_path / "rec" / f"{h.uuid}.wav"
    assert switch.api(f"uuid_record {h.uuid} start {path}") == "+OK Success\n"
    t0 = sim.scheduler.now()
    gevent.sleep(4.0 * SCALE)
    assert switch.api(f"uuid_record {h.uuid} stop {path}") == "+OK Success\n"
    took = sim.scheduler.now() - t0
    dur = wav_duration(path)
    assert dur is not None and abs(dur - took) < 0.5 and 3.5 < dur < 6, (dur, took)
    # record_ms is truncated to the millisecond, the WAV holds whole 8 kHz samples: within 2 ms of each other
    assert abs(int(switch.api(f"uuid_getvar {h.uuid} record_ms")) - dur * 1000) < 2
    switch.api(f"uuid_kill {b}")
    _until(lambda: h.channel.parked_by == "state")     # park_after_bridge: parked again, still up
    assert not h.done
    assert switch.api(f"uuid_kill {h.uuid} USER_BUSY") == "+OK\n"
    assert h.wait(5).hangup_cause == "USER_BUSY"


@pytest.mark.timeout(30)
def test_outbound_bridge_and_record_session(tmp_path: Path, prompts: Path) -> None:
    seen: dict[str, Any] = {}
    rec = tmp_path / "call.wav"

    def ivr(ch: CallChannel) -> None:
        ch.answer()
        ch.record_session(str(rec))
        ev = ch.bridge("user/1005")              # answers after 0.5 s, talks 3 s, hangs up
        seen["dialstatus"] = ev.variable("DIALSTATUS")
        ch.stop_record_session(str(rec))
        seen["busy"] = ch.bridge("user/1002").variable("DIALSTATUS")
        ch.hangup()

    srv = _serve(ivr)
    try:
        with Simulator(time_scale=SCALE, socket_address=srv.address, agents=_agents()) as sim:
            res = sim.place_call(CallerSpec("7000")).wait(10)
    finally:
        srv.stop()
    assert seen == {"dialstatus": "SUCCESS", "busy": "BUSY"}
    assert res.bridged_to is not None and res.hangup_cause == "NORMAL_CLEARING"
    dur = wav_duration(rec)
    assert dur is not None and 3.0 < dur < 5.0, dur


@pytest.mark.timeout(30)
def test_ring_all_and_failover(sim: Simulator, switch: Switch) -> None:
    switch.subscribe(["CHANNEL_HANGUP"])
    out = switch.bgapi("originate user/1003,user/1001 &park()").wait(5)
    assert out.startswith("+OK ")
    winner = out.split()[1]
    assert sim.channels[winner].profile["Destination-Number"] == "1001"
    lost = _events(switch, lambda e: e.name == "CHANNEL_HANGUP")
    assert lost[-1]["Hangup-Cause"] == "LOSE_RACE" and lost[-1]["Caller-Destination-Number"] == "1003"
    switch.api(f"uuid_kill {winner}")
    _until(lambda: winner not in sim.channels)
    out = switch.bgapi("originate user/1002|user/1001 &park()").wait(5)
    assert out.startswith("+OK ") and sim.channels[out.split()[1]].profile["Destination-Number"] == "1001"


@pytest.mark.timeout(20)
def test_read_and_broadcast_on_a_socket_call(prompts: Path) -> None:
    seen: dict[str, Any] = {}

    def ivr(ch: CallChannel) -> None:
        ch.answer()
        ev = ch.execute("read", f"1 4 {prompts / 'one.wav'} pin 2000 #")
        seen["pin"], seen["result"] = ev.variable("pin"), ev.variable("read_result")
        seen["api"] = ch.api(f"uuid_broadcast {ch.uuid} {prompts / 'one.wav'} aleg")
        ev = ch.execute("sleep", "5000")          # the broadcast playback runs first, then the sleep
        seen["names"] = []
        while not ch.events.empty():
            e = ch.events.get()
            seen["names"].append((e.name, e.application))
        ch.hangup()

    srv = _serve(ivr)
    try:
        with Simulator(time_scale=SCALE, socket_address=srv.address) as sim:
            res = sim.place_call(CallerSpec("7000", digits=(DigitPress("77#"),))).wait(10)
    finally:
        srv.stop()
    assert seen["pin"] == "77" and seen["result"] == "success"
    assert seen["api"] == "+OK Message sent\n"
    assert ("CHANNEL_EXECUTE_COMPLETE", "playback") in seen["names"]
    assert res.hangup_cause == "NORMAL_CLEARING"


@pytest.mark.timeout(20)
def test_caller_hangs_up_while_the_bridge_rings() -> None:
    def ivr(ch: CallChannel) -> None:
        ch.answer()
        ch.bridge("user/1003")                   # never answers; the caller leaves after 2 s

    srv = _serve(ivr)
    try:
        with Simulator(time_scale=SCALE, socket_address=srv.address, agents=_agents()) as sim:
            host, port = sim.inbound_address
            sw = Switch(host, port, "ClueCon")
            sw.connect()
            sw.subscribe(["CHANNEL_HANGUP"])
            res = sim.place_call(CallerSpec("7000", hangup_after=2.0)).wait(10)
            evs = _events(sw, lambda e: e["Caller-Destination-Number"] == "1003")
            sw.close()
    finally:
        srv.stop()
    assert res.hangup_cause == "NORMAL_CLEARING" and res.bridged_to is None
    assert evs[-1]["Hangup-Cause"] == "ORIGINATOR_CANCEL"
    assert res.variables["DIALSTATUS"] == "CANCEL"
