"""Run reports over the store: stream the history tables through the pure metrics, page by page.

The only part of cc.reports that knows about repositories (it never imports SQLAlchemy itself).
Calls entering the window are followed for ``tail_s`` past its end so their outcomes count; agent
events are read from ``lookback_s`` before the window so each agent's status at its start is known.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

from cc.errors import InvalidValue
from cc.model import AgentStateEvent, QueueCall, QueueEvent
from cc.reports.intervals import Bucketer, zone
from cc.reports.metrics import (
    AgentReport,
    CallsReport,
    FcrReport,
    QueueReport,
    SurveyReport,
    merge_by_time,
)
from cc.reports.summary import WRAP_MATCH_S, QueueCallSummarizer
from cc.reports.table import Report
from cc.store.repos import SLOT_S, QueueSlot

__all__ = [
    "ENGINES", "REPORTS", "ReportOptions", "agent_report_in_db", "queue_report_in_db", "run_reports", "scan_chunked",
    "summarize_history",
]

REPORTS = ("queues", "agents", "calls", "surveys", "fcr")
#: Where the queue and agent reports are computed: ``auto`` (in the database on PostgreSQL when the interval
#: allows it), ``sql`` (in the database whenever the interval allows it, also on SQLite: the queue report sums
#: the queue_calls rows, computing slots they do not cover yet from the queue log), ``events`` (like ``sql``
#: but the queue report from the queue log alone) or ``python`` (streamed through the metrics).
ENGINES = ("auto", "sql", "events", "python")
PAGE = 5_000
T = TypeVar("T")


class ReportOptions:
    """What to report on: window, interval, time zone, filters and the definitions' parameters."""

    def __init__(self, start: float, end: float, *, interval: str = "hour", tz: str = "UTC",
                 queue: str | None = None, agent: str | None = None, short_abandon_s: float = 0.0,
                 tail_s: float = 3600.0, lookback_s: float = 86400.0, now: float | None = None,
                 resolved: tuple[str, ...] = ("resolved",), repeat_s: float = 7 * 86400.0,
                 engine: str = "auto") -> None:
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
        if engine not in ENGINES:
            raise InvalidValue("engine", engine, f"must be one of {', '.join(ENGINES)}")
        self.engine = engine

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
    it: Iterator[Any] = repo.scan(start, end, page=PAGE, **equal)
    return it


def _slots_align(opts: ReportOptions, bucketer: Bucketer) -> bool:
    """Whether every report interval of the window is a union of whole store slots (SLOT_S seconds, UTC)."""
    if opts.start < 0 or not opts.end > opts.start:
        return False
    at = opts.start - opts.start % SLOT_S
    while at < opts.end:
        lo, hi, _ = bucketer.span(at)
        if lo > at or hi < at + SLOT_S:
            return False
        if hi == float("inf"):  # interval "all"
            return True
        if hi % SLOT_S:  # an interval ending inside a slot
            return False
        at = hi
    return True


def queue_report_in_db(repos: Any, opts: ReportOptions) -> QueueReport | None:
    """The queue report with its figures computed in the database (see QueueEventRepo.queue_report_slots).

    None when the interval cannot be built from the store's 15-minute UTC slots (a zone whose offset is
    not a multiple of 15 minutes, a window before 1970): the caller streams instead.
    """
    bucketer = opts.bucketer()
    if not _slots_align(opts, bucketer):
        return None
    thresholds = {q.name: q.sl_threshold_s for q in repos.queues.list()}
    qr = QueueReport(bucketer, opts.start, opts.end, sl_threshold_s=thresholds,
                     short_abandon_s=opts.short_abandon_s, queue=opts.queue)
    if opts.engine == "events":
        slots = repos.queue_events.queue_report_slots(opts.start, opts.end, tail_s=opts.tail_s, queue=opts.queue,
                                                      short_abandon_s=opts.short_abandon_s,
                                                      default_sl_threshold_s=qr.default_threshold,
                                                      wrap_match_s=WRAP_MATCH_S)
        for sl in slots:
            qr.add_totals(bucketer.start(sl.slot), sl.queue, sl)
        return qr
    for sl in _summed_slots(repos, opts, qr.default_threshold):
        qr.add_totals(bucketer.start(sl.slot), sl.queue, sl)
    for q, n, count, total in repos.queue_calls.survey_slots(opts.start, opts.end, queue=opts.queue):
        qr.add_totals(bucketer.start(n * SLOT_S), q, QueueSlot(q, n * SLOT_S, survey_count=count, survey_sum=total))
    return qr


