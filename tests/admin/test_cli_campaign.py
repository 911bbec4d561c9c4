"""`ccctl campaign|dnc|result|callback` on a migrated SQLite store: settings and their one-line errors, lead files
(GBK CSV with Chinese headers, an .xlsx with several phone columns, bad files: every error row named with row
and column and nothing half-imported, duplicates, DNC scrubbing), assignment, leads, status, results, callbacks."""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import openpyxl
import pytest

from cc.store.campaigns import CampaignRepos
from cc.store.db import Database
from cc.store.repos import Repos

from .conftest import Cli


@pytest.fixture
def setup(cli: Cli) -> Cli:
    for args in (("team", "add", "sales"),
                 ("agent", "add", "1001", "--contact", "user/1001", "--team", "sales"),
                 ("agent", "add", "1002", "--contact", "user/1002", "--team", "sales"),
                 ("agent", "add", "1003", "--contact", "user/1003"),
                 ("campaign", "add", "spring", "--mode", "progressive", "--gateway", "gw1",
                  "--caller-ids", "02161234567", "--teams", "sales")):
        r = cli(*args)
        assert r.exit_code == 0, (args, r.output)
    return cli


def repos(cli: Cli) -> CampaignRepos:
    return CampaignRepos(Database(cli.db_url))


def leads(cli: Cli) -> list[dict[str, object]]:
    r = cli("campaign", "leads", "spring", "--json")
    assert r.exit_code == 0, r.output
    return list(json.loads(r.stdout))


def import_json(cli: Cli, path: Path, *extra: str) -> tuple[int, dict[str, object]]:
    r = cli("campaign", "import", "spring", str(path), "--json", "--no-progress", *extra)
    return r.exit_code, json.loads(r.stdout)


CN_CSV = ("姓名,手机,座机,地址,备注,时区,微信\n"
          "张三,13800138000,021-61234567,上海市徐汇区,老客户,,zs01\n"
          "李四,13800138001;13800138002,,北京市,,Asia/Urumqi,\n")


def test_gbk_csv_with_chinese_headers(setup: Cli, tmp_path: Path) -> None:
    path = tmp_path / "名单.csv"
    path.write_bytes(CN_CSV.encode("gbk"))
    code, out = import_json(setup, path)
    assert code == 0, out
    assert (out["imported"], out["rejected"], out["duplicates"]) == (2, 0, 0)
    got = leads(setup)
    assert [x["name"] for x in got] == ["张三", "李四"]
    assert got[0]["numbers"] == ["+8613800138000", "+862161234567"]
    assert got[0]["extra"] == {"address": "上海市徐汇区", "微信": "zs01", "note": "老客户"}
    assert got[0]["tz"] == "Asia/Shanghai" and got[1]["tz"] == "Asia/Urumqi"
    assert got[1]["numbers"] == ["+8613800138001", "+8613800138002"]
    customer = Repos(Database(setup.db_url)).customers.get(str(got[0]["customer_id"]))
    assert customer.name == "张三" and [p.label for p in customer.phones] == ["mobile", "landline"]


@pytest.mark.parametrize("encode", [lambda s: codecs.BOM_UTF8 + s.encode(), lambda s: s.encode("utf-16"),
                                    lambda s: s.encode("gb18030")], ids=["utf-8-bom", "utf-16", "gb18030"])
def test_other_encodings(setup: Cli, tmp_path: Path, encode: object) -> None:
    path = tmp_path / "leads.csv"
    path.write_bytes(encode(CN_CSV))  # type: ignore[operator]
    code, out = import_json(setup, path)
    assert code == 0 and out["imported"] == 2


