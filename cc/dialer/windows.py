"""Calling windows: a business-hours calendar read in each lead's own time zone (zoneinfo, DST-correct).

The calendar model is cc.model.BusinessCalendar and ``is_open`` is cc.ivr_dsl.calendars'; here the lead's
IANA zone replaces the calendar's, so "mon-fri 09:00-21:00" means nine to nine where the customer lives,
on whatever UTC offset that day has. ``next_change`` says when the answer can change next, so that the
dialer wakes up when a window opens instead of scanning leads.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import zoneinfo

from cc.ivr_dsl.calendars import is_open
from cc.model import BusinessCalendar

__all__ = ["in_window", "local_calendar", "next_change", "next_open"]

_DAY = datetime.timedelta(days=1)
_END = datetime.time.max
_MIDNIGHT = datetime.time.min
_HORIZON_DAYS = 400


@functools.lru_cache(maxsize=1024)
def local_calendar(calendar: BusinessCalendar, tz: str) -> BusinessCalendar:
    """``calendar`` with its hours and holidays read in ``tz`` (the lead's zone)."""
    return calendar if calendar.timezone == tz else dataclasses.replace(calendar, timezone=tz)


def in_window(calendar: BusinessCalendar | None, tz: str, now: float) -> bool:
    """True when a lead in ``tz`` may be called at ``now`` (no calendar: always)."""
    return True if calendar is None else is_open(local_calendar(calendar, tz), now)


def _zone(tz: str) -> datetime.tzinfo:
    try:
        return zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return datetime.UTC


def _at(day: datetime.date, t: datetime.time, zone: datetime.tzinfo) -> float:
    if t == _END:
        return datetime.datetime.combine(day + _DAY, _MIDNIGHT, zone).timestamp()
    return datetime.datetime.combine(day, t, zone).timestamp()


def next_open(calendar: BusinessCalendar | None, tz: str, now: float) -> float | None:
    """The first time >= ``now`` at which a lead in ``tz`` may be called; None if not within ~400 days."""
    if in_window(calendar, tz, now):
        return now
    assert calendar is not None
    cal = local_calendar(calendar, tz)
    zone = _zone(tz)
    holidays = {h.date for h in cal.holidays}
    day = datetime.datetime.fromtimestamp(now, zone).date()
    for _ in range(_HORIZON_DAYS):
        if day not in holidays:
            for span in sorted((s for s in cal.hours if s.weekday == day.weekday()), key=lambda s: s.opens):
                start = max(now, _at(day, span.opens, zone))
                end = _at(day, span.closes, zone)
                # a start in a DST gap lands after it; step by minutes until the calendar agrees
                while start < end:
                    if is_open(cal, start):
                        return start
                    start += 60.0
        day += _DAY
    return None


def next_change(calendar: BusinessCalendar | None, tz: str, now: float) -> tuple[bool, float | None]:
    """(open now?, the next time the answer may change) for a lead in ``tz``; None: never changes.

    While open, the time is the end of the current span (or a bit earlier: asking again is cheap); while
    closed, it is ``next_open``.
    """
    if calendar is None:
        return True, None
    cal = local_calendar(calendar, tz)
    if not is_open(cal, now):
        return False, next_open(calendar, tz, now)
    zone = _zone(tz)
    local = datetime.datetime.fromtimestamp(now, zone)
    t = local.time().replace(tzinfo=None)
    ends = [_at(local.date(), s.closes, zone) for s in cal.hours
            if s.weekday == local.weekday() and s.opens <= t and (t < s.closes or s.closes == _END)]
    end = min((e for e in ends if e > now), default=now + 60.0)
    return True, end
