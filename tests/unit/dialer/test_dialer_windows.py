"""Calling windows in the lead's own zone: DST-correct, holidays, next opening."""

from __future__ import annotations

import datetime
import zoneinfo

from hypothesis import given, settings
from hypothesis import strategies as st

from cc.dialer.windows import in_window, next_change, next_open
from cc.model import BusinessCalendar, Holiday, OpeningHours

ZONES = ("America/New_York", "Europe/London", "Europe/Paris", "Asia/Shanghai", "Australia/Sydney",
         "America/Sao_Paulo", "Pacific/Auckland", "UTC")
T = datetime.time


def calendar(open_h: int, close_h: int, days: tuple[int, ...] = (0, 1, 2, 3, 4),
             holidays: tuple[datetime.date, ...] = ()) -> BusinessCalendar:
    return BusinessCalendar("calling", "UTC", tuple(OpeningHours(d, T(open_h), T(close_h)) for d in days),
                            tuple(Holiday(h) for h in holidays))


def open_by_hand(tz: str, now: float, open_h: int, close_h: int, days: tuple[int, ...],
                 holidays: tuple[datetime.date, ...] = ()) -> bool:
    local = datetime.datetime.fromtimestamp(now, zoneinfo.ZoneInfo(tz))
    return local.weekday() in days and open_h <= local.hour < close_h and local.date() not in holidays


def utc(*args: int) -> float:
    return datetime.datetime(*args, tzinfo=datetime.UTC).timestamp()


def test_new_york_on_the_dst_change() -> None:
    cal = calendar(9, 21)
    # Friday 2026-03-06: EST (UTC-5); Monday 2026-03-09: EDT (UTC-4)
    assert not in_window(cal, "America/New_York", utc(2026, 3, 6, 13, 30))    # 08:30 EST
    assert in_window(cal, "America/New_York", utc(2026, 3, 6, 14, 0))         # 09:00 EST
    assert in_window(cal, "America/New_York", utc(2026, 3, 9, 13, 0))         # 09:00 EDT
    assert not in_window(cal, "America/New_York", utc(2026, 3, 9, 12, 59))    # 08:59 EDT
    assert next_open(cal, "America/New_York", utc(2026, 3, 7, 12)) == utc(2026, 3, 9, 13)
    assert in_window(cal, "Asia/Shanghai", utc(2026, 3, 9, 1)) is True        # 09:00 in Shanghai


def test_holidays_close_the_whole_local_day() -> None:
    cal = calendar(9, 21, holidays=(datetime.date(2026, 10, 1),))
    assert not in_window(cal, "Asia/Shanghai", utc(2026, 10, 1, 2))           # 10:00 on 1 October in China
    assert in_window(cal, "America/New_York", utc(2026, 10, 1, 2)) is False   # 22:00 on 30 Sept in New York
    assert in_window(cal, "America/New_York", utc(2026, 9, 30, 20)) is True   # 16:00 on 30 Sept in New York
    assert next_open(cal, "Asia/Shanghai", utc(2026, 10, 1, 2)) == utc(2026, 10, 2, 1)


def test_no_calendar_is_always_open() -> None:
    assert in_window(None, "UTC", 0.0)
    assert next_change(None, "UTC", 0.0) == (True, None)


@settings(max_examples=300, deadline=None)
@given(tz=st.sampled_from(ZONES), now=st.floats(utc(2026, 1, 1), utc(2027, 12, 31)),
       open_h=st.integers(0, 22), length=st.integers(1, 12),
       days=st.sets(st.integers(0, 6), min_size=1).map(lambda s: tuple(sorted(s))))
def test_windows_match_the_lead_local_clock_and_next_open_is_the_first_opening(
        tz: str, now: float, open_h: int, length: int, days: tuple[int, ...]) -> None:
    close_h = min(24, open_h + length)
    cal = BusinessCalendar("c", "UTC", tuple(
        OpeningHours(d, T(open_h), T.max if close_h == 24 else T(close_h)) for d in days))
    assert in_window(cal, tz, now) == open_by_hand(tz, now, open_h, close_h, days)
    opens = next_open(cal, tz, now)
    assert opens is not None and opens >= now
    assert open_by_hand(tz, opens, open_h, close_h, days)
    # nothing opened earlier: the minute before it was closed (unless it is ``now``)
    if opens > now:
        assert not open_by_hand(tz, max(now, opens - 60), open_h, close_h, days)
    is_open, until = next_change(cal, tz, now)
    assert is_open == in_window(cal, tz, now)
    assert until is not None and until > now
