"""The relay's wire form (chunks under PostgreSQL's NOTIFY limit, order, gaps) and the relay on an in-memory channel."""

from __future__ import annotations

import threading
from typing import Any

import gevent
import pytest

from cc.runtime.event_relay import EventRelay
from cc.runtime.event_wire import MAX_PAYLOAD, Reassembler, decode_event, encode_event
from cc.runtime.hooks import HookEvent, Hooks


def test_a_big_event_is_cut_under_the_limit_and_put_back_whole() -> None:
    ev = HookEvent("campaign_status", 12.5, call_uuid="u1", agent_id="1001", queue="support",
                   data={"note": "客户的长备注 " * 2000, "n": [1, 2, 3]})
    payloads = encode_event(ev, "p1", 7)
    assert len(payloads) > 2 and all(len(p.encode()) < MAX_PAYLOAD <= 7999 for p in payloads)
    assert all(p.isascii() for p in payloads)
    r = Reassembler()
    got = [r.feed(p) for p in payloads]
    assert got[:-1] == [None] * (len(payloads) - 1) and got[-1] == ev
    assert r.missed == 0 and r.bad == 0


def test_order_gaps_equal_events_and_bad_payloads() -> None:
    same = HookEvent("agent_status", 1.0, agent_id="1001", data={"status": "available"})
    one, two = encode_event(same, "p1", 1), encode_event(same, "p1", 2)
    assert one != two   # the server folds equal notifications of one transaction: the sequence keeps them apart
    big = HookEvent("dial_result", 2.0, data={"x": "y" * 20_000})
    r = Reassembler(ignore_pub="me")
    chunks = encode_event(big, "p2", 1)
    out = [r.feed(p) for p in (chunks[0], *one, chunks[1], *two, *chunks[2:])]
    assert [e for e in out if e is not None] == [same, same, big]
    assert r.feed("garbage") is None and r.feed("p1:x:0:1:{}") is None and r.bad == 2
    assert r.feed(encode_event(same, "me", 1)[0]) is None   # its own events
    assert r.feed(encode_event(same, "p1", 5)[0]) == same and r.missed == 2   # 3 and 4 never came
    assert decode_event('{"k":"x","t":1,"d":{}}') == HookEvent("x", 1.0)
    with pytest.raises(ValueError):
        decode_event('["not", "an", "event"]')


class _Pipe:
    """An in-memory channel: publish() blocks while ``gate`` is shut, listen() hears what was published."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.gate.set()
        self.sent: list[list[str]] = []
        self.heard: list[str] = []
        self.cv = threading.Condition()

    def publish(self, payloads: list[str]) -> None:
        self.gate.wait(5)
        with self.cv:
            self.sent.append(list(payloads))
            self.heard.extend(payloads)
            self.cv.notify_all()

    def listen(self, on_payload: Any, stop: Any, *, on_connect: Any = None) -> None:
        at = 0
        while not stop.is_set():
            with self.cv:
                self.cv.wait_for(lambda at=at: len(self.heard) > at or stop.is_set(), timeout=0.1)  # type: ignore[misc]
                new, at = self.heard[at:], len(self.heard)
            for p in new:
                on_payload(p)

    def close(self) -> None:
        pass


def test_a_burst_goes_in_few_round_trips_and_arrives_in_order() -> None:
    pipe = _Pipe()
    lead_hooks, standby_hooks = Hooks(), Hooks()
    leader = EventRelay(lead_hooks, pipe, _Pipe(), name="L")
    standby = EventRelay(standby_hooks, _Pipe(), pipe, name="S")
    heard: list[HookEvent] = []
    standby_hooks.on("*", heard.append)
    standby.listen()
    leader.lead()
    try:
        pipe.gate.clear()   # the first round trip is slow: the rest of the burst gathers behind it
        events = [HookEvent("offered", float(i), call_uuid=f"c{i}", data={"i": i}) for i in range(300)]
        for ev in events:
            lead_hooks.emit(ev)
        gevent.sleep(0.05)
        pipe.gate.set()
        deadline = gevent.get_hub().loop.now() + 10
        while len(heard) < len(events) and gevent.get_hub().loop.now() < deadline:
            gevent.sleep(0.01)
        assert heard == events
        assert leader.published == 300 and leader.batches <= 5 and standby.received == 300 and standby.missed == 0
    finally:
        leader.stop()
        standby.stop()
    assert leader.mode == standby.mode == "off"
