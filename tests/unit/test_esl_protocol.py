"""cc.esl.protocol against the real captures: every frame parses, events expose fields, renderers match."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cc.errors import ESLProtocolError, InvalidValue
from cc.esl import protocol as p
from cc.esl.capture import Capture, read_capture

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture(scope="module")
def caps(captures_dir: Path) -> dict[str, Capture]:
    return {f.stem: read_capture(f) for f in sorted(captures_dir.glob("*.esl"))}


# ----------------------------------------------------------------------------------------- escaping

def test_url_encode_examples_from_captures() -> None:
    assert p.url_encode("FILE PLAYED") == "FILE%20PLAYED"
    assert p.url_encode("sofia/internal/agent@127.0.0.1:5090") == "sofia/internal/agent%40127.0.0.1%3A5090"
    assert p.url_encode("Mon, 23 Nov 2026 00:42:37 GMT") == "Mon,%2023%20Nov%202026%2000%3A42%3A37%20GMT"
    assert p.url_encode("fd00::2") == "fd00%3A%3A2"
    assert p.url_encode("ARRAY::7002|:7002") == "ARRAY%3A%3A7002%7C%3A7002"
    assert p.url_encode("+OK\n") == "%2BOK%0A"
    assert p.url_encode("v=0\r\no=") == "v%3D0%0D%0Ao%3D"
    assert p.url_encode(",/()!*'-._~$") == ",/()!*'-._~$"


def test_url_encode_keeps_existing_uppercase_escapes_only() -> None:
    assert p.url_encode("a%20b") == "a%20b"
    assert p.url_encode("a%2fb") == "a%252fb"      # lowercase hex is not an escape to FreeSWITCH
    assert p.url_encode("100%") == "100%25"
    assert p.url_encode("%4") == "%254"
    assert p.url_encode("é\x7f\x01") == "%C3%A9%7F%01"
    assert p.url_encode('#%&+:;<=>?@[\\]^`{|}"') == (
        "%23%25%26%2B%3A%3B%3C%3D%3E%3F%40%5B%5C%5D%5E%60%7B%7C%7D%22")


def test_url_decode() -> None:
    assert p.url_decode("FILE%20PLAYED") == "FILE PLAYED"
    assert p.url_decode("%c3%a9+x") == "é+x"
    assert p.url_decode("100%") == "100%"
    assert p.url_decode("%zz") == "%zz"
    assert p.url_decode("%FF") == "\ufffd"


@given(st.text())
def test_url_roundtrip(s: str) -> None:
    enc = p.url_encode(s)
    assert enc.isascii() and "\n" not in enc and " " not in enc
    if not re.search(r"%[0-9A-F]{2}", s):     # FreeSWITCH keeps existing escapes: not an exact inverse then
        assert p.url_decode(enc) == s


# ----------------------------------------------------------------------------------------- frames

def test_every_frame_of_every_capture_parses(caps: dict[str, Capture]) -> None:
    allowed = {"auth/request", "command/reply", "api/response", "text/event-plain", "text/event-json",
               "text/disconnect-notice", "log/data"}
    total = 0
    for cap in caps.values():
        for rec in cap.recvs:
            fr = rec.frame()
            assert fr.content_type in allowed, (cap.name, rec.index)
            cl = fr.get("Content-Length")
            assert len(fr.body) == int(cl or 0)
            if fr.is_event:
                ev = fr.event()
                assert ev.name and ev.header("Core-UUID")
                names = [k for k, _ in ev.headers()]
                assert names[0] == "Event-Name"
                for k, v in ev.headers():                     # lazy lookup == full decode, every header
                    if names.count(k) == 1:
                        assert ev.header(k) == v, (cap.name, rec.index, k)
            total += 1
    assert total == 13 + 23 + 145 + 143 + 46 + 19 + 6 + 24


def test_whole_capture_stream_parses_in_random_chunks(caps: dict[str, Capture]) -> None:
    import random
    rnd = random.Random(7)
    for cap in caps.values():
        stream = b"".join(r.data for r in cap.recvs)
        parser = p.FrameParser()
        got: list[p.Frame] = []
        i = 0
        while i < len(stream):
            n = rnd.choice((1, 7, 100, 4096, 65536))
            got.extend(parser.feed(stream[i:i + n]))
            i += n
        parser.eof()
        assert [f.body for f in got] == [r.frame().body for r in cap.recvs]
        assert [f.content_type for f in got] == [r.frame().content_type for r in cap.recvs]


def test_connect_reply_is_channel_data(caps: dict[str, Capture]) -> None:
    fr = caps["outbound_ivr"].recvs[0].frame()
    assert fr.content_type == "command/reply"
    assert fr.reply_text == "+OK\n"
    ev = fr.event()
    assert ev.name == "CHANNEL_DATA"
    assert ev.uuid == "785ba236-9ffb-4935-a32f-65968c3e8575"
    assert ev.variable("current_application") == "socket"
    assert ev.variable("current_application_data") == "127.0.0.1:8084 async full"
    assert ev.header("Answer-State") == "ringing"
    assert ev.header("Socket-Mode") == "async" and ev.header("Control") == "full"
    assert ev.header("Caller-Destination-Number") == "7000"
    assert len([k for k, _ in ev.headers() if k.startswith("variable_")]) == 57
    assert "variable_socket_host" in ev and "nope" not in ev


def test_outbound_ivr_event_fields(caps: dict[str, Capture]) -> None:
    evs = [f.event() for f in caps["outbound_ivr"].frames() if f.is_event]
    sends = caps["outbound_ivr"].sends
    sent_uuids = [m.group(0) for s in sends for m in [re.search(rb"Event-UUID: (\S+)", s.data)] if m]
    completes = [e for e in evs if e.name == "CHANNEL_EXECUTE_COMPLETE" and e.application != "socket"]
    assert [e.application_uuid for e in completes] == [u.decode()[len("Event-UUID: "):] for u in sent_uuids]
    assert [e.application for e in completes] == [
        "answer", "playback", "play_and_get_digits", "set", "export",
        "record_session", "bridge", "stop_record_session", "hangup"]
    assert completes[1].application_response == "FILE PLAYED"
    assert completes[2].variable("cc_digits") == "123"
    assert completes[2].variable("read_result") == "success"
    assert completes[2].application_data == (
        "1 3 1 5000 # /tmp/cc_prompts/tone2s.wav /tmp/cc_prompts/tone1s.wav cc_digits \\d+")
    assert [e.dtmf_digit for e in evs if e.name == "DTMF"] == ["1", "2", "3"]
    hang = [e for e in evs if e.name == "CHANNEL_HANGUP"]
    assert hang and hang[0].hangup_cause == "NORMAL_CLEARING"
    linger = [f for f in caps["outbound_ivr"].frames() if f.content_type == "text/disconnect-notice"]
    assert linger[0].get("Content-Disposition") == "linger" and linger[0].get("Linger-Time") == "-1"
    assert linger[-1].get("Content-Disposition") == "disconnect"
    assert "Disconnected, goodbye." in linger[-1].text


def test_background_job_plain_and_json(caps: dict[str, Capture]) -> None:
    for name in ("inbound_events_plain", "inbound_events_json", "inbound_api"):
        cap = caps[name]
        jobs = [f.event() for f in cap.frames() if f.is_event and f.event().name == "BACKGROUND_JOB"]
        replies = [f for f in cap.frames() if f.content_type == "command/reply" and f.get("Job-UUID")]
        assert [j.job_uuid for j in jobs] == [r.get("Job-UUID") for r in replies]
        assert jobs
        for j in jobs:
            assert j.body.startswith(("+OK", "-ERR", "UP "))
            assert "Content-Length" not in j.body
    jplain = [f.event() for f in caps["inbound_events_plain"].frames()
              if f.is_event and f.event().name == "BACKGROUND_JOB"]
    jjson = [f.event() for f in caps["inbound_events_json"].frames()
             if f.is_event and f.event().name == "BACKGROUND_JOB"]
    assert [j.body.split(" ")[0] for j in jplain] == [j.body.split(" ")[0] for j in jjson]
    assert jplain[1].body == "-ERR USER_BUSY\n" == jjson[1].body
    assert jjson[0].header("Job-Command") == "originate"
    assert "%" not in (jjson[0].header("Job-Command-Arg") or "%")
    assert jplain[0].header("Job-Command-Arg") == jjson[0].header("Job-Command-Arg").replace(  # type: ignore[union-attr]
        "6a293c6a-9fe7-4135-b7ff-c2c5e650cebc", "8f6069ae-88bc-4f80-ae7d-c20ee384c052")


def test_json_lazy_lookup_equals_json_loads(caps: dict[str, Capture]) -> None:
    n = 0
    for f in caps["inbound_events_json"].frames():
        if f.content_type != "text/event-json":
            continue
        pairs = json.loads(f.body, object_pairs_hook=lambda kv: kv)
        ev = p.JsonEvent.parse(f.body)
        first: dict[str, str] = {}
        for k, v in pairs:
            first.setdefault(k, v)
        for k, v in first.items():
            assert p.JsonEvent.parse(f.body).header(k) == v     # lazy scan
            assert k == "_body" or ev.as_dict()[k] == v          # full parse
        assert ev.header("FreeSWITCH-IPv6") == "fd00::2"
        n += 1
    assert n == 126


def test_json_event_tricky_values() -> None:
    body = json.dumps({"Event-Name": "X", "a": 'x","Unique-ID":"fake', "Unique-ID": "real",
                       "arr": ["1", "2"], "esc": "line\nnext \u00e9"}, separators=(",", ":"))
    ev = p.JsonEvent.parse(body.encode())
    assert ev.uuid == "real"
    assert ev.header("arr") == "ARRAY::1|:2"
    assert ev.header("esc") == "line\nnext é"
    assert ev.header("missing") is None
    with pytest.raises(ESLProtocolError):
        p.JsonEvent.parse(b"[1,2]")
    with pytest.raises(ESLProtocolError):
        p.JsonEvent.parse(b'{"Event-Name": ').header("x")
    bad = p.JsonEvent.parse(b'{"Event-Name":"A", oops}')
    assert bad.name == "A"
    with pytest.raises(ESLProtocolError):
        bad.headers()


def test_plain_event_value_cannot_inject_headers() -> None:
    ev = p.PlainEvent.parse(b"Event-Name: X\nvariable_x: a%0AUnique-ID%3A%20evil\nUnique-ID: good\n\n")
    assert ev.uuid == "good"
    assert ev.variable("x") == "a\nUnique-ID: evil"
    assert ev.headers()[1] == ("variable_x", "a\nUnique-ID: evil")


# ----------------------------------------------------------------------------------------- garbage

@pytest.mark.parametrize("data", [
    b"\x00\x01\x02\xff\xfe binary noise\n\n",
    b"Content-Type: api/response\nContent-Length: abc\n\n",
    b"Content-Type: api/response\nContent-Length: -5\n\n",
    b"Content-Type: api/response\nContent-Length: 999999999999\n\n",
    b"no colon here\n\n",
    b"Reply-Text: +OK\n\n",                                    # no Content-Type
    b"Content-Type: api/response\nContent-Length: 2\n\nabcdef\n\n",  # too short: rest is not a frame
])
def test_garbage_raises_protocol_error(data: bytes) -> None:
    parser = p.FrameParser()
    with pytest.raises(ESLProtocolError):
        parser.feed(data)
    with pytest.raises(ESLProtocolError):      # poisoned afterwards
        parser.feed(b"Content-Type: auth/request\n\n")


def test_truncated_frame_at_eof() -> None:
    parser = p.FrameParser()
    assert parser.feed(b"Content-Type: api/response\nContent-Length: 10\n\nabc") == []
    with pytest.raises(ESLProtocolError):
        parser.eof()
    parser = p.FrameParser()
    assert parser.feed(b"Content-Type: auth/req") == []
    with pytest.raises(ESLProtocolError):
        parser.eof()


def test_huge_header_block_is_bounded() -> None:
    parser = p.FrameParser()
    chunk = b"X-Header: " + b"a" * 65526 + b"\n"
    with pytest.raises(ESLProtocolError):
        for _ in range(50 * 16):          # 50 MB offered, refused after 1 MiB
            parser.feed(chunk)
            assert parser.buffered <= p.MAX_HEADER_BLOCK + len(chunk)
    assert parser.buffered == 0


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=20))
def test_fuzz_parser_never_crashes(chunks: list[bytes]) -> None:
    parser = p.FrameParser(max_header=4096, max_body=4096)
    try:
        for c in chunks:
            for fr in parser.feed(c):
                _ = fr.content_type, fr.body, fr.headers()
                if fr.is_event:
                    try:
                        ev = fr.event()
                        _ = ev.name, ev.uuid, ev.headers(), ev.body
                    except ESLProtocolError:
                        pass
        parser.eof()
    except ESLProtocolError:
        pass


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["A", "Reply-Text", "Event-Name", "X-Y"]),
                          st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)),
                max_size=6),
       st.binary(max_size=50), st.integers(1, 40))
def test_fuzz_valid_frames_roundtrip(hdrs: list[tuple[str, str]], body: bytes, step: int) -> None:
    head = "Content-Type: text/x\n" + "".join(f"{k}: {p.url_encode(v)}\n" for k, v in hdrs)
    if body:
        head += f"Content-Length: {len(body)}\n"
    raw = head.encode() + b"\n" + body
    parser = p.FrameParser()
    frames: list[p.Frame] = []
    for i in range(0, len(raw), step):
        frames.extend(parser.feed(raw[i:i + step]))
    parser.eof()
    assert len(frames) == 1 and frames[0].body == body
    ev = frames[0].event()
    for k, v in hdrs:
        first = next(val for kk, val in hdrs if kk == k)
        assert ev.header(k) == (first if "%" not in first or not re.search(r"%[0-9A-F]{2}", first)
                                else ev.header(k))
        assert v is not None


# ----------------------------------------------------------------------------------------- renderers

def _render_like(sent: bytes) -> bytes:
    """Render, with cc's functions, the command that a captured send record holds."""
    text = sent.decode()
    first, _, rest = text.partition("\n")
    word, _, arg = first.partition(" ")
    if word == "sendmsg":
        hdrs = dict(ln.split(": ", 1) for ln in rest.split("\n") if ln)
        return p.render_execute(hdrs["execute-app-name"], hdrs.get("execute-app-arg", ""),
                                event_uuid=hdrs.get("Event-UUID"), uuid=arg or None,
                                event_lock=hdrs.get("event-lock") == "true")
    simple = {"auth": p.render_auth, "api": p.render_api, "getvar": p.render_getvar}
    if word in simple:
        return simple[word](arg)
    if word == "bgapi":
        return p.render_bgapi(arg)
    if word == "event":
        fmt, _, names = arg.partition(" ")
        return p.render_event(names.split(" "), fmt)
    if word == "filter":
        if arg.startswith("delete "):
            h, _, v = arg[len("delete "):].partition(" ")
            return p.render_filter_delete(h, v)
        h, _, v = arg.partition(" ")
        return p.render_filter(h, v)
    if word == "nixevent":
        return p.render_nixevent(arg.split(" "))
    if word == "linger":
        return p.render_linger(int(arg) if arg else None)
    plain = {"noevents": p.render_noevents, "myevents": p.render_myevents, "exit": p.render_exit,
             "connect": p.render_connect, "nolinger": p.render_nolinger}
    return plain[word]()


