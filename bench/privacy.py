"""The retention job over a large history while calls flow: rows, time, and calls that failed meanwhile.

Seeds ROWS call records (``calls``, bulk: COPY on PostgreSQL, executemany on SQLite; 60 % older than the
retention period) and FILES recordings (rows + small files in a temp folder; 60 % expired), then runs the
retention job the way `ccctl serve` does (a worker thread of the gevent hub, batches of 2,000 rows) while a
Service on cc.sim takes calls at a steady rate (20 agents, one call every 0.1 s). Reports:
  retention_rows                  rows the job deleted (call records + recordings)
  retention_s                     its duration
  retention_files                 recording files it deleted
  calls_during_retention          calls placed while it ran
  calls_failed_during_retention   of those, calls that did not reach an agent or ended abnormally
  writer_retries, writer_rejected the history writer's retried batches (database busy) and refused records meanwhile
per backend (SQLite always; PostgreSQL with CC_BENCH_DATABASE_URL or CC_TEST_DATABASE_URL: a schema created and
dropped). The top-level figures are PostgreSQL's when it ran, else SQLite's. Prints one JSON object.
Usage: python bench/privacy.py [--rows 1000000] [--files 100000] [--sqlite-only]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import gevent
import psycopg
from sqlalchemy.engine import make_url

from cc.clock import ScaledClock
from cc.config import NodeConfig, ServiceConfig
from cc.model import Agent, QueueConfig, Strategy, Tier
from cc.privacy.policy import RetentionPolicy
from cc.privacy.retention import RetentionJob
from cc.privacy.schedule import RetentionTask
from cc.service import Service
from cc.sim.endpoints import AgentSpec, CallerSpec
from cc.sim.simulator import Simulator
from cc.store.db import Database, upgrade
from cc.store.repos import AgentRepo, QueueRepo, TierRepo
from cc.store.retention import RetentionRepo

DAY = 86400.0
KEEP = 365 * DAY
FLOW = "flow: bench\nstart: q\nnodes:\n  q: {enqueue: {queue: support}, next: bye}\n  bye: {hangup: NORMAL_CLEARING}\n"
AGENTS = 20


def _when(i: int, n: int, now: float) -> float:
    """Spread n records over the last two years: the first 60 % before the one-year cut."""
    split = 0.6 * n
    if i < split:
        return now - 2 * KEEP + KEEP * i / split
    return now - KEEP + 0.99 * KEEP * (i - split) / (n - split)


def _ts(epoch: float, sqlite: bool) -> str:
    d = datetime.datetime.fromtimestamp(epoch, datetime.UTC)
    return d.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else d.isoformat()


def seed(url: str, rows: int, files: int, rec_dir: Path, now: float) -> float:
    """Bulk-load the history; returns the seconds it took."""
    t0 = time.perf_counter()
    sqlite = url.startswith("sqlite")
    calls = ((f"c{i:09d}", "inbound", f"138{i % 100_000_000:08d}", "7000", "bench", _ts(_when(i, rows, now), sqlite))
             for i in range(rows))
    recs = []
    for i in range(files):
        path = rec_dir / f"{i // 1000:03d}" / f"r{i:07d}.wav"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"RIFF$\x00\x00\x00WAVE")
        recs.append((f"r{i:07d}", f"c{i * (rows // max(files, 1)):09d}", str(path), _ts(_when(i, files, now), sqlite),
                     "[]"))
    if sqlite:
        import sqlite3

        con = sqlite3.connect(make_url(url).database or "")
        con.executemany("INSERT INTO calls (uuid, direction, caller, callee, node, started_at) VALUES (?,?,?,?,?,?)",
                        calls)
        con.executemany("INSERT INTO recordings (uuid, call_uuid, path, started_at, paused_spans) VALUES (?,?,?,?,?)",
                        recs)
        con.commit()
        con.close()
    else:
        info = make_url(url).set(drivername="postgresql")
        opts = dict(info.query)
        info = info.set(query={})
        with psycopg.connect(info.render_as_string(hide_password=False), options=str(opts.get("options", ""))) as con:
            with con.cursor() as cur:
                with cur.copy("COPY calls (uuid, direction, caller, callee, node, started_at) FROM STDIN") as cp:
                    for r in calls:
                        cp.write_row(r)
                with cur.copy("COPY recordings (uuid, call_uuid, path, started_at, paused_spans) FROM STDIN") as cp:
                    for r in recs:
                        cp.write_row(r)
                cur.execute("ANALYZE calls")
                cur.execute("ANALYZE recordings")
    return time.perf_counter() - t0


def run(url: str, rows: int, files: int, work: Path) -> dict[str, Any]:
    now = time.time()
    upgrade(url)
    rec_dir = work / "rec"
    rec_dir.mkdir()
    seed_s = seed(url, rows, files, rec_dir, now)
    db = Database(url)
    queues, agents, tiers = QueueRepo(db), AgentRepo(db), TierRepo(db)
    queues.create(QueueConfig("support", strategy=Strategy.LONGEST_IDLE_AGENT, moh="", wrap_up_s=0))
    for i in range(AGENTS):
        agents.create(Agent(f"1{i:03d}", contact=f"user/1{i:03d}@sim", wrap_up_s=0))
        tiers.add(Tier(f"1{i:03d}", "support"))
    (work / "flow.yaml").write_text(FLOW)
    scale = 0.05
    sim = Simulator(time_scale=scale,
                    agents=[AgentSpec(f"1{i:03d}", answer_after=1, talk_time=10) for i in range(AGENTS)])
    sim.start()
    cfg = ServiceConfig(nodes=(NodeConfig("sim", *sim.inbound_address),), outbound_port=0, database_url=url,
                        flows_dir=str(work), routes={"7000": "flow.yaml"}, recordings_dir=str(rec_dir),
                        base_dir=str(work))
    svc = Service(cfg, clock=ScaledClock(scale), database=db, journal_path=str(work / "journal.jsonl"))
    svc.start()
    sim.socket_address = svc.outbound_address
    ctl = svc.controller
    assert ctl is not None
    for i in range(AGENTS):
        ctl.login(f"1{i:03d}")
    policy = RetentionPolicy(periods={"recordings": KEEP, "call_records": KEEP})
    job = RetentionJob(RetentionRepo(db), policy, rec_dir, clock=lambda: now)
    task = RetentionTask(job)
    handles: list[Any] = []
    running = [True]

    def callers() -> None:
        n = 0
        while running[0]:
            n += 1
            handles.append(sim.place_call(CallerSpec("7000", caller_id_number=f"1390000{n:04d}", patience=600)))
            gevent.sleep(0.1)

    gen = gevent.spawn(callers)
    gevent.sleep(2.0)                      # calls flowing before the job starts
    before = len(handles)
    assert svc.writer is not None
    w0 = svc.writer.stats()
    t0 = time.perf_counter()
    task.run_once()
    took = time.perf_counter() - t0
    during = handles[before:]
    running[0] = False
    gen.join()
    results = [h.wait(120) for h in during]
    failed = sum(1 for r in results if r.bridged_to is None or r.hangup_cause not in ("NORMAL_CLEARING", "SUCCESS"))
    w1 = svc.writer.stats()
    svc.stop(drain_timeout=5)
    sim.stop()
    left = sum(1 for _ in rec_dir.rglob("*.wav"))
    db.dispose()
    return {"seed_s": round(seed_s, 1), "retention_rows": task.rows, "retention_s": round(took, 2),
            "retention_files": files - left, "calls_during_retention": len(during),
            "calls_failed_during_retention": failed, "writer_retries": w1.retries - w0.retries,
            "writer_rejected": w1.rejected - w0.rejected}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--files", type=int, default=100_000)
    ap.add_argument("--sqlite-only", action="store_true")
    args = ap.parse_args()
    out: dict[str, Any] = {"rows": args.rows, "files": args.files, "by_backend": {}}
    with tempfile.TemporaryDirectory(prefix="cc-bench-privacy-") as tmp:
        work = Path(tmp) / "sqlite"
        work.mkdir()
        out["by_backend"]["sqlite"] = run(f"sqlite:///{work / 'cc.db'}", args.rows, args.files, work)
        pg = os.environ.get("CC_BENCH_DATABASE_URL") or os.environ.get("CC_TEST_DATABASE_URL")
        if pg and not args.sqlite_only:
            schema = f"cc_bench_{uuid.uuid4().hex[:8]}"
            admin = make_url(pg).set(drivername="postgresql").render_as_string(hide_password=False)
            with psycopg.connect(admin, autocommit=True) as con:
                con.execute(f'CREATE SCHEMA "{schema}"')
            try:
                work = Path(tmp) / "pg"
                work.mkdir()
                url = make_url(pg).update_query_dict({"options": f"-csearch_path={schema}"})
                out["by_backend"]["postgresql"] = run(url.render_as_string(hide_password=False), args.rows,
                                                      args.files, work)
            finally:
                with psycopg.connect(admin, autocommit=True) as con:
                    con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
                shutil.rmtree(work, ignore_errors=True)
    top = out["by_backend"].get("postgresql") or out["by_backend"]["sqlite"]
    out["backend"] = "postgresql" if "postgresql" in out["by_backend"] else "sqlite"
    for key in ("retention_rows", "retention_s", "calls_failed_during_retention"):
        out[key] = top[key]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
