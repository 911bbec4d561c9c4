"""Forecast calls per interval from cc's own history: the same weekday and time of day, averaged.

For each weekday and local time slot of ``interval_s`` the forecast is the number of ENTER events of
the queue in that slot, summed over the past ``weeks`` weeks and divided by ``weeks`` (a slot with no
calls in some week counts as 0 for it). The AHT is the queue's mean handle time over the same weeks:
(talk_s + hold_s of COMPLETE_CALLER / COMPLETE_AGENT events) / their number, or ``default_aht_s`` when
there were none; wrap-up is not included (it is not in the queue log).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from cc.errors import InvalidValue
from cc.model import QueueEvent, QueueEventType
from cc.wfm.staffing import ForecastInterval

__all__ = ["DAYS", "HistoryForecast", "forecast_from_history"]

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class HistoryForecast:
    """The forecast intervals (labelled ``Mon 09:00``), the AHT used and how many calls it rests on."""

    intervals: list[ForecastInterval]
    aht_s: float
    calls_seen: int
    weeks: int


def forecast_from_history(events: Iterable[QueueEvent], *, queue: str, tz: datetime.tzinfo, weeks: int,
                          interval_s: int = 1800, default_aht_s: float = 180.0,
                          aht_s: float | None = None) -> HistoryForecast:
    """Average ENTERs per (weekday, local slot) over ``weeks`` weeks of ``events`` (already windowed)."""
    if weeks < 1:
        raise InvalidValue("weeks", weeks, "must be >= 1")
    if interval_s < 300 or 86400 % interval_s:
        raise InvalidValue("interval", interval_s, "must divide a day and be at least 5 minutes")
    counts: dict[tuple[int, int], int] = {}
    talk = 0.0
    handled = 0
    seen = 0
    for ev in events:
        if ev.queue != queue:
            continue
        if ev.type is QueueEventType.ENTER:
            local = datetime.datetime.fromtimestamp(ev.at, tz)
            slot = (local.hour * 3600 + local.minute * 60 + local.second) // interval_s
            key = (local.weekday(), slot)
            counts[key] = counts.get(key, 0) + 1
            seen += 1
        elif ev.type in (QueueEventType.COMPLETE_CALLER, QueueEventType.COMPLETE_AGENT):
            talk += (ev.talk_s or 0.0) + (ev.hold_s or 0.0)
            handled += 1
    aht = aht_s if aht_s is not None else (talk / handled if handled else default_aht_s)
    out: list[ForecastInterval] = []
    for day in range(7):
        for slot in range(86400 // interval_s):
            n = counts.get((day, slot), 0)
            if not n:
                continue
            secs = slot * interval_s
            label = f"{DAYS[day]} {secs // 3600:02d}:{secs % 3600 // 60:02d}"
            out.append(ForecastInterval(label, n / weeks, float(interval_s), aht))
    return HistoryForecast(out, aht, seen, weeks)
