"""Migrations: up, down, up again on both backends; models and migrated schema agree; URL handling."""

from __future__ import annotations

import dataclasses
import datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError

from cc.errors import DatabaseUnavailable, InvalidValue
from cc.model import Agent, Customer, QueueConfig, Tier
from cc.store import db as store_db
from cc.store.codec import KINDS
from cc.store.tables import AgentRow, Base, CallRow, CustomerRow, QueueRow, TierRow, compared_on

from .conftest import BACKENDS, PgDatabases

EXPECTED_TABLES = {t.name for t in Base.metadata.sorted_tables}


@pytest.fixture
def fresh_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """An empty, never migrated database."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh.db'}"
    dbs: PgDatabases = request.getfixturevalue("pg_databases")
    return dbs.create()


def _tables(url: str) -> set[str]:
    engine = store_db.make_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def _diff(url: str) -> list[object]:
    engine = store_db.make_engine(url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True,
                                                         "include_object": compared_on(conn.dialect.name)})
            return list(compare_metadata(ctx, Base.metadata))
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_upgrade_downgrade_upgrade_and_no_drift(fresh_url: str) -> None:
    assert store_db.current_revision(fresh_url) is None
    store_db.upgrade(fresh_url)
    assert store_db.current_revision(fresh_url) == store_db.head_revision()
    assert _tables(fresh_url) == EXPECTED_TABLES
    store_db.downgrade(fresh_url, "base")
    assert store_db.current_revision(fresh_url) is None
    assert _tables(fresh_url) == set()
    store_db.upgrade(fresh_url)
    assert _tables(fresh_url) == EXPECTED_TABLES
    assert _diff(fresh_url) == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_enum_columns_refuse_free_text(fresh_url: str) -> None:
    store_db.upgrade(fresh_url)
    database = store_db.Database(fresh_url)
    try:
        with pytest.raises(Exception) as err, database.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO calls (uuid, direction, caller, callee, node, started_at) "
                    "VALUES ('u1', 'sideways', 'a', 'b', '', :t)"
                ),
                {"t": datetime.datetime(2026, 1, 1)},
            )
        assert "ck_calls_direction" in str(err.value) or "CHECK" in str(err.value).upper()
    finally:
        database.dispose()


def test_sqlite_has_wal_and_foreign_keys(tmp_path: Path) -> None:
    engine = store_db.make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()


def test_sqlite_timestamps_come_back_aware_utc(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    store_db.upgrade(url)
    database = store_db.Database(url)
    berlin = datetime.timezone(datetime.timedelta(hours=2))
    with database.transaction() as session:
        session.add(
            CallRow(
                uuid="u",
                direction="inbound",
                caller="1",
                callee="2",
                node="",
                started_at=datetime.datetime(2026, 6, 1, 14, 0, tzinfo=berlin),
            )
        )
    with database.sessions() as session:
        started = session.scalar(select(CallRow.started_at))
    assert started == datetime.datetime(2026, 6, 1, 12, 0, tzinfo=datetime.UTC)
    assert started is not None and started.tzinfo is datetime.UTC
    with pytest.raises(Exception, match="naive"), database.transaction() as session:
        session.add(
            CallRow(
                uuid="v",
                direction="inbound",
                caller="1",
                callee="2",
                node="",
                started_at=datetime.datetime(2026, 6, 1, 14, 0),
            )
        )
    database.dispose()


def test_resolve_url_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CC_DATABASE_URL", raising=False)
    assert store_db.resolve_url() == "sqlite:///cc.db"
    monkeypatch.setenv("CC_DATABASE_URL", "sqlite:////tmp/env.db")
    assert store_db.resolve_url() == "sqlite:////tmp/env.db"
    assert store_db.resolve_url("sqlite:////tmp/arg.db") == "sqlite:////tmp/arg.db"


@pytest.mark.parametrize("url", ["not a url", "mysql://u@h/db", "oracle://x"])
def test_bad_urls_are_invalid_values(url: str) -> None:
    with pytest.raises(InvalidValue) as err:
        store_db.make_engine(url)
    assert err.value.field == "database url" and err.value.value == url


def test_unreachable_database_is_database_unavailable(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'missing-dir' / 'x.db'}"
    with pytest.raises(DatabaseUnavailable):
        store_db.upgrade(url)


@pytest.mark.parametrize(
    ("cls", "row", "not_columns"),
    [
        (QueueConfig, QueueRow, set()),
        (Agent, AgentRow, {"skills"}),  # agent_skills
        (Tier, TierRow, set()),
        (Customer, CustomerRow, {"phones"}),  # customer_phones
        *((kind.cls, kind.row, set()) for kind in KINDS.values()),
    ],
)
def test_every_model_field_has_a_column(cls: type, row: type, not_columns: set[str]) -> None:
    """A field added to a cc.model dataclass needs a column in cc/store/tables.py and a migration."""
    fields = {f.name for f in dataclasses.fields(cls)} - not_columns
    columns = set(row.__table__.c.keys())  # type: ignore[attr-defined]
    assert fields <= columns, f"{cls.__name__}: no column for {sorted(fields - columns)}"


@pytest.mark.parametrize("backend", BACKENDS)
def test_revision_0005_lets_exit_other_lines_in_and_still_refuses_free_text(fresh_url: str) -> None:
    store_db.upgrade(fresh_url, "0004")
    insert = text("INSERT INTO queue_events (id, at, queue, member_uuid, type, detail) "
                  "VALUES (:id, :t, 'q', 'm', :type, '')")
    t = datetime.datetime(2026, 1, 1)
    database = store_db.Database(fresh_url)
    try:
        with database.engine.begin() as conn:
            conn.execute(insert, {"id": "a", "t": t, "type": "ABANDON"})
        store_db.upgrade(fresh_url)
        with database.engine.begin() as conn:
            conn.execute(insert, {"id": "b", "t": t, "type": "EXIT_OTHER"})
        with pytest.raises(IntegrityError), database.engine.begin() as conn:
            conn.execute(insert, {"id": "c", "t": t, "type": "EXIT_SIDEWAYS"})
        with database.engine.connect() as conn:
            assert sorted(conn.execute(text("SELECT id, type FROM queue_events")).all()) == [
                ("a", "ABANDON"), ("b", "EXIT_OTHER")]
    finally:
        database.dispose()


def test_head_revision_constant_is_alembics_head() -> None:
    """A new migration must move HEAD_REVISION too, or a restart would skip it."""
    assert store_db.HEAD_REVISION == store_db.head_revision()


@pytest.mark.parametrize("backend", BACKENDS)
def test_upgrade_of_a_database_at_head_does_not_import_alembic(fresh_url: str, tmp_path: Path) -> None:
    import subprocess
    import sys

    store_db.upgrade(fresh_url)
    probe = ("import sys; from cc.store.db import upgrade; upgrade(sys.argv[1]); "
             "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))")
    out = subprocess.run([sys.executable, "-c", probe, fresh_url], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == "[]"
    # one revision behind: alembic runs and brings it to head
    store_db.downgrade(fresh_url, "-1")
    subprocess.run([sys.executable, "-c", probe, fresh_url], capture_output=True, text=True, check=True,
                   cwd=Path(__file__).resolve().parents[2])
    assert store_db.current_revision(fresh_url) == store_db.HEAD_REVISION


@pytest.mark.parametrize("backend", BACKENDS)
def test_reading_the_revision_again_and_again_takes_one_statement_cache_entry(fresh_url: str) -> None:
    """The API reads the revision every 5 s on one engine: through alembic's MigrationContext each read built a new
    ``alembic_version`` Table and took a statement cache entry of its own (the soak's slow growth, 42 minutes to
    fill the cache's 500 and then evict the store's own statements)."""
    engine = store_db.make_engine(fresh_url)
    try:
        assert store_db.current_revision(engine=engine) is None   # never migrated: no table, no error
        store_db.upgrade(engine=engine)
        assert store_db.current_revision(engine=engine) == store_db.HEAD_REVISION
        cached = len(engine._compiled_cache)   # type: ignore[attr-defined]  # SQLAlchemy's LRU of compiled statements
        for _ in range(20):
            assert store_db.current_revision(engine=engine) == store_db.HEAD_REVISION
        assert len(engine._compiled_cache) == cached   # type: ignore[attr-defined]
    finally:
        engine.dispose()
