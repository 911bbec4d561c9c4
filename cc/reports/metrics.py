"""Pure, streaming report metrics over history records (one definition each; see docs/reports.md).

Each report is an accumulator fed the records of ``cc.model`` in time order (``feed``) and asked for
its rows at the end (``rows``). Memory is bounded by the number of intervals x queues/agents and the
calls still open, never by the number of records. ``merge_by_time`` interleaves several time-ordered
streams so one pass sees queue events, agent state events and survey answers in order.
"""

from __future__ import annotations

import heapq
import math
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from cc.model import (
    AgentState,
    AgentStateEvent,
    AgentStatus,
    Interaction,
    InteractionKind,
    QueueCall,
    QueueEvent,
    QueueEventType,
    SurveyResult,
)
from cc.reports.intervals import Bucketer
from cc.reports.summary import QueueCallSummarizer, causal_rank
from cc.reports.table import Column, Report

__all__ = [
    "AGENT_COLUMNS",
    "CALL_COLUMNS",
    "FCR_COLUMNS",
    "QUEUE_COLUMNS",
    "SURVEY_COLUMNS",
    "AgentReport",
    "CallsReport",
    "FcrReport",
    "QueueReport",
    "SurveyReport",
    "merge_by_time",
]

Q = QueueEventType
_COMPLETE = (Q.COMPLETE_CALLER, Q.COMPLETE_AGENT)
_EXITS = {Q.EXIT_TIMEOUT: "timeout", Q.EXIT_NO_AGENT: "no_agent", Q.EXIT_FULL: "full", Q.EXIT_KEY: "exit_key",
          Q.EXIT_OTHER: "other"}
Record = QueueEvent | AgentStateEvent | SurveyResult
_EXIT_NAMES = frozenset(_EXITS.values())


def merge_by_time(*streams: Iterable[Record]) -> Iterator[Record]:
    """Interleave time-ordered streams into one time-ordered stream (lazy)."""
    return heapq.merge(*streams, key=lambda r: r.at)


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None



class _Instant:
    """Queue log events of one instant, released in causal order when time moves on.

    The store orders events by (time, id) and ids are random, so events a producer logged at the same
    instant (ENTER and EXIT_FULL, CONNECT and COMPLETE of a zero-length call) may come in any order.
    """

    def __init__(self) -> None:
        self.at: float | None = None
        self.events: list[QueueEvent] = []

    def add(self, ev: QueueEvent) -> list[QueueEvent]:
        """Keep ``ev``; returns the events of the previous instant (causal order) if time moved on."""
        out = self.flush() if ev.at != self.at else []
        self.at = ev.at
        self.events.append(ev)
        return out

    def due(self, at: float) -> list[QueueEvent]:
        """The held events if ``at`` is a later instant (for records of other kinds)."""
        return self.flush() if self.events and at != self.at else []

    def flush(self) -> list[QueueEvent]:
        """Every held event, in causal order."""
        evs = self.events
        if len(evs) > 1:
            evs.sort(key=causal_rank)
        self.events = []
        return evs

# ------------------------------------------------------------------------------------------- queues

