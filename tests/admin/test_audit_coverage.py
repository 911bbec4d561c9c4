"""Every change is audited: a scan of every ccctl command and every API route (audited, or allowed with a reason),
each configuration command's one audit row in its change's transaction (masked detail, the operator or the --as
user), --as under the policy, and report exports (the export permission for large ones, an audit row each)."""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import Result

from cc.api.app import ROUTES
from cc.api.campaigns import CAMPAIGN_AUDIT
from cc.commands.acting import AUDIT_ATTR
from cc.store.audit import AuditRecord, AuditRepo
from cc.store.db import Database
from cli import cc

from .conftest import Cli

#: Commands that change the database and are audited by their own store code, in the change's transaction
#: (the action they write); their tests check the rows (test_cli_users, test_cli_qa, test_privacy_cli).
AUDITED_IN_STORE = {
    "user add": "user.add", "user set": "user.set", "user disable": "user.disable", "user enable": "user.enable",
    "user passwd": "user.passwd", "user grant": "user.grant", "user revoke": "user.revoke",
    "org add": "unit.add", "org move": "unit.move", "role add": "role.add", "role set": "role.set",
    "audit export": "export", "qa scorecard add": "qa_scorecard_add", "qa scorecard set": "qa_scorecard_set",
    "qa sample": "qa_sample", "qa assign": "qa_assigned", "qa score": "qa_scored", "qa dispute": "qa_disputed",
    "qa resolve": "qa_resolved", "customer export": "customer_export", "customer erase": "customer_erase",
    "retention run": "retention",
    "report queues": "export", "report agents": "export", "report calls": "export", "report surveys": "export",
    "report fcr": "export", "report all": "export", "report qa": "export",
    "report campaigns": "export", "report campaign-agents": "export",
}
#: Commands that act through the controller's API with $CC_TOKEN: the API checks and audits them.
THROUGH_THE_API = {"agent login", "agent logout", "agent ready", "agent break", "call hangup", "call transfer",
                   "record", "reload"}
#: Commands that change nothing cc keeps (or nothing of anyone's), and why.
NOT_AUDITED = {
    "db upgrade": "schema migration by the database owner (the audit log's own tables come with it)",
    "db downgrade": "schema migration by the database owner",
    "report summarize": "rebuilds derived per-call rows from the logs; no configuration or personal data changes",
    "report chart": "draws aggregate figures to a PNG (no records of people)",
    "demo": "a throw-away database of its own", "sim": "a simulated switch, no database",
    "serve": "runs the controller (its own changes are audited where they happen)",
    "replay": "reads a capture", "whatif": "a model, reads only", "staff": "a model, reads only",
    "export": "configuration (agents, queues) as CSV/xlsx: view_config data, no records of people",
}
#: Read-only commands: a listing, a show, a check, a live view.
READ_ONLY_VERBS = {"list", "show", "status", "check", "leads", "routes", "validate", "graph", "test", "current",
                   "mine"}


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> dict[str, click.Command]:
    out: dict[str, click.Command] = {}
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        assert cmd is not None
        if isinstance(cmd, click.Group):
            out.update(_commands(cmd, (*path, name)))
        else:
            out[" ".join((*path, name))] = cmd
    return out


def test_every_command_is_audited_or_allowed_with_a_reason() -> None:
    unaccounted = []
    for name, cmd in _commands(cc).items():
        verb = name.split()[-1]
        if getattr(cmd.callback, AUDIT_ATTR, None):
            assert any(p.name == "as_login" for p in cmd.params), f"{name}: audited but no --as"
            continue
        if name in AUDITED_IN_STORE or name in THROUGH_THE_API or name in NOT_AUDITED or verb in READ_ONLY_VERBS:
            continue
        unaccounted.append(name)
    assert unaccounted == [], f"commands that change something without an audit row: {unaccounted}"


#: Routes whose service audits in the change's own transaction (cc.qa.service), and what they write.
ROUTES_AUDITED_BY_SERVICE = {"qa_score": "qa_scored", "qa_dispute": "qa_disputed", "qa_resolve": "qa_resolved",
                             "monitor": "monitor.start", "monitor_mode": "monitor.mode",
                             "monitor_stop": "monitor.stop", **CAMPAIGN_AUDIT}
#: POST routes that change nothing (a POST only to keep a phone number out of URLs and access logs).
READ_ONLY_POSTS = {"dnc_check"}


