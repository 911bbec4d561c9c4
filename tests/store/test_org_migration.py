"""Revision 0006 on both backends: old tokens become users with built-in role grants; the audit log refuses
UPDATE and DELETE (triggers), except a DELETE below a recorded retention cut; teams nest."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from cc.store import db as store_db

from .conftest import BACKENDS, PgDatabases

T0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


@pytest.fixture
def fresh_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """An empty, never migrated database."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh.db'}"
    dbs: PgDatabases = request.getfixturevalue("pg_databases")
    return dbs.create()


@pytest.mark.parametrize("backend", BACKENDS)
def test_tokens_become_users_with_builtin_role_grants(fresh_url: str) -> None:
    store_db.upgrade(fresh_url, "0005")
    database = store_db.Database(fresh_url)
    try:
        with database.engine.begin() as conn:
            conn.execute(text("INSERT INTO teams (name, description) VALUES ('a', '')"))
            conn.execute(text("INSERT INTO agents (id, name, contact, team, max_no_answer, wrap_up_s, reject_delay_s,"
                              " busy_delay_s, no_answer_delay_s) VALUES ('1000', '', '', 'a', 3, 1, 1, 1, 1)"))
            for name, role, agent in (("ops", "admin", None), ("wall", "supervisor", None),
                                      ("desk", "agent", "1000"), ("desk2", "agent", "1000")):
                conn.execute(text("INSERT INTO api_tokens (name, sha256, role, agent_id, created_at) "
                                  "VALUES (:n, :h, :r, :a, :t)"), {"n": name, "h": "h" + name, "r": role, "a": agent,
                                                                  "t": T0})
        store_db.upgrade(fresh_url)
        with database.engine.connect() as conn:
            rows = conn.execute(text(
                "SELECT t.name, u.login, u.agent_id, g.role, g.everywhere FROM api_tokens t "
                "JOIN users u ON u.id = t.user_id JOIN role_grants g ON g.user_id = u.id ORDER BY t.name")).all()
            assert [tuple(r) for r in rows] == [
                ("desk", "desk", "1000", "agent", False),     # one user per agent: both its tokens act for it
                ("desk2", "desk", "1000", "agent", False),
                ("ops", "ops", None, "admin", True),
                ("wall", "wall", None, "supervisor", True)]
            builtin = {r[0] for r in conn.execute(text("SELECT name FROM roles WHERE builtin"))}
            assert builtin == {"admin", "manager", "supervisor", "qa", "agent"}
            assert conn.execute(text("SELECT kind, parent FROM teams")).one() == ("team", None)
        # down again: the tokens get their old roles back
        store_db.downgrade(fresh_url, "0005")
        with database.engine.connect() as conn:
            rows = conn.execute(text("SELECT name, role, agent_id FROM api_tokens ORDER BY name")).all()
            assert [tuple(r) for r in rows] == [("desk", "agent", "1000"), ("desk2", "agent", "1000"),
                                                ("ops", "admin", None), ("wall", "supervisor", None)]
    finally:
        database.dispose()


def _insert_audit(conn: Connection, at: datetime.datetime, action: str) -> None:
    conn.execute(text("INSERT INTO audit_log (at, user_id, login, action, kind, resource, detail, client) "
                      "VALUES (:at, NULL, 'ops', :a, '', '', '{}', '')"), {"at": at, "a": action})


@pytest.mark.parametrize("backend", BACKENDS)
def test_audit_log_refuses_updates_and_deletes_except_below_a_purge_cut(fresh_url: str) -> None:
    store_db.upgrade(fresh_url)
    database = store_db.Database(fresh_url)
    try:
        with database.engine.begin() as conn:
            _insert_audit(conn, T0, "old")
            _insert_audit(conn, T0 + datetime.timedelta(days=400), "new")
        for stmt in ("UPDATE audit_log SET action = 'forged'", "DELETE FROM audit_log",
                     "DELETE FROM audit_log WHERE action = 'old'"):
            with pytest.raises(DBAPIError, match="append-only"), database.engine.begin() as conn:
                conn.execute(text(stmt))
        cut = T0 + datetime.timedelta(days=30)
        with database.engine.begin() as conn:
            conn.execute(text("INSERT INTO audit_purges (at, before, login) VALUES (:t, :b, 'retention')"),
                         {"t": cut, "b": cut})
            conn.execute(text("DELETE FROM audit_log WHERE action = 'old'"))   # older than the cut: may go
        with pytest.raises(DBAPIError, match="append-only"), database.engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_log"))                         # the newer row may not
        for stmt in ("UPDATE audit_purges SET before = :b", "DELETE FROM audit_purges"):
            with pytest.raises(DBAPIError, match="append-only"), database.engine.begin() as conn:
                conn.execute(text(stmt), {"b": cut})
        with database.engine.connect() as conn:
            assert [r[0] for r in conn.execute(text("SELECT action FROM audit_log"))] == ["new"]
        if database.dialect == "postgresql":
            with pytest.raises(DBAPIError, match="append-only"), database.engine.begin() as conn:
                conn.execute(text("TRUNCATE audit_log"))
    finally:
        database.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_units_nest_and_a_unit_with_children_cannot_go(fresh_url: str) -> None:
    store_db.upgrade(fresh_url)
    database = store_db.Database(fresh_url)
    try:
        with database.engine.begin() as conn:
            conn.execute(text("INSERT INTO teams (name, description, kind) VALUES ('sales', '', 'department')"))
            conn.execute(text("INSERT INTO teams (name, description, parent) VALUES ('a', '', 'sales')"))
        with pytest.raises(IntegrityError), database.engine.begin() as conn:
            conn.execute(text("DELETE FROM teams WHERE name = 'sales'"))
        with pytest.raises(IntegrityError), database.engine.begin() as conn:
            conn.execute(text("INSERT INTO teams (name, description, kind) VALUES ('x', '', 'galaxy')"))
    finally:
        database.dispose()
