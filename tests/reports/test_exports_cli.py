"""Exports read back (xlsx cell by cell, CSV, JSON), PNG charts, and the `ccctl report` command on SQLite."""

from __future__ import annotations

import csv
import datetime
import json
import struct
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from cc.model import AgentState, AgentStateEvent, AgentStatus, QueueConfig, QueueEvent, SurveyResult
from cc.model import QueueEventType as Q
from cc.store import Database, Repos

T0 = datetime.datetime(2026, 11, 23, 9, 0, tzinfo=datetime.UTC).timestamp()


@pytest.fixture()
def db_url(empty_db_url: str) -> str:
    url = empty_db_url
    db = Database(url)
    db.create_all()
    repos = Repos(db)
    repos.queues.create(QueueConfig("sales", sl_threshold_s=20))
    n = 0

    def add(at: float, member: str, typ: Q, agent: str | None = None, wait: float | None = None,
            talk: float | None = None) -> None:
        nonlocal n
        n += 1
        repos.queue_events.add(QueueEvent(f"e{n:04d}", at, "sales", member, typ, agent, wait, talk))

    add(T0 + 10, "c1", Q.ENTER)
    add(T0 + 15, "c1", Q.CONNECT, "1001", 5)
    add(T0 + 115, "c1", Q.COMPLETE_AGENT, "1001", 5, 100)
    add(T0 + 20, "c2", Q.ENTER)
    add(T0 + 80, "c2", Q.ABANDON, None, 60)
    add(T0 + 3700, "c3", Q.ENTER)
    add(T0 + 3730, "c3", Q.CONNECT, "1001", 30)
    add(T0 + 3930, "c3", Q.COMPLETE_CALLER, "1001", 30, 200)
    for i, (at, state) in enumerate([(T0, AgentState.IDLE), (T0 + 15, AgentState.IN_CALL),
                                     (T0 + 115, AgentState.WRAP_UP), (T0 + 135, AgentState.IDLE)]):
        repos.agent_state_events.add(AgentStateEvent(f"s{i}", at, "1001", AgentStatus.AVAILABLE, state))
    repos.surveys.add(SurveyResult("v1", T0 + 200, "c1", "csat", "q1", 4, "1001", "sales"))
    db.dispose()
    return url


def run(*args: str) -> object:
    from cli import cc

    return CliRunner().invoke(cc, list(args), catch_exceptions=False)


WINDOW = ("--from", "2026-11-23T09:00", "--to", "2026-11-23T11:00", "--tz", "UTC")


def test_report_queues_json(db_url: str) -> None:
    res = run("report", "queues", *WINDOW, "--interval", "hour", "--db", db_url, "--json")
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)["queues"]
    assert [(r["interval"], r["offered"], r["answered"], r["abandoned"]) for r in rows] == [
        ("2026-11-23T09:00+00:00", 2, 1, 1), ("2026-11-23T10:00+00:00", 1, 1, 0)]
    assert rows[0]["service_level"] == 0.5 and rows[0]["wrap_s"] == 20 and rows[0]["aht_s"] == 120
    assert rows[0]["start"] == "2026-11-23T09:00:00+00:00"
    assert rows[1]["service_level"] == 0.0  # 30 s > 20 s threshold


def test_report_table_and_bad_arguments(db_url: str) -> None:
    res = run("report", "agents", *WINDOW, "--db", db_url)
    assert res.exit_code == 0 and "1001" in res.output
    for bad in (["--interval", "fortnight"], ["--tz", "Mars/Olympus"], ["--from", "yesterday"],
                ["--short-abandon", "soon"]):
        res = CliRunner().invoke(__import__("cli").cc, ["report", "queues", "--db", db_url, *bad])
        assert res.exit_code == 2
        assert len(res.output.strip().splitlines()) == 1 and res.output.startswith("ccctl: ")


