"""Wire-test fixtures: the read guard runs around every wire test (see tests/wire/read_guard.py); an empty
PostgreSQL schema for the tests that need one (``pg_url``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.pg import pg_schema_url
from tests.wire import read_guard


@pytest.fixture(autouse=True)
def only_what_the_switch_sends() -> Iterator[None]:
    """Fail a wire test in which `cc` read an event header that no real FreeSWITCH capture shows."""
    with read_guard.recording() as reads:
        yield
    bad = read_guard.violations(reads)
    assert not bad, "cc read what only the simulator sends:\n" + "\n".join(bad)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """An empty schema of its own on PostgreSQL (CC_TEST_DATABASE_URL; skipped without it)."""
    with pg_schema_url() as url:
        yield url