QUEUE_COLUMNS = [
    Column("interval", "Interval", "text", "local start of the interval the call entered the queue in"),
    Column("start", "Start", "datetime", "the same, as a date/time"),
    Column("queue", "Queue", "text", "queue name"),
    Column("offered", "Offered", "int", "ENTER events, minus short abandons"),
    Column("answered", "Answered", "int", "CONNECT events (not callbacks)"),
    Column("answered_in_sl", "Answered in SL", "int", "answered with wait_s <= the queue's sl_threshold_s"),
    Column("service_level", "Service level", "ratio", "answered in SL / offered"),
    Column("abandoned", "Abandoned", "int", "ABANDON events with wait_s >= the short-abandon limit"),
    Column("short_abandoned", "Short abandons", "int", "ABANDON events with wait_s < the short-abandon limit"),
    Column("abandon_rate", "Abandon rate", "ratio", "abandoned / offered"),
    Column("timeouts", "Timeouts", "int", "EXIT_TIMEOUT events"),
    Column("no_agent", "No agent", "int", "EXIT_NO_AGENT events"),
    Column("full", "Full", "int", "EXIT_FULL events"),
    Column("exit_key", "Exit key", "int", "EXIT_KEY events"),
    Column("other_exits", "Other exits", "int",
           "EXIT_OTHER events: ended by someone other than the caller (a supervisor's hang-up, a failed "
           "transfer, a call cut at shutdown); not abandons"),
    Column("callbacks_requested", "Callbacks requested", "int", "CALLBACK_REQUESTED events"),
    Column("callbacks_completed", "Callbacks completed", "int", "CALLBACK_COMPLETED events"),
    Column("callbacks_failed", "Callbacks failed", "int", "CALLBACK_FAILED events"),
    Column("transfers", "Transfers", "int", "TRANSFER events"),
    Column("asa_s", "ASA", "seconds", "mean wait_s of answered calls"),
    Column("avg_wait_s", "Avg wait", "seconds",
           "mean wait_s of answered, abandoned (not short), exited and callback-requested calls"),
    Column("max_wait_s", "Max wait", "seconds", "largest wait_s among the same calls"),
    Column("handled", "Handled", "int", "COMPLETE_CALLER + COMPLETE_AGENT events (callbacks included)"),
    Column("talk_s", "Talk", "seconds", "sum of talk_s of handled calls (bridged time minus hold)"),
    Column("hold_s", "Hold", "seconds", "sum of hold_s of handled calls (the agent's leg on hold)"),
    Column("wrap_s", "Wrap-up", "seconds", "agent time in state wrap_up right after a handled call"),
    Column("aht_s", "AHT", "seconds", "(talk + hold + wrap-up) / handled"),
    Column("survey_count", "Survey answers", "int", "survey answers for the queue dated in the interval"),
    Column("survey_avg", "Survey avg", "float", "mean score of those answers"),
]


@dataclass
class _QueueAcc:
    offered: int = 0
    answered: int = 0
    answered_in_sl: int = 0
    abandoned: int = 0
    short_abandoned: int = 0
    exits: dict[str, int] = field(default_factory=dict)
    callbacks_requested: int = 0
    callbacks_completed: int = 0
    callbacks_failed: int = 0
    transfers: int = 0
    answered_wait: float = 0.0
    waits: int = 0
    wait_sum: float = 0.0
    max_wait: float | None = None
    handled: int = 0
    talk: float = 0.0
    hold: float = 0.0
    wrap: float = 0.0
    survey_count: int = 0
    survey_sum: float = 0.0

    def wait(self, w: float) -> None:
        self.waits += 1
        self.wait_sum += w
        self.max_wait = w if self.max_wait is None else max(self.max_wait, w)


