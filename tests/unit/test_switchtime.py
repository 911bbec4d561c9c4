"""SwitchTime: a switch's event stamps mapped onto the controller's clock by the smallest offset seen."""

from __future__ import annotations

import pytest

from cc.esl.protocol import PlainEvent
from cc.runtime.switchtime import AGE_PER_S, SwitchTime


def ev(t: float) -> PlainEvent:
    return PlainEvent(f"Event-Name: CHANNEL_HANGUP\nEvent-Date-Timestamp: {int(t * 1e6)}\n")


def test_a_late_event_keeps_the_time_it_happened() -> None:
    st = SwitchTime()
    # the switch's clock is 1000 s behind ours; events usually reach us 5-20 ms after they happen
    best = float("inf")
    for t, lag in ((10.0, 0.02), (11.0, 0.005), (12.0, 0.01)):
        best = min(best, lag)   # the fastest event so far bounds the offset
        assert st.local(ev(t), t + 1000 + lag) == pytest.approx(t + 1000 + best, abs=AGE_PER_S * 2)
    assert st.offset == pytest.approx(1000.005, abs=AGE_PER_S * 2)   # it ages by 1 ms a second
    # a stall: this one is handled 8 s after it happened, and is still dated (about) when it happened
    assert st.local(ev(13.0), 1021.0) == pytest.approx(1013.005, abs=AGE_PER_S * 12)
    assert st.offset == pytest.approx(1000.005, abs=AGE_PER_S * 12)


def test_no_stamp_means_now_and_the_estimate_follows_a_clock_step() -> None:
    st = SwitchTime()
    assert st.local(PlainEvent("Event-Name: CUSTOM\n"), 5.0) == 5.0
    assert st.local(ev(0.0), 100.0) == 100.0
    # the switch's clock steps 1 s back: the offset may only grow slowly, and a mapped time is never after now
    assert st.local(ev(100.0), 201.0) <= 201.0
    for k in range(1, 4000):
        st.observe(ev(100.0 + k), 201.0 + k)
    assert st.offset == pytest.approx(101.0, abs=0.01)
