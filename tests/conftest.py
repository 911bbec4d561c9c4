"""Shared test fixtures: the captures folder, the PostgreSQL URL, and a guard against empty runs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CAPTURES = Path(os.environ.get("CC_ESL_CAPTURES", ROOT / "tests" / "data" / "esl-captures"))


@pytest.fixture(scope="session")
def captures_dir() -> Path:
    """The folder of real FreeSWITCH captures (tests/data/esl-captures, the project's own copy)."""
    if not CAPTURES.is_dir():
        pytest.fail(f"ESL captures not found at {CAPTURES} (set CC_ESL_CAPTURES)")
    return CAPTURES


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--fs-host`` runs tests/integration against a real FreeSWITCH configured with freeswitch-conf/."""
    group = parser.getgroup("freeswitch", "a real FreeSWITCH for tests/integration")
    group.addoption("--fs-host", default=None, help="FreeSWITCH host (its event socket); off by default")
    group.addoption("--fs-port", type=int, default=8021, help="event socket port (default 8021)")
    group.addoption("--fs-password", default="ClueCon", help="event socket password (default ClueCon)")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A run that collected no test fails (exit 1) instead of pytest's exit 5."""
    if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        print("\nerror: no tests were collected; a test run that tests nothing is a failure")
