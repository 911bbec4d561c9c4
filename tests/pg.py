"""Throw-away PostgreSQL schemas for tests: each a clean database for cc in CC_TEST_DATABASE_URL's database.

A schema (cc_t_<pid>_<random>) rather than a database (DROP DATABASE forces a checkpoint, slow on a busy
server); a URL whose connections see only it (``options=-csearch_path=...``). Reruns and concurrent runs never
collide, and everything made is dropped at the end.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy.engine import make_url

__all__ = ["PG_URL", "PgDatabases", "pg_schema_url"]

PG_URL = os.environ.get("CC_TEST_DATABASE_URL")


def _conninfo(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class PgDatabases:
    """Creates uniquely named PostgreSQL schemas (each a clean database for cc) and drops them at the end."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.created: list[str] = []

    def create(self) -> str:
        """A URL whose connections see only a new, empty schema."""
        name = f"cc_t_{os.getpid()}_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(_conninfo(self.admin_url), autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{name}"')
        self.created.append(name)
        url = make_url(self.admin_url).update_query_dict({"options": f"-csearch_path={name}"})
        return url.render_as_string(hide_password=False)

    def drop_all(self) -> None:
        """Drop every schema made here."""
        with psycopg.connect(_conninfo(self.admin_url), autocommit=True) as conn:
            for name in self.created:
                conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        self.created.clear()


@contextlib.contextmanager
def pg_schema_url() -> Iterator[str]:
    """One empty schema's URL for the block (skips the test when CC_TEST_DATABASE_URL is not set)."""
    if not PG_URL:
        pytest.skip("CC_TEST_DATABASE_URL not set: PostgreSQL tests skipped")
    dbs = PgDatabases(PG_URL)
    try:
        yield dbs.create()
    finally:
        dbs.drop_all()