def test_renderers_equal_every_captured_send(caps: dict[str, Capture]) -> None:
    n = 0
    for cap in caps.values():
        for rec in cap.sends:
            assert _render_like(rec.data) == rec.data, (cap.name, rec.index)
            n += 1
    assert n == 7 + 20 + 15 + 15 + 5 + 13 + 5 + 4


def test_render_execute_forms() -> None:
    assert p.render_execute("answer", event_uuid="u", event_lock=True) == (
        b"sendmsg\ncall-command: execute\nexecute-app-name: answer\nevent-lock: true\nEvent-UUID: u\n\n")
    long_arg = "x" * 5000
    raw = p.render_execute("set", long_arg, event_uuid="u", loops=3)
    head, _, body = raw.partition(b"\n\n")
    assert body == long_arg.encode()
    assert b"content-length: 5000" in head and b"content-type: text/plain" in head and b"loops: 3" in head
    assert b"execute-app-arg" not in head
    raw = p.render_execute("set", "a=b\nc", event_uuid="u")
    assert raw.endswith(b"\n\na=b\nc")
    assert p.render_bgapi("status", "j-1") == b"bgapi status\nJob-UUID: j-1\n\n"
    assert p.render_myevents() == b"myevents\n\n"
    assert p.render_linger(3) == b"linger 3\n\n"
    assert p.render_event(["CUSTOM", "callcenter::info"], "json") == b"event json CUSTOM callcenter::info\n\n"
    with pytest.raises(InvalidValue):
        p.render_api("status\n\nexit")
    with pytest.raises(InvalidValue):
        p.render_event("ALL", "yaml")
    assert UUID_RE.fullmatch(p.new_uuid())


