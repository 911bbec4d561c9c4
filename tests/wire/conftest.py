"""Wire-test fixtures: the read guard runs around every wire test (see tests/wire/read_guard.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.wire import read_guard


@pytest.fixture(autouse=True)
def only_what_the_switch_sends() -> Iterator[None]:
    """Fail a wire test in which `cc` read an event header that no real FreeSWITCH capture shows."""
    with read_guard.recording() as reads:
        yield
    bad = read_guard.violations(reads)
    assert not bad, "cc read what only the simulator sends:\n" + "\n".join(bad)
