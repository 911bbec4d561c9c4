"""`ccctl import agents` on what a Chinese office sends: GBK/UTF-16/BOM CSV, `;` CSV, .xls, broken quotes,
several errors in one row, contacts that are not dial strings, formula cells without a saved value."""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import openpyxl
import pytest

from cc.dialstring import contact_problem
from cc.store.db import Database
from cc.store.repos import Repos

from .conftest import Cli

CN = "id,name,contact,queues\n1001,李雷,user/1001,support\n1002,韩梅梅,user/1002@example.com,support\n"


@pytest.fixture
def seeded(cli: Cli) -> Cli:
    for args in (("queue", "add", "support"), ("skill", "add", "billing")):
        assert cli(*args).exit_code == 0
    return cli


def names(cli: Cli) -> dict[str, str]:
    return {a.id: a.name for a in Repos(Database(cli.db_url)).agents.list()}


@pytest.mark.parametrize(("data", "label"), [
    (CN.encode("gbk"), "gbk"),
    (CN.encode("gb18030"), "gb18030"),
    (codecs.BOM_UTF8 + CN.encode(), "utf-8 bom"),
    (CN.replace(",", "\t").encode("utf-16"), "utf-16 tab-separated (Excel 'Unicode text')"),
    (CN.replace(",", ";").encode(), "semicolons"),
])
def test_encodings_and_delimiters_are_detected(seeded: Cli, tmp_path: Path, data: bytes, label: str) -> None:
    path = tmp_path / "roster.csv"
    path.write_bytes(data)
    r = seeded("import", "agents", str(path), "--json")
    assert r.exit_code == 0, (label, r.output)
    assert names(seeded) == {"1001": "李雷", "1002": "韩梅梅"}


def test_encoding_option_and_undecodable_position(seeded: Cli, tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("id,name,contact\n1001,Jürgen,user/1001\n".encode("cp1252"))
    r = seeded("import", "agents", str(path))
    assert r.exit_code == 2 and "latin1.csv:2:7: not UTF-8" in r.output and "--encoding" in r.output
    r = seeded("import", "agents", str(path), "--encoding", "cp1252")
    assert r.exit_code == 0, r.output
    assert names(seeded) == {"1001": "Jürgen"}


def test_old_excel_is_refused_with_advice(seeded: Cli, tmp_path: Path) -> None:
    path = tmp_path / "roster.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512)
    r = seeded("import", "agents", str(path))
    assert r.exit_code == 2 and "save it as .xlsx" in r.output


def test_unclosed_quote_is_its_own_row(seeded: Cli, tmp_path: Path) -> None:
    rows = ["id,name,contact,wrap_up_s"] + [f"{1000 + i},A{i},user/{1000 + i}," for i in range(2, 12)]
    rows.append('1012,"Bob,user/1012,')          # row 12: the quote is never closed
    rows.append("1013,Cy,user/1013,soon")         # row 13: its own error
    rows.append("1014,Di,user/1014,")             # row 14: fine
    path = tmp_path / "q.csv"
    path.write_text("\n".join(rows) + "\n")
    r = seeded("import", "agents", str(path), "--json")
    out = json.loads(r.stdout)
    rejected = {x["row"]: x["reason"] for x in out["rejected"]}
    assert sorted(rejected) == [12, 13]
    assert "quote is never closed" in rejected[12] and "wrap_up_s" in rejected[13]
    assert "1014" in out["created"] and len(out["created"]) == 11


def test_every_error_of_a_row_is_listed(seeded: Cli, tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("id,name,contact,wrap_up_s,skills,queues\n1001,Ada,not a contact,soon,billing:11,support:x\n")
    r = seeded("import", "agents", str(path), "--json")
    reason = json.loads(r.stdout)["rejected"][0]["reason"]
    for part in ("contact='not a contact'", "not a dial string", "wrap_up_s", "skills.billing", "support.level"):
        assert part in reason, part


def test_contacts_are_checked(seeded: Cli, tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("id,name,contact\n1001,Ada,\n1002,Bob,user/1002\n")
    out = json.loads(seeded("import", "agents", str(path), "--json").stdout)
    assert [x["row"] for x in out["rejected"]] == [2] and "contact: missing" in out["rejected"][0]["reason"]
    # an update may leave the contact out: the stored one stays
    path.write_text("id,name\n1002,Bobby\n")
    assert seeded("import", "agents", str(path)).exit_code == 0
    a = Repos(Database(seeded.db_url)).agents.get("1002")
    assert (a.name, a.contact) == ("Bobby", "user/1002")
    r = seeded("agent", "add", "2001", "--contact", "not a contact")
    assert r.exit_code == 2 and "not a dial string" in r.output
    assert seeded("agent", "set", "1002", "--contact", "1002").exit_code == 2
    r = seeded("agent", "add", "2002")
    assert r.exit_code == 0 and "has no contact" in r.output
    for good in ("user/1001", "user/1001@example.com", "sofia/internal/1001@10.0.0.5:5060",
                 "sofia/gateway/gw1/0049301234567", "loopback/1001/default", "{ignore_early_media=true}user/1001",
                 "[leg_timeout=10,x=1]user/1001,user/1002", "user/1001|sofia/gateway/gw/1"):
        assert contact_problem(good) is None, good
    for bad in ("not a contact", "1001", "user/", "sofia/internal", "sofia/gateway/gw", "{a=1user/1001", "user/@x"):
        assert contact_problem(bad), bad


def test_formula_without_saved_value_names_the_cell(seeded: Cli, tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["id", "name", "contact"])
    sheet.append(["1001", "Ada", '="user/"&A2'])   # openpyxl saves no cached value, like a file never opened in Excel
    sheet.append(["1002", "Bob", "user/1002"])
    path = tmp_path / "f.xlsx"
    book.save(path)
    out = json.loads(seeded("import", "agents", str(path), "--json").stdout)
    assert [x["row"] for x in out["rejected"]] == [2]
    assert "cell C2 (contact): a formula" in out["rejected"][0]["reason"]
    assert out["created"] == ["1002"]


def test_problems_name_their_column(seeded: Cli, tmp_path: Path) -> None:
    path = tmp_path / "cols.csv"
    path.write_text("id,name,contact,wrap_up_s\n1001,Ada,user/1001,soon\n")
    reason = json.loads(seeded("import", "agents", str(path), "--json").stdout)["rejected"][0]["reason"]
    assert reason.startswith("column D: wrap_up_s='soon'")
    from cc.commands.io import _column_letter

    assert [_column_letter(i) for i in (0, 25, 26, 701, 702)] == ["A", "Z", "AA", "ZZ", "AAA"]
