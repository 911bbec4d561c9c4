"""`ccctl user|org|role|audit` through CliRunner: the tree, roles, users and grants, --as under the policy, the
audit trail of each change, and audit list/export with filters."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from click.testing import Result

from cc.store.audit import Actor, AuditRepo
from cc.store.db import Database

from .conftest import Cli


def ok(r: Result) -> Result:
    assert r.exit_code == 0, r.output
    return r


def one_line_error(r: Result, code: int, needle: str) -> None:
    assert r.exit_code == code, r.output
    lines = [x for x in r.output.splitlines() if x.strip()]
    assert len(lines) == 1 and needle in lines[0], r.output


def _floor(cli: Cli) -> None:
    ok(cli("org", "add", "sales", "--kind", "department"))
    ok(cli("org", "add", "east", "--parent", "sales", "--kind", "department"))
    ok(cli("org", "add", "A", "--parent", "east"))
    ok(cli("org", "add", "B", "--parent", "sales"))
    ok(cli("agent", "add", "1001", "--contact", "user/1001", "--team", "A", "--no-reload"))
    ok(cli("agent", "add", "2001", "--contact", "user/2001", "--team", "B", "--no-reload"))


def test_org_tree(cli: Cli) -> None:
    _floor(cli)
    tree = json.loads(ok(cli("org", "list", "--json")).output)
    assert [(u["name"], u["depth"], u["path"], u["agents"]) for u in tree] == [
        ("sales", 0, "sales", 0), ("B", 1, "sales/B", 1), ("east", 1, "sales/east", 0), ("A", 2, "sales/east/A", 1)]
    text = ok(cli("org", "list")).output
    assert "    A\tteam\t1" in text            # indented by depth (TSV when not a terminal)
    assert ok(cli("org", "move", "A", "--parent", "sales")).output.strip() == "team A is now sales/A"
    one_line_error(cli("org", "move", "sales", "--parent", "A"), 2, "own subtree")
    one_line_error(cli("org", "add", "C", "--parent", "nowhere"), 1, "nowhere")
    assert cli("org", "add", "C", "--kind", "galaxy").exit_code == 2


def test_roles(cli: Cli) -> None:
    listed = json.loads(ok(cli("role", "list", "--json")).output)
    assert [r["name"] for r in listed] == ["admin", "manager", "supervisor", "qa", "agent"]
    ok(cli("role", "add", "listener", "--permission", "view_recordings,view_reports"))
    changed = ok(cli("role", "set", "listener", "--add", "export", "--remove-permission", "view_reports"))
    assert changed.output.strip() == "role listener: view_recordings, export"
    shown = json.loads(ok(cli("role", "show", "listener", "--json")).output)
    assert shown["permissions"] == ["view_recordings", "export"] and not shown["builtin"]
    assert "agent_self\tyes" in ok(cli("role", "show", "agent")).output
    one_line_error(cli("role", "set", "admin", "--add", "export"), 2, "built in")
    one_line_error(cli("role", "add", "pilot", "--permission", "fly"), 2, "fly")
    assert cli("role", "set", "listener").exit_code == 2


def test_users_grants_and_the_audit_trail(cli: Cli, tmp_path: Path) -> None:
    _floor(cli)
    ok(cli("user", "add", "li", "--name", "Li Wei", "--agent", "1001"))
    ok(cli("user", "add", "wang", "--password-stdin", input="a long passphrase\n"))
    one_line_error(cli("user", "add", "desk", "--agent", "1001"), 1, "is user li")
    ok(cli("user", "grant", "li", "supervisor", "--scope", "sales/east"))   # a path names its unit
    ok(cli("user", "grant", "li", "qa", "--scope", "*"))
    ok(cli("user", "grant", "wang", "manager", "--scope", "sales"))
    one_line_error(cli("user", "grant", "li", "supervisor", "--scope", "ghost"), 1, "ghost")
    one_line_error(cli("user", "grant", "li", "admin", "--scope", "*,A"), 2, "stands alone")
    users = {u["login"]: u for u in json.loads(ok(cli("user", "list", "--json")).output)}
    assert users["li"]["grants"] == [{"role": "qa", "scope": "*"}, {"role": "supervisor", "scope": "east"}]
    assert users["wang"]["password"] is True and users["li"]["password"] is False
    ok(cli("user", "revoke", "li", "qa"))
    ok(cli("user", "disable", "li"))
    assert json.loads(ok(cli("user", "list", "--json")).output)[0]["state"] == "disabled"
    ok(cli("user", "enable", "li"))
    one_line_error(cli("user", "passwd", "li", "--password-stdin", input="li-is-my-name\n"), 2, "login")
    ok(cli("user", "passwd", "li", "--password-stdin", input="a long passphrase\n"))
    # --as: the policy decides. wang manages users in sales (manager); he may not hand out admin, nor touch
    # a user outside his scope; li (a supervisor) may not manage users at all
    ok(cli("user", "add", "zhao", "--agent", "2001"))
    ok(cli("user", "grant", "zhao", "agent", "--as", "wang"))
    one_line_error(cli("user", "grant", "zhao", "admin", "--scope", "B", "--as", "wang"), 1, "lacks")
    one_line_error(cli("user", "disable", "wang", "--as", "li"), 1, "manage_users")
    one_line_error(cli("role", "add", "x", "--permission", "export", "--as", "wang"), 1, "manage_roles")
    one_line_error(cli("audit", "list", "--as", "wang"), 1, "view_audit")
    one_line_error(cli("user", "list", "--as", "ghost"), 2, "ghost")
    # the audit trail: every change, who made it
    rows = json.loads(ok(cli("audit", "list", "--json", "--limit", "1000")).output)
    assert [(r["action"], r["resource"]) for r in rows if r["login"] == "wang"] == [("user.grant", "zhao")]
    mine = [r["action"] for r in reversed(rows) if r["login"].startswith("cli:")]
    assert mine[:4] == ["unit.add"] * 4 and "user.passwd" in mine and "user.disable" in mine
    assert all("passphrase" not in json.dumps(r) for r in rows)
    grants = json.loads(ok(cli("audit", "list", "--json", "--action", "user.grant", "--user", "wang")).output)
    assert [g["detail"]["role"] for g in grants] == ["agent"]
    # export: csv and json lines; the export is audited itself
    out = tmp_path / "audit.csv"
    r = ok(cli("audit", "export", "--action", "user.grant", "-o", str(out)))
    assert "4 audit rows written" in r.output
    table = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert [t["resource"] for t in table] == ["zhao", "wang", "li", "li"]
    lines = ok(cli("audit", "export", "--format", "json", "--user", "wang")).output.strip().splitlines()
    assert [json.loads(x)["action"] for x in lines if x.startswith("{")] == ["user.grant"]
    assert json.loads(ok(cli("audit", "list", "--json", "--action", "export")).output)[0]["detail"]["rows"] == 1


def test_audit_window_filters(cli: Cli) -> None:
    db = Database(cli.db_url)
    try:
        audit = AuditRepo(db)
        audit.append(Actor("li"), "reveal", "call", "c1", {"reason": "callback"}, at=1_767_225_600.0)  # 2026-01-01
        audit.append(Actor("li"), "reveal", "call", "c2", {}, at=1_767_312_000.0)                       # 2026-01-02
    finally:
        db.dispose()
    rows = json.loads(ok(cli("audit", "list", "--json", "--since", "2026-01-01", "--until", "2026-01-02")).output)
    assert [r["resource"] for r in rows] == ["c1"]
    rows = json.loads(ok(cli("audit", "list", "--json", "--since", "2025-12-31", "--until", "2026-01-03",
                             "--tz", "Asia/Shanghai")).output)
    assert [r["resource"] for r in rows] == ["c2", "c1"] and rows[0]["at"].endswith("+08:00")
    assert ok(cli("audit", "list")).output.strip() == "no audit rows"      # default window: the last 7 days
    assert cli("audit", "list", "--since", "yesterday-ish").exit_code == 2
    one_line_error(cli("audit", "list", "--since", "2026-01-02", "--until", "2026-01-01"), 2, "after")
