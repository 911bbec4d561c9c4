"""OutboundServer + CallChannel over real TCP, driven by the replay peer acting as FreeSWITCH's socket app."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import gevent
import gevent.socket
import pytest

from cc.errors import CallGone, ESLProtocolError
from cc.esl.capture import Capture, Record, read_capture
from cc.esl.outbound import CallChannel, OutboundServer
from cc.esl.protocol import Event, FrameParser
from tests.wire.replay import dial, dial_async

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def caps(captures_dir: Path) -> dict[str, Capture]:
    return {f.stem: read_capture(f) for f in sorted(captures_dir.glob("outbound_*.esl"))}


class Recorder:
    """Runs an app on each call and keeps what happened."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.results: dict[str, Any] = {}
        self.error: BaseException | None = None
        self.channel: CallChannel | None = None
        self.ended = gevent.event.Event()

    def __call__(self, ch: CallChannel) -> None:
        self.channel = ch
        try:
            self.app(ch, self.results)
        except BaseException as e:
            self.error = e
            self.results["error_at"] = time.monotonic()
            raise
        finally:
            self.ended.set()


def ivr_app(ch: CallChannel, out: dict[str, Any]) -> None:
    out["answer"] = ch.answer()
    out["playback"] = ch.playback("/tmp/cc_prompts/tone2s.wav")
    out["digits"] = ch.play_and_get_digits(1, 3, 1, 5000, "#", "/tmp/cc_prompts/tone2s.wav",
                                           "/tmp/cc_prompts/tone1s.wav", "cc_digits", "\\d+")
    ch.set("cc_x", "1")
    ch.export("cc_y", "2")
    path = f"/tmp/cc_rec/{ch.uuid}.wav"
    ch.record_session(path)
    out["bridge"] = ch.bridge("sofia/internal/agent@127.0.0.1:5090")
    out["stop"] = ch.stop_record_session(path)
    ch.hangup("NORMAL_CLEARING")
    out["dtmf"] = [ch.dtmf.get_nowait() for _ in range(ch.dtmf.qsize())]
    out["cc_x"] = ch.variable("cc_x")


def run_call(records: list[Record] | tuple[Record, ...], app: Any, speed: float | None = None,
             **kw: Any) -> tuple[Recorder, Any]:
    rec = Recorder(app)
    srv = OutboundServer("127.0.0.1", 0, rec, **kw)
    srv.start()
    try:
        session = dial("127.0.0.1", srv.address[1], records, speed=speed)
        assert rec.ended.wait(5)
        gevent.sleep(0.01)
        assert srv.calls == {}
        return rec, session
    finally:
        srv.stop()


def test_outbound_ivr_call(caps: dict[str, Capture]) -> None:
    rec, session = run_call(caps["outbound_ivr"].records, ivr_app)
    assert rec.error is None, rec.error
    assert session.problems == []
    assert len(session.received) == 13 and session.received[-1] == b"exit\n\n"
    ch = rec.channel
    assert ch is not None
    assert ch.uuid == "785ba236-9ffb-4935-a32f-65968c3e8575"
    assert ch.channel_data.header("Caller-Destination-Number") == "7000"
    r = rec.results
    assert r["answer"].application == "answer"
    assert r["playback"].application_response == "FILE PLAYED"
    assert r["digits"] == "123"
    assert r["dtmf"] == ["1", "2", "3"]
    assert r["bridge"].variable("DIALSTATUS") == "SUCCESS"
    assert r["stop"].variable("record_ms") is not None
    assert r["cc_x"] == "1"
    assert ch.hung_up and ch.hangup_cause == "NORMAL_CLEARING" and ch.lingering


@pytest.mark.parametrize("name,linger,addressed", [("outbound_caller_hangup", 3, True),
                                                   ("outbound_nolinger_caller_hangup", False, False)])
