"""Run reports over the store: stream the history tables through the pure metrics, page by page.

The only part of cc.reports that knows about repositories (it never imports SQLAlchemy itself).
Calls entering the window are followed for ``tail_s`` past its end so their outcomes count; agent
events are read from ``lookback_s`` before the window so each agent's status at its start is known.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

from cc.errors import InvalidValue
from cc.reports.intervals import Bucketer, zone
from cc.reports.metrics import AgentReport, CallsReport, FcrReport, QueueReport, SurveyReport, merge_by_time
from cc.reports.table import Report

__all__ = ["REPORTS", "ReportOptions", "run_reports", "scan_chunked"]

REPORTS = ("queues", "agents", "calls", "surveys", "fcr")
PAGE = 5_000
T = TypeVar("T")


class ReportOptions:
    """What to report on: window, interval, time zone, filters and the definitions' parameters."""

    def __init__(self, start: float, end: float, *, interval: str = "hour", tz: str = "UTC",
                 queue: str | None = None, agent: str | None = None, short_abandon_s: float = 0.0,
                 tail_s: float = 3600.0, lookback_s: float = 86400.0, now: float | None = None,
                 resolved: tuple[str, ...] = ("resolved",), repeat_s: float = 7 * 86400.0) -> None:
        if not end > start:
            raise InvalidValue("to", end, "must be after --from")
        if short_abandon_s < 0:
            raise InvalidValue("short_abandon_s", short_abandon_s, "must be >= 0")
        self.start, self.end = start, end
        self.interval, self.tz_name = interval, tz
        self.tz = zone(tz)
        self.queue, self.agent = queue, agent
        self.short_abandon_s = short_abandon_s
        self.tail_s, self.lookback_s = tail_s, lookback_s
        self.now = now
        self.resolved, self.repeat_s = resolved, repeat_s

    def bucketer(self) -> Bucketer:
        """A fresh bucketer for the interval and zone."""
        return Bucketer(self.interval, self.tz)

    def meta(self) -> dict[str, Any]:
        """The parameters, for the definitions sheet and JSON output."""
        return {"from": self.start, "to": self.end, "interval": self.interval, "tz": self.tz_name,
                "queue": self.queue, "agent": self.agent, "short_abandon_s": self.short_abandon_s}


def _counted(it: Iterable[T], progress: Callable[[int], None] | None) -> Iterator[T]:
    if progress is None:
        yield from it
        return
    n = 0
    for x in it:
        n += 1
        if n % 10_000 == 0:
            progress(10_000)
        yield x
    progress(n % 10_000)


def _filters(**kw: Any) -> dict[str, Any]:
    return {k: v for k, v in kw.items() if v is not None}


def scan_chunked(repo: Any, start: float, end: float, **equal: Any) -> Iterator[Any]:
    """``repo.scan`` over ``[start, end)`` in (time, id) order, in pages of PAGE rows.

    (It used to slice the window into 6-hour chunks to dodge a quadratic re-read in the store's keyset
    paging; the store now starts each page at the last row returned, so one scan is enough. Kept for callers.)
    """
    return repo.scan(start, end, page=PAGE, **equal)


def run_reports(repos: Any, names: Sequence[str], opts: ReportOptions, *,
                progress: Callable[[int], None] | None = None) -> list[Report]:
    """Compute the named reports (queues, agents, calls, surveys, fcr) from ``repos`` (a cc.store.Repos).

    The calls report streams: its rows are produced while the caller consumes them.
    """
    out: list[Report] = []
    for name in names:
        if name not in REPORTS:
            raise InvalidValue("report", name, f"must be one of {', '.join(REPORTS)}")
        if name == "queues":
            thresholds = {q.name: q.sl_threshold_s for q in repos.queues.list()}
            qr = QueueReport(opts.bucketer(), opts.start, opts.end, sl_threshold_s=thresholds,
                             short_abandon_s=opts.short_abandon_s, queue=opts.queue)
            stream = merge_by_time(
                scan_chunked(repos.queue_events, opts.start, opts.end + opts.tail_s, **_filters(queue=opts.queue)),
                scan_chunked(repos.agent_state_events, opts.start, opts.end + opts.tail_s),
                scan_chunked(repos.surveys, opts.start, opts.end, **_filters(queue=opts.queue)),
            )
            qr.feed_all(_counted(stream, progress))
            out.append(qr.report(opts.tz_name))
        elif name == "agents":
            ar = AgentReport(opts.bucketer(), opts.start, opts.end, agent=opts.agent, now=opts.now)
            stream = merge_by_time(
                scan_chunked(repos.queue_events, opts.start, opts.end, **_filters(agent_id=opts.agent)),
                scan_chunked(repos.agent_state_events, opts.start - opts.lookback_s, opts.end,
                      **_filters(agent_id=opts.agent)),
            )
            ar.feed_all(_counted(stream, progress))
            out.append(ar.report(opts.tz_name))
        elif name == "calls":
            cr = CallsReport(opts.start, opts.end, short_abandon_s=opts.short_abandon_s, queue=opts.queue,
                             agent=opts.agent)
            events = scan_chunked(repos.queue_events, opts.start, opts.end + opts.tail_s, **_filters(queue=opts.queue))
            out.append(cr.report(_counted(events, progress), opts.tz_name))
        elif name == "fcr":
            fr = FcrReport(opts.bucketer(), opts.start, opts.end, resolved=opts.resolved, repeat_s=opts.repeat_s,
                           agent=opts.agent)
            fr.feed_all(_counted(scan_chunked(repos.interactions, opts.start, opts.end + opts.repeat_s), progress))
            out.append(fr.report(opts.tz_name))
        else:
            sr = SurveyReport(opts.bucketer(), opts.start, opts.end, queue=opts.queue, agent=opts.agent)
            sr.feed_all(_counted(scan_chunked(repos.surveys, opts.start, opts.end), progress))
            out.append(sr.report(opts.tz_name))
        out[-1].meta.update(opts.meta())
    return out