def test_every_route_that_changes_something_is_audited() -> None:
    unaccounted = []
    for route in ROUTES:
        if route.method in ("GET", "HEAD") or route.audit or route.handler in ROUTES_AUDITED_BY_SERVICE or \
                route.handler in READ_ONLY_POSTS:
            continue
        unaccounted.append(f"{route.method} {route.path}")
    assert unaccounted == []
    assert {r.handler: r.audit for r in ROUTES if r.audit}.items() >= {
        "login": "agent.login", "logout": "agent.logout", "set_status": "agent.status", "hangup": "call.hangup",
        "transfer": "call.transfer", "record": "call.record", "reload": "config.reload"}.items()


# --------------------------------------------------------------------------------------------- the rows


def ok(r: Result) -> Result:
    assert r.exit_code == 0, r.output
    return r


def rows(cli: Cli) -> list[AuditRecord]:
    db = Database(cli.db_url)
    try:
        return list(reversed(list(AuditRepo(db).search(0, 4e9))))
    finally:
        db.dispose()


#: Every audited configuration command once, in an order that works, with the action it must write.
SCRIPT: list[tuple[tuple[str, ...], str]] = [
    (("queue", "add", "support", "--no-reload"), "queue.add"),
    (("queue", "set", "support", "--max-len", "20", "--no-reload"), "queue.set"),
    (("team", "add", "A"), "team.add"),
    (("skill", "add", "billing"), "skill.add"),
    (("agent", "add", "1001", "--contact", "user/1001", "--team", "A", "--no-reload"), "agent.add"),
    (("agent", "set", "1001", "--name", "Ada", "--no-reload"), "agent.set"),
    (("agent", "skill", "1001", "billing", "5", "--no-reload"), "agent.skill"),
    (("tier", "add", "1001", "support", "--no-reload"), "tier.add"),
    (("tier", "set", "1001", "support", "--level", "2", "--no-reload"), "tier.set"),
    (("hours", "set", "office", "--tz", "Asia/Shanghai", "--day", "mon-fri=09:00-18:00", "--no-reload"),
     "hours.set"),
    (("hours", "holiday", "office", "2026-10-01", "--no-reload"), "hours.holiday"),
    (("flow", "route", "7000", "main.yaml", "--no-reload"), "flow.route"),
    (("token", "add", "wallboard", "--role", "supervisor"), "token.add"),
    (("token", "del", "wallboard"), "token.del"),
    (("customer-type", "add", "gold", "--zh", "金", "--en", "Gold"), "customer_type.add"),
    (("customer-field", "add", "level", "--type", "choice", "--choice", "gold", "--choice", "silver"),
     "customer_field.add"),
    (("customer-field", "del", "level"), "customer_field.del"),
    (("campaign", "add", "spring", "--gateway", "gw1"), "campaign.add"),
    (("campaign", "set", "spring", "--description", "spring sale"), "campaign.set"),
    (("result", "add", "promised", "--campaign", "spring", "--zh", "承诺", "--en", "Promised"),
     "result.add"),
    (("result", "del", "promised", "--campaign", "spring"), "result.del"),
    (("result", "reset", "--campaign", "spring"), "result.reset"),
    (("dnc", "add", "+8613812341234", "--reason", "asked"), "dnc.add"),
    (("dnc", "del", "+8613812341234"), "dnc.del"),
    (("campaign", "del", "spring", "--yes"), "campaign.del"),
    (("customer-type", "del", "gold"), "customer_type.del"),
    (("tier", "del", "1001", "support", "--no-reload"), "tier.del"),
    (("hours", "del", "office", "--no-reload"), "hours.del"),
    (("agent", "del", "1001", "--no-reload"), "agent.del"),
    (("skill", "del", "billing", "--no-reload"), "skill.del"),
    (("team", "del", "A"), "team.del"),
    (("queue", "del", "support", "--no-reload"), "queue.del"),
]


def test_each_configuration_command_writes_one_masked_audit_row(cli: Cli, tmp_path: Path) -> None:
    me = f"cli:{getpass.getuser()}"
    for args, action in SCRIPT:
        before = len(rows(cli))
        ok(cli(*args))
        new = rows(cli)[before:]
        assert [(r.login, r.action) for r in new] == [(me, action)], args
    everything = json.dumps([[r.resource, r.detail] for r in rows(cli)], ensure_ascii=False)
    assert "13812341234" not in everything and "138****1234" in everything      # numbers masked
    # a refused change writes nothing, and a change that fails leaves no row
    before = len(rows(cli))
    assert cli("queue", "set", "nowhere", "--max-len", "3", "--no-reload").exit_code == 1
    assert len(rows(cli)) == before


