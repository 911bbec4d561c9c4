"""Event rendering (plain/json as FreeSWITCH writes them), subscriptions and filters, WAV helpers."""

from __future__ import annotations

import json
from pathlib import Path

from cc.esl.protocol import FrameParser
from cc.sim.events import CoreInfo, EventBus, SimEvent, Subscription
from cc.sim.wav import wav_duration, write_silence


def _event() -> SimEvent:
    bus = EventBus(CoreInfo("core-1", "vm"), clock=lambda: 1795394985.5)
    h = bus.core_headers("BACKGROUND_JOB")
    h += [("Job-UUID", "j1"), ("Job-Command", "originate"),
          ("Job-Command-Arg", "{a=b}sofia/internal/x@h:5090 &park()"), ("Empty", "")]
    return SimEvent("BACKGROUND_JOB", h, body="+OK abc\n")


def test_plain_frame_encoding_and_body() -> None:
    raw = _event().plain()
    frames = FrameParser().feed(raw)
    assert len(frames) == 1 and frames[0].content_type == "text/event-plain"
    assert raw.startswith(b"Content-Length: ")
    text = frames[0].body.decode()
    assert "Job-Command-Arg: %7Ba%3Db%7Dsofia/internal/x%40h%3A5090%20%26park()\n" in text
    assert "FreeSWITCH-IPv6: fd00%3A%3A2\n" in text
    assert "Event-Date-GMT: " in text and "Empty: _undef_\n" in text
    head, _, body = text.partition("\n\n")
    assert head.endswith("Content-Length: 8") and body == "+OK abc\n"
    ev = frames[0].event()
    assert ev.name == "BACKGROUND_JOB" and ev.body == "+OK abc\n"


def test_json_frame() -> None:
    raw = _event().json()
    frames = FrameParser().feed(raw)
    d = json.loads(frames[0].body)
    assert d["Job-Command-Arg"] == "{a=b}sofia/internal/x@h:5090 &park()"
    assert d["Content-Length"] == "8" and d["_body"] == "+OK abc\n"
    assert not frames[0].body.endswith(b"\n")
    assert all(isinstance(v, str) for v in d.values())


def test_subscription_names_custom_myevents_and_filters() -> None:
    s = Subscription()
    assert not s.active
    s.add(["CHANNEL_ANSWER", "CUSTOM", "callcenter::info", "sofia::register"])
    assert s.wants("CHANNEL_ANSWER", "u1") and not s.wants("CHANNEL_HANGUP", "u1")
    assert s.wants("CUSTOM", None, "callcenter::info") and not s.wants("CUSTOM", None, "x::y")
    s.remove(["CHANNEL_ANSWER"])
    assert not s.wants("CHANNEL_ANSWER", "u1")
    s.add(["ALL"])
    assert s.wants("HEARTBEAT", None)
    s.uuid = "u1"
    assert s.wants("CHANNEL_ANSWER", "u1") and not s.wants("CHANNEL_ANSWER", "u2")
    s.clear()
    assert not s.active
    ev = SimEvent("X", [("Unique-ID", "u1"), ("Event-Name", "X")])
    f = Subscription(filters=[("Unique-ID", "u2")])
    assert not f.passes(ev)
    f.filters.append(("Unique-ID", "u1"))
    assert f.passes(ev)


def test_bus_builds_only_wanted_events() -> None:
    bus = EventBus(CoreInfo("c"))
    got: list[str] = []
    sub = Subscription(names={"CHANNEL_ANSWER"}, uuid="u1")
    s = bus.attach(sub, lambda ev: got.append(ev.name))
    assert bus.wanted("CHANNEL_ANSWER", "u1") and not bus.wanted("CHANNEL_ANSWER", "u2")
    bus.publish(SimEvent("CHANNEL_ANSWER", [("Unique-ID", "u2")], uuid="u2"))
    bus.publish(SimEvent("CHANNEL_ANSWER", [("Unique-ID", "u1")], uuid="u1"))
    assert got == ["CHANNEL_ANSWER"]
    bus.detach(s)
    assert not bus.wanted("CHANNEL_ANSWER", "u1")


def test_wav_roundtrip(tmp_path: Path) -> None:
    p = tmp_path / "a" / "b.wav"
    write_silence(p, 2.5)
    assert wav_duration(p) == 2.5
    assert p.stat().st_size == 44 + 2.5 * 8000 * 2
    (tmp_path / "bad.wav").write_bytes(b"RIFFxxxxWAVEjunk")
    assert wav_duration(tmp_path / "bad.wav") is None
    assert wav_duration(tmp_path / "none.wav") is None
