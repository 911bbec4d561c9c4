"""Shared test fixtures: the captures folder, the PostgreSQL URL, and a guard against empty runs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CAPTURES = Path(os.environ.get("CC_ESL_CAPTURES", ROOT.parent / "shared" / "esl-captures"))


@pytest.fixture(scope="session")
def captures_dir() -> Path:
    """The folder of real FreeSWITCH captures (../shared/esl-captures)."""
    if not CAPTURES.is_dir():
        pytest.fail(f"ESL captures not found at {CAPTURES} (set CC_ESL_CAPTURES)")
    return CAPTURES


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A run that collected no test fails (exit 1) instead of pytest's exit 5."""
    if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        print("\nerror: no tests were collected; a test run that tests nothing is a failure")
