"""Fixtures for tests/reports: an empty database per test on SQLite and, with CC_TEST_DATABASE_URL, PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

PG_URL = os.environ.get("CC_TEST_DATABASE_URL")


def _conninfo(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of an empty database (tables created, no rows); PostgreSQL ones are dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'cc.db'}"
        return
    if not PG_URL:
        pytest.skip("CC_TEST_DATABASE_URL not set: PostgreSQL tests skipped")
    name = f"cc_rep_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_conninfo(PG_URL), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(_conninfo(PG_URL), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