def test_caller_hangup_raises_callgone(caps: dict[str, Capture], name: str, linger: Any,
                                       addressed: bool) -> None:
    hangup_seen: list[float] = []

    def app(ch: CallChannel, out: dict[str, Any]) -> None:
        ch.on("CHANNEL_HANGUP", lambda ev: hangup_seen.append(time.monotonic()))
        ch.answer()
        out["after_answer"] = True
        ch.playback("/tmp/cc_prompts/tone20s.wav")
        out["not_reached"] = True

    rec, session = run_call(caps[name].records, app, linger=linger, addressed=addressed, event_lock=False)
    assert isinstance(rec.error, CallGone)
    assert rec.error.cause == "NORMAL_CLEARING"
    assert rec.results.get("after_answer") and "not_reached" not in rec.results
    assert session.problems == []
    assert hangup_seen and rec.channel is not None and rec.channel.hung_up
    # CallGone is raised by the reader when it dispatches CHANNEL_HANGUP (no polling); print the lag
    print(f"CallGone lag {(rec.results['error_at'] - hangup_seen[0]) * 1000:.2f} ms")


def test_callgone_interrupts_a_long_wait_promptly(caps: dict[str, Capture]) -> None:
    """Played at real speed, the hang-up ends playback() as soon as CHANNEL_HANGUP arrives."""
    recs = caps["outbound_nolinger_caller_hangup"].records
    hangup_at: list[float] = []

    def app(ch: CallChannel, out: dict[str, Any]) -> None:
        ch.on("CHANNEL_HANGUP", lambda ev: hangup_at.append(time.monotonic()))
        ch.answer()
        ch.playback("/tmp/cc_prompts/tone20s.wav")

    rec = Recorder(app)
    srv = OutboundServer("127.0.0.1", 0, rec, linger=False, event_lock=False)
    srv.start()
    try:
        g = dial_async("127.0.0.1", srv.address[1], recs, speed=4.0)
        assert rec.ended.wait(10)
        assert isinstance(rec.error, CallGone)
        g.get(timeout=10)
        # the playback's own completion (PLAYBACK ERROR) came after CHANNEL_HANGUP: CallGone did not
        # wait for it; both happened in the same reader pass at most
        assert hangup_at and rec.results["error_at"] >= hangup_at[0]
    finally:
        srv.stop()


def test_sync_nolinger_getvar_and_api(caps: dict[str, Capture]) -> None:
    def app(ch: CallChannel, out: dict[str, Any]) -> None:
        out["dest"] = ch.getvar("destination_number")
        out["name"] = ch.api(f"uuid_getvar {ch.uuid} channel_name")

    rec, session = run_call(caps["outbound_sync_nolinger"].records, app, linger=False)
    assert rec.error is None
    assert rec.results == {"dest": "7002", "name": "sofia/internal/15551230001@127.0.0.1:5170"}
    assert session.problems == []
    assert session.received[-1] == b"exit\n\n"


def test_many_calls_in_parallel(caps: dict[str, Capture]) -> None:
    records = caps["outbound_ivr"].records
    recs: list[Recorder] = []

    def handler(ch: CallChannel) -> None:
        r = Recorder(ivr_app)
        recs.append(r)
        r(ch)

    srv = OutboundServer("127.0.0.1", 0, handler)
    srv.start()
    try:
        gs = [dial_async("127.0.0.1", srv.address[1], records) for _ in range(20)]
        sessions = [g.get(timeout=20) for g in gs]
        assert all(s.problems == [] for s in sessions)
        assert len(recs) == 20 and all(r.results["digits"] == "123" for r in recs)
        assert srv.handled == 20 and srv.failed == 0
    finally:
        srv.stop()


