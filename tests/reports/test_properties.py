"""Property tests: intervals tile time in every zone; queue report counts are conserved."""

from __future__ import annotations

import datetime
import zoneinfo

from hypothesis import given, settings
from hypothesis import strategies as st

from cc.model import QueueEvent
from cc.model import QueueEventType as Q
from cc.reports import Bucketer, CallsReport, QueueReport

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu", "America/St_Johns"]
T2026 = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC).timestamp()


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(ZONES), st.sampled_from(["15m", "30m", "hour", "day", "week", "month"]),
       st.floats(0, 365 * 86400))
def test_intervals_contain_the_instant_and_tile(zone: str, interval: str, offset: float) -> None:
    b = Bucketer(interval, zoneinfo.ZoneInfo(zone))
    at = T2026 + offset
    start, end, label = b.span(at)
    assert start <= at < end
    nxt_start, _, nxt_label = b.span(end)
    assert nxt_start == end and nxt_label != label  # the next interval starts where this one ends
    _, prev_end, _ = b.span(start - 0.001)
    assert prev_end == start
    if interval in ("15m", "30m", "hour"):
        assert end - start <= {"15m": 900, "30m": 1800, "hour": 3600}[interval]


OUTCOMES = [Q.CONNECT, Q.ABANDON, Q.EXIT_TIMEOUT, Q.EXIT_NO_AGENT, Q.EXIT_KEY, Q.CALLBACK_REQUESTED, None]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 7199), st.floats(0, 600) | st.just(0.0), st.sampled_from(OUTCOMES),
                          st.floats(0, 30)), max_size=40), st.floats(0, 20), st.randoms())
def test_every_offered_call_has_exactly_one_outcome(calls: list, short: float, rnd) -> None:
    t0 = T2026
    evs = []
    for i, (enter, wait, outcome, talk) in enumerate(calls):
        m = f"m{i}"
        evs.append(QueueEvent(f"{i}a", t0 + enter, "q", m, Q.ENTER))
        if outcome is None:
            continue
        evs.append(QueueEvent(f"{i}o", t0 + enter + wait, "q", m, outcome, "a1", wait))
        if outcome is Q.CONNECT:
            evs.append(QueueEvent(f"{i}z", t0 + enter + wait + talk, "q", m, Q.COMPLETE_AGENT, "a1", wait, talk))
    # the store orders by (time, random id): events of one instant may come in any order
    keys = {e.id: rnd.random() for e in evs}
    evs.sort(key=lambda e: (e.at, keys[e.id]))
    rep = QueueReport(Bucketer("hour", datetime.UTC), t0, t0 + 7200, short_abandon_s=short).feed_all(evs)
    rows = rep.rows()
    offered = sum(r["offered"] for r in rows)
    ended = sum(r["answered"] + r["abandoned"] + r["timeouts"] + r["no_agent"] + r["exit_key"]
                + r["callbacks_requested"] for r in rows)
    open_calls = sum(1 for c in calls if c[2] is None)
    short_n = sum(r["short_abandoned"] for r in rows)
    assert offered == len(calls) - short_n
    assert ended + open_calls == offered
    for r in rows:
        assert r["answered_in_sl"] <= r["answered"]
        if r["offered"]:
            assert 0 <= r["service_level"] <= 1
    outcomes = [r["outcome"] for r in CallsReport(t0, t0 + 7200, short_abandon_s=short).stream(evs)]
    assert len(outcomes) == len(calls) and outcomes.count("open") == open_calls
    assert outcomes.count("short_abandon") == short_n
