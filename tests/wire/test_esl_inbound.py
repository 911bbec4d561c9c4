"""Switch (inbound ESL) over real TCP against the replay peer: auth, api/bgapi, events, reconnect, garbage."""

from __future__ import annotations

import re
from pathlib import Path

import gevent
import pytest

from cc.errors import CommandFailed, ESLAuthError, ESLDisconnected, ESLError, ESLProtocolError
from cc.esl import protocol as P
from cc.esl.capture import Capture, Record, read_capture
from cc.esl.connection import Link
from cc.esl.inbound import Switch
from tests.wire.replay import ReplayServer

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def caps(captures_dir: Path) -> dict[str, Capture]:
    return {f.stem: read_capture(f) for f in sorted(captures_dir.glob("inbound_*.esl"))}


def rec(direction: str, data: bytes) -> Record:
    return Record(direction, 0.0, data)


AUTH_OK = [rec("recv", b"Content-Type: auth/request\n\n"), rec("send", b"auth ClueCon\n\n"),
           rec("recv", b"Content-Type: command/reply\nReply-Text: +OK accepted\n\n")]


def reply(text: str) -> Record:
    return rec("recv", f"Content-Type: command/reply\nReply-Text: {text}\n\n".encode())


def api_response(body: bytes) -> Record:
    return rec("recv", b"Content-Type: api/response\nContent-Length: %d\n\n%s" % (len(body), body))


# ----------------------------------------------------------------------------------------- auth

def test_auth_refused(caps: dict[str, Capture]) -> None:
    srv = ReplayServer([caps["inbound_auth"].connections[0]]).start()
    try:
        sw = Switch("127.0.0.1", srv.port, "WrongPassword", reconnect=False)
        with pytest.raises(ESLAuthError) as exc:
            sw.connect()
        assert exc.value.host == "127.0.0.1" and exc.value.port == srv.port
        assert exc.value.reply == "-ERR invalid"
        assert f"127.0.0.1:{srv.port}" in str(exc.value)
        assert not sw.is_connected
        srv.sessions[0].finished.wait(5)
        assert srv.problems == []
    finally:
        srv.stop()


def test_auth_accepted_then_exit(caps: dict[str, Capture]) -> None:
    srv = ReplayServer([caps["inbound_auth"].connections[1]]).start()
    try:
        sw = Switch("127.0.0.1", srv.port, "ClueCon", reconnect=False)
        sw.connect()
        assert sw.is_connected
        sw.close()
        assert srv.sessions[0].finished.wait(5)
        assert srv.problems == []
        assert srv.sessions[0].received == [b"auth ClueCon\n\n", b"exit\n\n"]
    finally:
        srv.stop()


def test_command_before_auth_is_refused_and_connection_stays(caps: dict[str, Capture]) -> None:
    srv = ReplayServer([caps["inbound_auth"].connections[2]]).start()
    try:
        sock = gevent.socket.create_connection(("127.0.0.1", srv.port))
        frames: list[P.Frame] = []
        link = Link(sock, "raw", on_event=frames.append)
        link.start()
        assert link.auth_request.wait(5)
        assert link.command(P.render_api("status"), 5).reply_text == "-ERR command not found"
        assert link.command(P.render_auth("ClueCon"), 5).reply_text == "+OK accepted"
        out = link.command(P.render_api("status"), 5)
        assert out.content_type == "api/response" and out.text.startswith("UP 0 years")
        assert link.command(P.render_exit(), 5).reply_text == "+OK bye"
        gevent.sleep(0.05)
        assert link.closed and link.error is None
        with pytest.raises(ESLDisconnected):
            link.command(P.render_api("status"), 5)
        assert srv.problems == []
    finally:
        srv.stop()


def test_nothing_listening() -> None:
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(ESLDisconnected, match=f"127.0.0.1:{port}"):
        Switch("127.0.0.1", port, "ClueCon", reconnect=False, connect_timeout=1).connect()


# ----------------------------------------------------------------------------------------- api / bgapi

