"""`ccctl import agents` and `ccctl export agents|queues`: per-row validation with row numbers and reasons, valid
rows committed (or none with --all-or-nothing), CSV and XLSX both ways, unusable files refused whole."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import openpyxl
import pytest

from cc.store.db import Database
from cc.store.repos import Repos

from .conftest import Cli

HEADER = "id,name,contact,team,wrap_up_s,skills,queues\n"


@pytest.fixture
def seeded(cli: Cli) -> Cli:
    for args in (("queue", "add", "support"), ("queue", "add", "sales"), ("skill", "add", "billing"),
                 ("skill", "add", "french"), ("team", "add", "t1")):
        assert cli(*args).exit_code == 0
    return cli


def repos(cli: Cli) -> Repos:
    return Repos(Database(cli.db_url))


def write(tmp_path: Path, text: str, name: str = "roster.csv") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_valid_rows_committed_bad_rows_reported(seeded: Cli, tmp_path: Path) -> None:
    path = write(tmp_path, HEADER
                 + "1001,Ada,user/1001,t1,15,billing:7;french:3,support:1:2;sales\n"
                 + "1002,Bob,user/1002,,,billing:11,\n"                 # row 3: level out of range
                 + "1003,Cy,user/1003,nosuchteam,,,\n"                  # row 4: unknown team
                 + "\n"
                 + "1004,Di,user/1004,,soon,,\n"                        # row 6: not a number
                 + "1005,Ed,user/1005,,,,support:x\n"                   # row 7: bad level
                 + "1001,Dup,user/1001,,,,\n"                           # row 8: duplicate id
                 + "1006,Fay,user/1006,,,,nosuchqueue\n"                # row 9: unknown queue
                 + "1007,Gus,user/1007,,,,,extra\n"                     # row 10: too many fields
                 + "1008,Hal,user/1008\n")                              # row 11: short row is fine
    r = seeded("import", "agents", path, "--json")
    assert r.exit_code == 1, r.output
    out = json.loads(r.stdout)
    assert out["committed"] is True
    assert out["created"] == ["1001", "1008"]
    rejected = {x["row"]: x["reason"] for x in out["rejected"]}
    assert sorted(rejected) == [3, 4, 6, 7, 8, 9, 10]
    assert "skills.billing" in rejected[3] and "11" in rejected[3]
    assert "nosuchteam" in rejected[4]
    assert "wrap_up_s" in rejected[6] and "soon" in rejected[6]
    assert "support.level" in rejected[7]
    assert "row 2" in rejected[8]
    assert "nosuchqueue" in rejected[9]
    assert "8 fields" in rejected[10]
    rp = repos(seeded)
    ada = rp.agents.get("1001")
    assert (ada.name, ada.team, ada.wrap_up_s, dict(ada.skills)) == ("Ada", "t1", 15.0, {"billing": 7, "french": 3})
    assert [(t.queue, t.level, t.position) for t in rp.tiers.for_agent("1001")] == [("sales", 1, 1), ("support", 1, 2)]
    assert [a.id for a in rp.agents.list()] == ["1001", "1008"]


def test_text_report_names_rows(seeded: Cli, tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "1001,Ada,user/1001,,,billing:0,\n1002,Bob,user/1002,,,,\n")
    r = seeded("import", "agents", path)
    assert r.exit_code == 1
    assert "1 created, 0 updated; 1 row(s) rejected" in r.stdout
    assert "skills.billing" in r.output and "│   2 │" in r.output


def test_all_or_nothing_writes_nothing(seeded: Cli, tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "1001,Ada,user/1001,,,,support\n1002,Bob,user/1002,,,,nosuchqueue\n")
    r = seeded("import", "agents", path, "--all-or-nothing", "--json")
    assert r.exit_code == 1
    out = json.loads(r.stdout)
    assert out["committed"] is False and out["created"] == [] and [x["row"] for x in out["rejected"]] == [3]
    assert repos(seeded).agents.list() == [] and repos(seeded).tiers.list() == []
    path = write(tmp_path, HEADER + "1001,Ada,user/1001,,,,support\n1002,Bob,user/1002,,x,,\n", "parse.csv")
    r = seeded("import", "agents", path, "--all-or-nothing", "--json")
    assert r.exit_code == 1 and json.loads(r.stdout)["committed"] is False
    assert repos(seeded).agents.list() == []
    path = write(tmp_path, HEADER + "1001,Ada,user/1001,,,,support\n", "good.csv")
    r = seeded("import", "agents", path, "--all-or-nothing", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["created"] == ["1001"]


def test_update_keeps_skills_when_the_column_is_absent(seeded: Cli, tmp_path: Path) -> None:
    first = write(tmp_path, HEADER + "1001,Ada,user/1001,,,billing:5,support\n")
    assert seeded("import", "agents", first).exit_code == 0
    r = seeded("import", "agents", write(tmp_path, "id,name\n1001,Ada L.\n", "names.csv"), "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["updated"] == ["1001"]
    a = repos(seeded).agents.get("1001")
    assert (a.name, dict(a.skills)) == ("Ada L.", {"billing": 5})


def test_malformed_csv(seeded: Cli, tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + '1001,Ada,user/1001,,,,\n1002,"Bo"b,user/1002,,,,\n1003,Cy,user/1003,,,,\n')
    r = seeded("import", "agents", path, "--json")
    assert r.exit_code == 1
    out = json.loads(r.stdout)
    assert [x["row"] for x in out["rejected"]] == [3] and "malformed CSV" in out["rejected"][0]["reason"]
    assert "1001" in out["created"]


@pytest.mark.parametrize(("content", "needle"), [
    ("name,contact\nAda,x\n", "no 'id' column"),
    ("id,colour\n1,red\n", "unknown column(s) 'colour'"),
    ("id,name,name\n1,a,b\n", "given twice"),
    ("", "empty file"),
])
def test_unusable_files_are_refused_whole(seeded: Cli, tmp_path: Path, content: str, needle: str) -> None:
    r = seeded("import", "agents", write(tmp_path, content))
    assert r.exit_code == 2 and needle in r.output
    assert repos(seeded).agents.list() == []


def test_missing_and_binary_files(seeded: Cli, tmp_path: Path) -> None:
    r = seeded("import", "agents", str(tmp_path / "nope.csv"))
    assert r.exit_code == 2 and "no such file" in r.output
    bad = tmp_path / "latin1.csv"
    bad.write_bytes(b"id,name\n1,J\xfcrgen\n")
    r = seeded("import", "agents", str(bad))
    assert r.exit_code == 2 and "not UTF-8" in r.output
    fake = tmp_path / "fake.xlsx"
    fake.write_text("not a workbook")
    r = seeded("import", "agents", str(fake))
    assert r.exit_code == 2 and "not an Excel workbook" in r.output


def test_xlsx_import_and_export_round_trip(seeded: Cli, tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["id", "name", "contact", "max_no_answer", "wrap_up_s", "skills", "queues"])
    sheet.append([1001, "Ada", "user/1001", 2, 12.5, "billing:7", "support:2:1"])
    sheet.append(["1002", "Bob", "user/1002", "many", None, None, None])
    sheet.append([None, None, None, None, None, None, None])
    sheet.append(["1003", "Cy", "user/1003", None, None, None, "sales"])
    src = tmp_path / "in.xlsx"
    book.save(src)
    r = seeded("import", "agents", str(src), "--json")
    assert r.exit_code == 1
    out = json.loads(r.stdout)
    assert out["created"] == ["1001", "1003"] and [x["row"] for x in out["rejected"]] == [3]
    ada = repos(seeded).agents.get("1001")
    assert (ada.max_no_answer, ada.wrap_up_s, dict(ada.skills)) == (2, 12.5, {"billing": 7})

    dst = tmp_path / "out.xlsx"
    assert seeded("export", "agents", "--xlsx", str(dst)).exit_code == 0
    rows = list(openpyxl.load_workbook(dst).active.iter_rows(values_only=True))  # type: ignore[union-attr]
    assert rows[0][:2] == ("id", "name") and [r[0] for r in rows[1:]] == ["1001", "1003"]
    # the export imports back unchanged into a fresh database
    fresh = Cli(seeded.db_url.replace("cc.db", "fresh.db"), seeded.controller_url)
    from cc.store.db import upgrade

    upgrade(fresh.db_url)
    for args in (("queue", "add", "support"), ("queue", "add", "sales"), ("skill", "add", "billing")):
        assert fresh(*args).exit_code == 0
    assert fresh("import", "agents", str(dst)).exit_code == 0
    assert repos(fresh).agents.list() == repos(seeded).agents.list()
    assert repos(fresh).tiers.list() == repos(seeded).tiers.list()


def test_csv_export_to_stdout_and_file(seeded: Cli, tmp_path: Path) -> None:
    assert seeded("import", "agents", write(tmp_path, HEADER + "1001,Ada,user/1001,t1,15,billing:7,support:1:2\n"))\
        .exit_code == 0
    r = seeded("export", "agents")
    assert r.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert rows == [{"id": "1001", "name": "Ada", "contact": "user/1001", "team": "t1", "max_no_answer": "3",
                     "wrap_up_s": "15.0", "reject_delay_s": "10.0", "busy_delay_s": "60.0",
                     "no_answer_delay_s": "30.0", "skills": "billing:7", "queues": "support:1:2"}]
    out = tmp_path / "queues.csv"
    assert seeded("export", "queues", "--csv", str(out)).exit_code == 0
    queues = list(csv.DictReader(out.open()))
    assert [q["name"] for q in queues] == ["sales", "support"] and queues[0]["strategy"] == "longest-idle-agent"
    assert json.loads(seeded("export", "queues", "--json").stdout)[1]["name"] == "support"
    assert seeded("export", "queues", "--csv", "a", "--xlsx", "b").exit_code == 2


def test_big_file_with_progress_bar(seeded: Cli, tmp_path: Path) -> None:
    lines = [f"{5000 + i},Agent {i},user/{5000 + i},,,billing:{1 + i % 10},support:{1 + i % 3}" for i in range(1500)]
    lines[700] = "5700,Broken,,,,billing:77,"
    path = write(tmp_path, HEADER + "\n".join(lines) + "\n")
    r = seeded("import", "agents", path, "--progress", "--json")
    assert r.exit_code == 1
    out = json.loads(r.stdout)
    assert len(out["created"]) == 1499 and [x["row"] for x in out["rejected"]] == [702]
    assert len(repos(seeded).agents.list()) == 1499