def test_plain_event_body_is_not_read_as_headers() -> None:
    body = "Unique-ID: fake\nContent-Length: 3\n\nxyz\n\n"
    raw = (f"Event-Name: BACKGROUND_JOB\nJob-UUID: j\nContent-Length: {len(body)}\n\n{body}").encode()
    ev = p.PlainEvent.parse(raw)
    assert ev.uuid is None and ev.job_uuid == "j" and ev.body == body
    assert [k for k, _ in ev.headers()] == ["Event-Name", "Job-UUID", "Content-Length"]
    no_body = p.PlainEvent.parse(b"Event-Name: X\nUnique-ID: u\n\n")
    assert no_body.body == "" and no_body.uuid == "u"
    # not FreeSWITCH's layout (a blank line without Content-Length): the first blank line ends the headers
    odd = p.PlainEvent.parse(b"Event-Name: X\nContent-Length: 2\nA: b\n\nzz")
    assert odd.header("A") == "b" and odd.body == "zz"
    first = p.PlainEvent.parse(b"Content-Length: 2\n\nok")
    assert first.body == "ok" and first.header("Content-Length") == "2"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.from_regex(r"[A-Za-z][A-Za-z_-]{0,12}", fullmatch=True),
                          st.text(max_size=20)), min_size=1, max_size=8),
       st.text(max_size=60))
def test_fuzz_plain_event_layout(hdrs: list[tuple[str, str]], body: str) -> None:
    """Events serialized like FreeSWITCH parse back: every header, and the body, whatever it holds."""
    hdrs = [(k, v) for k, v in hdrs if k != "Content-Length"]
    text = "".join(f"{k}: {p.url_encode(v)}\n" for k, v in hdrs)
    if body:
        text += f"Content-Length: {len(body.encode())}\n\n{body}"
    else:
        text += "\n"
    ev = p.PlainEvent.parse(text.encode())
    assert ev.body == body
    expected = [(k, p.url_decode(p.url_encode(v))) for k, v in hdrs]
    assert ev.headers()[: len(expected)] == expected
    for k, _ in hdrs:
        assert ev.header(k) == next(val for kk, val in expected if kk == k)
