"""The rest of the api and event-socket surface over TCP: transfer, hold, hupall, show calls, filters, json."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import gevent
import gevent.server
import pytest

from cc.sim import AgentSpec, CallerSpec, Simulator
from tests.wire.sim_fixtures import EslClient, summarize

SCALE = 0.02


def _until(cond: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not met in time"
        gevent.sleep(0.005)


def _client(sim: Simulator) -> EslClient:
    c = EslClient.connect(sim.inbound_address)
    assert c.read().content_type == "auth/request"
    assert c.command("auth ClueCon").reply_text == "+OK accepted"
    return c


def _api(c: EslClient, cmd: str) -> str:
    f = c.command(f"api {cmd}")
    assert f.content_type == "api/response"
    return f.text


def _next_event(c: EslClient, name: str, timeout: float = 5.0) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    while True:
        f = c.read(max(0.01, deadline - time.monotonic()))
        if f.is_event and f.event().name == name:
            return {**f.event().as_dict(), "_body": f.event().body}


@pytest.mark.timeout(30)
def test_transfer_into_the_outbound_socket_hold_and_show_calls() -> None:
    connected: list[str] = []

    def app(sock: gevent.socket.socket, addr: object) -> None:
        c = EslClient(sock)
        f = c.command("connect")
        connected.append(f.event().uuid or "")
        c.command("myevents")
        c.send("sendmsg\ncall-command: hangup\nhangup-cause: CALL_REJECTED\n\n")
        while c.fill(1.0):
            pass

    srv = gevent.server.StreamServer(("127.0.0.1", 0), app)
    srv.start()
    try:
        with Simulator(time_scale=SCALE, socket_address=("127.0.0.1", srv.server_port), routes={"6000": "park"},
                       agents=[AgentSpec("1001", answer_after=0.1, talk_time=None)]) as sim:
            c = _client(sim)
            assert c.command("event json CHANNEL_HOLD CHANNEL_UNHOLD CHANNEL_BRIDGE").reply_text == \
                "+OK event listener enabled json"
            h = sim.place_call(CallerSpec("6000"))
            _until(lambda: h.channel.parked_by == "park")
            b = _api(c, "originate user/1001 &park()").split()[1]
            assert _api(c, f"uuid_bridge {h.uuid} {b}") == f"+OK {b}\n"
            assert _next_event(c, "CHANNEL_BRIDGE")["Bridge-B-Unique-ID"] == b
            calls = json.loads(_api(c, "show calls as json"))
            assert calls["row_count"] == 1 and calls["rows"][0]["b_uuid"] == b
            assert json.loads(_api(c, "show channels as json"))["row_count"] == 2
            assert _api(c, "show channels count") == "\n2 total.\n"
            assert _api(c, f"uuid_hold {h.uuid}") == "+OK Success\n"
            assert _next_event(c, "CHANNEL_HOLD")["Channel-Call-State"] == "HELD"
            assert _api(c, f"uuid_hold off {h.uuid}") == "+OK Success\n"
            assert _next_event(c, "CHANNEL_UNHOLD")["Channel-Call-State"] == "ACTIVE"   # UNHELD, then ACTIVE (capture)
            # the agent goes elsewhere; the caller is transferred into cc's outbound socket
            assert _api(c, f"uuid_transfer {h.uuid} 7000") == "+OK\n"
            res = h.wait(5)
            assert connected == [h.uuid] and res.hangup_cause == "CALL_REJECTED"
            assert res.destination == "7000"      # the caller profile (no variable_destination_number)
            _until(lambda: b not in sim.channels)      # no park_after_bridge: the agent leg went down too
            assert _api(c, "uuid_exists " + b) == "false"
            c.close()
    finally:
        srv.stop()


@pytest.mark.timeout(30)
def test_filters_nixevent_hupall_and_errors() -> None:
    with Simulator(time_scale=SCALE, routes={"6000": "park"}) as sim:
        c = _client(sim)
        assert _api(c, "no_such_command") == "-ERR no_such_command Command not found!\n"
        assert _api(c, "uuid_kill 00000000-0000-0000-0000-000000000000") == "-ERR No such channel!\n"
        assert _api(c, "uuid_getvar 00000000-0000-0000-0000-000000000000 x") == "-ERR No such channel!\n"
        assert c.command("event plain CHANNEL_PARK CHANNEL_HANGUP").reply_text == \
            "+OK event listener enabled plain"
        h1 = sim.place_call(CallerSpec("6000", caller_id_number="111"))
        h2 = sim.place_call(CallerSpec("6000", caller_id_number="222"))
        _until(lambda: h1.channel.parked_by == "park" and h2.channel.parked_by == "park")
        got = [summarize(c.read()) for _ in range(2)]
        assert sorted(s.uuid or "" for s in got) == sorted([h1.uuid, h2.uuid])
        assert c.command(f"filter Unique-ID {h2.uuid}").reply_text == f"+OK filter added. [Unique-ID]=[{h2.uuid}]"
        assert c.command("nixevent CHANNEL_PARK").reply_text == "+OK events nixed"
        assert _api(c, f"uuid_setvar {h1.uuid} cc_note hello") == "+OK\n"
        assert _api(c, f"uuid_getvar {h1.uuid} cc_note") == "hello"
        assert _api(c, "hupall MANAGER_REQUEST") == "+OK hangup all channels with cause MANAGER_REQUEST\n"
        assert h1.wait(5).hangup_cause == "MANAGER_REQUEST" and h2.wait(5).hangup_cause == "MANAGER_REQUEST"
        ev = _next_event(c, "CHANNEL_HANGUP")
        assert ev["Unique-ID"] == h2.uuid and ev["Hangup-Cause"] == "MANAGER_REQUEST"
        c.fill(0.2)
        assert not [f for f in c.frames if f.is_event], "h1's events are filtered out"
        assert c.command("noevents").reply_text == "+OK no longer listening for events"
        assert c.command("exit").reply_text == "+OK bye"
        assert c.read().content_type == "text/disconnect-notice"
        c.fill(0.5)
        assert c.closed


@pytest.mark.timeout(20)
def test_uuid_recv_dtmf_reaches_the_channel() -> None:
    with Simulator(time_scale=SCALE, routes={"6000": "park"}) as sim:
        c = _client(sim)
        c.command("event plain DTMF")
        h = sim.place_call(CallerSpec("6000"))
        _until(lambda: h.channel.parked_by == "park")
        assert _api(c, f"uuid_recv_dtmf {h.uuid} 1w#") == f"+OK {h.uuid} received DTMF 1w#.\n"
        assert [_next_event(c, "DTMF")["DTMF-Digit"] for _ in range(2)] == ["1", "#"]
        # mod_commands.c words this one differently from the other uuid_* commands
        assert _api(c, "uuid_recv_dtmf 00000000-0000-0000-0000-000000000000 1") == "-ERR Cannot locate session!\n"


@pytest.mark.timeout(20)
def test_bgapi_job_uuid_header_and_originate_to_an_extension() -> None:
    with Simulator(time_scale=SCALE, routes={"6000": "park"},
                   agents=[AgentSpec("1001", answer_after=0.1, talk_time=None)]) as sim:
        c = _client(sim)
        c.command("event json BACKGROUND_JOB CHANNEL_PARK")
        r = c.command("bgapi originate user/1001 6000\nJob-UUID: my-job-1")
        assert r.reply_text == "+OK Job-UUID: my-job-1" and r.get("Job-UUID") == "my-job-1"
        job = _next_event(c, "BACKGROUND_JOB")
        assert job["Job-UUID"] == "my-job-1" and job["Job-Command"] == "originate"
        assert job["Job-Command-Arg"] == "user/1001 6000"
        assert job["_body"].startswith("+OK ")
        leg = job["_body"].split()[1]
        park = _next_event(c, "CHANNEL_PARK")       # the extension's dialplan: answer + park
        assert park["Unique-ID"] == leg and park["Caller-Destination-Number"] == "6000"
        assert sim.channels[leg].direction == "outbound"
        assert _api(c, "originate user/1001").startswith("-USAGE")


@pytest.mark.timeout(20)
def test_small_dptools_on_a_socket_call() -> None:
    from tests.wire.sim_fixtures import summarize as summ

    seen: list[tuple[str | None, str]] = []
    got: dict[str, str] = {}

    def app(sock: gevent.socket.socket, addr: object) -> None:
        c = EslClient(sock)
        uuid = c.command("connect").event().uuid
        c.command("myevents json")

        def run(name: str, arg: str = "") -> dict[str, str]:
            c.send(f"sendmsg {uuid}\ncall-command: execute\nexecute-app-name: {name}\n"
                   + (f"execute-app-arg: {arg}\n" if arg else "") + f"Event-UUID: u-{name}\n\n")
            while True:
                f = c.read()
                if not f.is_event:
                    continue
                ev = f.event().as_dict()
                seen.append((ev.get("Event-Name"), ev.get("Answer-State", "")))
                if ev.get("Event-Name") == "CHANNEL_EXECUTE_COMPLETE" and ev.get("Application-UUID") == f"u-{name}":
                    return ev

        run("ring_ready")
        run("pre_answer")
        run("set", "cc_a=1")
        got["set"] = c.command("getvar cc_a").reply_text
        run("unset", "cc_a")
        got["unset"] = c.command("getvar cc_a").reply_text
        got["multiset"] = run("multiset", "cc_b=2 cc_c=3").get("variable_cc_c", "")
        got["sleep"] = run("sleep", "500").get("Application-Response", "")
        got["nofile"] = run("playback", "/nonexistent/x.wav").get("Application-Response", "")
        c.send("sendmsg\ncall-command: execute\nexecute-app-name: no_such_app\n\n")
        while c.fill(1.0):
            pass
        seen.extend((summ(f).name, "") for f in c.frames)

    srv = gevent.server.StreamServer(("127.0.0.1", 0), app)
    srv.start()
    try:
        with Simulator(time_scale=SCALE, socket_address=("127.0.0.1", srv.server_port)) as sim:
            res = sim.place_call(CallerSpec("7000")).wait(10)
    finally:
        srv.stop()
    assert ("CHANNEL_PROGRESS", "ringing") in seen and ("CHANNEL_PROGRESS_MEDIA", "early") in seen
    assert got == {"set": "1", "unset": "", "multiset": "3", "sleep": "_none_", "nofile": "PLAYBACK ERROR"}
    assert not res.answered and res.hangup_cause == "DESTINATION_OUT_OF_ORDER"


@pytest.mark.timeout(20)
def test_uuid_dump_json_is_the_channel_data_with_its_variables() -> None:
    """mod_commands' uuid_dump: a CHANNEL_DATA event of the channel, serialized as one JSON object."""
    with Simulator(time_scale=SCALE, routes={"6000": "park"}) as sim:
        c = _client(sim)
        h = sim.place_call(CallerSpec("6000", caller_id_number="111"))
        _until(lambda: h.channel.parked_by == "park")
        assert _api(c, f"uuid_setvar_multi {h.uuid} cc_state=queued;cc_queue=support") == "+OK\n"
        d = json.loads(_api(c, f"uuid_dump {h.uuid} json"))
        assert d["Event-Name"] == "CHANNEL_DATA" and d["Unique-ID"] == h.uuid
        assert d["Caller-Caller-ID-Number"] == "111" and d["Answer-State"] == "answered"
        assert d["variable_cc_state"] == "queued" and d["variable_cc_queue"] == "support"
        assert f"Unique-ID: {h.uuid}\n" in _api(c, f"uuid_dump {h.uuid}")
        assert _api(c, "uuid_dump 00000000-0000-0000-0000-000000000000 json") == "-ERR No such channel!\n"
        c.close()
