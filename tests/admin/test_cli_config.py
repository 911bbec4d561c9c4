"""Configuration commands through CliRunner: queues, agents, skills, teams, tiers, calendars, routes, tokens;
bad input gives one clear line, the right exit code and nothing half-written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import Result

from cc.store.db import Database
from cc.store.repos import Repos
from cc.store.tokens import TokenRepo, hash_secret
from cli import cc

from .conftest import Cli


def ok(r: Result) -> Result:
    assert r.exit_code == 0, r.output
    return r


def one_line_error(r: Result, code: int, *needles: str) -> None:
    assert r.exit_code == code, r.output
    lines = [ln for ln in r.output.splitlines() if ln.startswith("ccctl")]
    assert len(lines) == 1, r.output
    for needle in needles:
        assert needle in lines[0], lines[0]


def repos(cli: Cli) -> Repos:
    return Repos(Database(cli.db_url))


def test_queue_lifecycle(cli: Cli) -> None:
    ok(cli("queue", "add", "support", "--strategy", "round-robin", "--max-wait", "5m", "--sl-threshold", "30s",
           "--no-announce-position", "--record-policy", "always"))
    q = repos(cli).queues.get("support")
    assert (q.strategy.value, q.max_wait_s, q.sl_threshold_s, q.announce_position, q.record_policy.value) == (
        "round-robin", 300.0, 30.0, False, "always")
    ok(cli("queue", "set", "support", "--max-wait", "none", "--max-len", "25", "--overflow-target", "7100"))
    q = repos(cli).queues.get("support")
    assert (q.max_wait_s, q.max_len, q.overflow_target, q.strategy.value) == (None, 25, "7100", "round-robin")
    listed = json.loads(ok(cli("queue", "list", "--json")).output)
    assert [x["name"] for x in listed] == ["support"]
    shown = json.loads(ok(cli("queue", "show", "support", "--json")).output)
    assert shown["queue"]["max_len"] == 25 and shown["tiers"] == []
    assert "support" in ok(cli("queue", "show", "support")).output
    ok(cli("queue", "del", "support"))
    assert repos(cli).queues.list() == []
    assert ok(cli("queue", "list")).output.strip() == "no queues"


def test_queue_bad_input(cli: Cli) -> None:
    one_line_error(cli("queue", "set", "nosuch", "--max-len", "3"), 1, "no queue 'nosuch'")
    one_line_error(cli("queue", "show", "nosuch"), 1, "nosuch")
    one_line_error(cli("queue", "del", "nosuch"), 1, "nosuch")
    r = cli("queue", "add", "q1", "--max-wait", "soon")
    assert r.exit_code == 2 and "soon" in r.output
    r = cli("queue", "add", "q1", "--strategy", "fastest")
    assert r.exit_code == 2 and "fastest" in r.output
    one_line_error(cli("queue", "add", "q1", "--offer-timeout", "0"), 2, "offer_timeout_s")
    assert repos(cli).queues.list() == []
    ok(cli("queue", "add", "q1"))
    one_line_error(cli("queue", "add", "q1"), 1, "exists already")


def test_agent_lifecycle_and_skills(cli: Cli) -> None:
    ok(cli("team", "add", "support"))
    ok(cli("skill", "add", "billing", "--description", "Invoices"))
    ok(cli("agent", "add", "1001", "--name", "Ada", "--contact", "user/1001", "--team", "support",
           "--wrap-up", "15s", "--max-no-answer", "2"))
    ok(cli("agent", "skill", "1001", "billing", "7"))
    a = repos(cli).agents.get("1001")
    assert (a.name, a.team, a.wrap_up_s, a.max_no_answer, dict(a.skills)) == ("Ada", "support", 15.0, 2,
                                                                               {"billing": 7})
    ok(cli("agent", "set", "1001", "--team", "none", "--busy-delay", "2m"))
    a = repos(cli).agents.get("1001")
    assert (a.team, a.busy_delay_s, dict(a.skills)) == (None, 120.0, {"billing": 7})
    assert json.loads(ok(cli("agent", "list", "--json")).output)[0]["skills"] == {"billing": 7}
    assert json.loads(ok(cli("agent", "show", "1001", "--json")).output)["agent"]["id"] == "1001"
    assert json.loads(ok(cli("skill", "list", "--json")).output) == [{"name": "billing", "description": "Invoices"}]
    assert json.loads(ok(cli("team", "list", "--json")).output) == [
        {"name": "support", "description": "", "agents": []}]
    ok(cli("agent", "skill", "1001", "billing", "none"))
    assert dict(repos(cli).agents.get("1001").skills) == {}
    ok(cli("skill", "del", "billing"))
    ok(cli("agent", "del", "1001"))
    assert repos(cli).agents.list() == []


@pytest.mark.parametrize("level", ["11", "x", "7.5", "-1"])
def test_agent_skill_bad_level_writes_nothing(cli: Cli, level: str) -> None:
    ok(cli("skill", "add", "billing"))
    ok(cli("agent", "add", "1001"))
    one_line_error(cli("agent", "skill", "1001", "billing", "--", level), 2, "LEVEL", level)
    assert dict(repos(cli).agents.get("1001").skills) == {}


def test_agent_bad_references(cli: Cli) -> None:
    one_line_error(cli("agent", "add", "1001", "--team", "ghosts"), 1, "no team 'ghosts'")
    assert repos(cli).agents.list() == []
    ok(cli("agent", "add", "1001"))
    one_line_error(cli("agent", "skill", "1001", "nosuch", "5"), 1, "no skill 'nosuch'")
    one_line_error(cli("agent", "skill", "9999", "nosuch", "5"), 1, "9999")
    one_line_error(cli("agent", "set", "9999", "--name", "x"), 1, "no agent '9999'")
    r = cli("agent", "add", "1002", "--wrap-up", "-3s")
    assert r.exit_code == 2


def test_tiers(cli: Cli) -> None:
    ok(cli("queue", "add", "support"))
    ok(cli("agent", "add", "1001"))
    ok(cli("tier", "add", "1001", "support", "--level", "2", "--position", "3"))
    assert json.loads(ok(cli("tier", "list", "--json")).output) == [
        {"agent_id": "1001", "queue": "support", "level": 2, "position": 3}]
    ok(cli("tier", "set", "1001", "support", "--position", "1"))
    assert [(t.level, t.position) for t in repos(cli).tiers.list()] == [(2, 1)]
    assert "1001" in ok(cli("tier", "list", "--queue", "support")).output
    one_line_error(cli("tier", "add", "1001", "nosuch"), 1, "no queue 'nosuch'")
    one_line_error(cli("tier", "add", "9999", "support"), 1, "no agent '9999'")
    one_line_error(cli("tier", "add", "1001", "support"), 1, "exists already")
    one_line_error(cli("tier", "set", "1001", "support"), 2, "--level")
    one_line_error(cli("tier", "list", "--queue", "nosuch"), 1, "nosuch")
    assert cli("tier", "add", "1001", "support", "--level", "0").exit_code == 2
    ok(cli("tier", "del", "1001", "support"))
    one_line_error(cli("tier", "del", "1001", "support"), 1, "1001@support")
    assert repos(cli).tiers.list() == []


def test_hours(cli: Cli) -> None:
    ok(cli("hours", "set", "office", "--tz", "Europe/Berlin", "--day", "mon-fri=08:00-12:00,13:00-18:00",
           "--day", "sat=09:00-12:00"))
    ok(cli("hours", "holiday", "office", "2026-12-25", "--name", "Christmas"))
    shown = json.loads(ok(cli("hours", "show", "office", "--json")).output)
    assert shown["timezone"] == "Europe/Berlin"
    assert len(shown["hours"]) == 11 and shown["hours"][0] == {"day": "mon", "opens": "08:00", "closes": "12:00"}
    assert shown["holidays"] == [{"date": "2026-12-25", "name": "Christmas"}]
    ok(cli("hours", "set", "office", "--tz", "UTC"))  # hours kept when no --day is given
    assert len(repos(cli).calendars.get("office").hours) == 11
    assert json.loads(ok(cli("hours", "list", "--json")).output) == [
        {"name": "office", "timezone": "UTC", "open_days": 6, "holidays": 1}]
    ok(cli("hours", "holiday", "office", "2026-12-25", "--remove"))
    one_line_error(cli("hours", "holiday", "office", "2026-12-25", "--remove"), 1, "2026-12-25")
    one_line_error(cli("hours", "set", "office", "--day", "funday=08:00-09:00"), 2, "funday")
    one_line_error(cli("hours", "set", "office", "--day", "mon=18:00-08:00"), 2, "closes before it opens")
    one_line_error(cli("hours", "set", "office", "--tz", "Mars/Olympus"), 2, "Mars/Olympus")
    one_line_error(cli("hours", "holiday", "office", "25.12.2026"), 2, "YYYY-MM-DD")
    one_line_error(cli("hours", "holiday", "nosuch", "2026-12-25"), 1, "nosuch")
    assert repos(cli).calendars.get("office").timezone == "UTC"
    ok(cli("hours", "del", "office"))
    assert repos(cli).calendars.list() == []


def test_flow_routes(cli: Cli, tmp_path: Path) -> None:
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "good.yaml").write_text("flow: good\nstart: bye\nnodes:\n  bye: {hangup: NORMAL_CLEARING}\n")
    (flows / "bad.yaml").write_text("flow: bad\nstart: nowhere\nnodes:\n  bye: {hangup: NORMAL_CLEARING}\n")
    ok(cli("flow", "route", "7000", "good.yaml", "--flows-dir", str(flows), "--description", "main"))
    r = cli("flow", "route", "7001", "bad.yaml", "--flows-dir", str(flows))
    assert r.exit_code == 2 and "bad.yaml" in r.output
    r = ok(cli("flow", "route", "7002", "elsewhere.yaml", "--flows-dir", str(flows)))
    assert "not found here" in r.output
    assert json.loads(ok(cli("flow", "routes", "--json")).output) == [
        {"number": "7000", "flow": "good.yaml", "description": "main"},
        {"number": "7002", "flow": "elsewhere.yaml", "description": ""}]
    ok(cli("flow", "route", "7002", "--delete"))
    one_line_error(cli("flow", "route", "7002", "--delete"), 1, "7002")
    assert cli("flow", "route", "7003").exit_code == 2


def test_tokens_are_shown_once_and_stored_hashed(cli: Cli) -> None:
    ok(cli("agent", "add", "1001"))
    r = ok(cli("token", "add", "ops", "--role", "admin"))
    secret = r.stdout.strip()
    assert secret.startswith("cct_") and len(secret) > 40
    tokens = TokenRepo(Database(cli.db_url))
    assert tokens.verify(secret) is not None and tokens.verify(secret + "x") is None
    with Database(cli.db_url).engine.connect() as conn:
        rows = [tuple(r) for r in conn.exec_driver_sql("SELECT name, sha256 FROM api_tokens")]
    assert rows == [("ops", hash_secret(secret))]
    listed = ok(cli("token", "list", "--json")).output
    assert secret not in listed and json.loads(listed)[0]["roles"] == "admin"
    ok(cli("token", "add", "desk", "--role", "agent", "--agent", "1001"))
    one_line_error(cli("token", "add", "desk2", "--role", "agent"), 2, "--agent")
    one_line_error(cli("token", "add", "desk3", "--role", "agent", "--agent", "9999"), 1, "9999")
    one_line_error(cli("token", "add", "ops", "--role", "admin"), 1, "exists already")
    assert cli("token", "add", "x", "--role", "root").exit_code == 2
    ok(cli("token", "del", "ops"))
    assert tokens.verify(secret) is None


def test_unreachable_controller(cli: Cli) -> None:
    for args in (("agent", "login", "1001"), ("queue", "status"), ("call", "list"), ("call", "hangup", "u1"),
                 ("call", "transfer", "u1", "7000"), ("record", "pause", "u1"), ("record", "resume", "u1"),
                 ("reload",)):
        one_line_error(cli(*args), 3, "controller unreachable at", cli.controller_url)
    r = ok(cli("queue", "add", "support"))   # a config change still succeeds, with a note
    assert "no controller reachable" in r.output
    r = ok(cli("queue", "add", "sales", "--no-reload"))
    assert "not reloaded" in r.output


def test_unmigrated_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    r = Cli(url, "http://127.0.0.1:9")("queue", "list")
    one_line_error(r, 1, "ccctl db upgrade", url)


def _commands(group: object, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    import click

    out = []
    assert isinstance(group, click.Group)
    for name, cmd in group.commands.items():
        if isinstance(cmd, click.Group):
            out.extend(_commands(cmd, (*prefix, name)))
        else:
            out.append((*prefix, name))
    return out


ADMIN = ("queue", "agent", "skill", "team", "tier", "import", "export", "hours", "call", "record", "reload", "token")


def test_every_admin_command_has_help_with_an_example(cli: Cli) -> None:
    paths = [p for p in _commands(cc) if p[0] in ADMIN or p[:2] in (("flow", "route"), ("flow", "routes"))]
    assert len(paths) >= 40
    for path in paths:
        r = cli(*path, "--help")
        assert r.exit_code == 0, path
        assert "Example" in r.output, path