def test_as_a_user_the_policy_decides_and_the_row_names_him(cli: Cli, tmp_path: Path) -> None:
    ok(cli("org", "add", "A"))
    ok(cli("agent", "add", "1001", "--contact", "user/1001", "--team", "A", "--no-reload"))
    for login, role, scope in (("zhao", "admin", "*"), ("li", "supervisor", "A"), ("wang", "manager", "*")):
        ok(cli("user", "add", login))
        ok(cli("user", "grant", login, role, "--scope", scope))
    before = len(rows(cli))
    r = cli("queue", "add", "support", "--no-reload", "--as", "li")
    assert r.exit_code == 1 and "li may not edit_config" in r.output
    r = cli("agent", "set", "1001", "--name", "x", "--no-reload", "--as", "li")
    assert r.exit_code == 1 and "edit_config" in r.output
    assert cli("campaign", "add", "spring", "--gateway", "gw1", "--as", "li").exit_code == 1
    assert len(rows(cli)) == before                                    # refused: nothing written, no row
    assert "support" not in ok(cli("queue", "list", "--json")).output
    ok(cli("queue", "add", "support", "--no-reload", "--as", "zhao"))
    ok(cli("campaign", "add", "spring", "--gateway", "gw1", "--as", "wang"))     # manage_campaigns
    new = rows(cli)[before:]
    assert [(r.login, r.action, r.resource) for r in new] == [("zhao", "queue.add", "support"),
                                                              ("wang", "campaign.add", "spring")]
    assert new[0].user_id is not None
    assert cli("queue", "del", "support", "--no-reload", "--as", "ghost").exit_code == 2   # no such user


def _calls_history(cli: Cli) -> None:
    from cc.model import CallDirection, CallRecord
    from cc.store.repos import Repos

    db = Database(cli.db_url)
    try:
        Repos(db).calls.add(CallRecord("u1", CallDirection.INBOUND, "13812341234", "7000", 1_780_000_000.0,
                                       ended_at=1_780_000_100.0))
    finally:
        db.dispose()


def test_report_exports_need_the_export_permission_when_large_and_are_audited(cli: Cli, tmp_path: Path) -> None:
    _calls_history(cli)
    for login, role in (("li", "supervisor"), ("wang", "manager")):
        ok(cli("user", "add", login))
        ok(cli("user", "grant", login, role, "--scope", "*"))
    window = ("--from", "2026-05-28", "--to", "2026-05-30")
    before = len(rows(cli))
    out = tmp_path / "calls.csv"
    r = cli("report", "calls", *window, "--csv", str(out), "--as", "li")
    assert r.exit_code == 1 and "li may not export" in r.output and not out.exists()
    ok(cli("report", "queues", *window, "--csv", str(tmp_path / "q.csv"), "--as", "li"))   # aggregates: view_reports
    ok(cli("report", "calls", *window, "--csv", str(out), "--as", "wang"))
    ok(cli("report", "calls", *window, "--json"))                                          # the operator
    ok(cli("report", "calls", *window))                                                    # a table: no export
    new = [(r.login, r.action, r.resource, r.detail.get("large")) for r in rows(cli)[before:]]
    me = f"cli:{getpass.getuser()}"
    assert new == [("li", "export", "queues", False), ("wang", "export", "calls", True), (me, "export", "calls", True)]
    assert "13812341234" not in out.read_text()


def test_campaign_rows_name_the_acting_user(cli: Cli) -> None:
    ok(cli("user", "add", "wang"))
    ok(cli("user", "grant", "wang", "manager", "--scope", "*"))
    ok(cli("dnc", "add", "+8613812341234", "--reason", "asked", "--as", "wang"))
    listed: list[dict[str, Any]] = json.loads(ok(cli("dnc", "list", "--json")).output)
    assert [e["added_by"] for e in listed] == ["wang"]


@pytest.mark.parametrize("name", sorted(AUDITED_IN_STORE))
def test_the_allow_lists_name_real_commands(name: str) -> None:
    assert name in _commands(cc)