def test_xlsx_with_several_phone_columns_and_english_headers(setup: Cli, tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Name", "Phone 1", "Phone 2", "Mobile", "Priority", "Owner", "Note"])
    sheet.append(["Ada", 13800138000, "+1 212 555 0100", None, 5, "1001", "vip"])
    sheet.append(["Bob", None, None, "139 0013 9000", None, None, None])
    path = tmp_path / "leads.xlsx"
    book.save(path)
    code, out = import_json(setup, path)
    assert code == 0, out
    got = leads(setup)
    assert got[0]["numbers"] == ["+8613800138000", "+12125550100"] and got[0]["priority"] == 5
    assert got[0]["owner"] == "1001" and got[1]["numbers"] == ["+8613900139000"]


def test_bad_file_names_every_error_row_and_imports_nothing(setup: Cli, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("name,phone,tz,priority,owner\n"
                    "ok,13800138000,,,\n"
                    "short,12345,,,\n"             # row 3: B bad number
                    "zone,13800138001,Mars/Base,,\n"  # row 4: C bad zone
                    "prio,13800138002,,high,\n"    # row 5: D not a number
                    "nobody,13800138003,,,9999\n"  # row 6: E no such agent
                    "none,,,,\n"                   # row 7: no number at all
                    "sci,1.38001E+10,,,\n", encoding="utf-8")  # row 8: Excel's scientific notation
    code, out = import_json(setup, path)
    assert code == 1 and out["committed"] is False and out["imported"] == 0
    errors = {(p["row"], p["column"].split(" ")[0]) for p in out["problems"]}  # type: ignore[union-attr]
    assert errors == {(3, "B"), (4, "C"), (5, "D"), (6, "E"), (7, "B"), (8, "B")}
    sci = next(p for p in out["problems"] if p["row"] == 8)  # type: ignore[union-attr]
    assert "scientific notation" in sci["reason"]
    assert leads(setup) == [] and Repos(Database(setup.db_url)).customers.search("") == []
    # the table on stderr names them too, and the summary says nothing was imported
    r = setup("campaign", "import", "spring", str(path), "--no-progress")
    assert r.exit_code == 1 and "nothing imported" in r.stdout
    assert "Mars/Base" in r.stderr and "B (phone)" in r.stderr
    # --partial takes the good row only
    code, out = import_json(setup, path, "--partial")
    assert code == 1 and out["committed"] is True and out["imported"] == 1
    assert [x["name"] for x in leads(setup)] == ["ok"]


def test_unusable_files_and_arguments_exit_2(setup: Cli, tmp_path: Path) -> None:
    nophone = tmp_path / "nophone.csv"
    nophone.write_text("name,city\nx,y\n", encoding="utf-8")
    r = setup("campaign", "import", "spring", str(nophone))
    assert r.exit_code == 2 and "nophone.csv:1:" in r.stderr and "no phone column" in r.stderr
    twice = tmp_path / "twice.csv"
    twice.write_text("姓名,name,phone\na,b,13800138000\n", encoding="utf-8")
    r = setup("campaign", "import", "spring", str(twice))
    assert r.exit_code == 2 and "several columns" in r.stderr
    r = setup("campaign", "import", "spring", str(tmp_path / "missing.csv"))
    assert r.exit_code == 2 and "no such file" in r.stderr
    r = setup("campaign", "import", "spring", str(nophone), "--map", "city")
    assert r.exit_code == 2 and "COLUMN=FIELD" in r.stderr
    r = setup("campaign", "import", "nope", str(nophone))
    assert r.exit_code == 1 and "no campaign 'nope'" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_map_option(setup: Cli, tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_text("客户,联络号码,微信号\n王五,13800138000,ww\n", encoding="utf-8")
    code, out = import_json(setup, path, "--map", "联络号码=mobile", "--map", "微信号=ignore")
    assert code == 0, out
    got = leads(setup)
    assert got[0]["name"] == "王五" and got[0]["numbers"] == ["+8613800138000"] and got[0]["extra"] == {}


def test_duplicates_and_dnc_are_reported_not_imported(setup: Cli, tmp_path: Path) -> None:
    assert setup("dnc", "add", "13700137000", "--reason", "complaint").exit_code == 0
    assert setup("dnc", "add", "13600136000", "--campaign", "spring").exit_code == 0
    path = tmp_path / "dups.csv"
    path.write_text("name,phone,phone2\n"
                    "a,13800138000,\n"
                    "b,138 0013 8000,\n"            # row 3: the same number written otherwise
                    "c,13700137000,\n"               # row 4: on the global DNC list
                    "d,13600136000,13800138009\n",   # row 5: its first number on the campaign's list
                    encoding="utf-8")
    code, out = import_json(setup, path)
    assert code == 0 and out["imported"] == 2 and out["duplicates"] == 1 and out["dnc"] == 2
    kinds = [(p["row"], p["kind"]) for p in out["problems"]]  # type: ignore[union-attr]
    assert kinds == [(3, "duplicate"), (4, "dnc"), (5, "dnc")]
    assert [x["numbers"] for x in leads(setup)] == [["+8613800138000"], ["+8613800138009"]]
    # importing the file again: every lead is already in the campaign
    code, out = import_json(setup, path)
    assert code == 0 and out["imported"] == 0 and out["duplicates"] == 3
    assert "already a lead of campaign spring" in out["problems"][0]["reason"]  # type: ignore[index]


def _ten_leads(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "ten.csv"
    path.write_text("name,phone\n" + "".join(f"n{i},1380013800{i}\n" for i in range(10)), encoding="utf-8")
    code, out = import_json(cli, path)
    assert code == 0 and out["imported"] == 10


def test_assign_even_team_per_agent_lead_and_leaving_agent(setup: Cli, tmp_path: Path) -> None:
    _ten_leads(setup, tmp_path)
    r = setup("campaign", "assign", "spring", "--team", "sales", "--per-agent", "2", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout) == {"1001": 2, "1002": 2}
    r = setup("campaign", "assign", "spring", "--even", "1003")
    assert r.exit_code == 0 and "6 lead(s) assigned" in r.stdout
    assert repos(setup).leads.owner_counts("spring") == {"1001": 2, "1002": 2, "1003": 6}
    # 1003 leaves: half his leads to each of the others
    r = setup("campaign", "assign", "spring", "--from", "1003", "--even", "1001,1002", "--json")
    assert json.loads(r.stdout) == {"1001": 3, "1002": 3}
    assert setup("agent", "del", "1003").exit_code == 0
    # a leaving agent with leads cannot be deleted before they are re-assigned
    r = setup("agent", "del", "1001")
    assert r.exit_code == 1
    assert setup("campaign", "assign", "spring", "--from", "1001", "--to", "1002").exit_code == 0
    lead_id = str(leads(setup)[0]["id"])
    assert setup("campaign", "assign", "spring", "--lead", lead_id, "--unowned").exit_code == 0
    r = setup("campaign", "leads", "spring", "--unowned", "--json")
    assert [x["id"] for x in json.loads(r.stdout)] == [int(lead_id)]
    r = setup("campaign", "leads", "spring", "--owner", "1002", "--state", "new", "--json")
    assert len(json.loads(r.stdout)) == 9


@pytest.mark.parametrize("args", [
    ("--lead", "1"),
    ("--to", "1002"),
    ("--even", "1001", "--team", "sales"),
    ("--from", "1001", "--to", "1002", "--per-agent", "3"),
    (),
])
def test_assign_bad_arguments_are_one_line_exit_2(setup: Cli, args: tuple[str, ...]) -> None:
    r = setup("campaign", "assign", "spring", *args)
    assert r.exit_code == 2 and len(r.stderr.strip().splitlines()) == 1, r.output


@pytest.mark.parametrize(("args", "text"), [
    (("--dial-timeout", "10s"), "dial_timeout_s"),
    (("--dial-string", "sofia/gateway/{carrier}/{number}"), "unknown placeholder {carrier}"),
    (("--dial-string", "sofia/gateway/gw1/123"), "{number}"),
    (("--abandon-target", "lots"), "percentage"),
    (("--abandon-target", "120%"), "abandon_target"),
    (("--calendar", "nine-to-five"), "no calendar"),
    (("--caller-ids", "12"), "caller_ids"),
])
def test_bad_settings_are_one_line(setup: Cli, args: tuple[str, ...], text: str) -> None:
    r = setup("campaign", "set", "spring", *args)
    assert r.exit_code in (1, 2) and text in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.output
    if "no calendar" not in text:
        assert r.exit_code == 2


def test_add_set_show_start_pause_stop_status(setup: Cli) -> None:
    r = setup("campaign", "set", "spring", "--abandon-target", "2%", "--dial-timeout", "30s", "--agent-ids", "1001")
    assert r.exit_code == 0, r.output
    show = json.loads(setup("campaign", "show", "spring", "--json").stdout)
    assert show["campaign"]["abandon_target"] == "2%" and show["campaign"]["dial_timeout_s"] == 30.0
    assert show["campaign"]["agents"] == ["1001"] and show["campaign"]["caller_ids"] == ["+862161234567"]
    assert {x["code"] for x in show["results"]} >= {"no_answer", "busy", "sale", "overflow"}
    assert setup("campaign", "start", "spring").stdout.strip() == "campaign spring: running"
    status = setup("campaign", "status", "spring")   # no controller at the test's URL
    assert status.exit_code == 0 and "no controller is reporting" in status.stdout
    assert setup("campaign", "pause", "spring").exit_code == 0
    assert "no controller" not in setup("campaign", "status", "spring").stdout
    assert setup("campaign", "stop", "spring").exit_code == 0
    r = setup("campaign", "pause", "spring")
    assert r.exit_code == 2 and "is stopped: it cannot pause (it can: start)" in r.stderr
    listed = json.loads(setup("campaign", "list", "--json").stdout)
    assert listed[0]["name"] == "spring" and listed[0]["status"] == "stopped"


def test_status_figures_from_dial_attempts(setup: Cli, tmp_path: Path) -> None:
    import time

    from cc.dialer.model import DialAttempt

    _ten_leads(setup, tmp_path)
    c = repos(setup)
    lead = c.leads.list("spring")[0].lead
    now = time.time()
    for i, res in enumerate(("no_answer", "busy", "sale", "abandoned")):
        c.attempts.save(DialAttempt(f"u{i}", lead.lead_id, "spring", lead.numbers[0], now - 60 * (i + 1),
                                    result=res, result_by="system"))
    rec = json.loads(setup("campaign", "status", "spring", "--json").stdout)
    assert (rec["dials_24h"], rec["contacts_24h"], rec["abandons_24h"], rec["successes_24h"]) == (4, 2, 1, 1)
    assert rec["abandon_rate_24h"] == 0.5 and rec["leads"] == {"new": 10}
    r = setup("campaign", "status", "spring", "--json", "--watch", "--every", "0.01", "--times", "2")
    assert len(r.stdout.strip().splitlines()) == 2


def test_results_commands(setup: Cli) -> None:
    r = setup("result", "add", "vip", "--campaign", "spring", "--zh", "贵宾", "--en", "VIP",
              "--flags", "human_reached,final,success")
    assert r.exit_code == 0, r.output
    assert setup("result", "set", "busy", "--campaign", "spring", "--retry", "10m:5").exit_code == 0
    rows = {x["code"]: x for x in json.loads(setup("result", "list", "--campaign", "spring", "--json").stdout)}
    assert rows["vip"]["flags"] == ["human_reached", "final", "success"] and rows["vip"]["label_zh"] == "贵宾"
    assert rows["busy"]["retry_delay_s"] == 600 and rows["busy"]["retry_max"] == 5
    for args, text in ((("set", "busy", "--campaign", "spring", "--retry", "soon"), "DELAY:MAX"),
                       (("add", "x", "--campaign", "spring", "--flags", "shiny"), "unknown flag"),
                       (("del", "overflow", "--campaign", "spring"), "overflow"),
                       (("set", "busy", "--campaign", "spring"), "at least one")):
        r = setup("result", *args)
        assert r.exit_code == 2 and text in r.stderr and len(r.stderr.strip().splitlines()) == 1, (args, r.output)
    assert setup("result", "del", "vip", "--campaign", "spring").exit_code == 0
    assert setup("result", "add", "vip", "--campaign", "spring", "--zh", "贵宾").exit_code == 0


def test_dnc_commands(setup: Cli, tmp_path: Path) -> None:
    assert setup("dnc", "add", "13800138000", "+8613900139000", "--reason", "asked").exit_code == 0
    r = setup("dnc", "check", "138 0013 8000", "--json")
    assert r.exit_code == 1 and json.loads(r.stdout)["blocked"] is True
    assert setup("dnc", "check", "13700137000").exit_code == 0
    r = setup("dnc", "add", "13700137000", "123")
    assert r.exit_code == 2 and "123" in r.stderr
    assert setup("dnc", "check", "13700137000").exit_code == 0   # all or none
    path = tmp_path / "dnc.csv"
    path.write_text("电话,备注\n13600136000,x\n13500135000,y\n", encoding="utf-8")
    r = setup("dnc", "import", str(path), "--campaign", "spring", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["added"] == 2
    assert setup("dnc", "check", "13600136000").exit_code == 0
    assert setup("dnc", "check", "13600136000", "--campaign", "spring").exit_code == 1
    bad = tmp_path / "bad.csv"
    bad.write_text("phone\n13400134000\n99\n", encoding="utf-8")
    r = setup("dnc", "import", str(bad))
    assert r.exit_code == 1 and "row 3, column A (phone)" in r.stderr
    assert setup("dnc", "check", "13400134000").exit_code == 0
    assert setup("dnc", "del", "13800138000").exit_code == 0
    assert setup("dnc", "check", "13800138000").exit_code == 0
    listed = json.loads(setup("dnc", "list", "--all", "--json").stdout)
    assert {(x["number"], x["scope"]) for x in listed} == {("+8613900139000", "global"),
                                                           ("+8613600136000", "spring"), ("+8613500135000", "spring")}


def test_callback_commands(setup: Cli, tmp_path: Path) -> None:
    _ten_leads(setup, tmp_path)
    assert setup("campaign", "assign", "spring", "--even", "1001").exit_code == 0
    lead_id = str(leads(setup)[0]["id"])
    r = setup("callback", "add", lead_id, "--due", "2030-01-02 14:30", "--tz", "Asia/Shanghai", "--json")
    assert r.exit_code == 0, r.output
    cb = json.loads(r.stdout)
    assert cb["agent"] == "1001" and cb["state"] == "pending"
    r = setup("callback", "add", lead_id, "--due", "+1h", "--anyone", "--json")
    assert json.loads(r.stdout)["agent"] == "anyone"
    listed = json.loads(setup("callback", "list", "--agent", "1001", "--json").stdout)
    assert len(listed) == 2
    assert setup("callback", "list", "--overdue", "--json").stdout.strip() == "[]"
    assert setup("callback", "done", str(cb["id"])).exit_code == 0
    assert setup("callback", "done", str(cb["id"])).exit_code == 1
    for args in (("add", lead_id, "--due", "someday"), ("add", lead_id, "--due", "+1h", "--agent", "1001",
                                                       "--anyone"), ("add", "x1", "--due", "+1h")):
        r = setup("callback", *args)
        assert r.exit_code == 2 and len(r.stderr.strip().splitlines()) == 1, (args, r.output)


@pytest.mark.parametrize("command", [
    ("campaign",), ("campaign", "add"), ("campaign", "set"), ("campaign", "start"), ("campaign", "pause"),
    ("campaign", "stop"), ("campaign", "list"), ("campaign", "show"), ("campaign", "status"),
    ("campaign", "import"), ("campaign", "assign"), ("campaign", "leads"),
    ("dnc", "add"), ("dnc", "del"), ("dnc", "import"), ("dnc", "check"),
    ("result", "list"), ("result", "add"), ("result", "set"), ("result", "del"),
    ("callback", "list"), ("callback", "add"), ("callback", "done"), ("campaign", "del"),
    ("customer-type", "list"), ("customer-type", "add"), ("customer-type", "del"),
])
def test_help_has_an_example(cli: Cli, command: tuple[str, ...]) -> None:
    r = cli(*command, "--help")
    assert r.exit_code == 0 and "Example" in r.stdout and "ccctl " + command[0] in r.stdout


def test_customer_types_and_the_import_column(setup: Cli, tmp_path: Path) -> None:
    codes = [x["code"] for x in json.loads(setup("customer-type", "list", "--json").stdout)]
    assert codes == ["interested", "follow_up", "sale", "member"]   # seeded by revision 0007
    assert setup("customer-type", "add", "vip", "--zh", "贵宾", "--en", "VIP").exit_code == 0
    path = tmp_path / "typed.csv"
    path.write_text("姓名,手机,客户类型\n甲,13800138000,贵宾\n乙,13800138001,会员\n丙,13800138002,大客户\n",
                    encoding="utf-8")
    code, out = import_json(setup, path)
    assert code == 1 and [(p["row"], p["column"]) for p in out["problems"]] == [(4, "C (客户类型)")]  # type: ignore[union-attr]
    code, out = import_json(setup, path, "--partial")
    assert code == 1 and out["imported"] == 2
    types = repos(setup).customer_types
    got = {x["name"]: types.of_customer(str(x["customer_id"])) for x in leads(setup)}
    assert got == {"甲": "vip", "乙": "member"}
    assert setup("customer-type", "del", "vip").exit_code == 0
    assert types.of_customer(str(leads(setup)[0]["customer_id"])) is None
    r = setup("customer-type", "del", "vip")
    assert r.exit_code == 1 and "no customer type 'vip'" in r.stderr


def test_xlsx_whose_table_starts_lower_down_names_the_right_cells(setup: Cli, tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet["B3"], sheet["C3"] = "姓名", "电话"
    sheet["B4"], sheet["C4"] = "甲", "13800138000"
    sheet["B5"], sheet["C5"] = "乙", "4711"
    path = tmp_path / "offset.xlsx"
    book.save(path)
    code, out = import_json(setup, path)
    assert code == 1 and [(p["row"], p["column"]) for p in out["problems"]] == [(5, "C (电话)")]  # type: ignore[union-attr]


def test_campaign_del(setup: Cli, tmp_path: Path) -> None:
    _ten_leads(setup, tmp_path)
    r = setup("campaign", "del", "spring")
    assert r.exit_code == 2 and "--yes" in r.stderr
    assert setup("campaign", "start", "spring").exit_code == 0
    r = setup("campaign", "del", "spring", "--yes")
    assert r.exit_code == 1 and "stop it first" in r.stderr
    assert setup("campaign", "stop", "spring").exit_code == 0
    assert setup("campaign", "del", "spring", "--yes").exit_code == 0
    assert setup("campaign", "list").stdout.strip() == "no campaigns"


def test_dry_run_and_progress_bar(setup: Cli, tmp_path: Path) -> None:
    path = tmp_path / "many.csv"
    path.write_text("name,phone\n" + "".join(f"n{i},138{i:08d}\n" for i in range(1200)), encoding="utf-8")
    r = setup("campaign", "import", "spring", str(path), "--dry-run")
    assert r.exit_code == 0 and "dry run: 1200 lead(s) would be imported" in r.stdout
    assert leads(setup) == []
    r = setup("campaign", "import", "spring", str(path), "--progress")
    assert r.exit_code == 0 and "1200 lead(s) imported" in r.stdout
    assert len(leads(setup)) == 1000 and repos(setup).campaigns.figures("spring", 0).leads == {"new": 1200}
