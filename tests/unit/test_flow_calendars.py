"""Business-hours calendars: weekly hours in a timezone, split days, past-midnight ranges, holidays."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest

from cc.errors import FlowError
from cc.ivr_dsl import is_open, load_calendars
from cc.ivr_dsl.calendars import parse_calendar
from cc.ivr_dsl.loader import read_yaml


def _cal(text: str):  # type: ignore[no-untyped-def]
    doc, problems = read_yaml(text)
    assert problems == []
    cal, found = parse_calendar("c", doc.value, doc, ())
    assert found == [], [str(p) for p in found]
    return cal


def _at(text: str, tz: str) -> float:
    return datetime.datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz)).timestamp()


OFFICE = _cal("""
timezone: Europe/Paris
hours:
  mon-fri: ["08:30-12:00", "13:00-18:00"]
  sat: "09:00-12:30"
  sun: closed
holidays: [2026-12-25, {date: 2027-01-01, name: New Year}]
""")


@pytest.mark.parametrize(
    ("when", "open_"),
    [
        ("2026-11-24T08:29:59", False),  # Tuesday before opening
        ("2026-11-24T08:30:00", True),
        ("2026-11-24T12:30:00", False),  # lunch
        ("2026-11-24T17:59:59", True),
        ("2026-11-24T18:00:00", False),  # the end is exclusive
        ("2026-11-28T10:00:00", True),  # Saturday
        ("2026-11-28T12:31:00", False),
        ("2026-11-29T10:00:00", False),  # Sunday closed
        ("2026-12-25T10:00:00", False),  # holiday on a Friday
        ("2027-01-01T10:00:00", False),
        ("2026-07-01T09:00:00", True),  # summer time (UTC+2) is local time too
    ],
)
def test_office_hours_in_paris(when: str, open_: bool) -> None:
    assert is_open(OFFICE, _at(when, "Europe/Paris")) is open_


def test_same_instant_differs_by_timezone() -> None:
    ny = _cal("timezone: America/New_York\nhours: {mon-fri: '09:00-17:00'}\n")
    instant = _at("2026-11-24T16:00:00", "Europe/Paris")  # 10:00 in New York
    assert is_open(ny, instant) and is_open(OFFICE, instant)
    late = _at("2026-11-24T20:00:00", "Europe/Paris")  # 14:00 in New York
    assert is_open(ny, late) and not is_open(OFFICE, late)


def test_past_midnight_and_24h() -> None:
    night = _cal("timezone: UTC\nhours: {fri: '22:00-02:00', sun: '00:00-24:00'}\n")
    assert is_open(night, _at("2026-11-27T23:30:00", "UTC"))  # Friday night
    assert is_open(night, _at("2026-11-28T01:59:00", "UTC"))  # early Saturday
    assert not is_open(night, _at("2026-11-28T02:00:00", "UTC"))
    assert is_open(night, _at("2026-11-29T23:59:59", "UTC"))  # all of Sunday
    assert not is_open(night, _at("2026-11-27T21:59:00", "UTC"))


def test_calendar_problems_name_line_and_key() -> None:
    doc, _ = read_yaml(
        "timezone: Nowhere/City\nhours: {moonday: '09:00-10:00', tue: '25:00-26:00'}\n"
        "holidays: [2026-02-30]\nextra: 1\n",
        "cal.yaml",
    )
    _, found = parse_calendar("c", doc.value, doc, ())
    assert [str(p) for p in found] == [
        "cal.yaml:4:1: extra: unknown key 'extra' in a calendar (hint: known: timezone, hours, holidays, "
        "description)",
        "cal.yaml:1:11: timezone: unknown timezone 'Nowhere/City' (hint: an IANA name such as Europe/Paris "
        "or America/New_York)",
        "cal.yaml:2:9: hours.moonday: 'moonday' is not a day or day range (hint: mon, tue ... sun, mon-fri, "
        "sat,sun or daily)",
        "cal.yaml:2:38: hours.tue: '25:00-26:00' is not a time range (hint: \"09:00-18:00\" (24:00 ends at "
        "midnight), or closed)",
        "cal.yaml:3:12: holidays[0]: '2026-02-30' is not a date (hint: YYYY-MM-DD)",
    ]


def test_calendars_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    good = tmp_path / "cal.yaml"
    good.write_text("calendars:\n  a: {timezone: UTC, hours: {daily: '00:00-24:00'}}\n")
    cals = load_calendars(str(good))
    assert is_open(cals["a"], 0.0)
    bad = tmp_path / "bad.yaml"
    bad.write_text("calendar:\n  a: {}\n")
    with pytest.raises(FlowError, match="a calendars file has one top-level key"):
        load_calendars(str(bad))
