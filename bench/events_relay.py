"""Leader hook event -> standby SSE bytes over PostgreSQL LISTEN/NOTIFY (cc.runtime.event_relay); one JSON object.

In one process: the leader's Hooks with an EventRelay publishing on a NotifyChannel, the standby's Hooks with
an EventRelay listening on another connection, and the standby's EventHub with one SSE client (the
generator /api/v1/events writes from, masking included; the HTTP write itself is not timed). Each event
carries its emit time (``time.perf_counter`` of this process); the latency is from ``hooks.emit`` on the
leader to the SSE bytes of that event on the standby.

- ``paced``: ``--events`` agent_status-sized events at ``--rate`` per second: ``p50_ms``, ``p99_ms``, ``max_ms``;
- ``burst``: ``--events`` events emitted at once: the same figures, and ``batches`` (round trips that carried
  them: a burst is not one round trip per event);
- ``big``: ``--big`` events with a 20 KB note (``ascii_json_bytes`` on the wire: about 5 notifications each),
  paced at 20/s: ``p50_ms``, ``p99_ms``.

Needs PostgreSQL: ``--db URL``, else $CC_BENCH_DATABASE_URL or $CC_TEST_DATABASE_URL.
Usage: ``python bench/events_relay.py [--events 1000] [--rate 200] [--big 50]``
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import time
from typing import Any

import gevent

from cc.api.events import EventHub
from cc.runtime.event_relay import EventRelay
from cc.runtime.hooks import HookEvent, Hooks
from cc.store.event_channel import NotifyChannel


def _pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


def _figures(lat: list[float]) -> dict[str, Any]:
    ms = [x * 1000.0 for x in lat]
    return {"n": len(ms), "p50_ms": round(statistics.median(ms), 3), "p99_ms": round(_pct(ms, 0.99), 3),
            "max_ms": round(max(ms), 3)}


class _Consumer:
    """One SSE client of the standby's hub: the arrival time of each numbered event."""

    def __init__(self, hub: EventHub) -> None:
        self.arrived: dict[int, float] = {}
        self.sent: dict[int, float] = {}
        self._stream = hub.stream(kinds=frozenset({"agent_status"}))
        self.greenlet = gevent.spawn(self._run)

    def _run(self) -> None:
        for chunk in self._stream:
            now = time.perf_counter()
            text = chunk.decode()
            for line in text.splitlines():
                if line.startswith("data: "):
                    d = json.loads(line[6:])["data"]
                    self.arrived[d["n"]] = now
                    self.sent[d["n"]] = d["sent"]

    def wait(self, n: int, timeout: float = 60.0) -> None:
        deadline = time.perf_counter() + timeout
        while len(self.arrived) < n and time.perf_counter() < deadline:
            gevent.sleep(0.005)
        if len(self.arrived) < n:
            raise SystemExit(f"only {len(self.arrived)} of {n} events arrived")

    def take(self) -> list[float]:
        lat = [self.arrived[k] - self.sent[k] for k in sorted(self.arrived)]
        self.arrived.clear()
        self.sent.clear()
        return lat


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--db", default=os.environ.get("CC_BENCH_DATABASE_URL") or os.environ.get("CC_TEST_DATABASE_URL"))
    ap.add_argument("--events", type=int, default=1000)
    ap.add_argument("--rate", type=float, default=200.0, help="events per second in the paced run")
    ap.add_argument("--big", type=int, default=50, help="20 KB events in the big run")
    args = ap.parse_args()
    if not args.db:
        sys.exit("events_relay: give --db URL (PostgreSQL) or set CC_TEST_DATABASE_URL")
    logging.basicConfig(level=logging.ERROR)
    channel = f"cc_events_bench_{os.getpid()}"
    lead_hooks, standby_hooks = Hooks(), Hooks()
    leader = EventRelay(lead_hooks, NotifyChannel(args.db, channel), NotifyChannel(args.db, channel), name="L")
    standby = EventRelay(standby_hooks, NotifyChannel(args.db, channel), NotifyChannel(args.db, channel), name="S")
    hub = EventHub(standby_hooks, max_queue=100_000)
    consumer = _Consumer(hub)
    standby.listen()
    leader.lead()
    gevent.sleep(1.0)   # the listener is on the channel
    n = 0

    def emit(extra: dict[str, Any] | None = None) -> None:
        nonlocal n
        data = {"status": "available", "state": "idle", "reason": None, "n": n, "sent": time.perf_counter()}
        lead_hooks.emit(HookEvent("agent_status", time.time(), agent_id="1001", data=data | (extra or {})))
        n += 1

    out: dict[str, Any] = {"bench": "events_relay", "transport": "postgresql LISTEN/NOTIFY",
                           "events": args.events, "rate_per_s": args.rate}
    try:
        # paced
        t0 = time.perf_counter()
        for i in range(args.events):
            gevent.sleep(max(0.0, t0 + i / args.rate - time.perf_counter()))
            emit()
        consumer.wait(args.events)
        out["paced"] = _figures(consumer.take())
        # burst
        batches0 = leader.batches
        for _ in range(args.events):
            emit()
        consumer.wait(args.events)
        out["burst"] = _figures(consumer.take()) | {"batches": leader.batches - batches0}
        # big events, paced
        note = "客户的长备注 with words, " * 800
        t0 = time.perf_counter()
        for i in range(args.big):
            gevent.sleep(max(0.0, t0 + i / 20.0 - time.perf_counter()))
            emit({"note": note})
        consumer.wait(args.big)
        size = len(json.dumps({"note": note}, ensure_ascii=True))
        out["big"] = _figures(consumer.take()) | {"ascii_json_bytes": size}
        out["missed"] = standby.missed
        out["dropped"] = leader.dropped
    finally:
        leader.stop()
        standby.stop()
        hub.close()
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