def test_garbage_on_one_call_leaves_others(caps: dict[str, Capture]) -> None:
    good = caps["outbound_ivr"].records
    bad = [*good[:2], Record("recv", 0.0, b"\x00\x01 not esl at all\n\n")]
    errors: list[BaseException] = []

    def handler(ch: CallChannel) -> None:
        try:
            ivr_app(ch, {})
        except BaseException as e:
            errors.append(e)
            raise

    srv = OutboundServer("127.0.0.1", 0, handler)
    srv.start()
    try:
        g_bad = dial_async("127.0.0.1", srv.address[1], bad)
        g_good = dial_async("127.0.0.1", srv.address[1], good)
        assert g_good.get(timeout=10).problems == []
        g_bad.get(timeout=10)
        gevent.sleep(0.05)
        # the garbage came during set-up (before the myevents reply): start() failed, the handler never ran
        assert errors == []
        assert srv.handled == 1 and srv.failed == 1 and srv.calls == {}
    finally:
        srv.stop()


def test_port_in_use_is_an_error() -> None:
    a = OutboundServer("127.0.0.1", 0, lambda ch: None)
    a.start()
    try:
        from cc.errors import ESLDisconnected
        b = OutboundServer("127.0.0.1", a.address[1], lambda ch: None)
        with pytest.raises(ESLDisconnected, match=str(a.address[1])):
            b.start()
    finally:
        a.stop()


def test_protocol_error_mid_call_reaches_the_handler(caps: dict[str, Capture]) -> None:
    recs = list(caps["outbound_ivr"].records)
    answer_done = next(i for i, r in enumerate(recs) if r.direction == "send" and b"playback" in r.data)
    garbage = b"Content-Length: x\nContent-Type: text/event-plain\n\n"
    bad = [*recs[:answer_done + 1], Record("recv", 0.0, garbage)]
    got: list[BaseException] = []

    def app(ch: CallChannel, out: dict[str, Any]) -> None:
        ch.answer()
        try:
            ch.playback("/tmp/cc_prompts/tone2s.wav")
        except BaseException as e:
            got.append(e)
            raise

    rec, _ = run_call(bad, app)
    assert len(got) == 1 and isinstance(got[0], ESLProtocolError | CallGone)
    assert rec.channel is not None and rec.channel.hung_up


def test_dtmf_callback_and_events_queue(caps: dict[str, Capture]) -> None:
    digits: list[str] = []

    def app(ch: CallChannel, out: dict[str, Any]) -> None:
        ch.on_dtmf(digits.append)
        ivr_app(ch, out)
        out["names"] = [ev.name for ev in list(ch.events.queue)]

    rec, _ = run_call(caps["outbound_ivr"].records, app)
    assert digits == ["1", "2", "3"]
    names = rec.results["names"]
    assert names.count("CHANNEL_EXECUTE_COMPLETE") >= 9 and "CHANNEL_BRIDGE" in names
    assert all(isinstance(n, str) for n in names) and Event is not None


def test_read_dtmf_and_sleep_end_with_callgone(caps: dict[str, Capture]) -> None:
    recs = caps["outbound_nolinger_caller_hangup"].records

    def app(ch: CallChannel, out: dict[str, Any]) -> None:
        ch.answer()
        raw = ch._link.send(b"sendmsg\ncall-command: execute\nexecute-app-name: playback\n"
                            b"execute-app-arg: /tmp/cc_prompts/tone20s.wav\n"
                            b"Event-UUID: fa4649b8-07d8-41a8-a924-2254cc12a197\n\n")
        raw.get(timeout=5)
        out["no_digit"] = ch.read_dtmf(timeout=0.01)
        out["sleep"] = "start"
        ch.read_dtmf()              # no digit comes: the hang-up ends the wait
        out["not_reached"] = True

    rec, session = run_call(recs, app, speed=10.0, linger=False, event_lock=False)
    assert isinstance(rec.error, CallGone)
    assert rec.results["no_digit"] is None and "not_reached" not in rec.results
    assert session.problems == []