def test_xlsx_read_back_cell_by_cell(db_url: str, tmp_path: Path) -> None:
    out = tmp_path / "r.xlsx"
    res = run("report", "all", *WINDOW, "--interval", "hour", "--db", db_url, "--xlsx", str(out))
    assert res.exit_code == 0, res.output
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["queues", "agents", "calls", "surveys", "fcr", "Definitions"]
    ws = wb["queues"]
    header = [c.value for c in ws[1]]
    assert header[:5] == ["Interval", "Start", "Queue", "Offered", "Answered"]
    assert ws.freeze_panes == "A2"
    assert all(c.font.bold for c in ws[1])
    row = {h: c for h, c in zip(header, ws[2], strict=True)}
    assert row["Interval"].value == "2026-11-23T09:00+00:00"
    assert row["Start"].value == datetime.datetime(2026, 11, 23, 9, 0) and row["Start"].is_date
    assert row["Offered"].value == 2 and row["Offered"].data_type == "n"
    assert row["Service level"].value == 0.5 and row["Service level"].number_format == "0.0%"
    assert row["ASA"].value == datetime.timedelta(seconds=5) and row["AHT"].value == datetime.timedelta(seconds=120)
    assert row["AHT"].number_format == "[h]:mm:ss"
    assert row["Survey avg"].value == 4.0
    assert ws.column_dimensions["A"].width >= 10
    calls = wb["calls"]
    got = sorted((r[0], r[3]) for r in calls.iter_rows(min_row=2, values_only=True))
    assert got == [("c1", "answered"), ("c2", "abandoned"), ("c3", "answered")]
    defs = wb["Definitions"]
    assert defs["A1"].value == "Report" and any(r[1] == "Service level" and "offered" in r[3]
                                                for r in defs.iter_rows(min_row=2, values_only=True))


def test_csv_export(db_url: str, tmp_path: Path) -> None:
    out = tmp_path / "calls.csv"
    res = run("report", "calls", *WINDOW, "--db", db_url, "--csv", str(out))
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(out.open()))
    assert [(r["Call"], r["Outcome"], r["Wait"]) for r in rows] == [
        ("c2", "abandoned", "60.0"), ("c1", "answered", "5.0"), ("c3", "answered", "30.0")]
    res = CliRunner().invoke(__import__("cli").cc, ["report", "all", *WINDOW, "--db", db_url, "--csv", str(out)])
    assert res.exit_code == 2


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


@pytest.mark.parametrize("kind", ["queues", "agents", "waits"])
def test_charts(db_url: str, tmp_path: Path, kind: str) -> None:
    out = tmp_path / f"{kind}.png"
    res = run("report", "chart", kind, *WINDOW, "--db", db_url, "--png", str(out), "--size", "800x400")
    assert res.exit_code == 0, res.output
    assert out.stat().st_size > 5000
    assert png_size(out) == (800, 400)


def test_staff_from_history(db_url: str) -> None:
    res = run("staff", "--from-history", "sales", "--weeks", "1", "--until", "2026-11-24", "--interval", "1h",
              "--aht", "100s", "--sl", "80/20", "--db", db_url, "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    got = [(r["interval"], r["calls"]) for r in out["intervals"]]
    assert got == [("Mon 09:00", 2.0), ("Mon 10:00", 1.0)]  # 2026-11-23 is a Monday
    assert all(r["agents"] >= 1 for r in out["intervals"])
    assert "3 calls of sales over 1 weeks" in out["note"]


def test_summarize_builds_the_rows_once_and_the_report_keeps_its_figures(db_url: str) -> None:
    before = json.loads(run("report", "queues", *WINDOW, "--interval", "hour", "--db", db_url, "--json",
                            "--no-progress").output)
    repos = Repos(Database(db_url))
    try:
        assert repos.queue_calls.uncovered_slots(T0, T0 + 7200) != []   # no rows yet: from the queue log
        for _ in range(2):  # a second run replaces the rows, it does not add to them
            res = run("report", "summarize", *WINDOW, "--db", db_url, "--json", "--no-progress")
            assert res.exit_code == 0, res.output
            assert json.loads(res.output)["calls"] == 3
        rows = {c.member_uuid: c for c in repos.queue_calls.scan(T0, T0 + 7200)}
        assert sorted(rows) == ["c1", "c2", "c3"]
        assert rows["c1"].wrap_s == 20 and rows["c1"].talk_s == 100 and rows["c2"].abandon_wait_s == 60
        assert repos.queue_calls.uncovered_slots(T0, T0 + 7200) == []
    finally:
        repos.db.dispose()
    for engine in ("sql", "events", "python"):  # the summed rows give the report it gave before
        after = json.loads(run("report", "queues", *WINDOW, "--interval", "hour", "--db", db_url, "--json",
                               "--no-progress", "--engine", engine).output)
        assert after == before, engine
    assert before["queues"][0]["wrap_s"] == 20 and before["queues"][0]["offered"] == 2
    bad = CliRunner().invoke(__import__("cli").cc, ["report", "summarize", "--from", "2026-11-23T10:00",
                                                    "--to", "2026-11-23T09:00", "--db", db_url])
    assert bad.exit_code == 2 and "--to" in bad.output