class QueueReport:
    """Per queue and interval: offered, answered, SL, abandons, exits, callbacks, ASA, waits, AHT, surveys.

    A call belongs to the interval (and queue) of its ENTER event; only calls entering within
    ``[start, end)`` count, and their later events count with them wherever they fall (feed events
    up to ``end`` plus a tail so that calls still waiting at ``end`` are complete). Each call's stay is
    summed up by :class:`~cc.reports.summary.QueueCallSummarizer` (the same rules the controller uses
    for the QueueCall rows the in-database report sums), then added here with :meth:`add_call`.
    """

    def __init__(self, bucketer: Bucketer, start: float, end: float, *,
                 sl_threshold_s: Mapping[str, float] | None = None, default_sl_threshold_s: float = 20.0,
                 short_abandon_s: float = 0.0, queue: str | None = None) -> None:
        self.bucketer = bucketer
        self.start, self.end = start, end
        self.thresholds = dict(sl_threshold_s or {})
        self.default_threshold = default_sl_threshold_s
        self.short_abandon_s = short_abandon_s
        self.queue = queue
        self.acc: dict[tuple[float, str], _QueueAcc] = {}
        self.summarizer = QueueCallSummarizer(live=False, reorder=True, accept=self._accept)
        self.records = 0

    def _accept(self, ev: QueueEvent) -> bool:
        return self.start <= ev.at < self.end and (self.queue is None or ev.queue == self.queue)

    def _get(self, key: tuple[float, str]) -> _QueueAcc:
        acc = self.acc.get(key)
        if acc is None:
            acc = self.acc[key] = _QueueAcc()
        return acc

    def feed(self, rec: Record) -> None:
        """Account one record (queue event, agent state event or survey answer)."""
        self.records += 1
        if isinstance(rec, SurveyResult):
            if rec.queue is None or not self.start <= rec.at < self.end:
                return
            if self.queue is not None and rec.queue != self.queue:
                return
            acc = self._get((self.bucketer.start(rec.at), rec.queue))
            acc.survey_count += 1
            acc.survey_sum += rec.score
            return
        for call in self.summarizer.feed(rec):
            self.add_call(call)

    def feed_all(self, records: Iterable[Record]) -> QueueReport:
        """Feed every record of a time-ordered stream; returns self."""
        for r in records:
            self.feed(r)
        return self

    def add_call(self, c: QueueCall) -> None:
        """Add one call's stay (a QueueCall, from the summarizer or the store) to its interval and queue."""
        acc = self._get((self.bucketer.start(c.entered_at), c.queue))
        acc.offered += 1
        if c.abandon_wait_s is not None:
            if c.abandon_wait_s < self.short_abandon_s:
                acc.short_abandoned += 1
                acc.offered -= 1
            else:
                acc.abandoned += 1
                acc.wait(c.abandon_wait_s)
        if c.answered:
            acc.answered += c.answered
            acc.answered_wait += c.answer_wait_s or 0.0
            if (c.answer_wait_s or 0.0) <= self.thresholds.get(c.queue, self.default_threshold):
                acc.answered_in_sl += c.answered
        if c.outcome in _EXIT_NAMES:
            acc.exits[c.outcome] = acc.exits.get(c.outcome, 0) + 1
        if c.waits:
            acc.waits += c.waits
            acc.wait_sum += c.wait_sum
            if c.max_wait_s is not None:
                acc.max_wait = c.max_wait_s if acc.max_wait is None else max(acc.max_wait, c.max_wait_s)
        acc.callbacks_requested += c.callbacks_requested
        acc.callbacks_completed += c.callbacks_completed
        acc.callbacks_failed += c.callbacks_failed
        acc.transfers += c.transfers
        acc.handled += c.handled
        acc.talk += c.talk_s
        acc.hold += c.hold_s
        acc.wrap += c.wrap_s

    def add_totals(self, start: float, queue: str, t: Any) -> None:
        """Add figures summed elsewhere (the database) to the row (interval ``start``, ``queue``).

        ``t`` has the attributes offered, answered, answered_in_sl, answered_wait, abandoned,
        short_abandoned, timeouts, no_agent, full, exit_key, other_exits, callbacks_requested/completed/failed,
        transfers, waits, wait_sum, max_wait (None: no wait), handled, talk, hold, wrap, survey_count and
        survey_sum, with the definitions of docs/reports.md (offered already net of short abandons).
        """
        acc = self._get((start, queue))
        for name in ("offered", "answered", "answered_in_sl", "answered_wait", "abandoned", "short_abandoned",
                     "callbacks_requested", "callbacks_completed", "callbacks_failed", "transfers", "waits",
                     "wait_sum", "handled", "talk", "hold", "wrap", "survey_count", "survey_sum"):
            setattr(acc, name, getattr(acc, name) + getattr(t, name))
        for name in ("timeouts", "no_agent", "full", "exit_key", "other_exits"):
            key = {"timeouts": "timeout", "other_exits": "other"}.get(name, name)
            if getattr(t, name):
                acc.exits[key] = acc.exits.get(key, 0) + getattr(t, name)
        if t.max_wait is not None:
            acc.max_wait = t.max_wait if acc.max_wait is None else max(acc.max_wait, t.max_wait)

    def rows(self) -> list[dict[str, Any]]:
        """One row per (interval, queue) with activity, ordered by interval then queue."""
        for call in self.summarizer.flush():
            self.add_call(call)
        out: list[dict[str, Any]] = []
        for (start, queue), a in sorted(self.acc.items()):
            handle = a.talk + a.hold + a.wrap
            out.append({
                "interval": self.bucketer.label(start) if math.isfinite(start) else "all",
                "start": start if math.isfinite(start) else self.start,
                "queue": queue,
                "offered": a.offered,
                "answered": a.answered,
                "answered_in_sl": a.answered_in_sl,
                "service_level": _ratio(a.answered_in_sl, a.offered),
                "abandoned": a.abandoned,
                "short_abandoned": a.short_abandoned,
                "abandon_rate": _ratio(a.abandoned, a.offered),
                "timeouts": a.exits.get("timeout", 0),
                "no_agent": a.exits.get("no_agent", 0),
                "full": a.exits.get("full", 0),
                "exit_key": a.exits.get("exit_key", 0),
                "other_exits": a.exits.get("other", 0),
                "callbacks_requested": a.callbacks_requested,
                "callbacks_completed": a.callbacks_completed,
                "callbacks_failed": a.callbacks_failed,
                "transfers": a.transfers,
                "asa_s": _ratio(a.answered_wait, a.answered),
                "avg_wait_s": _ratio(a.wait_sum, a.waits),
                "max_wait_s": a.max_wait,
                "handled": a.handled,
                "talk_s": a.talk,
                "hold_s": a.hold,
                "wrap_s": a.wrap,
                "aht_s": _ratio(handle, a.handled),
                "survey_count": a.survey_count,
                "survey_avg": _ratio(a.survey_sum, a.survey_count),
            })
        return out

    def report(self, tz: str = "UTC") -> Report:
        """The rows as a :class:`Report` named ``queues``."""
        return Report("queues", list(QUEUE_COLUMNS), self.rows(), tz)