def test_inbound_api_scenario(caps: dict[str, Capture]) -> None:
    cap = caps["inbound_api"]
    parked = re.search(rb"uuid_exists (?!0000)(\S+)", b"".join(r.data for r in cap.sends))
    assert parked
    uuid = parked.group(1).decode()
    nil = "00000000-0000-0000-0000-000000000000"
    srv = ReplayServer([cap.records]).start()
    try:
        sw = Switch("127.0.0.1", srv.port, "ClueCon", reconnect=False)
        sw.subscribe("BACKGROUND_JOB")
        sw.connect()
        assert sw.api("status").startswith("UP 0 years")
        assert sw.api("show channels as json") == '{"row_count": 0}\n'
        rows = sw.api("show channels as json")
        assert '"application":"park"' in rows and uuid in rows
        assert sw.api(f"uuid_exists {nil}") == "false"
        assert sw.api(f"uuid_exists {uuid}") == "true"
        with pytest.raises(CommandFailed) as exc:
            sw.api("no_such_command")
        assert exc.value.reply == "-ERR no_such_command Command not found!"
        with pytest.raises(CommandFailed, match="NORMAL_TEMPORARY_FAILURE"):
            sw.api("originate sofia/internal/nobody@127.0.0.1:5999 &park()")
        assert sw.api(f"uuid_getvar {uuid} channel_name") == "sofia/internal/15551230001@127.0.0.1:5170"
        assert sw.api(f"uuid_getvar {uuid} cc_no_such_variable") == "_undef_"
        with pytest.raises(CommandFailed, match="No such channel"):
            sw.api(f"uuid_getvar {nil} channel_name")
        job = sw.bgapi("status")
        assert UUID_RE.fullmatch(job.job_uuid)
        assert job.wait(5).startswith("UP 0 years")
        assert job.event is not None and job.event.header("Job-Command") == "status"
        assert '"b_uuid":""' in sw.api("show calls as json")
        sw.subscribe(["CHANNEL_ANSWER", "CUSTOM", "callcenter::info", "sofia::register"])
        sw.filter("Unique-ID", uuid)
        sw.filter_delete("Unique-ID", uuid)
        sw.unsubscribe("CHANNEL_ANSWER")
        sw.noevents()
        sw.close()
        assert srv.sessions[0].finished.wait(5)
        assert srv.problems == []
        assert len(srv.sessions[0].received) == len(cap.sends)
        assert sw.events.qsize() == 0       # the BACKGROUND_JOB went to its Job, not to the queue
    finally:
        srv.stop()


UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.mark.parametrize("name", ["inbound_events_plain", "inbound_events_json"])
def test_inbound_events_scenario(caps: dict[str, Capture], name: str) -> None:
    """Drive the capture's commands in order; every event arrives, in order, jobs get their results."""
    cap = caps[name]
    fmt = "json" if name.endswith("json") else "plain"
    srv = ReplayServer([cap.records]).start()
    try:
        sw = Switch("127.0.0.1", srv.port, "ClueCon", reconnect=False)
        sw.subscribe("ALL", fmt)
        answered: list[str] = []
        sw.on("CHANNEL_ANSWER", lambda ev: answered.append(ev.uuid or ""))
        sw.connect()
        expected: list[str] = []
        seen: list[P.Event] = []
        jobs = []
        for r in cap.records[4:]:           # after auth + event subscription
            if r.direction == "recv":
                fr = r.frame()
                if fr.is_event and fr.event().name != "BACKGROUND_JOB":
                    expected.append(fr.event().name or "")
                continue
            while len(seen) < len(expected):            # wait for what came before this command
                seen.append(sw.events.get(timeout=5))
            cmd = r.data.decode().strip()
            if cmd == "exit":
                sw.close()
            elif cmd.startswith("bgapi "):
                jobs.append(sw.bgapi(cmd[len("bgapi "):]))
            else:
                sw.api(cmd[len("api "):])
        while len(seen) < len(expected):
            seen.append(sw.events.get(timeout=5))
        assert [e.name for e in seen] == expected
        assert [j.wait(1).split(" ")[0] for j in jobs] == ["+OK", "-ERR", "-ERR"]
        assert jobs[1].wait(0) == "-ERR USER_BUSY\n" and jobs[2].wait(0) == "-ERR NO_ANSWER\n"
        with pytest.raises(CommandFailed):
            jobs[1].wait(0, check=True)
        assert len(answered) == expected.count("CHANNEL_ANSWER") > 0
        busy = [e for e in seen if e.name == "CHANNEL_HANGUP" and e.hangup_cause == "USER_BUSY"]
        assert len(busy) == 1 and busy[0].variable("cc_test") == "1"
        assert srv.sessions[0].finished.wait(5)
        assert srv.problems == []
    finally:
        srv.stop()


