"""Users, org units, roles, grants, sign-in with lock-out, the audit trail of each, and the decision's snapshot,
on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from cc.authz import Permission, Resource, ResourceKind, allowed
from cc.authz.passwords import Lockout
from cc.errors import Conflict, InvalidValue, NotFound
from cc.model import Agent
from cc.store.audit import Actor, AuditRepo
from cc.store.db import Database
from cc.store.org import OrgRepo, RoleRepo
from cc.store.repos import Repos
from cc.store.tokens import TokenRepo, hash_secret
from cc.store.users import SignInOutcome, UserRepo

ROOT = Actor("root", None, "cli")
PW = "correct horse battery"


def _actions(db: Database, login: str | None = None) -> list[str]:
    return [r.action for r in reversed(list(AuditRepo(db).search(0, 2e9, login=login)))]


def test_org_tree_add_move_and_list(db: Database) -> None:
    org = OrgRepo(db)
    org.add("sales", kind="department", actor=ROOT)
    org.add("east", "sales", kind="department", actor=ROOT)
    org.add("a", "east", actor=ROOT)
    org.add("b", "sales", actor=ROOT)
    Repos(db).agents.create(Agent("1000", team="a"))
    assert [(u.name, u.depth, u.path, u.agents) for u in org.list()] == [
        ("sales", 0, "sales", 0), ("b", 1, "sales/b", 0), ("east", 1, "sales/east", 0), ("a", 2, "sales/east/a", 1)]
    with pytest.raises(Conflict):
        org.add("a", actor=ROOT)
    with pytest.raises(NotFound):
        org.add("c", "nowhere", actor=ROOT)
    with pytest.raises(InvalidValue):
        org.add("c", kind="galaxy")
    with pytest.raises(InvalidValue, match="own subtree"):
        org.move("sales", "a", actor=ROOT)
    assert org.move("a", "b", actor=ROOT).path == "sales/b/a"
    assert org.move("b", None, actor=ROOT).path == "b"
    assert _actions(db, "root") == ["unit.add"] * 4 + ["unit.move"] * 2


def test_roles_builtin_fixed_defined_editable(db: Database) -> None:
    roles = RoleRepo(db)
    assert [r.name for r in roles.list()][:5] == ["admin", "manager", "supervisor", "qa", "agent"]
    assert roles.get("agent").permissions == ("agent_self",) and roles.get("agent").builtin
    r = roles.add("listener", ["view_recordings", "view_reports"], description="hears calls", actor=ROOT)
    assert r.permissions == ("view_reports", "view_recordings") and not r.builtin
    assert roles.set("listener", add=["export"], remove=["view_reports"], actor=ROOT).permissions == \
        ("view_recordings", "export")
    with pytest.raises(InvalidValue, match="built in"):
        roles.set("admin", add=["export"])
    with pytest.raises(Conflict):
        roles.add("qa", ["export"])
    with pytest.raises(InvalidValue, match="fly"):
        roles.add("pilot", ["fly"])
    assert _actions(db, "root") == ["role.add", "role.set"]


def test_users_grants_and_the_directory(db: Database) -> None:
    org, users = OrgRepo(db), UserRepo(db)
    org.add("sales", kind="department")
    org.add("a", "sales")
    org.add("b", "sales")
    Repos(db).agents.create(Agent("1000", team="a"))
    Repos(db).agents.create(Agent("2000", team="b"))
    users.add("li", display_name="Li", password=PW, actor=ROOT)
    users.add("desk", agent_id="1000", actor=ROOT)
    with pytest.raises(Conflict, match="is user desk"):
        users.add("desk2", agent_id="1000")
    with pytest.raises(InvalidValue, match="login"):
        users.add("zhang", password="zhang-0123456")
    users.grant("li", "supervisor", "a", actor=ROOT)
    users.grant("li", "supervisor", ["b"], actor=ROOT)      # adds to the scope
    users.grant("li", "qa", "*", actor=ROOT)
    users.grant("desk", "agent", actor=ROOT)
    li = users.get("li")
    assert [(g.role, g.scope) for g in li.grants] == [("qa", "*"), ("supervisor", "a,b")]
    assert li.has_password and users.get("desk").grants[0].scope == "self"
    with pytest.raises(NotFound):
        users.grant("li", "supervisor", "ghost")
    with pytest.raises(NotFound):
        users.grant("li", "pilot", "a")
    users.revoke("li", "supervisor", ["b"], actor=ROOT)
    token, secret = TokenRepo(db).create("li-cli", user="li")
    d, tokens = users.directory()
    assert tokens[hash_secret(secret)] == ("li-cli", li.id) and token.user_id == li.id
    p = d.by_login["li"]
    assert allowed(p, Permission.CONTROL_AGENTS, d.agent("1000"))
    assert not allowed(p, Permission.CONTROL_AGENTS, d.agent("2000"))            # b was revoked
    assert allowed(p, Permission.SCORE_CALLS, d.agent("2000", ResourceKind.CALL))  # qa everywhere
    desk = d.by_login["desk"]
    assert allowed(desk, Permission.CONTROL_AGENTS, d.agent("1000")).reason == "agent_self"
    assert not allowed(desk, Permission.VIEW_LIVE, Resource.common(ResourceKind.QUEUE))
    users.set_disabled("li", True, actor=ROOT)
    assert not allowed(users.directory()[0].by_login["li"], Permission.SCORE_CALLS, d.agent("2000"))
    users.revoke("li", "qa", actor=ROOT)
    with pytest.raises(NotFound):
        users.revoke("li", "qa")
    assert _actions(db, "root") == ["user.add", "user.add", "user.grant", "user.grant", "user.grant", "user.grant",
                                    "user.revoke", "user.disable", "user.revoke"]


def test_sign_in_locks_out_after_failures_and_audits_each_attempt(db: Database) -> None:
    users = UserRepo(db)
    users.add("li", password=PW)
    rule = Lockout(max_failures=3, lock_s=600)
    t0 = 1_800_000_000.0
    assert users.sign_in("li", PW, now=t0, client="10.0.0.1", lockout=rule).ok
    assert users.sign_in("li", "wrong password!", now=t0 + 1, lockout=rule).outcome is SignInOutcome.BAD_CREDENTIALS
    assert users.sign_in("li", "wrong password!", now=t0 + 2, lockout=rule).outcome is SignInOutcome.BAD_CREDENTIALS
    third = users.sign_in("li", "wrong password!", now=t0 + 3, lockout=rule)
    assert third.outcome is SignInOutcome.LOCKED and third.locked_until == t0 + 603
    # locked: even the right password is refused until the lock ends
    assert users.sign_in("li", PW, now=t0 + 602, lockout=rule).outcome is SignInOutcome.LOCKED
    assert users.sign_in("li", PW, now=t0 + 603, lockout=rule).ok
    assert users.sign_in("nobody", PW, now=t0 + 604, lockout=rule).outcome is SignInOutcome.BAD_CREDENTIALS
    users.set_disabled("li", True)
    assert users.sign_in("li", PW, now=t0 + 605, lockout=rule).outcome is SignInOutcome.DISABLED
    rows = list(reversed(list(AuditRepo(db).search(t0, t0 + 1000))))
    assert [(r.login, r.action, r.detail.get("outcome")) for r in rows] == [
        ("li", "sign_in", "ok"), ("li", "sign_in_failed", "bad_credentials"),
        ("li", "sign_in_failed", "bad_credentials"), ("li", "sign_in_failed", "bad_credentials"),
        ("li", "lockout", None), ("li", "sign_in_failed", "locked"), ("li", "sign_in", "ok"),
        ("nobody", "sign_in_failed", "bad_credentials"), ("li", "sign_in_failed", "disabled")]
    assert rows[0].client == "10.0.0.1" and all(PW not in str(r.detail) for r in rows)


def test_passwords_follow_the_rules(db: Database) -> None:
    users = UserRepo(db)
    with pytest.raises(InvalidValue, match="at least 10"):
        users.add("li", password="short")
    users.add("li")
    assert not users.get("li").has_password
    assert users.sign_in("li", "anything at all").outcome is SignInOutcome.BAD_CREDENTIALS   # token-only user
    with pytest.raises(InvalidValue, match="login"):
        users.set_password("li", "my-li-password")
    assert users.set_password("li", PW).has_password
    assert users.sign_in("li", PW).ok


def test_audit_search_filters_and_pages(db: Database) -> None:
    audit = AuditRepo(db)
    for i in range(1200):
        audit.append(Actor("li" if i % 2 else "wang"), "export" if i % 5 == 0 else "reveal", "call", f"c{i}",
                     {"n": i}, at=1_000_000.0 + i)
    everything = list(audit.search(0, 2e9))
    assert len(everything) == 1200 and everything[0].detail == {"n": 1199} and everything[-1].resource == "c0"
    li_exports = list(audit.search(1_000_000.0, 1_000_100.0, login="li", action="export"))
    assert [r.resource for r in li_exports] == [f"c{i}" for i in range(95, 0, -10)]
    assert len(list(audit.search(0, 2e9, limit=7))) == 7
    with pytest.raises(InvalidValue):
        list(audit.search(10, 5))


def test_an_audit_row_never_holds_a_number_in_its_resource_or_detail(db: Database) -> None:
    """The log is append-only and outlives a customer's erasure: a number named as the resource (a DNC entry, a
    customer looked up by number) is masked like one in the detail, whoever writes the row."""
    from cc.store.audit import AuditedDatabase, Change

    repo = AuditRepo(db)
    repo.append(Actor("li"), "dnc.del", "lead", "+8613812341234", {"number": "13812341234"}, at=1000.0)
    audited = AuditedDatabase(db, Change(Actor("li"), "user.set", "user", "call 13912345678"))
    UserRepo(audited).add("wang")
    rows = {r.action: r for r in repo.search(0, 2e9)}
    assert rows["dnc.del"].resource == "+86138****1234" and rows["dnc.del"].detail == {"number": "138****1234"}
    assert rows["user.set"].resource == "call 139****5678"
    assert not any("12341234" in r.resource or "2345678" in r.resource for r in rows.values())


def test_parallel_failed_sign_ins_each_count_toward_the_lock_out(db: Database, backend: str,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Two wrong passwords at once must count as two failures: each attempt takes the user's row locked before it
    reads the count, so the second waits for the first instead of reading the same count (else parallel guesses
    never lock the account), on SQLite and PostgreSQL."""
    import threading

    import cc.store.users as users_mod

    users = UserRepo(db)
    users.add("li", password=PW)
    entered: list[threading.Event] = [threading.Event(), threading.Event()]
    go = threading.Event()
    real = users_mod.verify_password

    def slow_verify(stored: str | None, password: str) -> bool:
        entered[0 if not entered[0].is_set() else 1].set()
        go.wait(10)
        return real(stored, password)

    monkeypatch.setattr(users_mod, "verify_password", slow_verify)
    outcomes: list[SignInOutcome] = []
    threads = [threading.Thread(target=lambda: outcomes.append(users.sign_in("li", "wrong password!").outcome))
               for _ in range(2)]
    threads[0].start()
    assert entered[0].wait(10)
    threads[1].start()
    entered[1].wait(1)      # both attempts are checking their passwords at the same time
    go.set()
    for th in threads:
        th.join(20)
    assert outcomes == [SignInOutcome.BAD_CREDENTIALS] * 2
    with db.transaction() as session:
        from sqlalchemy import select

        from cc.store.org_tables import UserRow
        assert session.scalars(select(UserRow.failed_attempts).where(UserRow.login == "li")).one() == 2


def test_importing_the_store_hashes_no_password() -> None:
    """The unknown-login dummy hash is made at the first sign-in, not when a process imports the store (a
    restarting controller and every CLI command import it)."""
    import subprocess
    import sys

    code = ("import cc.store.users as u, cc.authz.passwords as p; "
            "print(u._dummy_hash.cache_info().currsize)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0", out


def test_an_unknown_login_costs_one_verification_too(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """An unknown login runs a verification against the dummy hash (no timing oracle)."""
    import cc.store.users as users

    seen: list[str] = []
    real = users.verify_password
    monkeypatch.setattr(users, "verify_password", lambda h, pw: seen.append(h) or real(h, pw))
    assert UserRepo(db).sign_in("nobody-here", "whatever-password").outcome is SignInOutcome.BAD_CREDENTIALS
    assert seen == [users._dummy_hash()]