# ------------------------------------------------------------------------------------------- agents

AGENT_COLUMNS = [
    Column("interval", "Interval", "text", "local start of the interval"),
    Column("start", "Start", "datetime", "the same, as a date/time"),
    Column("agent", "Agent", "text", "agent id"),
    Column("offers", "Offers", "int", "OFFER events to the agent"),
    Column("handled", "Handled", "int", "COMPLETE_CALLER + COMPLETE_AGENT events of the agent"),
    Column("no_answers", "No answers", "int", "RING_NO_ANSWER events of the agent"),
    Column("rejects", "Rejects", "int", "AGENT_REJECT events"),
    Column("busy", "Busy", "int", "AGENT_BUSY events"),
    Column("transfers", "Transfers", "int", "TRANSFER events by the agent"),
    Column("talk_s", "Talk", "seconds", "time in state in_call (logged in; hold included)"),
    Column("hold_s", "Hold", "seconds", "hold_s of the agent's calls completed in the interval (part of Talk)"),
    Column("wrap_s", "Wrap-up", "seconds", "time in state wrap_up (logged in)"),
    Column("ringing_s", "Reserved/ringing", "seconds", "time in state reserved or ringing (logged in)"),
    Column("idle_s", "Idle", "seconds", "time idle with status available or available_on_demand"),
    Column("break_s", "Break", "seconds", "time idle with status on_break (all reasons)"),
    Column("logged_in_s", "Logged in", "seconds", "time with any status but logged_out"),
    Column("occupancy", "Occupancy", "ratio", "(talk + wrap-up) / (talk + wrap-up + reserved/ringing + idle)"),
    Column("aht_s", "AHT", "seconds", "(talk + wrap-up) / handled (hold is within talk)"),
]


@dataclass
class _AgentAcc:
    offers: int = 0
    handled: int = 0
    no_answers: int = 0
    rejects: int = 0
    busy: int = 0
    transfers: int = 0
    talk: float = 0.0
    hold: float = 0.0
    wrap: float = 0.0
    ringing: float = 0.0
    idle: float = 0.0
    breaks: dict[str, float] = field(default_factory=dict)
    logged_in: float = 0.0


