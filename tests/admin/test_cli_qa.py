"""`ccctl qa` and `ccctl report qa` through the CLI: scorecards from YAML (file:line errors), sampling, the work
list, scoring with comments, dispute and resolve; scope refusals (a QA user of team A cannot see or score team
B's calls); the reports as table, CSV, xlsx, JSON and a chart."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from click.testing import Result

from cc.store.db import Database
from tests.store.test_qa import CARD, WEEK, seed_history, users

from .conftest import Cli


def ok(r: Result) -> Result:
    assert r.exit_code == 0, r.output
    return r


def _setup(cli: Cli, tmp_path: Path) -> Path:
    db = Database(cli.db_url)
    try:
        seed_history(db, 6)
        users(db)
    finally:
        db.dispose()
    card = tmp_path / "basic.yaml"
    card.write_text(CARD)
    ok(cli("qa", "scorecard", "add", str(card)))
    return card


def test_scorecard_files_errors_name_file_and_line(cli: Cli, tmp_path: Path) -> None:
    card = _setup(cli, tmp_path)
    bad = tmp_path / "bad.yaml"
    bad.write_text(CARD.replace("weight: 40", "weight: 45"))
    r = cli("qa", "scorecard", "set", str(bad))
    assert r.exit_code == 2 and r.output.strip().count("\n") == 0
    assert f"{bad}:3: sections: the weights add up to 105, not 100" in r.output
    shown = json.loads(ok(cli("qa", "scorecard", "show", "basic", "--json")).output)
    assert shown["version"] == 1 and [i["key"] for s in shown["sections"] for i in s["items"]] == [
        "greet", "verify", "solve", "hold"]
    assert "basic" in ok(cli("qa", "scorecard", "list")).output
    assert ok(cli("qa", "scorecard", "set", str(card))).output.strip() == "scorecard basic is at v1"
    r = cli("qa", "sample", "--week", "2026-49", "--seed", "1")
    assert r.exit_code == 2 and "ISO week" in r.output
    r = cli("qa", "sample", "--week", WEEK, "--seed", "1", "--rule", "longest")
    assert r.exit_code == 2 and "talk>DURATION" in r.output
    for cmd in (["qa"], ["qa", "sample"], ["qa", "score"], ["qa", "resolve"], ["report", "qa"]):
        assert "Example" in ok(cli(*cmd, "--help")).output


def test_sample_score_dispute_resolve_and_scope(cli: Cli, tmp_path: Path) -> None:
    _setup(cli, tmp_path)
    out = json.loads(ok(cli("qa", "sample", "--week", WEEK, "--per-agent", "2", "--seed", "9", "--as", "qa-a",
                            "--rule", "result=complaint", "--json")).output)
    assert {p["agent"] for p in out["picks"]} == {"a1", "a2"} and out["added"] == len(out["picks"])
    again = json.loads(ok(cli("qa", "sample", "--week", WEEK, "--per-agent", "2", "--seed", "9", "--dry-run",
                              "--json")).output)
    # calls on the list already are never picked again
    assert not {p["call"] for p in again["picks"]} & {p["call"] for p in out["picks"]} and again["added"] == 0
    ok(cli("qa", "sample", "--week", WEEK, "--per-agent", "1", "--seed", "9", "--as", "qa-b"))
    mine = json.loads(ok(cli("qa", "list", "--as", "qa-a", "--json")).output)
    assert {i["agent"] for i in mine} == {"a1", "a2"}
    theirs = json.loads(ok(cli("qa", "list", "--as", "qa-b", "--json")).output)
    assert {i["agent"] for i in theirs} == {"b1"}
    answers = ["--answer", "greet=pass", "--answer", "verify=pass", "--answer", "solve=30", "--answer", "hold=na"]
    # scope: qa-a may not score (or be assigned) team B's call
    r = cli("qa", "score", str(theirs[0]["id"]), "--scorecard", "basic", *answers, "--as", "qa-a")
    assert r.exit_code == 1 and "may not score_calls on agent b1" in r.output
    r = cli("qa", "assign", str(theirs[0]["id"]), "--to", "qa-a")
    assert r.exit_code == 2 and "may not score agent b1" in r.output
    item = next(i for i in mine if i["agent"] == "a1")
    scored = json.loads(ok(cli("qa", "score", str(item["id"]), "--scorecard", "basic", *answers,
                               "--comment", "1:23 long hold", "--comment", "good close", "--as", "qa-a",
                               "--json")).output)
    assert scored["total"] == 88.9 and scored["comments"][0] == {"text": "long hold", "offset_s": 83.0,
                                                                  "at": "1:23", "author": "qa-a"}
    sid = str(scored["id"])
    r = cli("qa", "dispute", sid, "--reason", "not me", "--as", "b1")
    assert r.exit_code == 1 and "only on his own calls" in r.output
    own = json.loads(ok(cli("qa", "mine", "--as", "a1", "--json")).output)
    assert [(o["id"], o["comments"][0]["text"]) for o in own] == [(scored["id"], "long hold")]
    assert json.loads(ok(cli("qa", "mine", "--as", "b1", "--json")).output) == []
    ok(cli("qa", "dispute", sid, "--reason", "the hold was the customer's wish", "--as", "a1"))
    r = cli("qa", "dispute", sid, "--reason", "again", "--as", "a1")
    assert r.exit_code == 1 and "no transition from disputed on dispute" in r.output
    r = cli("qa", "resolve", sid, "--upheld", "--as", "qa-b")
    assert r.exit_code == 1 and "may not resolve_disputes" in r.output
    r = cli("qa", "resolve", sid, "--upheld", "--changed", "90", "--as", "sup-a")
    assert r.exit_code == 2
    done = json.loads(ok(cli("qa", "resolve", sid, "--changed", "95", "--note", "customer asked", "--as", "sup-a",
                             "--json")).output)
    assert done["total"] == 95.0 and done["scored_total"] == 88.9 and done["dispute"]["resolution"] == "changed"
    audit = ok(cli("audit", "list", "--json")).output
    for action in ("qa_sample", "qa_score", "qa_dispute", "qa_resolve"):
        assert action in audit

    # reports over the same history
    rep = json.loads(ok(cli("report", "qa", "agents", "--from", "2000-01-01", "--to", "2100-01-01", "--json")).output)
    assert [(r["agent"], r["scored"], r["avg_score"], r["disputes"], r["changed"]) for r in rep["qa_agents"]] == [
        ("a1", 1, 95.0, 1, 1)]
    items = json.loads(ok(cli("report", "qa", "items", "--from", "2000-01-01", "--to", "2100-01-01",
                              "--json")).output)["qa_items"]
    solve = next(r for r in items if r["item"] == "solve")
    assert (solve["answered"], solve["score_rate"]) == (1, 0.75)
    assert next(r for r in items if r["item"] == "hold")["na"] == 1
    csv_file, xlsx, png = tmp_path / "qa.csv", tmp_path / "qa.xlsx", tmp_path / "qa.png"
    ok(cli("report", "qa", "compare", "--from", "2000-01-01", "--to", "2100-01-01", "--csv", str(csv_file)))
    rows = list(csv.DictReader(csv_file.open()))
    assert rows[0]["Agent"] == "a1" and rows[0]["Rank"] == "1"
    ok(cli("report", "qa", "teams", "--from", "2000-01-01", "--to", "2100-01-01", "--xlsx", str(xlsx),
           "--png", str(png)))
    assert xlsx.stat().st_size > 0 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # a user of team B sees no report rows of team A's agents
    scoped = json.loads(ok(cli("report", "qa", "agents", "--from", "2000-01-01", "--to", "2100-01-01",
                               "--as", "qa-b", "--json")).output)
    assert scoped["qa_agents"] == []
