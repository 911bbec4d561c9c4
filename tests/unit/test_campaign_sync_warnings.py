"""The campaigns' status sync through a store outage: one warning when it starts failing and one when it works
again, not one per pass (29 lines a minute in bench/faults.py's db_refuse)."""

from __future__ import annotations

import logging

import gevent
import gevent.event
import pytest

from cc.errors import DatabaseUnavailable
from cc.runtime.campaigns import Campaigns, OutboundConfig


def test_a_store_outage_is_two_lines_whatever_the_passes(caplog: pytest.LogCaptureFixture) -> None:
    camps = object.__new__(Campaigns)   # only the loop: its config and its sync
    camps.config = OutboundConfig(sync_s=0.001)
    passes, back = [0], gevent.event.Event()

    def sync() -> int:
        passes[0] += 1
        if passes[0] <= 200:
            raise DatabaseUnavailable("connection refused")
        back.set()
        return 0

    camps.sync = sync   # type: ignore[method-assign]
    with caplog.at_level(logging.WARNING, logger="cc.runtime.campaigns"):
        loop = gevent.spawn(camps._sync_loop)
        assert back.wait(30)
        loop.kill()
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2, lines
    assert "status sync with the store failed" in lines[0] and "works again" in lines[1]