class AgentReport:
    """Per agent and interval: call counts from the queue log, time per status/state from agent events.

    Agent time is cut at interval boundaries and clipped to ``[start, end)`` (and ``now``): feed the
    agent's events from before ``start`` too (a lookback) so that its status at ``start`` is known;
    an agent with no earlier event counts as logged out until its first event.
    """

    def __init__(self, bucketer: Bucketer, start: float, end: float, *, agent: str | None = None,
                 now: float | None = None) -> None:
        self.bucketer = bucketer
        self.start, self.end = start, min(end, now) if now is not None else end
        self.agent = agent
        self.acc: dict[tuple[float, str], _AgentAcc] = {}
        self.state: dict[str, AgentStateEvent] = {}
        self.records = 0

    def _get(self, key: tuple[float, str]) -> _AgentAcc:
        acc = self.acc.get(key)
        if acc is None:
            acc = self.acc[key] = _AgentAcc()
        return acc

    def feed(self, rec: Record) -> None:
        """Account one record (queue events with an agent, agent state events; others are ignored)."""
        self.records += 1
        if isinstance(rec, AgentStateEvent):
            if self.agent is not None and rec.agent_id != self.agent:
                return
            prev = self.state.get(rec.agent_id)
            if prev is not None:
                self._span(prev, prev.at, rec.at)
            self.state[rec.agent_id] = rec
        elif isinstance(rec, QueueEvent):
            if rec.agent_id is None or not self.start <= rec.at < self.end:
                return
            if self.agent is not None and rec.agent_id != self.agent:
                return
            t = rec.type
            if t not in (Q.OFFER, Q.RING_NO_ANSWER, Q.AGENT_REJECT, Q.AGENT_BUSY, Q.TRANSFER, *_COMPLETE):
                return
            acc = self._get((self.bucketer.start(rec.at), rec.agent_id))
            if t is Q.OFFER:
                acc.offers += 1
            elif t is Q.RING_NO_ANSWER:
                acc.no_answers += 1
            elif t is Q.AGENT_REJECT:
                acc.rejects += 1
            elif t is Q.AGENT_BUSY:
                acc.busy += 1
            elif t is Q.TRANSFER:
                acc.transfers += 1
            else:
                acc.handled += 1
                acc.hold += rec.hold_s or 0.0

    def feed_all(self, records: Iterable[Record]) -> AgentReport:
        """Feed every record of a time-ordered stream; returns self."""
        for r in records:
            self.feed(r)
        return self

    def _span(self, ev: AgentStateEvent, lo: float, hi: float) -> None:
        """Add the time ``[lo, hi)`` spent as ``ev`` says, clipped to the window, cut per interval."""
        lo, hi = max(lo, self.start), min(hi, self.end)
        if ev.status is AgentStatus.LOGGED_OUT:
            return
        while lo < hi:
            b_start, b_end, _ = self.bucketer.span(lo)
            cut = min(hi, b_end)
            d = cut - lo
            self._credit(self._get((b_start, ev.agent_id)), ev, d)
            lo = cut

    @staticmethod
    def _credit(acc: _AgentAcc, ev: AgentStateEvent, d: float) -> None:
        acc.logged_in += d
        s = ev.state
        if s is AgentState.IN_CALL:
            acc.talk += d
        elif s is AgentState.WRAP_UP:
            acc.wrap += d
        elif s in (AgentState.RESERVED, AgentState.RINGING):
            acc.ringing += d
        elif ev.status is AgentStatus.ON_BREAK:
            reason = ev.reason or "-"
            acc.breaks[reason] = acc.breaks.get(reason, 0.0) + d
        else:
            acc.idle += d

    def add_parts(self, counts: Iterable[tuple[str, float, QueueEventType, int, float]],
                  inside: Iterable[tuple[str, float, AgentStateEvent, float]],
                  rest: Iterable[tuple[AgentStateEvent, float | None]]) -> None:
        """Account figures reduced elsewhere (the database; see AgentStateEventRepo.agent_report_parts).

        ``counts``: (agent, interval start, event type, n, hold_s summed) of queue events; ``inside``: (agent, interval
        start, event, seconds) of time spent as ``event`` says, already clipped and within one interval;
        ``rest``: (event, next event's time, or None when it is the agent's last) spans to cut here (none
        when the database cut them all). Each is consumed once, in that order, and may be a lazy stream.
        """
        names = {Q.OFFER: "offers", Q.RING_NO_ANSWER: "no_answers", Q.AGENT_REJECT: "rejects",
                 Q.AGENT_BUSY: "busy", Q.TRANSFER: "transfers", Q.COMPLETE_CALLER: "handled",
                 Q.COMPLETE_AGENT: "handled"}
        for agent, start, typ, n, hold in counts:
            acc = self._get((start, agent))
            setattr(acc, names[typ], getattr(acc, names[typ]) + n)
            acc.hold += hold
        for agent, start, ev, seconds in inside:
            if ev.status is not AgentStatus.LOGGED_OUT:
                self._credit(self._get((start, agent)), ev, seconds)
        for ev, nxt in rest:
            if nxt is None:
                self.state[ev.agent_id] = ev
            else:
                self._span(ev, ev.at, nxt)

    def finish(self) -> None:
        """Close every agent's last span at the end of the window (called by :meth:`rows`)."""
        for ev in self.state.values():
            self._span(ev, ev.at, self.end)
        self.state = {ev.agent_id: AgentStateEvent(ev.id, max(ev.at, self.end), ev.agent_id, ev.status,
                                                   ev.state, ev.reason) for ev in self.state.values()}

    def break_reasons(self) -> list[str]:
        """Every break reason seen, sorted (each gets its own column)."""
        return sorted({r for a in self.acc.values() for r in a.breaks})

    def rows(self) -> list[dict[str, Any]]:
        """One row per (interval, agent) with activity, ordered by interval then agent."""
        self.finish()
        reasons = self.break_reasons()
        out: list[dict[str, Any]] = []
        for (start, agent), a in sorted(self.acc.items()):
            busy = a.talk + a.wrap
            row: dict[str, Any] = {
                "interval": self.bucketer.label(start) if math.isfinite(start) else "all",
                "start": start if math.isfinite(start) else self.start,
                "agent": agent,
                "offers": a.offers,
                "handled": a.handled,
                "no_answers": a.no_answers,
                "rejects": a.rejects,
                "busy": a.busy,
                "transfers": a.transfers,
                "talk_s": a.talk,
                "hold_s": a.hold,
                "wrap_s": a.wrap,
                "ringing_s": a.ringing,
                "idle_s": a.idle,
                "break_s": sum(a.breaks.values()),
                "logged_in_s": a.logged_in,
                "occupancy": _ratio(busy, busy + a.ringing + a.idle),
                "aht_s": _ratio(busy, a.handled),
            }
            for r in reasons:
                row[f"break:{r}"] = a.breaks.get(r, 0.0)
            out.append(row)
        return out

    def report(self, tz: str = "UTC") -> Report:
        """The rows as a :class:`Report` named ``agents`` (one extra column per break reason)."""
        rows = self.rows()
        cols = list(AGENT_COLUMNS)
        for r in self.break_reasons():
            cols.append(Column(f"break:{r}", f"Break: {r}", "seconds", f"time idle on_break with reason {r!r}"))
        return Report("agents", cols, rows, tz)


