"""Business-hours calendars: parsed from YAML into cc.model.BusinessCalendar, evaluated at a given `now`.

A calendar has an IANA timezone, weekly hours per day (``mon-fri: "09:00-18:00"``, several ranges as a
list, ``closed``; a range past midnight such as ``"22:00-02:00"`` continues into the next day) and
holidays (closed all day). ``is_open`` is pure: the caller passes the time.
"""

from __future__ import annotations

import datetime
import re
import zoneinfo
from collections.abc import Mapping
from typing import Any

from cc.ivr_dsl.loader import Doc, Path
from cc.ivr_dsl.problems import Problem
from cc.model import BusinessCalendar, Holiday, OpeningHours

__all__ = ["DAYS", "is_open", "parse_calendar", "parse_calendars"]

#: Day names as written in calendars, Monday first (datetime.weekday() order).
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_time_of_day = datetime.time  # a time of day (not a clock read)
_END_OF_DAY = datetime.time.max
_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def _days(spec: str) -> list[int] | None:
    out: list[int] = []
    for part in spec.lower().replace(" ", "").split(","):
        if part in ("daily", "all", "every"):
            out.extend(range(7))
        elif "-" in part:
            a, _, b = part.partition("-")
            if a not in DAYS or b not in DAYS:
                return None
            i, j = DAYS.index(a), DAYS.index(b)
            out.extend(range(i, j + 1) if i <= j else [*range(i, 7), *range(0, j + 1)])
        elif part in DAYS:
            out.append(DAYS.index(part))
        else:
            return None
    return out


def _time(h: str, m: str, *, end: bool) -> datetime.time | None:
    hh, mm = int(h), int(m)
    if end and hh == 24 and mm == 0:
        return _END_OF_DAY
    if hh > 23 or mm > 59:
        return None
    return _time_of_day(hh, mm)


def parse_calendar(name: str, value: Any, doc: Doc, path: Path) -> tuple[BusinessCalendar | None, list[Problem]]:
    """Check one calendar mapping at ``path`` of ``doc``; return it (or None) and the problems."""
    problems: list[Problem] = []
    if not isinstance(value, Mapping):
        return None, [
            doc.problem(
                path,
                f"a calendar is a mapping, not {type(value).__name__}",
                hint="timezone:, hours:, holidays:",
            )
        ]
    for key in value:
        if key not in ("timezone", "hours", "holidays", "description"):
            problems.append(
                doc.problem(
                    (*path, key),
                    f"unknown key {key!r} in a calendar",
                    key=True,
                    hint="known: timezone, hours, holidays, description",
                )
            )
    tz = value.get("timezone", "UTC")
    if not isinstance(tz, str):
        problems.append(doc.problem((*path, "timezone"), "timezone must be a string like Europe/Paris"))
        tz = "UTC"
    else:
        try:
            zoneinfo.ZoneInfo(tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            problems.append(
                doc.problem(
                    (*path, "timezone"),
                    f"unknown timezone {tz!r}",
                    hint="an IANA name such as Europe/Paris or America/New_York",
                )
            )
            tz = "UTC"
    hours: list[OpeningHours] = []
    raw_hours = value.get("hours", {})
    if not isinstance(raw_hours, Mapping):
        problems.append(
            doc.problem((*path, "hours"), "hours is a mapping of days to time ranges", hint='mon-fri: "09:00-18:00"')
        )
        raw_hours = {}
    for spec, ranges in raw_hours.items():
        hpath = (*path, "hours", spec)
        days = _days(str(spec))
        if days is None:
            problems.append(
                doc.problem(
                    hpath,
                    f"{spec!r} is not a day or day range",
                    key=True,
                    hint="mon, tue ... sun, mon-fri, sat,sun or daily",
                )
            )
            continue
        items = ranges if isinstance(ranges, list) else [ranges]
        for i, item in enumerate(items):
            ipath = (*hpath, i) if isinstance(ranges, list) else hpath
            if item in ("closed", None, False):
                continue
            m = _RANGE.match(item) if isinstance(item, str) else None
            opens = _time(m.group(1), m.group(2), end=False) if m else None
            closes = _time(m.group(3), m.group(4), end=True) if m else None
            if m is None or opens is None or closes is None or opens == closes:
                problems.append(
                    doc.problem(
                        ipath,
                        f"{item!r} is not a time range",
                        hint='"09:00-18:00" (24:00 ends at midnight), or closed',
                    )
                )
                continue
            for day in days:
                if closes > opens:
                    hours.append(OpeningHours(day, opens, closes))
                else:  # past midnight: the rest of this day, then the start of the next
                    hours.append(OpeningHours(day, opens, _END_OF_DAY))
                    if closes != _time_of_day(0, 0):
                        hours.append(OpeningHours((day + 1) % 7, _time_of_day(0, 0), closes))
    holidays: list[Holiday] = []
    raw_holidays = value.get("holidays", [])
    if not isinstance(raw_holidays, list):
        problems.append(
            doc.problem(
                (*path, "holidays"),
                "holidays is a list of dates",
                hint="- 2026-12-25  or  - {date: 2026-12-25, name: Christmas}",
            )
        )
        raw_holidays = []
    for i, item in enumerate(raw_holidays):
        hpath = (*path, "holidays", i)
        label = ""
        if isinstance(item, Mapping):
            label = str(item.get("name", ""))
            extra = set(item) - {"date", "name"}
            if extra:
                problems.append(
                    doc.problem(
                        (*hpath, sorted(extra)[0]),
                        f"unknown key {sorted(extra)[0]!r}",
                        key=True,
                        hint="a holiday has date: and name:",
                    )
                )
            item = item.get("date")
        try:
            when = datetime.date.fromisoformat(str(item))
        except ValueError:
            problems.append(doc.problem(hpath, f"{item!r} is not a date", hint="YYYY-MM-DD"))
            continue
        holidays.append(Holiday(when, label))
    return BusinessCalendar(name, tz, tuple(hours), tuple(holidays)), problems


def parse_calendars(value: Any, doc: Doc, path: Path) -> tuple[dict[str, BusinessCalendar], list[Problem]]:
    """Check a ``calendars:`` mapping of name -> calendar."""
    if not isinstance(value, Mapping):
        return {}, [doc.problem(path, "calendars is a mapping of calendar names to calendars")]
    out: dict[str, BusinessCalendar] = {}
    problems: list[Problem] = []
    for name, item in value.items():
        cal, found = parse_calendar(str(name), item, doc, (*path, name))
        problems.extend(found)
        if cal is not None:
            out[str(name)] = cal
    return out, problems


def is_open(calendar: BusinessCalendar, now: float) -> bool:
    """True when ``now`` (epoch seconds) falls in the calendar's hours and not on a holiday."""
    try:
        tz: datetime.tzinfo = zoneinfo.ZoneInfo(calendar.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        tz = datetime.UTC
    local = datetime.datetime.fromtimestamp(now, tz)
    if any(h.date == local.date() for h in calendar.holidays):
        return False
    t = local.time().replace(tzinfo=None)
    for span in calendar.hours:
        if span.weekday == local.weekday() and span.opens <= t and (t < span.closes or span.closes == _END_OF_DAY):
            return True
    return False
