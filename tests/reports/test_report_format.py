"""How reports read: one format per table column, rounded CSV, xlsx times and definitions, chart series."""

from __future__ import annotations

import csv
import datetime
import math
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from cc.commands.report import _table
from cc.reports.charts import histogram_top, queue_chart, queue_series, short_labels, wait_histogram
from cc.reports.export import write_csv, write_xlsx
from cc.reports.table import Column, Report

T0 = datetime.datetime(2026, 11, 23, 9, 0, tzinfo=datetime.UTC).timestamp()
COLS = [Column("queue", "Queue", "text"), Column("entered", "Entered", "datetime"),
        Column("asa_s", "ASA", "seconds"), Column("max_wait_s", "Max wait", "seconds"),
        Column("service_level", "Service level", "ratio"), Column("survey_avg", "Survey avg", "float")]
ROWS = [{"queue": "support", "entered": T0 + 5.4, "asa_s": 8.77281698129945, "max_wait_s": 185.2,
         "service_level": 0.80123456789, "survey_avg": 4.3333333},
        {"queue": "sales", "entered": T0 + 65, "asa_s": 12.25, "max_wait_s": 8.8, "service_level": 1.0,
         "survey_avg": None}]


def report() -> Report:
    return Report("queues", COLS, [dict(r) for r in ROWS], "UTC",
                  meta={"from": T0, "to": T0 + 86400, "interval": "hour", "tz": "UTC", "queue": None})


def test_one_format_per_table_column(capsys: pytest.CaptureFixture[str]) -> None:
    _table(report(), wide=True, limit=10)
    out = capsys.readouterr().out
    assert "ASA (s)" in out and "Max wait (m:ss)" in out
    assert "8.8" in out and "12.2" in out          # every ASA under a minute: seconds
    assert "3:05" in out and "0:09" in out         # one Max wait over a minute: the whole column m:ss


def test_csv_figures_are_rounded(tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    write_csv(report(), out)
    rows = list(csv.DictReader(out.open()))
    assert rows[0]["ASA"] == "8.8" and rows[0]["Service level"] == "0.8012" and rows[0]["Survey avg"] == "4.33"
    assert rows[0]["Entered"] == "2026-11-23T09:00:05+00:00" and rows[1]["Survey avg"] == ""


def test_xlsx_times_and_definitions(tmp_path: Path) -> None:
    out = tmp_path / "r.xlsx"
    rep = report()
    write_xlsx([rep], out, meta=rep.meta)
    wb = openpyxl.load_workbook(out)
    ws = wb["queues"]
    row = {c.value: v for c, v in zip(ws[1], ws[2], strict=True)}
    assert row["Max wait"].number_format == "[h]:mm:ss"
    assert row["Max wait"].value == datetime.timedelta(seconds=185.2)
    assert row["Entered"].number_format == "yyyy-mm-dd hh:mm:ss"
    assert row["Entered"].value == datetime.datetime(2026, 11, 23, 9, 0, 5, 400000)
    meta = {r[1]: r[3] for r in wb["Definitions"].iter_rows(min_row=2, values_only=True) if r[0] == "(report)"}
    assert meta["from"] == "2026-11-23 09:00:00 (UTC)" and meta["to"] == "2026-11-24 09:00:00 (UTC)"
    assert meta["queue"] == "(all)" and "None" not in "".join(meta.values())


def test_queue_series_has_every_interval_and_gaps() -> None:
    intervals = [(T0 + i * 1800, f"2026-11-23T{9 + i // 2:02d}:{30 * (i % 2):02d}+00:00") for i in range(4)]
    rows = [{"start": T0, "interval": intervals[0][1], "offered": 10, "answered": 9, "abandoned": 1,
             "answered_in_sl": 8},
            {"start": T0 + 5400, "interval": intervals[3][1], "offered": 1, "answered": 0, "abandoned": 1,
             "answered_in_sl": 0}]
    labels, offered, answered, abandoned, sl = queue_series(rows, intervals, min_calls=5)
    assert answered == [9, 0, 0, 0] and abandoned == [1, 0, 0, 1]
    assert labels == [lab for _, lab in intervals] and offered == [10, 0, 0, 1]
    assert sl[0] == 80.0 and all(math.isnan(x) for x in sl[1:])   # one call does not drop the line to 0
    assert short_labels(labels) == ["09:00", "09:30", "10:00", "10:30"]
    assert short_labels(["2026-11-23T23:30+00:00", "2026-11-24T00:00+00:00"]) == ["11-23\n23:30", "11-24\n00:00"]
    assert short_labels(["2026-11-23", "2026-11-24"]) == ["11-23", "11-24"]


def test_charts_draw(tmp_path: Path) -> None:
    intervals = [(T0 + i * 900, f"2026-11-23T09:{15 * i:02d}+00:00") for i in range(4)]
    assert queue_chart([], tmp_path / "q.png", intervals=intervals) == 4
    waits = [30.0] * 200 + [2400.0]
    assert histogram_top(waits) == (30.0, 1)
    assert histogram_top([1.0, 2.0, 3.0]) == (3.0, 0)
    assert wait_histogram(waits, [], tmp_path / "w.png") == 201


def test_report_help_names_the_json_key() -> None:
    from cli import cc

    out = CliRunner().invoke(cc, ["report", "calls", "--help"]).output
    assert '{"calls": [rows]}' in out
