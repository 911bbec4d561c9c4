"""Seconds to import a 100,000-row lead file into a campaign (`ccctl campaign import`), CSV and XLSX, SQLite and
PostgreSQL.

Each run: a fresh migrated database with one campaign, then the import command as a user runs it (in process,
no progress bar): reading the file, checking every row (E.164 numbers, duplicates, DNC against a 1,000-number
list), creating one CRM customer per lead with its numbers, the leads and their numbers, in one transaction.
The file: a header in Chinese (姓名, 手机, 电话2, 地址, 备注, 公司), a mobile on every row, a second number on
every third row, 0.5 % duplicates and 1 % DNC numbers. Wall and CPU seconds of this process are given (the
machine's load average too: other work stretches the wall times, CPU time much less). PostgreSQL runs when
CC_BENCH_DATABASE_URL or CC_TEST_DATABASE_URL is set (a throw-away schema); else its figures are null.
Goal: < 60 s each.
Prints one JSON object. Usage: python bench/campaign_import.py [--rows N]
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import openpyxl
import psycopg
from click.testing import CliRunner
from sqlalchemy.engine import make_url

from cc.store.campaigns import CampaignRepos
from cc.store.db import Database, upgrade
from cc.store.repos import Repos
from cli import cc

HEADER = ["姓名", "手机", "电话2", "地址", "备注", "公司"]


def rows(n: int) -> list[list[str]]:
    """The lead file's rows (without the header)."""
    out = []
    for i in range(n):
        mobile = f"138{i:08d}" if i % 200 else f"138{max(i - 1, 0):08d}"   # every 200th repeats the row before
        second = f"021{6000_0000 + i:08d}" if i % 3 == 0 else ""
        out.append([f"客户{i}", mobile, second, f"上海市徐汇区{i}号", "VIP" if i % 7 == 0 else "", "ACME"])
    return out


def write_files(directory: Path, n: int) -> dict[str, Path]:
    """The same rows as a UTF-8 CSV (with BOM, as Excel saves it) and as an .xlsx."""
    data = rows(n)
    csv_path = directory / "leads.csv"
    with open(csv_path, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        w.writerows(data)
    xlsx_path = directory / "leads.xlsx"
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(HEADER)
    for r in data:
        sheet.append(r)
    book.save(xlsx_path)
    return {"csv": csv_path, "xlsx": xlsx_path}


def prepare(url: str) -> None:
    """A migrated database with campaign `bench` and 1,000 DNC numbers (10 of every 1,000 leads' mobiles)."""
    upgrade(url)
    db = Database(url)
    try:
        from cc.dialer.model import CampaignSettings
        from cc.model import Agent
        from cc.store.campaigns import Campaign

        Repos(db).agents.create(Agent("1001", contact="user/1001"))
        c = CampaignRepos(db)
        c.campaigns.create(Campaign(CampaignSettings("bench", gateway="gw1"), agents=("1001",)))
        c.dnc.add([f"+86138{i:08d}" for i in range(50, 100_000, 100)][:1000], reason="bench")
    finally:
        db.dispose()


def run_import(url: str, path: Path) -> tuple[float, float, dict[str, Any]]:
    """Wall seconds and this process's CPU seconds of one `ccctl campaign import`, and its JSON outcome (without
    the problem list)."""
    runner = CliRunner()
    c0 = time.process_time()
    t0 = time.perf_counter()
    result = runner.invoke(cc, ["campaign", "import", "bench", str(path), "--db", url, "--json", "--no-progress",
                                "--by", "bench"], catch_exceptions=False)
    seconds = time.perf_counter() - t0
    cpu = time.process_time() - c0
    if result.exit_code != 0:
        raise SystemExit(f"import failed ({result.exit_code}): {result.output[-2000:]}")
    outcome = json.loads(result.stdout)
    outcome.pop("problems")
    return seconds, cpu, outcome


def pg_schema(admin: str) -> tuple[str, str]:
    """(URL whose connections see only a new schema, schema name)."""
    name = f"cc_bench_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    conninfo = make_url(admin).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')
    url = make_url(admin).update_query_dict({"options": f"-csearch_path={name}"})
    return url.render_as_string(hide_password=False), name


def drop_schema(admin: str, name: str) -> None:
    """Remove a schema pg_schema made."""
    conninfo = make_url(admin).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    pg_admin = os.environ.get("CC_BENCH_DATABASE_URL") or os.environ.get("CC_TEST_DATABASE_URL")
    out: dict[str, Any] = {"rows": args.rows}
    with tempfile.TemporaryDirectory() as tmp:
        files = write_files(Path(tmp), args.rows)
        out["file_mb"] = {k: round(p.stat().st_size / 1e6, 1) for k, p in files.items()}
        for fmt, path in files.items():
            for backend in ("sqlite", "postgresql"):
                key = f"{fmt}_{backend}_s"
                if backend == "postgresql" and not pg_admin:
                    out[key] = None
                    continue
                schema = None
                if backend == "sqlite":
                    url = f"sqlite:///{Path(tmp) / f'{fmt}.db'}"
                else:
                    assert pg_admin is not None
                    url, schema = pg_schema(pg_admin)
                try:
                    prepare(url)
                    seconds, cpu, outcome = run_import(url, path)
                finally:
                    if schema is not None:
                        drop_schema(pg_admin or "", schema)
                out[key] = round(seconds, 2)
                out[f"{fmt}_{backend}_cpu_s"] = round(cpu, 2)
                out.setdefault("outcome", outcome)
    timed = [v for k, v in out.items() if k.endswith("_s") and not k.endswith("cpu_s") and isinstance(v, float)]
    out["import_100k_s"] = max(timed) if timed else None   # the slowest format/database: what the goal must meet
    out["goal_s"] = 60
    out["load_avg_1m"] = round(os.getloadavg()[0], 1)   # other work on the machine stretches wall times
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