# -------------------------------------------------------------------------------------------- calls

CALL_COLUMNS = [
    Column("member_uuid", "Call", "text", "the caller's call UUID"),
    Column("queue", "Queue", "text", "queue entered"),
    Column("entered", "Entered", "datetime", "time of the ENTER event"),
    Column("outcome", "Outcome", "text",
           "answered, abandoned, short_abandon, timeout, no_agent, full, exit_key, callback, open, or for a "
           "call ended by someone other than the caller (EXIT_OTHER) its cause: hangup-by-supervisor, "
           "transfer-failed, cut-at-shutdown, controller-error, socket-lost"),
    Column("agent", "Agent", "text", "agent who answered (last CONNECT)"),
    Column("offers", "Offers", "int", "OFFER events for the call"),
    Column("no_answers", "No answers", "int", "RING_NO_ANSWER, AGENT_BUSY and AGENT_REJECT events"),
    Column("wait_s", "Wait", "seconds", "wait_s of the event that ended the wait"),
    Column("talk_s", "Talk", "seconds", "talk_s of the COMPLETE event"),
    Column("transferred", "Transferred", "bool", "a TRANSFER event exists"),
    Column("callback", "Callback", "text", "completed / failed / requested when a callback was asked for"),
]

_TERMINAL = {Q.ABANDON, Q.EXIT_TIMEOUT, Q.EXIT_NO_AGENT, Q.EXIT_FULL, Q.EXIT_KEY, Q.EXIT_OTHER, Q.CALLBACK_COMPLETED,
             *_COMPLETE}