def test_concurrent_commands_are_paired_in_order() -> None:
    n = 50
    script = list(AUTH_OK)
    for i in range(n):
        script.append(rec("send", f"api echo {i}\n\n".encode()))
    for i in range(n):
        script.append(api_response(f"{i}".encode()))
    srv = ReplayServer([script], hold=1).start()
    try:
        sw = Switch("127.0.0.1", srv.port, "ClueCon", reconnect=False)
        sw.connect()
        results: dict[int, str] = {}

        def one(i: int) -> None:
            results[i] = sw.api(f"echo {i}")

        gevent.joinall([gevent.spawn(one, i) for i in range(n)], raise_error=True)
        assert results == {i: str(i) for i in range(n)}
        assert srv.problems == []
    finally:
        srv.stop()


# ----------------------------------------------------------------------------------------- reconnect

def test_reconnect_and_resubscribe() -> None:
    conn = [*AUTH_OK,
            rec("send", b"event json CHANNEL_ANSWER CHANNEL_HANGUP\n\n"),
            reply("+OK event listener enabled json"),
            rec("send", b"filter Unique-ID abc\n\n"), reply("+OK filter added. [Unique-ID]=[abc]")]
    first = [*conn, rec("send", b"event json BACKGROUND_JOB\n\n"), reply("+OK event listener enabled json"),
             rec("send", b"bgapi status\nJob-UUID: 11111111-2222-3333-4444-555555555555\n\n")]
    # second connection: the same subscription and filter again (BACKGROUND_JOB now too), then hold
    again = [*AUTH_OK,
             rec("send", b"event json BACKGROUND_JOB CHANNEL_ANSWER CHANNEL_HANGUP\n\n"),
             reply("+OK event listener enabled json"),
             rec("send", b"filter Unique-ID abc\n\n"), reply("+OK filter added. [Unique-ID]=[abc]")]
    srv = ReplayServer([first, again], hold=5).start()
    port = srv.port
    srv.hold = 0      # first connection: close right after its script
    try:
        sw = Switch("127.0.0.1", port, "ClueCon", backoff=(0.05, 0.2))
        sw.subscribe(["CHANNEL_ANSWER", "CHANNEL_HANGUP"], "json")
        sw.connect()
        sw.filter("Unique-ID", "abc")
        # the job is sent, then the peer goes away without an answer: the job fails, never hangs
        with pytest.raises(ESLDisconnected):
            sw.bgapi("status", job_uuid="11111111-2222-3333-4444-555555555555").wait(5)
        srv.stop()                                       # the switch is gone for a while ...
        gevent.sleep(0.3)
        assert not sw.is_connected
        with pytest.raises(ESLDisconnected):
            sw.api("status")
        srv2 = ReplayServer([again], port=port, hold=5).start()   # ... and comes back
        try:
            assert sw.wait_connected(5)
            assert srv2.connected.wait(5)
            gevent.sleep(0.1)
            assert sw.reconnects == 1
            assert srv2.problems == [] and srv.problems == []
            assert srv2.sessions[0].received == [
                b"auth ClueCon\n\n", b"event json BACKGROUND_JOB CHANNEL_ANSWER CHANNEL_HANGUP\n\n",
                b"filter Unique-ID abc\n\n"]
        finally:
            sw.close()
            srv2.stop()
    finally:
        srv.stop()


# ----------------------------------------------------------------------------------------- garbage

