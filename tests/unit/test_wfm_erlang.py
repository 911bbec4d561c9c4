"""Erlang B/C/A against published table values, stability at large traffic, staffing and forecasts."""

from __future__ import annotations

import datetime
import math
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cc.errors import InvalidValue
from cc.model import QueueEvent, QueueEventType
from cc.wfm import StaffingTarget, erlang_a, erlang_b, erlang_c, erlang_c_result, required_agents, staffing_table
from cc.wfm.forecast import forecast_from_history
from cc.wfm.staffing import ForecastInterval


@pytest.mark.parametrize(("agents", "traffic", "expected"), [
    # Erlang C P(wait) for 10 Erlangs (100 calls / 30 min, AHT 180 s), as in the widely published
    # "Erlang C made simple" table: 11 -> 68.21 %, 12 -> 44.94 %, 13 -> 28.53 %, 14 -> 17.41 %
    (11, 10.0, 0.6821), (12, 10.0, 0.4494), (13, 10.0, 0.2853), (14, 10.0, 0.1741),
    # M/M/3 with a = 2 (textbook): 4/9
    (3, 2.0, 0.4444),
])
def test_erlang_c_published_values(agents: int, traffic: float, expected: float) -> None:
    assert erlang_c(agents, traffic) == pytest.approx(expected, abs=5e-5)


@pytest.mark.parametrize(("agents", "traffic", "expected"), [
    (10, 5.0, 0.01838), (5, 2.0, 0.03670), (1, 1.0, 0.5), (20, 15.0, 0.04561)])
def test_erlang_b_published_values(agents: int, traffic: float, expected: float) -> None:
    assert erlang_b(agents, traffic) == pytest.approx(expected, abs=5e-5)


def _exact_c(n: int, a: Fraction) -> Fraction:
    terms = [a**k / math.factorial(k) for k in range(n)]
    top = a**n / math.factorial(n) * n / (n - a)
    return top / (sum(terms) + top)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 60), st.fractions(min_value=Fraction(1, 10), max_value=Fraction(59)))
def test_erlang_c_matches_exact_rational_formula(n: int, a: Fraction) -> None:
    if a >= n:
        assert erlang_c(n, float(a)) == 1.0
    else:
        assert erlang_c(n, float(a)) == pytest.approx(float(_exact_c(n, a)), rel=1e-9, abs=1e-12)


def test_large_traffic_does_not_overflow() -> None:
    r = erlang_c_result(5200, 5000 / 180, 180, 20)  # 5000 Erlangs: a^n / n! would overflow a float
    assert 0 < r.p_wait < 1 and 0.99 < r.service_level <= 1
    assert math.isfinite(erlang_a(5000, 5000 / 180, 180, 60, 20).service_level)


def test_service_level_and_asa_formulas() -> None:
    r = erlang_c_result(14, 100 / 1800, 180, 20)
    assert r.service_level == pytest.approx(1 - 0.17413 * math.exp(-4 * 20 / 180), abs=1e-4)
    assert r.asa_s == pytest.approx(0.17413 * 180 / 4, abs=1e-2)
    assert r.occupancy == pytest.approx(10 / 14)


def test_erlang_a_tends_to_erlang_c_with_infinite_patience_and_abandons_with_little() -> None:
    c = erlang_c_result(14, 100 / 1800, 180, 20)
    a = erlang_a(14, 100 / 1800, 180, 1e9, 20)
    assert a.p_wait == pytest.approx(c.p_wait, rel=1e-4)
    assert a.service_level == pytest.approx(c.service_level, rel=1e-4)
    assert a.asa_s == pytest.approx(c.asa_s, rel=1e-3)
    impatient = erlang_a(14, 100 / 1800, 180, 30, 20)
    assert impatient.abandon_rate > 0.01 and impatient.p_wait < c.p_wait
    # overloaded: Erlang A still has a steady state; most excess callers abandon
    over = erlang_a(8, 100 / 1800, 180, 60, 20)
    assert 0.2 < over.abandon_rate < 0.4 and over.occupancy < 1


def test_required_agents_and_shrinkage() -> None:
    target = StaffingTarget(0.8, 20, max_occupancy=0.85)
    r = required_agents(300 / 1800, 240, target)
    assert r is not None and r.agents == 48  # 40 Erlangs: 47 gives < 80 % or > 85 % occupancy
    assert erlang_c_result(47, 300 / 1800, 240, 20).occupancy > 0.85 or \
        erlang_c_result(47, 300 / 1800, 240, 20).service_level < 0.8
    rows = staffing_table([ForecastInterval("09:00", 100, 1800, 180), ForecastInterval("09:30", 0, 1800, 180)],
                          StaffingTarget(0.8, 20, max_occupancy=1.0, shrinkage=0.3))
    assert (rows[0].agents, rows[0].scheduled) == (14, 20)  # 14 / 0.7 = 20
    assert (rows[1].agents, rows[1].scheduled) == (0, 0)
    with_patience = required_agents(100 / 1800, 180, StaffingTarget(0.8, 20, max_occupancy=1.0, patience_s=60))
    assert with_patience is not None and with_patience.agents <= 14


def test_bad_values_raise_invalid_value() -> None:
    for call in (lambda: erlang_c(0, 1.0), lambda: erlang_b(3, -1.0), lambda: erlang_c_result(3, 1, 0, 20),
                 lambda: StaffingTarget(1.5, 20), lambda: StaffingTarget(0.8, 20, shrinkage=1.0),
                 lambda: erlang_a(3, 0.1, 100, 0, 20)):
        with pytest.raises(InvalidValue):
            call()


def test_forecast_from_history_averages_same_weekday_and_slot() -> None:
    tz = datetime.UTC
    monday = datetime.datetime(2026, 11, 2, 9, 10, tzinfo=tz).timestamp()
    evs = []
    for week, n in enumerate((4, 2, 0, 6)):
        for i in range(n):
            at = monday + week * 7 * 86400 + i
            evs.append(QueueEvent(f"e{week}-{i}", at, "sales", f"m{week}-{i}", QueueEventType.ENTER))
            evs.append(QueueEvent(f"c{week}-{i}", at + 100, "sales", f"m{week}-{i}", QueueEventType.COMPLETE_AGENT,
                                  "1001", 10, 200))
    evs.append(QueueEvent("other", monday, "support", "x", QueueEventType.ENTER))
    fc = forecast_from_history(sorted(evs, key=lambda e: e.at), queue="sales", tz=tz, weeks=4, interval_s=1800)
    assert [(f.start, f.calls) for f in fc.intervals] == [("Mon 09:00", 3.0)]
    assert fc.aht_s == 200 and fc.calls_seen == 12
    # hold counts in the handle time; a zero-talk call counts as handled too (12 calls of 200 s, two more)
    evs += [QueueEvent("h1", monday + 300, "sales", "h1", QueueEventType.COMPLETE_CALLER, "1001", 5, 170, hold_s=60),
            QueueEvent("h2", monday + 301, "sales", "h2", QueueEventType.COMPLETE_AGENT, "1001", 5, 0.0)]
    fc = forecast_from_history(sorted(evs, key=lambda e: e.at), queue="sales", tz=tz, weeks=4, interval_s=1800)
    assert fc.aht_s == (12 * 200 + 230 + 0) / 14
