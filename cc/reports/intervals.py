"""Report intervals in a chosen time zone: 15 min, 30 min, hour, day, week, month, DST-correct.

An instant belongs to the interval that starts at the latest local boundary not after it. Sub-day
intervals are cut on the local wall clock at the instant's own UTC offset, so the repeated hour of a
fall-back night gives two separate hour intervals (labelled with their offsets) and a spring-forward
day has no 02:00 interval. Days, weeks (Monday) and months start at local midnight, so a day is 23,
24 or 25 hours long as the calendar says.
"""

from __future__ import annotations

import datetime
import zoneinfo
from dataclasses import dataclass

from cc.errors import InvalidValue

__all__ = ["INTERVALS", "Bucketer", "parse_duration", "parse_interval", "parse_time", "zone"]

#: Interval names and their fixed length in seconds (None: calendar-based).
INTERVALS: dict[str, int | None] = {
    "15m": 900,
    "30m": 1800,
    "hour": 3600,
    "day": None,
    "week": None,
    "month": None,
    "all": None,
}
_ALIASES = {"15min": "15m", "30min": "30m", "1h": "hour", "60m": "hour", "1d": "day", "d": "day",
            "h": "hour", "w": "week", "1w": "week", "m": "month", "none": "all"}


def parse_interval(text: str) -> str:
    """The canonical interval name for ``text`` (``15m``, ``hour``, ``day`` ...); InvalidValue otherwise."""
    name = _ALIASES.get(text.strip().lower(), text.strip().lower())
    if name not in INTERVALS:
        raise InvalidValue("interval", text, f"must be one of {', '.join(INTERVALS)}")
    return name


def zone(name: str) -> zoneinfo.ZoneInfo:
    """The IANA time zone ``name``; InvalidValue if unknown."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidValue("tz", name, "not an IANA time zone (e.g. Europe/Berlin, UTC)") from exc


def parse_time(text: str, tz: datetime.tzinfo, field: str = "time") -> float:
    """``YYYY-MM-DD[THH:MM[:SS]][offset]`` (local to ``tz`` unless an offset is given) -> epoch seconds."""
    try:
        value = datetime.datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise InvalidValue(field, text, "not a date/time (use YYYY-MM-DD or YYYY-MM-DDTHH:MM)") from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value.timestamp()


@dataclass
class _Span:
    start: float
    end: float
    label: str


class Bucketer:
    """Maps epoch seconds to the start of their interval (and its label) in one time zone.

    Lookups of instants in the same interval as the previous one are O(1) (reports stream in time
    order); otherwise the boundary is computed with zoneinfo.
    """

    def __init__(self, interval: str, tz: datetime.tzinfo, *, origin: float = 0.0) -> None:
        self.interval = parse_interval(interval)
        self.tz = tz
        self.origin = origin
        self._last: _Span | None = None

    def span(self, at: float) -> tuple[float, float, str]:
        """(start, end, label) of the interval holding ``at``."""
        last = self._last
        if last is not None and last.start <= at < last.end:
            return last.start, last.end, last.label
        s = self._compute(at)
        self._last = s
        return s.start, s.end, s.label

    def start(self, at: float) -> float:
        """Start of the interval holding ``at`` (epoch seconds)."""
        return self.span(at)[0]

    def label(self, start: float) -> str:
        """The local ISO label of the interval starting at ``start``."""
        return self.span(start)[2]

    def _local(self, at: float) -> datetime.datetime:
        return datetime.datetime.fromtimestamp(at, self.tz)

    def _midnight(self, day: datetime.date) -> float:
        # Local midnight; if midnight does not exist (a DST gap at 00:00) the first instant after it.
        naive = datetime.datetime.combine(day, datetime.time())
        aware = naive.replace(tzinfo=self.tz)
        back = datetime.datetime.fromtimestamp(aware.timestamp(), self.tz).replace(tzinfo=None)
        if back != naive:  # nonexistent local time: fold=0 maps it past the gap
            aware = naive.replace(tzinfo=self.tz, fold=1)
        return aware.timestamp()

    def _fmt(self, at: float, with_time: bool) -> str:
        local = self._local(at)
        if not with_time:
            return local.date().isoformat()
        return local.isoformat(timespec="minutes")

    def _compute(self, at: float) -> _Span:
        name = self.interval
        if name == "all":
            return _Span(float("-inf"), float("inf"), "all")
        length = INTERVALS[name]
        if length is not None:
            local = self._local(at)
            offset = local.utcoffset() or datetime.timedelta()
            wall = at + offset.total_seconds()
            start = at - (wall % length)
            end = start + length
            # The offset may change inside the interval (a DST switch): cut it there.
            end_offset = (self._local(end - 1e-6).utcoffset() or datetime.timedelta()).total_seconds()
            if end_offset != offset.total_seconds():
                lo, hi = start, end
                while hi - lo > 1.0:
                    mid = (lo + hi) / 2
                    if (self._local(mid).utcoffset() or datetime.timedelta()).total_seconds() == \
                            offset.total_seconds():
                        lo = mid
                    else:
                        hi = mid
                end = float(round(hi))
                if at >= end:  # at is past the switch: recompute from the new offset
                    return self._compute_after(at, end, length)
            return _Span(start, end, self._fmt(start, True))
        day = self._local(at).date()
        if name == "day":
            first, nxt = day, day + datetime.timedelta(days=1)
        elif name == "week":
            first = day - datetime.timedelta(days=day.weekday())
            nxt = first + datetime.timedelta(days=7)
        else:
            first = day.replace(day=1)
            nxt = (first + datetime.timedelta(days=32)).replace(day=1)
        return _Span(self._midnight(first), self._midnight(nxt), first.isoformat())

    def _compute_after(self, at: float, switch: float, length: int) -> _Span:
        offset = (self._local(at).utcoffset() or datetime.timedelta()).total_seconds()
        wall = at + offset
        start = max(switch, at - (wall % length))
        return _Span(start, at - (wall % length) + length, self._fmt(start, True))


_UNITS = {"ms": 0.001, "s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: str, field: str = "duration") -> float:
    """``240``, ``240s``, ``4m``, ``1.5h``, ``500ms`` -> seconds (>= 0); InvalidValue otherwise."""
    s = str(text).strip().lower()
    num, unit = s, "s"
    for u in sorted(_UNITS, key=len, reverse=True):
        if s.endswith(u):
            num, unit = s[: -len(u)], u
            break
    try:
        value = float(num) * _UNITS[unit]
    except ValueError as exc:
        raise InvalidValue(field, text, "not a duration (e.g. 240s, 4m, 1h)") from exc
    if not value >= 0 or value == float("inf"):
        raise InvalidValue(field, text, "must be a finite duration >= 0")
    return value