class CallsReport:
    """One row per queued call (ENTER within ``[start, end)``), emitted as soon as the call is over."""

    def __init__(self, start: float, end: float, *, short_abandon_s: float = 0.0, queue: str | None = None,
                 agent: str | None = None) -> None:
        self.start, self.end = start, end
        self.short_abandon_s = short_abandon_s
        self.queue, self.agent = queue, agent
        self.open: dict[str, dict[str, Any]] = {}

    def _row(self, ev: QueueEvent) -> dict[str, Any]:
        return {"member_uuid": ev.member_uuid, "queue": ev.queue, "entered": ev.at, "outcome": "open",
                "agent": None, "offers": 0, "no_answers": 0, "wait_s": None, "talk_s": None,
                "transferred": False, "callback": None}

    def _keep(self, row: dict[str, Any]) -> bool:
        return self.agent is None or row["agent"] == self.agent

    def stream(self, events: Iterable[QueueEvent]) -> Iterator[dict[str, Any]]:
        """Rows of finished calls in the order they finish, then the calls still open."""
        instant = _Instant()
        for ev in events:
            for e in instant.add(ev):
                done = self.feed(e)
                if done is not None and self._keep(done):
                    yield done
        for e in instant.flush():
            done = self.feed(e)
            if done is not None and self._keep(done):
                yield done
        for row in sorted(self.open.values(), key=lambda r: (r["entered"], r["member_uuid"])):
            if self._keep(row):
                yield row
        self.open = {}

    def feed(self, ev: QueueEvent) -> dict[str, Any] | None:
        """Account one queue event (in causal order); returns the call's row when it finished the call."""
        t = ev.type
        if t is Q.ENTER:
            if self.start <= ev.at < self.end and (self.queue is None or ev.queue == self.queue):
                self.open[ev.member_uuid] = self._row(ev)
            return None
        row = self.open.get(ev.member_uuid)
        if row is None:
            return None
        if t is Q.OFFER:
            row["offers"] += 1
        elif t in (Q.RING_NO_ANSWER, Q.AGENT_BUSY, Q.AGENT_REJECT):
            row["no_answers"] += 1
        elif t is Q.CONNECT:
            row["agent"] = ev.agent_id
            if ev.detail != "callback":
                row["outcome"] = "answered"
                row["wait_s"] = ev.wait_s
        elif t is Q.TRANSFER:
            row["transferred"] = True
        elif t is Q.CALLBACK_REQUESTED:
            row["outcome"] = "callback"
            row["callback"] = "requested"
            row["wait_s"] = ev.wait_s
        elif t is Q.CALLBACK_FAILED:
            row["callback"] = "failed"
        elif t is Q.ABANDON:
            short = (ev.wait_s or 0.0) < self.short_abandon_s
            row["outcome"] = "short_abandon" if short else "abandoned"
            row["wait_s"] = ev.wait_s
        elif t in _EXITS:
            row["outcome"] = (ev.detail or "other") if t is Q.EXIT_OTHER else _EXITS[t]
            row["wait_s"] = ev.wait_s
        elif t in _COMPLETE:
            row["talk_s"] = ev.talk_s
            if ev.agent_id is not None:
                row["agent"] = ev.agent_id
            if row["callback"] == "requested":
                return None  # the callback's own COMPLETE; CALLBACK_COMPLETED ends it
        elif t is Q.CALLBACK_COMPLETED:
            row["callback"] = "completed"
        if t in _TERMINAL:
            return self.open.pop(ev.member_uuid)
        return None

    def report(self, events: Iterable[QueueEvent], tz: str = "UTC") -> Report:
        """A :class:`Report` named ``calls`` whose rows stream from ``events``."""
        return Report("calls", list(CALL_COLUMNS), self.stream(events), tz)


# ------------------------------------------------------------------------------------------ surveys

SURVEY_COLUMNS = [
    Column("interval", "Interval", "text", "local start of the interval of the answer"),
    Column("start", "Start", "datetime", "the same, as a date/time"),
    Column("survey", "Survey", "text", "survey name"),
    Column("question", "Question", "text", "question"),
    Column("queue", "Queue", "text", "queue of the call (blank: none)"),
    Column("agent", "Agent", "text", "agent of the call (blank: none)"),
    Column("answers", "Answers", "int", "survey answers"),
    Column("avg_score", "Avg score", "float", "mean score"),
    Column("min_score", "Min", "int", "lowest score"),
    Column("max_score", "Max", "int", "highest score"),
]


class SurveyReport:
    """Per interval, survey, question, queue and agent: answer count and average/min/max score."""

    def __init__(self, bucketer: Bucketer, start: float, end: float, *, queue: str | None = None,
                 agent: str | None = None) -> None:
        self.bucketer = bucketer
        self.start, self.end = start, end
        self.queue, self.agent = queue, agent
        self.acc: dict[tuple[float, str, str, str, str], list[float]] = {}

    def feed(self, rec: SurveyResult) -> None:
        """Account one survey answer."""
        if not self.start <= rec.at < self.end:
            return
        if (self.queue is not None and rec.queue != self.queue) or (self.agent is not None
                                                                    and rec.agent_id != self.agent):
            return
        key = (self.bucketer.start(rec.at), rec.survey, rec.question, rec.queue or "", rec.agent_id or "")
        a = self.acc.get(key)
        if a is None:
            self.acc[key] = [1, rec.score, rec.score, rec.score]
        else:
            a[0] += 1
            a[1] += rec.score
            a[2] = min(a[2], rec.score)
            a[3] = max(a[3], rec.score)

    def feed_all(self, records: Iterable[SurveyResult]) -> SurveyReport:
        """Feed every answer; returns self."""
        for r in records:
            self.feed(r)
        return self

    def report(self, tz: str = "UTC") -> Report:
        """A :class:`Report` named ``surveys``."""
        rows = [{"interval": self.bucketer.label(k[0]) if math.isfinite(k[0]) else "all",
                 "start": k[0] if math.isfinite(k[0]) else self.start,
                 "survey": k[1], "question": k[2], "queue": k[3], "agent": k[4], "answers": int(a[0]),
                 "avg_score": a[1] / a[0], "min_score": int(a[2]), "max_score": int(a[3])}
                for k, a in sorted(self.acc.items())]
        return Report("surveys", list(SURVEY_COLUMNS), rows, tz)


