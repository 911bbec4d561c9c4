"""Reports over a month of history: queue report, agent report, xlsx, memory; what-if speed.

Generates CALLS calls of history (queue log lines + agent state changes, a realistic mix: ~88 %
answered, ~10 % abandoned, ~2 % timed out, some no-answers) spread over DAYS days, bulk-loaded (COPY on
PostgreSQL, executemany on SQLite) into a dedicated throw-away database, then times:
  summarize_s      building the month's queue_calls rows from the logs (`ccctl report summarize`; the controller
                   writes them live, this is the backfill for history from before they existed)
  queue_report_s   the month's queue report (hourly intervals, every queue): the per-call rows summed in the
                   database (engine "sql"); queue_report_events_s: the same from the queue log alone ("events")
  agent_report_s   the month's agent report (daily intervals, every agent)
  xlsx_s           writing those two reports (+ definitions) as an xlsx workbook
  peak_rss_mb      the process's peak resident memory (loading excluded: measured in a child)
  whatif_sim_hours_per_s   simulated hours per second of the real ACD for a 50-agent center, replications
                           on every CPU as `ccctl whatif` runs them (whatif_one_core_hours_per_s: one run, one core)
  calls_report_s   `ccctl report calls` run as a user runs it (a new process: start-up included), per format
                   (table, csv, xlsx, json), median of 3 (wall and CPU seconds), for a window of ~500 calls
                   and for a whole day; cli_help_s: `ccctl report calls --help` (the start-up alone)
PostgreSQL when CC_BENCH_DATABASE_URL or CC_TEST_DATABASE_URL is set (a database is created next to
it and dropped afterwards), else SQLite (noted in the JSON). Prints one JSON object.
Usage: python bench/reports.py [--calls 1000000] [--days 30] [--keep]
       python bench/reports.py --whatif-only   (the what-if speed alone: median of 3, no database)
       python bench/reports.py --measure URL   (reports only, on a database kept with --keep)
       python bench/reports.py --calls-report-only   (calls report per format: 50,000 calls in a day, SQLite)
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import random
import resource
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
from sqlalchemy.engine import make_url

from cc.model import QueueConfig
from cc.reports.export import write_xlsx
from cc.reports.source import ReportOptions, run_reports, summarize_history
from cc.store import Database, Repos
from cc.wfm.whatif import AgentGroup, simulate, simulate_replicated

START = datetime.datetime(2026, 10, 1, tzinfo=datetime.UTC).timestamp()
QUEUES = ("sales", "support", "billing", "vip")
AGENTS = 120


def generate(calls: int, days: int, seed: int = 7):
    """Yield ('q', row) and ('a', row) tuples; rows in insertion column order."""
    rng = random.Random(seed)
    span = days * 86400.0
    n = 0
    for i in range(calls):
        t = START + span * i / calls + rng.random()
        q = QUEUES[i % len(QUEUES)]
        m = f"m{i:08d}"
        agent = f"a{rng.randrange(AGENTS):03d}"
        wait = rng.expovariate(1 / 25.0)
        n += 1
        yield "q", (f"q{n}", t, q, m, "ENTER", None, None, None, "priority=0")
        u = rng.random()
        if u < 0.10:
            n += 1
            yield "q", (f"q{n}", t + wait, q, m, "ABANDON", None, wait, None, "")
            continue
        if u < 0.12:
            n += 1
            yield "q", (f"q{n}", t + 300, q, m, "EXIT_TIMEOUT", None, 300.0, None, "")
            continue
        if u < 0.16:
            other = f"a{rng.randrange(AGENTS):03d}"
            n += 1
            yield "q", (f"q{n}", t + 1, q, m, "OFFER", other, None, None, "")
            n += 1
            yield "q", (f"q{n}", t + 2, q, m, "RING_NO_ANSWER", other, None, None, "offer timeout")
        talk = rng.expovariate(1 / 200.0)
        ans = t + wait
        n += 1
        yield "q", (f"q{n}", ans - 3, q, m, "OFFER", agent, None, None, "")
        n += 1
        yield "q", (f"q{n}", ans, q, m, "CONNECT", agent, wait, None, "")
        n += 1
        yield "q", (f"q{n}", ans + talk, q, m, "COMPLETE_AGENT" if u < 0.5 else "COMPLETE_CALLER", agent, wait,
                    talk, "")
        for k, (at, state) in enumerate(((ans - 3, "ringing"), (ans, "in_call"), (ans + talk, "wrap_up"),
                                         (ans + talk + 15, "idle"))):
            yield "a", (f"s{i}-{k}", at, agent, "available", state, None)


def _ts(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(epoch, datetime.UTC).isoformat()


Q_COLS = ("id", "at", "queue", "member_uuid", "type", "agent_id", "wait_s", "talk_s", "detail")
A_COLS = ("id", "at", "agent_id", "status", "state", "reason")


def load_postgres(url: str, calls: int, days: int) -> None:
    u = make_url(url)
    dsn = f"host={u.host or '127.0.0.1'} port={u.port or 5432} dbname={u.database} user={u.username or 'postgres'}"
    if u.password:
        dsn += f" password={u.password}"
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        def copy(table: str, cols: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
            with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as cp:
                for r in rows:
                    cp.write_row([_ts(r[1]) if j == 1 else v for j, v in enumerate(r)])
        qb: list[tuple[Any, ...]] = []
        ab: list[tuple[Any, ...]] = []
        for kind, row in generate(calls, days):
            (qb if kind == "q" else ab).append(row)
            if len(qb) >= 50_000:
                copy("queue_events", Q_COLS, qb)
                qb = []
            if len(ab) >= 50_000:
                copy("agent_state_events", A_COLS, ab)
                ab = []
        copy("queue_events", Q_COLS, qb)
        copy("agent_state_events", A_COLS, ab)
        conn.commit()
        cur.execute("ANALYZE")
        conn.commit()


def load_sqlite(path: str, calls: int, days: int) -> None:
    import sqlite3

    conn = sqlite3.connect(path)
    qsql = f"INSERT INTO queue_events ({', '.join(Q_COLS)}) VALUES ({', '.join('?' * len(Q_COLS))})"
    asql = f"INSERT INTO agent_state_events ({', '.join(A_COLS)}) VALUES ({', '.join('?' * len(A_COLS))})"

    def fmt(epoch: float) -> str:  # what SQLAlchemy's DateTime stores on SQLite (naive UTC)
        return datetime.datetime.fromtimestamp(epoch, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")

    qb: list[tuple[Any, ...]] = []
    ab: list[tuple[Any, ...]] = []
    for kind, row in generate(calls, days):
        r = (row[0], fmt(row[1]), *row[2:])
        (qb if kind == "q" else ab).append(r)
        if len(qb) >= 50_000:
            conn.executemany(qsql, qb)
            qb = []
        if len(ab) >= 50_000:
            conn.executemany(asql, ab)
            ab = []
    conn.executemany(qsql, qb)
    conn.executemany(asql, ab)
    conn.commit()
    conn.execute("ANALYZE")
    conn.close()


def same_rows(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> bool:
    """Row by row equal, floats to 1e-9 relative (sums taken in another order)."""
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        for k, v in x.items():
            w = y.get(k)
            if isinstance(v, float) and isinstance(w, float):
                if abs(v - w) > 1e-9 * max(1.0, abs(v)):
                    return False
            elif v != w:
                return False
    return True


def measure(url: str, days: int) -> dict[str, Any]:
    """Run in a child process so that peak RSS covers the reports only."""
    db = Database(url)
    repos = Repos(db)
    opts = ReportOptions(START, START + days * 86400, interval="hour", tz="Europe/Berlin")
    t = time.perf_counter()
    rows = {"n": 0}

    def tick(n: int) -> None:
        rows["n"] += n

    queues = run_reports(repos, ["queues"], opts, progress=tick)[0]
    queue_s = time.perf_counter() - t
    queue_rows = rows["n"]
    uncovered = len(repos.queue_calls.uncovered_slots(opts.start, opts.end))
    events_s = None
    if db.dialect == "postgresql":  # (the queue-log query is not made for SQLite's planner at this size)
        t = time.perf_counter()
        from_log = run_reports(repos, ["queues"], ReportOptions(opts.start, opts.end, interval="hour",
                                                                 tz="Europe/Berlin", engine="events"))[0]
        events_s = round(time.perf_counter() - t, 2)
        if not uncovered:
            assert same_rows(list(from_log.rows), list(queues.rows)), "the summed rows disagree with the queue log"
    opts = ReportOptions(START, START + days * 86400, interval="day", tz="Europe/Berlin")
    t = time.perf_counter()
    agents = run_reports(repos, ["agents"], opts)[0]
    agent_s = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        write_xlsx([queues, agents], Path(tmp) / "month.xlsx", meta=opts.meta())
        xlsx_s = time.perf_counter() - t
    db.dispose()
    return {"queue_report_s": round(queue_s, 2), "queue_report_events_s": events_s,
            "uncovered_slots": uncovered, "agent_report_s": round(agent_s, 2), "xlsx_s": round(xlsx_s, 2),
            "queue_report_rows": queue_rows, "queue_report_rows_per_s": round(queue_rows / queue_s),
            "queue_report_lines": len(queues.rows), "agent_report_lines": len(agents.rows),  # type: ignore[arg-type]
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


ROOT = Path(__file__).resolve().parent.parent
FORMATS = ("table", "csv", "xlsx", "json")


def _median_s(argv: list[str], runs: int = 3) -> dict[str, float]:
    """Medians of ``ccctl ARGV`` in a new process (what a user waits for, start-up included): wall seconds, and
    the CPU seconds (user + system) of the process, which a machine shared with other work disturbs less."""
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import cli; cli.main()", *argv], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "COLUMNS": "200"})
        walls.append(time.perf_counter() - t)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return {"wall": round(sorted(walls)[runs // 2], 2), "cpu": round(sorted(cpus)[runs // 2], 2)}


def calls_report_figures(url: str, windows: dict[str, tuple[float, float]]) -> dict[str, Any]:
    """``ccctl report calls`` per format and window (median of 3 each), and the rows each window has."""
    out: dict[str, Any] = {"cli_help_s": _median_s(["report", "calls", "--help"]), "calls_report_s": {},
                           "calls_report_rows": {}}
    repos = Repos(Database(url))
    with tempfile.TemporaryDirectory() as tmp:
        for label, (t0, t1) in windows.items():
            opts = ReportOptions(t0, t1, tz="UTC")
            out["calls_report_rows"][label] = sum(1 for _ in run_reports(repos, ["calls"], opts)[0].iter_rows())
            base = ["report", "calls", "--db", url, "--tz", "UTC", "--from", _ts(t0)[:19], "--to", _ts(t1)[:19],
                    "--no-progress"]
            extra = {"table": [], "csv": ["--csv", f"{tmp}/calls.csv"], "xlsx": ["--xlsx", f"{tmp}/calls.xlsx"],
                     "json": ["--json"]}
            out["calls_report_s"][label] = {f: _median_s(base + extra[f]) for f in FORMATS}
    repos.db.dispose()
    return out


def calls_report_only() -> dict[str, Any]:
    """50,000 calls in one day on SQLite: the calls report for ~500 of them (15 minutes) and for all."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/calls.db"
        db = Database(url)
        db.create_all()
        db.dispose()
        load_sqlite(url.removeprefix("sqlite:///"), 50_000, 1)
        out: dict[str, Any] = {"calls": 50_000, "days": 1, "database": "sqlite"}
        out.update(calls_report_figures(url, {"15min": (START + 36_000, START + 36_900),
                                              "day": (START, START + 86_400)}))
    return out