GARBAGE = {
    "binary noise": b"\x00\xff\xfe\x13garbage\x00\n\n",
    "wrong content-length": (b"Content-Type: api/response\nContent-Length: 3\n\nUP 0 years\n"
                             b"Content-Type: api/response\nContent-Length: 2\n\nok"),
    "bad content-length": b"Content-Type: api/response\nContent-Length: lots\n\n",
    "truncated frame": b"Content-Type: api/response\nContent-Length: 100\n\nUP 0",
    "header without colon": b"Content-Type api/response\n\n",
}


@pytest.mark.parametrize("kind", sorted(GARBAGE))
def test_garbage_closes_connection_other_sessions_unharmed(kind: str) -> None:
    bad = [*AUTH_OK, rec("send", b"api status\n\n"), rec("recv", GARBAGE[kind])]
    good = [*AUTH_OK, rec("send", b"api status\n\n"), api_response(b"UP fine\n")]
    bad_srv = ReplayServer([bad], hold=0.5).start()
    good_srv = ReplayServer([good], hold=2).start()
    try:
        ok = Switch("127.0.0.1", good_srv.port, "ClueCon", reconnect=False)
        ok.connect()
        sw = Switch("127.0.0.1", bad_srv.port, "ClueCon", reconnect=False)
        sw.connect()
        err: ESLError | None = None
        try:
            out = sw.api("status", timeout=5)
            # a too-short Content-Length cannot be seen at once: the reply is cut ("UP "), and the
            # leftover bytes are not ESL, which closes the connection right after
            assert kind == "wrong content-length" and out == "UP "
        except ESLError as e:
            err = e
        for _ in range(60):
            if sw.last_error is not None:
                break
            gevent.sleep(0.05)
        # a truncated frame is only known to be one when the peer closes (hold=0.5 s here)
        assert isinstance(sw.last_error, ESLProtocolError), sw.last_error
        assert err is None or isinstance(err, ESLProtocolError)
        assert not sw.is_connected
        with pytest.raises(ESLDisconnected):
            sw.api("status")
        assert ok.api("status") == "UP fine\n"
    finally:
        bad_srv.stop()
        good_srv.stop()


def test_50mb_header_block_is_refused_quickly() -> None:
    big = rec("recv", b"Content-Type: api/response\nX-Big: " + b"a" * (50 << 20))
    bad = [*AUTH_OK, rec("send", b"api status\n\n"), big]
    srv = ReplayServer([bad]).start()
    try:
        sw = Switch("127.0.0.1", srv.port, "ClueCon", reconnect=False)
        sw.connect()
        with pytest.raises(ESLProtocolError, match="header block longer"):
            sw.api("status", timeout=20)
        assert not sw.is_connected
    finally:
        srv.stop()


def _plain_event(headers: list[tuple[str, str]]) -> Record:
    body = "".join(f"{k}: {P.url_encode(v)}\n" for k, v in headers).encode() + b"\n"
    return rec("recv", b"Content-Length: %d\nContent-Type: text/event-plain\n\n%s" % (len(body), body))


def test_custom_handlers_and_a_full_queue_never_block_the_reader() -> None:
    events = [_plain_event([("Event-Name", "CUSTOM"), ("Event-Subclass", "callcenter::info"),
                            ("CC-Action", f"member-queue-{i}")]) for i in range(5)]
    script = [*AUTH_OK, rec("send", b"event plain CUSTOM callcenter::info\n\n"),
              reply("+OK event listener enabled plain"), *events,
              rec("send", b"api status\n\n"), api_response(b"UP\n")]
    srv = ReplayServer([script], hold=1).start()
    try:
        sw = Switch("127.0.0.1", srv.port, "ClueCon", reconnect=False, event_queue_size=2)
        got: list[str] = []
        sw.on("callcenter::info", lambda ev: got.append(ev.header("CC-Action") or ""))
        sw.on("callcenter::info", lambda ev: 1 / 0)      # a failing handler is logged, not fatal
        sw.subscribe(["CUSTOM", "callcenter::info"])
        sw.connect()
        assert sw.api("status") == "UP\n"              # the reader went on past the full queue
        assert got == [f"member-queue-{i}" for i in range(5)]
        assert sw.events.qsize() == 2 and sw.dropped_events == 3
        assert sw.events.get().header("CC-Action") == "member-queue-0"
        assert srv.problems == []
    finally:
        srv.stop()
