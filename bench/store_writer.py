"""History records per second through cc.store.Writer into SQLite and PostgreSQL, and what submit() costs.

For each backend: a fresh migrated database, N records (a call-center mix: queue log lines, agent
state changes, call rows, legs) submitted as fast as a producer can, timed from the first submit
until flush() returns. submit() is timed one by one (perf_counter_ns) while the drainer runs.
O(1) check: submit() p99 into a queue holding ~0 vs ~100,000 records (drainer stopped), and into
the journal once the queue is full (spill path).
PostgreSQL runs when CC_BENCH_DATABASE_URL or CC_TEST_DATABASE_URL is set (a throw-away database is
created next to it and dropped); else its figure is null.
Prints one JSON object. Usage: python bench/store_writer.py [--records N]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
from sqlalchemy.engine import make_url

from cc.model import (
    AgentState,
    AgentStateEvent,
    AgentStatus,
    CallDirection,
    CallLeg,
    CallRecord,
    QueueEvent,
    QueueEventType,
)
from cc.store.db import Database, upgrade
from cc.store.writer import Writer

T0 = 1_767_225_600.0


def records(n: int, tag: str) -> list[Any]:
    out: list[Any] = []
    for i in range(n):
        rid = f"{tag}-{i}"
        k = i % 10
        if k < 6:
            out.append(QueueEvent(rid, T0 + i, "sales", f"m{i // 6}", QueueEventType.ENTER, "1001", 12.5))
        elif k < 8:
            out.append(AgentStateEvent(rid, T0 + i, "1001", AgentStatus.AVAILABLE, AgentState.IN_CALL))
        elif k == 8:
            out.append(CallRecord(rid, CallDirection.INBOUND, "+4930901820", "+4930100", T0 + i, "fs1",
                                  T0 + i + 3, T0 + i + 90, "NORMAL_CLEARING", "main", "sale"))
        else:
            out.append(CallLeg(rid, f"c{i}", "agent", "user/1001", T0 + i, agent_id="1001"))
    return out


def p99_us(samples_ns: list[int]) -> float:
    samples = sorted(samples_ns)
    return round(samples[int(len(samples) * 0.99)] / 1000, 2)


def throughput(url: str, n: int, journal: Path) -> tuple[float, list[int]]:
    upgrade(url)
    db = Database(url)
    recs = records(n, uuid.uuid4().hex[:6])
    w = Writer(db, journal, max_queue=n + 1, batch_size=2000)
    lat: list[int] = []
    clock = time.perf_counter_ns
    t0 = time.perf_counter()
    for r in recs:
        a = clock()
        w.submit(r)
        lat.append(clock() - a)
    assert w.flush(600), "flush timed out"
    elapsed = time.perf_counter() - t0
    stats = w.stats()
    w.close()
    db.dispose()
    assert stats.written == n and stats.rejected == 0, stats
    return n / elapsed, lat


def depth_costs(tmp: Path) -> dict[str, float]:
    """submit() p99 at queue depth ~0 and ~100k (drainer not started), and on the spill path."""
    db = Database(f"sqlite:///{tmp / 'depth.db'}")
    recs = records(110_000, "d")
    w = Writer(db, tmp / "depth.journal", max_queue=100_000, start=False)
    clock = time.perf_counter_ns
    lat: list[int] = []
    for r in recs:
        a = clock()
        w.submit(r)
        lat.append(clock() - a)
    w._closed = True  # never started: do not drain; close the journal by hand
    w.journal.close()
    db.dispose()
    return {"enqueue_p99_us_depth_0_1k": p99_us(lat[:1000]),
            "enqueue_p99_us_depth_99k_100k": p99_us(lat[99_000:100_000]),
            "enqueue_p99_us_spill_to_journal": p99_us(lat[100_000:])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=50_000)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    out: dict[str, Any] = {"records": args.records}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        rate, lat = throughput(f"sqlite:///{tmp / 'bench.db'}", args.records, tmp / "s.journal")
        out["sqlite_records_per_s"] = round(rate)
        all_lat = list(lat)
        pg = os.environ.get("CC_BENCH_DATABASE_URL") or os.environ.get("CC_TEST_DATABASE_URL")
        out["postgresql_records_per_s"] = None
        if pg:
            admin = make_url(pg).set(drivername="postgresql").render_as_string(hide_password=False)
            name = f"cc_bench_{os.getpid()}_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            try:
                url = make_url(pg).set(database=name).render_as_string(hide_password=False)
                rate, lat = throughput(url, args.records, tmp / "p.journal")
                out["postgresql_records_per_s"] = round(rate)
                all_lat += lat
            finally:
                with psycopg.connect(admin, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        out["enqueue_p99_us"] = p99_us(all_lat)
        out["enqueue_p50_us"] = round(statistics.median(all_lat) / 1000, 2)
        out.update(depth_costs(tmp))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