def whatif_speed(hours: float = 100.0, parallel: bool = True) -> tuple[float, float]:
    """(simulated h/s, ACD events/s): 50 agents, 630 calls/h, AHT 240 s, 100 h (ccctl whatif's default).

    ``parallel``: as `ccctl whatif` runs it, independent replications on every CPU (one per CPU here);
    else one run in this process (one core: the engine's own speed).
    """
    t = time.perf_counter()
    if parallel:
        n = os.cpu_count() or 1
        r = simulate_replicated([AgentGroup(50)], calls_per_hour=630, aht_s=240, hours=hours, seed=1,
                                warmup_h=0.0, replications=n, workers=n)
    else:
        r = simulate([AgentGroup(50)], calls_per_hour=630, aht_s=240, hours=hours, seed=1, warmup_h=0.0)
    dt = time.perf_counter() - t
    return hours / dt, r.acd_events / dt


def whatif_figures() -> dict[str, Any]:
    """Medians of 3: replications on every CPU (as `ccctl whatif` runs) and one run on one core."""
    par = sorted(whatif_speed() for _ in range(3))
    one = sorted(whatif_speed(parallel=False) for _ in range(3))
    return {"whatif_sim_hours_per_s": round(par[1][0], 1), "whatif_runs_hours_per_s": [round(r[0], 1) for r in par],
            "whatif_cpus": os.cpu_count(), "whatif_one_core_hours_per_s": round(one[1][0], 1),
            "whatif_one_core_runs": [round(r[0], 1) for r in one],
            "whatif_one_core_acd_events_per_s": round(one[1][1]),
            "goals": {"whatif_sim_hours_per_s": ">= 100 (50 agents)"}}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=1_000_000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--measure", metavar="URL", help="only time the reports on an existing bench database")
    ap.add_argument("--keep", action="store_true",
                    help="keep the generated database (its URL is printed) to rerun the reports with --measure")
    ap.add_argument("--whatif-only", action="store_true", help="only the what-if speed (no database)")
    ap.add_argument("--calls-report-only", action="store_true",
                    help="only `ccctl report calls` per format (50,000 calls in a day, SQLite)")
    args = ap.parse_args()
    if args.calls_report_only:
        print(json.dumps(calls_report_only()))
        return
    if args.whatif_only:
        print(json.dumps(whatif_figures()))
        return
    if args.measure:
        print(json.dumps(measure(args.measure, args.days)))
        return
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that the throw-away database is dropped
    out: dict[str, Any] = {"calls": args.calls, "days": args.days}
    base = os.environ.get("CC_BENCH_DATABASE_URL") or os.environ.get("CC_TEST_DATABASE_URL")
    admin = None
    name = f"cc_bench_reports_{uuid.uuid4().hex[:8]}"
    tmpdir = tempfile.TemporaryDirectory()
    if base:
        u = make_url(base)
        admin = u.set(drivername="postgresql+psycopg")
        url = admin.set(database=name).render_as_string(hide_password=False)
        dsn = f"host={u.host or '127.0.0.1'} port={u.port or 5432} dbname={u.database} user={u.username or 'postgres'}"
        if u.password:
            dsn += f" password={u.password}"
        with psycopg.connect(dsn, autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        out["database"] = "postgresql"
    else:
        url = f"sqlite:///{tmpdir.name}/bench.db"
        out["database"] = "sqlite"
        out["note"] = "SQLite: set CC_BENCH_DATABASE_URL or CC_TEST_DATABASE_URL for PostgreSQL"
    try:
        db = Database(url)
        db.create_all()
        repos = Repos(db)
        for q in QUEUES:
            repos.queues.create(QueueConfig(q, sl_threshold_s=20))
        db.dispose()
        t = time.perf_counter()
        if base:
            load_postgres(url, args.calls, args.days)
        else:
            load_sqlite(url.removeprefix("sqlite:///"), args.calls, args.days)
        out["load_s"] = round(time.perf_counter() - t, 1)
        t = time.perf_counter()
        repos = Repos(Database(url))
        summed = repos.queue_calls.put(summarize_history(repos, START, START + args.days * 86400))
        repos.db.dispose()
        out["summarize_s"] = round(time.perf_counter() - t, 1)
        out["summarize_calls_per_s"] = round(summed / (time.perf_counter() - t))
        child = subprocess.run([sys.executable, __file__, "--measure", url, "--days", str(args.days)],
                               capture_output=True, text=True, check=True)
        out.update(json.loads(child.stdout.strip().splitlines()[-1]))
        out.update(calls_report_figures(url, {"30min": (START + 36_000, START + 37_800),
                                              "day": (START, START + 86_400)}))
        out.update(whatif_figures())
        out["goals"] = {"queue_report_s": "< 5 for a month", "whatif_sim_hours_per_s": ">= 100 (50 agents)"}
    finally:
        if base and args.keep:
            out["kept_database_url"] = url
        elif base:
            dsn = f"host={u.host or '127.0.0.1'} port={u.port or 5432} dbname={u.database} " \
                  f"user={u.username or 'postgres'}" + (f" password={u.password}" if u.password else "")
            with psycopg.connect(dsn, autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        tmpdir.cleanup()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