def test_sleep_raises_callgone(caps: dict[str, Capture]) -> None:
    def app(ch: CallChannel, out: dict[str, Any]) -> None:
        ch.answer()
        ch.playback("/tmp/cc_prompts/tone2s.wav")
        ch.sleep(0.01)
        out["slept"] = True
        ch.sleep(30)                # the replay goes on with the rest of the call; it hangs up
        out["not_reached"] = True

    recs = list(caps["outbound_ivr"].records)
    # keep the call up to the playback's completion, then jump to the hang-up part of the capture
    cut = next(i for i, r in enumerate(recs) if r.direction == "send" and b"play_and_get_digits" in r.data)
    hang = next(i for i, r in enumerate(recs) if b"Event-Name: CHANNEL_HANGUP\n" in r.data)
    late = Record("recv", recs[cut - 1].t + 2.0, recs[hang].data)      # 0.2 s later at speed 10
    rec, _ = run_call([*recs[:cut], late], app, speed=10.0)
    assert isinstance(rec.error, CallGone) and rec.results.get("slept") and "not_reached" not in rec.results


def test_command_from_a_handler_is_refused(caps: dict[str, Capture]) -> None:
    from cc.errors import ESLError
    seen: list[BaseException] = []

    def bad_handler(ev: Event) -> None:
        assert rec.channel is not None
        try:
            rec.channel.api("status")
        except ESLError as e:
            seen.append(e)

    def app(ch: CallChannel, out: dict[str, Any]) -> None:
        ch.on("CHANNEL_ANSWER", bad_handler)
        ivr_app(ch, out)

    rec = Recorder(app)
    srv = OutboundServer("127.0.0.1", 0, rec)
    srv.start()
    try:
        session = dial("127.0.0.1", srv.address[1], caps["outbound_ivr"].records)
        assert rec.ended.wait(5) and rec.error is None and session.problems == []
        assert len(seen) == 1 and "handlers must only enqueue" in str(seen[0])
    finally:
        srv.stop()


def test_the_switchs_hangup_cause_beats_a_notice_that_came_first(caps: dict[str, Capture]) -> None:
    """A linger notice can come before CHANNEL_HANGUP (captures README): the cause is the event's, not a default."""
    connect = next(r for r in caps["outbound_caller_hangup"].records if r.direction == "recv").data
    rec = Recorder(lambda ch, out: (ch.wait_hangup(5), out.__setitem__("cause", ch.wait_cause(5))))
    server = OutboundServer("127.0.0.1", 0, rec)
    server.start()
    try:
        sock = gevent.socket.create_connection(server.address, timeout=5)
        buf = b""

        def expect(word: bytes) -> None:
            nonlocal buf
            while word not in buf:
                buf += sock.recv(4096)
            buf = buf[buf.index(word) + len(word):]
        expect(b"connect\n\n")
        sock.sendall(connect)
        [frame] = FrameParser().feed(connect)
        uid = frame.event().uuid
        expect(b"myevents")
        sock.sendall(b"Content-Type: command/reply\nReply-Text: +OK Events Enabled\n\n")
        expect(b"linger")
        sock.sendall(b"Content-Type: command/reply\nReply-Text: +OK will linger\n\n")
        sock.sendall(f"Content-Type: text/disconnect-notice\nControlled-Session-UUID: {uid}\nContent-Disposition: "
                     "linger\nChannel-Name: sofia/internal/x\nLinger-Time: -1\nContent-Length: 0\n\n".encode())
        gevent.sleep(0.05)
        body = f"Event-Name: CHANNEL_HANGUP\nUnique-ID: {uid}\nHangup-Cause: NORMAL_TEMPORARY_FAILURE\n\n".encode()
        sock.sendall(b"Content-Length: %d\nContent-Type: text/event-plain\n\n" % len(body) + body)
        assert rec.ended.wait(5)
        assert rec.error is None, rec.error
        assert rec.results["cause"] == "NORMAL_TEMPORARY_FAILURE"
        sock.close()
    finally:
        server.stop()
