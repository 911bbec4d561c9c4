"""cc.sim.scheduler: one heap, callbacks in (due, insertion) order, simulated time scaled."""

from __future__ import annotations

import gevent
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cc.sim.scheduler import Scheduler


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=20), min_size=1, max_size=60))
def test_timers_fire_in_due_then_insertion_order(delays: list[int]) -> None:
    s = Scheduler(time_scale=0.001)
    s.start()
    fired: list[tuple[int, int]] = []
    try:
        base = s.now() + 1.0
        for i, d in enumerate(delays):
            s.call_at(base + d, fired.append, (d, i))
        with gevent.Timeout(5):
            while len(fired) < len(delays):
                gevent.sleep(0.002)
    finally:
        s.stop()
    assert fired == sorted(fired)


def test_cancel_and_sleep_scale() -> None:
    s = Scheduler(time_scale=0.01)
    s.start()
    try:
        hits: list[str] = []
        t = s.call_later(1.0, hits.append, "no")
        s.call_later(2.0, hits.append, "yes")
        t.cancel()
        before = s.now()
        s.sleep(5.0)                      # 5 simulated seconds = 50 ms real
        assert 4.9 <= s.now() - before < 20
        assert hits == ["yes"]
        assert s.fired == 2               # the sleep's own timer and "yes"
    finally:
        s.stop()


def test_bad_scale() -> None:
    with pytest.raises(ValueError):
        Scheduler(time_scale=0)
