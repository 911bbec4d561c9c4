"""Fixtures for tests/store: a database per test on SQLite and, with CC_TEST_DATABASE_URL, PostgreSQL.

PostgreSQL isolation: the session creates its own uniquely named schemas (cc_t_<pid>_<random>) in the
database CC_TEST_DATABASE_URL names and points its URLs at them (``options=-csearch_path=...``): one
migrated once and emptied before each test, and fresh ones for the migration tests. All are dropped
at the end, so reruns and concurrent runs never collide and nothing is left behind. Schemas rather
than databases: DROP DATABASE forces a checkpoint, which is slow on a busy server.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from cc.store.db import Database, upgrade
from cc.store.tables import Base
from tests.pg import PG_URL, PgDatabases

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def pg_databases() -> Iterator[PgDatabases]:
    """Factory of throw-away PostgreSQL databases (skips when CC_TEST_DATABASE_URL is not set)."""
    if not PG_URL:
        pytest.skip("CC_TEST_DATABASE_URL not set: PostgreSQL tests skipped")
    dbs = PgDatabases(PG_URL)
    try:
        yield dbs
    finally:
        dbs.drop_all()


@pytest.fixture(scope="session")
def pg_migrated_url(pg_databases: PgDatabases) -> str:
    """One PostgreSQL database for this session, migrated to head."""
    url = pg_databases.create()
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once; each test gets a copy."""
    path = tmp_path_factory.mktemp("sqlite-template") / "cc.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def make_url_for(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[str], str]:
    """backend name -> URL of an empty, migrated database for this test."""

    def make(backend: str) -> str:
        if backend == "sqlite":
            template: Path = request.getfixturevalue("sqlite_template")
            path = tmp_path / f"{uuid.uuid4().hex[:8]}.db"
            shutil.copy(template, path)
            return f"sqlite:///{path}"
        url: str = request.getfixturevalue("pg_migrated_url")
        db = Database(url)
        try:
            with db.engine.begin() as conn:
                names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
                # replica mode: the audit log's append-only triggers do not fire for the emptying
                conn.execute(text("SET LOCAL session_replication_role = replica"))
                conn.execute(text(f"TRUNCATE {names} CASCADE"))
        finally:
            db.dispose()
        return url

    return make


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each test using it runs on SQLite and on PostgreSQL."""
    return str(request.param)


@pytest.fixture
def db_url(backend: str, make_url_for: Callable[[str], str]) -> str:
    """URL of an empty migrated database on the test's backend."""
    return make_url_for(backend)


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    """A Database on an empty migrated database of the test's backend."""
    database = Database(db_url)
    try:
        yield database
    finally:
        database.dispose()