def _summed_slots(repos: Any, opts: ReportOptions, default_threshold: float) -> Iterator[Any]:
    """The queue_calls rows summed per (queue, slot); slots they do not cover come from the queue log."""
    missing = repos.queue_calls.uncovered_slots(opts.start, opts.end, queue=opts.queue)
    skip = frozenset(missing)
    yield from repos.queue_calls.slot_totals(opts.start, opts.end, queue=opts.queue,
                                             short_abandon_s=opts.short_abandon_s,
                                             default_sl_threshold_s=default_threshold, skip=skip)
    numbers = sorted({n for _, n in missing})
    runs: list[list[int]] = []
    for n in numbers:   # consecutive slot numbers -> one queue-log query each
        if runs and runs[-1][1] == n - 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    for first, last in runs:
        lo, hi = max(opts.start, first * SLOT_S), min(opts.end, (last + 1) * SLOT_S)
        for sl in repos.queue_events.queue_report_slots(lo, hi, tail_s=opts.end + opts.tail_s - hi, queue=opts.queue,
                                                        short_abandon_s=opts.short_abandon_s,
                                                        default_sl_threshold_s=default_threshold,
                                                        wrap_match_s=WRAP_MATCH_S, surveys=False):
            if (sl.queue, int(sl.slot // SLOT_S)) in skip:
                yield sl


def summarize_history(repos: Any, start: float, end: float, *, tail_s: float = 86400.0,
                      progress: Callable[[int], None] | None = None) -> Iterator[QueueCall]:
    """The QueueCall of every stay that entered a queue in ``[start, end)``, from the stored queue and agent logs.

    What the controller writes live, rebuilt (``ccctl report summarize``): for history logged before the
    queue_calls table existed, or to repair it. Each stay is followed up to ``tail_s`` past ``end``;
    reading stops as soon as every stay of the window is settled.
    """
    if not end > start:
        raise InvalidValue("to", end, "must be after --from")
    summarizer = QueueCallSummarizer(live=False, reorder=True, accept=lambda ev: start <= ev.at < end)
    stream: Iterator[QueueEvent | AgentStateEvent] = heapq.merge(
        scan_chunked(repos.queue_events, start, end + tail_s),
        scan_chunked(repos.agent_state_events, start, end + tail_s), key=lambda r: r.at)
    for rec in _counted(stream, progress):
        yield from summarizer.feed(rec)
        if rec.at >= end and not summarizer:
            break
    yield from summarizer.flush()


def agent_report_in_db(repos: Any, opts: ReportOptions) -> AgentReport | None:
    """The agent report with its counts and span time reduced in the database (on PostgreSQL every span is
    cut at the report intervals there; see AgentStateEventRepo.agent_report_parts), read as streams; None
    when the interval cannot be built from the store's 15-minute UTC slots (the caller streams instead)."""
    bucketer = opts.bucketer()
    if not _slots_align(opts, bucketer):
        return None
    ar = AgentReport(bucketer, opts.start, opts.end, agent=opts.agent, now=opts.now)
    if not ar.end > ar.start:
        return None
    # the report intervals over the window, walked as AgentReport cuts a span: their starts and inner bounds
    starts: list[float] = []
    cuts: list[float] = []
    at = ar.start
    while True:
        lo, hi, _ = bucketer.span(at)
        starts.append(lo)
        if hi >= ar.end:
            break
        cuts.append(hi)
        at = hi
    counts, times, rest = repos.agent_state_events.agent_report_parts(
        ar.start, ar.end, cuts=cuts, scan_end=opts.end, lookback_s=opts.lookback_s, agent=opts.agent)
    ar.add_parts(((a, starts[k], typ, n, hold) for a, k, typ, n, hold in counts),
                 ((a, starts[k], ev, d) for a, k, ev, d in times), rest)
    return ar


def _use_db(repos: Any, opts: ReportOptions) -> bool:
    if opts.engine == "python":
        return False
    return opts.engine != "auto" or getattr(repos.queue_events.db, "dialect", "") == "postgresql"


def run_reports(repos: Any, names: Sequence[str], opts: ReportOptions, *,
                progress: Callable[[int], None] | None = None) -> list[Report]:
    """Compute the named reports (queues, agents, calls, surveys, fcr) from ``repos`` (a cc.store.Repos).

    The calls report streams: its rows are produced while the caller consumes them.
    """
    out: list[Report] = []
    for name in names:
        if name not in REPORTS:
            raise InvalidValue("report", name, f"must be one of {', '.join(REPORTS)}")
        if name == "queues" and _use_db(repos, opts) and (in_db := queue_report_in_db(repos, opts)) is not None:
            out.append(in_db.report(opts.tz_name))
        elif name == "queues":
            thresholds = {q.name: q.sl_threshold_s for q in repos.queues.list()}
            qr = QueueReport(opts.bucketer(), opts.start, opts.end, sl_threshold_s=thresholds,
                             short_abandon_s=opts.short_abandon_s, queue=opts.queue)
            stream = merge_by_time(  # every queue's lines: a call of another queue may take an agent's wrap-up
                scan_chunked(repos.queue_events, opts.start, opts.end + opts.tail_s),
                scan_chunked(repos.agent_state_events, opts.start, opts.end + opts.tail_s),
                scan_chunked(repos.surveys, opts.start, opts.end, **_filters(queue=opts.queue)),
            )
            qr.feed_all(_counted(stream, progress))
            out.append(qr.report(opts.tz_name))
        elif name == "agents" and _use_db(repos, opts) and (in_db_a := agent_report_in_db(repos, opts)) is not None:
            out.append(in_db_a.report(opts.tz_name))
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