# -------------------------------------------------------------------------------------- first-call resolution

FCR_COLUMNS = [
    Column("interval", "Interval", "text", "local start of the interval of the contact"),
    Column("start", "Start", "datetime", "the same, as a date/time"),
    Column("agent", "Agent", "text", "agent of the contact (blank: none)"),
    Column("contacts", "Contacts", "int", "call interactions with a customer and a disposition"),
    Column("resolved", "Resolved", "int", "contacts whose disposition is a resolving one (--resolved)"),
    Column("first_call_resolved", "First-call resolved", "int",
           "resolved contacts after which the same customer had no other call interaction within the repeat window"),
    Column("fcr", "FCR", "ratio", "first-call resolved / contacts"),
]


class FcrReport:
    """First-call resolution from dispositions: per interval and agent, over call interactions.

    A contact is a call interaction (``kind`` call) with a customer id and a disposition, dated in
    ``[start, end)``. It is first-call resolved when its disposition is in ``resolved`` and the same
    customer has no later call interaction within ``repeat_s`` (feed interactions up to ``end +
    repeat_s``). Memory holds the contacts of one repeat window.
    """

    def __init__(self, bucketer: Bucketer, start: float, end: float, *, resolved: Iterable[str] = ("resolved",),
                 repeat_s: float = 7 * 86400.0, agent: str | None = None) -> None:
        self.bucketer = bucketer
        self.start, self.end = start, end
        self.resolved = {r.lower() for r in resolved}
        self.repeat_s = repeat_s
        self.agent = agent
        self.acc: dict[tuple[float, str], list[int]] = {}
        self.pending: OrderedDict[str, tuple[float, tuple[float, str]]] = OrderedDict()  # customer -> contact

    def feed(self, rec: Interaction) -> None:
        """Account one interaction (time-ordered)."""
        if rec.kind is not InteractionKind.CALL or rec.customer_id is None:
            return
        self._expire(rec.at)
        # a repeat call within the window: the earlier contact was not resolved at first call
        self.pending.pop(rec.customer_id, None)
        if not self.start <= rec.at < self.end or rec.disposition is None:
            return
        if self.agent is not None and rec.agent_id != self.agent:
            return
        key = (self.bucketer.start(rec.at), rec.agent_id or "")
        acc = self.acc.setdefault(key, [0, 0, 0])
        acc[0] += 1
        if rec.disposition.lower() in self.resolved:
            acc[1] += 1
            self.pending[rec.customer_id] = (rec.at, key)

    def _expire(self, now: float) -> None:
        while self.pending:
            at, key = next(iter(self.pending.values()))
            if now - at <= self.repeat_s:
                break
            self.pending.popitem(last=False)
            self.acc[key][2] += 1

    def feed_all(self, records: Iterable[Interaction]) -> FcrReport:
        """Feed every interaction of a time-ordered stream; returns self."""
        for r in records:
            self.feed(r)
        return self

    def report(self, tz: str = "UTC") -> Report:
        """A :class:`Report` named ``fcr``; contacts whose repeat window is still open count as resolved."""
        for _, key in self.pending.values():
            self.acc[key][2] += 1
        self.pending.clear()
        rows = [{"interval": self.bucketer.label(k[0]) if math.isfinite(k[0]) else "all",
                 "start": k[0] if math.isfinite(k[0]) else self.start, "agent": k[1], "contacts": a[0],
                 "resolved": a[1], "first_call_resolved": a[2], "fcr": _ratio(a[2], a[0])}
                for k, a in sorted(self.acc.items())]
        return Report("fcr", list(FCR_COLUMNS), rows, tz)
