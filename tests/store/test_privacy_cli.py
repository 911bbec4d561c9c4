"""`ccctl retention run` and `ccctl customer export|erase` on a SQLite file: output, exit codes, audit rows."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import text

from cc.model import CallDirection, CallRecord, Customer, PhoneNumber
from cc.store import Database, Repos, upgrade
from cli import cc
from tests.reports.test_sql_path import insert

DAY = 86400.0


def make_db(tmp_path: Path) -> tuple[str, Database]:
    url = f"sqlite:///{tmp_path / 'cc.db'}"
    upgrade(url)
    db = Database(url)
    repos = Repos(db)
    repos.customers.create(Customer("c1", "王芳", None, "", (PhoneNumber("+8613812341234"),)), now=1.7e9)
    insert(repos, [CallRecord(f"u{i}", CallDirection.INBOUND, "13812341234", "7000", 1.7e9 + i * DAY)
                   for i in range(3)])
    return url, db


def test_retention_dry_run_json_and_a_bad_period(tmp_path: Path) -> None:
    url, db = make_db(tmp_path)
    runner = CliRunner()
    res = runner.invoke(cc, ["retention", "run", "--db", url, "--dry-run", "--json", "--keep-for", "call_records=30d"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    calls = next(t for r in doc["types"] if r["kind"] == "call_records" for t in r["tables"] if t["table"] == "calls")
    assert doc["dry_run"] and calls["rows"] == 3 and calls["oldest"].startswith("2023-11-14")
    res = runner.invoke(cc, ["retention", "run", "--db", url, "--keep-for", "calls=30d"])
    assert res.exit_code == 2 and len(res.output.strip().splitlines()) == 1, res.output
    res = runner.invoke(cc, ["retention", "run", "--db", url, "--keep-for", "call_records=30d"])
    assert res.exit_code == 0 and "calls: deleted 3 rows" in res.output, res.output
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM calls")).scalar_one() == 0
        audit = conn.execute(text("SELECT action, resource FROM audit_log")).all()
    assert [tuple(a) for a in audit] == [("retention", "call_records")]


def test_customer_export_and_erase(tmp_path: Path) -> None:
    url, db = make_db(tmp_path)
    runner = CliRunner()
    res = runner.invoke(cc, ["customer", "export", "--db", url, "--number", "+8613812341234", "--reason", "req 1",
                             "--out", str(tmp_path / "out"), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["rows"] == {"calls": 3, "customer_phones": 1, "customers": 1}
    res = runner.invoke(cc, ["customer", "erase", "--db", url, "--number", "+8613812341234", "--reason", " "])
    assert res.exit_code == 2 and "reason" in res.output                          # a reveal-like action needs one
    res = runner.invoke(cc, ["customer", "erase", "--db", url, "--id", "c1", "--reason", "req 2", "--yes"])
    assert res.exit_code == 0 and "erased as anon-" in res.output, res.output
    with db.engine.connect() as conn:
        callers = {c for (c,) in conn.execute(text("SELECT caller FROM calls"))}
        actions = [a for (a,) in conn.execute(text("SELECT action FROM audit_log ORDER BY id"))]
        details = " ".join(str(d) for (d,) in conn.execute(text("SELECT detail FROM audit_log")))
    assert len(callers) == 1 and callers.pop().startswith("anon-")
    assert actions == ["customer_export", "customer_erase", "customer_erased"]
    assert "13812341234" not in details


def test_customer_requests_as_a_user_need_manage_privacy(tmp_path: Path) -> None:
    """`--as LOGIN` ($CC_USER): the policy's manage_privacy decides a customer's export and erasure (held by the
    admin role only), and the audit log names the user; a refused request writes no file and no row."""
    from cc.store.org import OrgRepo
    from cc.store.users import UserRepo

    url, db = make_db(tmp_path)
    OrgRepo(db).add("floor", kind="department")
    users = UserRepo(db)
    users.add("sup")
    users.grant("sup", "manager", "floor")
    users.add("boss")
    users.grant("boss", "admin", "*")
    runner = CliRunner()
    out = tmp_path / "out"
    for args in (["export", "--out", str(out)], ["erase", "--yes"]):
        res = runner.invoke(cc, ["customer", *args, "--db", url, "--id", "c1", "--reason", "req 3", "--as", "sup"])
        assert res.exit_code == 1 and "manage_privacy" in res.output, res.output
    assert not out.exists()
    res = runner.invoke(cc, ["customer", "export", "--db", url, "--id", "c1", "--reason", "req 4", "--out", str(out)],
                        env={"CC_USER": "boss"})
    assert res.exit_code == 0 and (out / "customer.json").exists(), res.output
    res = runner.invoke(cc, ["customer", "export", "--db", url, "--id", "c1", "--reason", "r", "--out", str(out),
                             "--as", "nobody"])
    assert res.exit_code == 2 and "nobody" in res.output, res.output
    with db.engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(
            text("SELECT login, action FROM audit_log WHERE action LIKE 'customer%'"))]
    assert rows == [("boss", "customer_export")]


def test_retention_run_as_a_user_needs_manage_privacy(tmp_path: Path) -> None:
    """`ccctl retention run --as LOGIN` ($CC_USER): manage_privacy (admin only) is checked before anything is read
    or deleted -- a dry run included -- and the audit row names the user; an unknown login is a usage error."""
    from cc.store.org import OrgRepo
    from cc.store.users import UserRepo

    url, db = make_db(tmp_path)
    OrgRepo(db).add("floor", kind="department")
    users = UserRepo(db)
    users.add("sup")
    users.grant("sup", "manager", "floor")
    users.add("boss")
    users.grant("boss", "admin", "*")
    runner = CliRunner()
    for extra in (["--dry-run"], []):
        res = runner.invoke(cc, ["retention", "run", "--db", url, "--keep-for", "call_records=30d", *extra,
                                 "--as", "sup"])
        assert res.exit_code == 1 and "manage_privacy" in res.output, res.output
    res = runner.invoke(cc, ["retention", "run", "--db", url, "--keep-for", "call_records=30d", "--as", "nobody"])
    assert res.exit_code == 2 and "nobody" in res.output, res.output
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM calls")).scalar_one() == 3
    res = runner.invoke(cc, ["retention", "run", "--db", url, "--keep-for", "call_records=30d"],
                        env={"CC_USER": "boss"})
    assert res.exit_code == 0 and "calls: deleted 3 rows" in res.output, res.output
    with db.engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(text("SELECT login, action FROM audit_log WHERE action = 'retention'"))]
    assert rows == [("boss", "retention")]
