"""The Dialer: one campaign's pure dialing core (events and ``now`` in, commands out; no I/O, no clock).

It keeps the campaign's waiting leads in dialing order (cc.dialer.lead_queue), its agents' states, the
originates in progress and their timers, and decides on every event what to dial: one lead per free agent
(preview, progressive, callbacks and owned leads in every mode) and, in predictive mode, as many calls
for the pool as the pacing model allows (cc.dialer.pacing). Every originate ends with exactly one
SetResult: from the switch's events, the agent's result, the engine's own watchdogs, or ``settle``.
"""

from __future__ import annotations

import collections
import dataclasses
import heapq
import math
import random
import uuid as uuidlib
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field

from cc.dialer import commands as cmd
from cc.dialer import events as ev
from cc.dialer.agent_state import DialerAgentEvent as AE
from cc.dialer.agent_state import DialerAgentState as AS
from cc.dialer.agent_state import transition as agent_transition
from cc.dialer.attempt_state import AttemptEvent as TE
from cc.dialer.attempt_state import AttemptState as TS
from cc.dialer.attempt_state import legal
from cc.dialer.attempt_state import transition as attempt_transition
from cc.dialer.campaign_state import CampaignEvent
from cc.dialer.campaign_state import transition as campaign_transition
from cc.dialer.causes import result_for_failure
from cc.dialer.dnc import DncList
from cc.dialer.lead_queue import CALLBACK, NEW, RETRY, GroupKey, LeadQueue
from cc.dialer.lead_state import IDLE_STATES
from cc.dialer.lead_state import LeadEvent as LE
from cc.dialer.lead_state import transition as lead_transition
from cc.dialer.model import (
    Callback,
    CampaignMode,
    CampaignSettings,
    CampaignStatus,
    DialAttempt,
    Lead,
    LeadState,
    Result,
    ResultCode,
)
from cc.dialer.pacing import AnswerModel, DurationModel, PacingInput, RollingRatio, plan_dials, ramped_rate
from cc.dialer.reasons import Explanation, Why
from cc.dialer.windows import in_window, next_change, next_open
from cc.errors import Conflict, InvalidValue, NotFound
from cc.model import BusinessCalendar

__all__ = ["Dialer", "PacingConfig"]

_DAY = 86400.0
_NUMBER_RESULTS = frozenset({ResultCode.INVALID_NUMBER, ResultCode.SUSPENDED})


@dataclass(frozen=True)
class PacingConfig:
    """Tuning of the predictive pacing (docs/dialer.md): the defaults are what bench/dialer.py meets goals with.

    ``horizon_quantile``: the horizon is this quantile of recent answered ring times, looked at in
    ``horizon_points`` equal steps; ``prior_rate`` and
    ``prior_weight``: the answer rate before the campaign's own dials count; ``feedback_weight``: pseudo-calls
    at the target that the rolling abandon rates are shrunk towards; ``gain``: how hard the allowed share
    follows a rolling rate above the target (``(target / rate) ** gain``); ``setpoint``, ``step`` and
    ``start_factor``: the integral correction of the model (each answered call moves its logarithm by
    ``step * (setpoint * target - abandoned)``, so that the campaign's abandon rate settles at
    ``setpoint * target``), starting at ``start_factor``; the product is bounded by ``min_factor`` and
    ``max_factor``;
    ``interval_s``: how often predictive pacing runs without an event;
    ``start_rate`` and ``ramp_samples``: the cold start (docs/dialer.md, "Cold start"): the answer rate a plan uses
    starts at ``start_rate`` (1.0: one call per agent expected free, as progressive) and slides linearly to the
    estimate over the first ``ramp_samples`` settled dials.
    """

    horizon_quantile: float = 0.99
    horizon_points: int = 8
    prior_rate: float = 0.3
    prior_weight: float = 20.0
    feedback_weight: float = 200.0
    gain: float = 2.0
    min_factor: float = 0.02
    max_factor: float = 2.0
    setpoint: float = 0.6
    step: float = 0.1
    start_factor: float = 0.1
    interval_s: float = 1.0
    start_rate: float = 1.0
    ramp_samples: int = 400
    dial_grace_s: float = 30.0
    bridge_grace_s: float = 30.0
    overflow_grace_s: float = 120.0


@dataclass
class _Agent:
    agent_id: str
    ready: bool = False
    state: AS = AS.IDLE
    since: float = 0.0
    external: bool = False            # talking / wrapping on a call the dialer did not place
    lead_id: str | None = None        # the lead it is held for (preview, progressive, callback)
    uuid: str | None = None           # the attempt it is on
    preview: bool = False
    version: int = 0


@dataclass
class _Attempt:
    uuid: str
    lead_id: str
    number: str
    started_at: float
    agent_id: str | None
    manual: bool
    state: TS = TS.DIALING
    answered_at: float | None = None
    bridged_at: float | None = None
    ended_at: float | None = None
    cause: str | None = None
    bridge_sent: bool = False
    abandon_counted: bool = False
    pending: ev.ResultSet | None = None
    version: int = 0


@dataclass(order=True)
class _Timer:
    due: float
    seq: int
    kind: str = field(compare=False)
    key: str = field(compare=False)
    version: int = field(compare=False)


class Dialer:
    """One campaign's dialing core; ``handle(event, now)`` returns the commands to carry out."""

    def __init__(self, settings: CampaignSettings, *, calendars: Mapping[str, BusinessCalendar] | None = None,
                 dnc: Iterable[DncList] = (), status: CampaignStatus = CampaignStatus.DRAFT, now: float = 0.0,
                 cause_table: Mapping[str, str] | None = None, uuid_factory: Callable[[], str] | None = None,
                 rng_seed: int = 0, pacing: PacingConfig | None = None) -> None:
        self.settings = settings
        self.calendar: BusinessCalendar | None = None
        if settings.calendar is not None:
            found = (calendars or {}).get(settings.calendar)
            if found is None:
                raise NotFound("calendar", settings.calendar)
            self.calendar = found
        self.own_dnc = DncList(name=f"campaign {settings.campaign_id}")
        self.dnc_lists: tuple[DncList, ...] = (self.own_dnc, *dnc)
        self.status = status
        self.cause_table = cause_table
        rng = random.Random(rng_seed)
        self._uuid = uuid_factory or (lambda: str(uuidlib.UUID(int=rng.getrandbits(128), version=4)))
        self.pacing = pacing or PacingConfig()
        self._now = now
        self._leads: dict[str, Lead] = {}
        self._callbacks: dict[str, Callback] = {}
        self._queue = LeadQueue()
        self._win: dict[str, tuple[bool, float | None]] = {}
        self._agents: dict[str, _Agent] = {}
        self._idle: dict[str, None] = {}          # ready and idle agents, longest idle first
        self._attempts: dict[str, _Attempt] = {}  # open attempts
        self._pool: dict[str, float] = {}         # predictive calls ringing without an agent: uuid -> start
        self._timers: list[_Timer] = []
        self._tseq = 0
        self._cid = 0
        self._out: list[cmd.DialerCommand] = []
        self._last_pace = -1e18
        self._pace_wanted = True
        self._answer_obs: collections.deque[tuple[float, float]] = collections.deque()
        self.answers = AnswerModel(self.pacing.prior_rate, self.pacing.prior_weight,
                                   fail_default_s=settings.dial_timeout_s, ring_span_s=settings.dial_timeout_s)
        self.talk = DurationModel(120.0)
        self.wrap = DurationModel(15.0)
        self.rolling_24h = RollingRatio(_DAY, 600.0)
        self.rolling_30d = RollingRatio(30 * _DAY, 3600.0)
        self.last_plan = 0
        self.correction = math.log(self.pacing.start_factor)
        self._tick_interval = self.pacing.interval_s

    # ------------------------------------------------------------------ public API

    @property
    def now(self) -> float:
        """The latest time the engine was given."""
        return self._now

    def handle(self, event: ev.DialerEvent, now: float) -> list[cmd.DialerCommand]:
        """Apply ``event`` at ``now``, fire due timers, pace; return the commands, in order."""
        now = self._now = max(now, self._now)
        self._out = []
        self._apply(event, now)
        self._pump(now)
        out, self._out = self._out, []
        return out

    def settle(self, live_uuids: Collection[str], now: float) -> list[cmd.DialerCommand]:
        """The reconciler's path: every open attempt whose channel the switch no longer has ends now.

        A call still dialing gets ``system_error`` (nothing told how it ended), an answered one not yet
        bridged is abandoned (or, with a bridge under way, goes to its agent's wrap-up), a bridged one
        goes to wrap-up, an overflow ends as overflow. Attempts in ``live_uuids`` are left alone.
        """
        now = self._now = max(now, self._now)
        self._out = []
        for a in [a for a in self._attempts.values() if a.uuid not in live_uuids]:
            if a.state is TS.DIALING:
                self._settle(a, TE.SETTLE, ResultCode.SYSTEM_ERROR, "reconciler", now, cause="LOST")
            elif a.state is TS.ANSWERED:
                if a.bridge_sent and a.agent_id is not None:
                    self._bridged(a, now)
                    self._hung_up_bridged(a, now, TE.SETTLE)
                else:
                    self._settle(a, TE.SETTLE, ResultCode.ABANDONED, "reconciler", now, cause="LOST")
            elif a.state is TS.OVERFLOW:
                self._settle(a, TE.SETTLE, ResultCode.OVERFLOW, "reconciler", now)
            elif a.state is TS.BRIDGED:
                self._hung_up_bridged(a, now, TE.SETTLE)
        self._pump(now)
        out, self._out = self._out, []
        return out

    def next_wakeup(self) -> float | None:
        """When to call ``handle(Tick(), t)`` next if nothing else happens (None: nothing scheduled)."""
        times: list[float] = []
        while self._timers and not self._timer_valid(self._timers[0]):
            heapq.heappop(self._timers)
        if self._timers:
            times.append(self._timers[0].due)
        due = self._queue.next_due()
        if due is not None:
            times.append(due)
        if self.status is CampaignStatus.RUNNING:
            for _, until in self._win.values():
                if until is not None and until > self._now:
                    times.append(until)
            if self._pace_wanted and self._effective_mode() is CampaignMode.PREDICTIVE and self._any_ready():
                times.append(self._last_pace + self._tick_interval)
        return min(times) if times else None

    def lead(self, lead_id: str) -> Lead:
        """The lead as the dialer knows it now; NotFound if it is not in the campaign."""
        found = self._leads.get(lead_id)
        if found is None:
            raise NotFound("lead", lead_id)
        return found

    def ringing(self) -> int:
        """How many predictive calls ring without an agent (the pool the pacing model counts)."""
        return len(self._pool)

    def open_attempts(self) -> list[str]:
        """The uuids of the originates without a result yet (for the reconciler)."""
        return list(self._attempts)

    def abandon_rates(self, now: float) -> tuple[float, float]:
        """The campaign's abandon rate over the last 24 h and 30 days (0 with no answered call)."""
        out = []
        for r in (self.rolling_24h, self.rolling_30d):
            r.rate(now, 0.0, 1.0)   # drops what left the window
            out.append(r.abandoned / r.answered if r.answered else 0.0)
        return out[0], out[1]

    def explain(self, lead_id: str, now: float) -> Explanation:
        """Whether ``lead_id`` may be dialed at ``now`` and, if not, every reason why (docs/dialer.md)."""
        lead = self._leads.get(lead_id)
        if lead is None:
            return Explanation(lead_id, False, (Why.UNKNOWN_LEAD,))
        state = lead.state
        if state is LeadState.DONE:
            return Explanation(lead_id, False, (Why.FINAL_RESULT,))
        if state is LeadState.DNC:
            return Explanation(lead_id, False, (Why.DNC,))
        if state is LeadState.EXHAUSTED:
            return Explanation(lead_id, False, (Why.MAX_ATTEMPTS,))
        if state not in IDLE_STATES:
            return Explanation(lead_id, False, (Why.IN_PROGRESS,))
        reasons: list[Why] = []
        until: list[float] = []
        status_why = {CampaignStatus.DRAFT: Why.CAMPAIGN_DRAFT, CampaignStatus.PAUSED: Why.CAMPAIGN_PAUSED,
                      CampaignStatus.STOPPED: Why.CAMPAIGN_STOPPED, CampaignStatus.FINISHED: Why.CAMPAIGN_FINISHED}
        if self.status in status_why:
            reasons.append(status_why[self.status])
        if self._number_index(lead) is None:
            reasons.append(Why.DNC)
        if lead.attempts >= self.settings.max_attempts and state is not LeadState.CALLBACK:
            reasons.append(Why.MAX_ATTEMPTS)
        due = self._queue.due_at(lead_id)
        if due is not None and due > now:
            reasons.append(Why.CALLBACK_NOT_DUE if state is LeadState.CALLBACK else Why.RETRY_NOT_DUE)
            until.append(due)
        if not in_window(self.calendar, lead.tz, now):
            reasons.append(Why.WINDOW_CLOSED)
            opens = next_open(self.calendar, lead.tz, max(now, due or now))
            if opens is not None:
                until.append(opens)
        owner = self._owner_of(lead)
        if owner is not None:
            a = self._agents.get(owner)
            if a is None or not a.ready or a.state is not AS.IDLE:
                reasons.append(Why.OWNER_NOT_READY)
        elif not self._any_ready():
            reasons.append(Why.NO_AGENT_READY)
        if self.settings.mode is CampaignMode.MANUAL:
            reasons.append(Why.MANUAL_MODE)
        return Explanation(lead_id, not reasons, tuple(reasons), max(until) if until else None)

    # ------------------------------------------------------------------ events

    def _apply(self, e: ev.DialerEvent, now: float) -> None:
        handler = _HANDLERS.get(type(e))
        if handler is not None:
            handler(self, e, now)

    def _on_control(self, e: ev.CampaignControl, now: float) -> None:
        new = campaign_transition(self.status, e.event, self.settings.campaign_id)
        self._set_status(new, now)
        if new is not CampaignStatus.RUNNING:
            for a in list(self._agents.values()):
                if a.preview and a.lead_id is not None:
                    self._end_preview(a, "campaign-" + new.value, now)

    def _set_status(self, status: CampaignStatus, now: float) -> None:
        self.status = status
        self._out.append(cmd.CampaignStatusChanged(self.settings.campaign_id, status, now))

    def _on_lead_added(self, e: ev.LeadAdded, now: float) -> None:
        lead = e.lead
        old = self._leads.get(lead.lead_id)
        if old is not None and old.state not in IDLE_STATES and old.state not in (
                LeadState.DONE, LeadState.DNC, LeadState.EXHAUSTED):
            raise Conflict("lead", lead.lead_id, "is being dialed; change it after its call")
        if lead.campaign_id != self.settings.campaign_id:
            raise InvalidValue("campaign_id", lead.campaign_id, f"lead {lead.lead_id} is not of this campaign")
        if lead.state in (LeadState.RESERVED, LeadState.DIALING, LeadState.ANSWERED, LeadState.WRAP_UP):
            # restored after a restart: its attempt is the reconciler's; the lead waits again
            lead = dataclasses.replace(lead, state=LeadState.RETRY if lead.attempts else LeadState.NEW)
        self._queue.discard(lead.lead_id)
        self._leads[lead.lead_id] = lead
        if lead.state in IDLE_STATES:
            if self._number_index(lead) is None:
                self._change(lead, LE.DNC, now)
                return
            if lead.state is LeadState.CALLBACK and lead.next_dial_at is not None:
                cb = self._callbacks.get(lead.lead_id) or Callback(lead.lead_id, lead.next_dial_at, lead.owner_agent)
                self._callbacks[lead.lead_id] = cb
                self._schedule_reminders(cb, now)
            self._enqueue(lead, now)

    def _on_lead_removed(self, e: ev.LeadRemoved, now: float) -> None:
        self._queue.discard(e.lead_id)
        self._callbacks.pop(e.lead_id, None)
        lead = self._leads.pop(e.lead_id, None)
        if lead is not None and lead.state is LeadState.RESERVED:
            for a in self._agents.values():
                if a.lead_id == e.lead_id and a.uuid is None:
                    if a.preview:
                        self._out.append(cmd.PreviewCancel(a.agent_id, e.lead_id, "lead-removed"))
                    self._release_agent(a, "lead-removed", now)

    def _on_dnc_added(self, e: ev.DncAdded, now: float) -> None:
        self.own_dnc.add(e.number)

    def _on_dnc_removed(self, e: ev.DncRemoved, now: float) -> None:
        self.own_dnc.discard(e.number)

    def _agent(self, agent_id: str, now: float) -> _Agent:
        a = self._agents.get(agent_id)
        if a is None:
            a = self._agents[agent_id] = _Agent(agent_id, since=now)
        return a

    def _sync_idle(self, a: _Agent) -> None:
        if a.ready and a.state is AS.IDLE:
            self._idle.setdefault(a.agent_id, None)
        else:
            self._idle.pop(a.agent_id, None)

    def _move(self, a: _Agent, event: AE, now: float) -> None:
        a.state = agent_transition(a.state, event, a.agent_id)
        a.since = now
        a.version += 1
        self._idle.pop(a.agent_id, None)   # re-added at the end: longest idle first
        self._sync_idle(a)

    def _on_agent_ready(self, e: ev.AgentReady, now: float) -> None:
        a = self._agent(e.agent_id, now)
        if not a.ready:
            a.ready = True
            self._idle.pop(a.agent_id, None)
            self._sync_idle(a)

    def _on_agent_not_ready(self, e: ev.AgentNotReady, now: float) -> None:
        a = self._agent(e.agent_id, now)
        a.ready = False
        self._sync_idle(a)
        if a.preview and a.lead_id is not None:
            self._end_preview(a, "agent-not-ready", now)

    def _on_agent_talking(self, e: ev.AgentTalking, now: float) -> None:
        a = self._agent(e.agent_id, now)
        if a.state is AS.IDLE:
            self._move(a, AE.TALK, now)
            a.external = True

    def _on_agent_wrap(self, e: ev.AgentWrapUp, now: float) -> None:
        a = self._agents.get(e.agent_id)
        if a is not None and a.external and a.state is AS.TALKING:
            self._move(a, AE.HANGUP, now)

    def _on_agent_wrap_done(self, e: ev.AgentWrapDone, now: float) -> None:
        a = self._agents.get(e.agent_id)
        if a is not None and a.external and a.state in (AS.TALKING, AS.WRAP_UP):
            if a.state is AS.TALKING:
                self._move(a, AE.HANGUP, now)
            self._move(a, AE.WRAP_DONE, now)
            a.external = False

    def _on_answered(self, e: ev.OriginateAnswered, now: float) -> None:
        a = self._attempts.get(e.uuid)
        if a is None or not legal(a.state, TE.ANSWER):
            return
        a.state = attempt_transition(a.state, TE.ANSWER, a.uuid)
        a.answered_at = now
        self._pool.pop(a.uuid, None)
        if not a.manual:
            self._answer_obs.append((a.started_at + self.settings.dial_timeout_s, now - a.started_at))
        self.rolling_24h.add(now, answered=1)
        self.rolling_30d.add(now, answered=1)
        if not a.manual:
            self._correct(0.0)
        lead = self._leads.get(a.lead_id)
        if lead is not None and lead.state is LeadState.DIALING:
            self._change(lead, LE.ANSWER, now)
        if a.manual:
            a.bridge_sent = True       # the agent's leg came first: the switch bridges by itself
            return
        if a.agent_id is None:
            agent_id = next(iter(self._idle), None)
            if agent_id is not None:
                ag = self._agents[agent_id]
                self._move(ag, AE.RESERVE, now)
                ag.lead_id, ag.uuid = a.lead_id, a.uuid
                a.agent_id = agent_id
        if a.agent_id is None:
            self._overflow(a, now)
            return
        a.bridge_sent = True
        self._out.append(cmd.Bridge(a.uuid, a.agent_id, a.lead_id))
        self._timer(now + self.pacing.bridge_grace_s, "bridge", a.uuid, a.version)

    def _overflow(self, a: _Attempt, now: float) -> None:
        a.state = attempt_transition(a.state, TE.OVERFLOW, a.uuid)
        a.version += 1
        self._count_abandon(a, now)
        self._out.append(cmd.PlayOverflow(a.uuid, self.settings.overflow_message))
        self._timer(now + self.pacing.overflow_grace_s, "overflow", a.uuid, a.version)

    def _count_abandon(self, a: _Attempt, now: float) -> None:
        if not a.abandon_counted:
            a.abandon_counted = True
            self.rolling_24h.add(now, abandoned=1)
            self.rolling_30d.add(now, abandoned=1)
            if not a.manual:
                self._correct(1.0)

    def _correct(self, abandoned: float) -> None:
        """The integral correction: an answered call moves it up a little, an abandon moves it down."""
        cfg = self.pacing
        self.correction += cfg.step * (cfg.setpoint * self.settings.abandon_target - abandoned)
        lo, hi = math.log(cfg.min_factor), math.log(cfg.max_factor)
        self.correction = min(hi, max(lo, self.correction))

    def _bridged(self, a: _Attempt, now: float) -> None:
        a.state = attempt_transition(a.state, TE.BRIDGE, a.uuid)
        a.version += 1
        a.bridged_at = now
        if a.agent_id is not None:
            ag = self._agent(a.agent_id, now)
            if ag.state in (AS.IDLE, AS.RESERVED):
                self._move(ag, AE.CONNECT, now)
                ag.uuid, ag.lead_id = a.uuid, a.lead_id

    def _on_bridged(self, e: ev.Bridged, now: float) -> None:
        a = self._attempts.get(e.uuid)
        if a is None or not legal(a.state, TE.BRIDGE):
            return
        if a.agent_id is None:
            a.agent_id = e.agent_id
        self._bridged(a, now)

    def _on_bridge_failed(self, e: ev.BridgeFailed, now: float) -> None:
        a = self._attempts.get(e.uuid)
        if a is None or a.state is not TS.ANSWERED:
            return
        if a.agent_id is not None:
            ag = self._agents.get(a.agent_id)
            if ag is not None and ag.state is AS.RESERVED and ag.uuid == a.uuid:
                self._release_agent(ag, "bridge-failed", now)
                ag.ready = False
                self._sync_idle(ag)
                self._out.append(cmd.AgentSetNotReady(ag.agent_id, "bridge-failed"))
            a.agent_id = None
        a.bridge_sent = False
        self._overflow(a, now)

    def _on_hangup(self, e: ev.CallHungUp, now: float) -> None:
        a = self._attempts.get(e.uuid)
        if a is None:
            return
        if a.state is TS.DIALING:
            code = result_for_failure(e.cause, e.sip_status, self.cause_table)
            self._settle(a, TE.HANGUP, code, "system", now, cause=e.cause)
        elif a.state is TS.ANSWERED:
            if a.bridge_sent and a.agent_id is not None:
                self._bridged(a, now)             # the Bridged event was lost: the bridge was under way
                self._hung_up_bridged(a, now, TE.HANGUP, e.cause)
            else:
                self._settle(a, TE.HANGUP, ResultCode.ABANDONED, "system", now, cause=e.cause)
        elif a.state is TS.OVERFLOW:
            self._settle(a, TE.HANGUP, ResultCode.OVERFLOW, "system", now, cause=e.cause)
        elif a.state is TS.BRIDGED:
            self._hung_up_bridged(a, now, TE.HANGUP, e.cause)

    def _hung_up_bridged(self, a: _Attempt, now: float, how: TE, cause: str | None = None) -> None:
        a.state = attempt_transition(a.state, how, a.uuid)
        a.version += 1
        a.ended_at = now
        a.cause = cause or a.cause
        lead = self._leads.get(a.lead_id)
        if lead is not None and lead.state is LeadState.ANSWERED:
            self._change(lead, LE.HANGUP, now)
        if a.agent_id is not None:
            ag = self._agents.get(a.agent_id)
            if ag is not None and ag.state is AS.TALKING and ag.uuid == a.uuid:
                if a.bridged_at is not None:
                    self.talk.add(now - a.bridged_at)
                self._move(ag, AE.HANGUP, now)
        if a.pending is not None:
            p = a.pending
            self._settle(a, TE.RESULT, p.code, f"agent:{p.agent_id}", now, result_event=p)
        else:
            self._timer(now + self.settings.wrap_up_timeout_s, "wrap", a.uuid, a.version)

    def _on_failed(self, e: ev.OriginateFailed, now: float) -> None:
        a = self._attempts.get(e.uuid)
        if a is None or a.state is not TS.DIALING:
            return
        code = result_for_failure(e.cause, e.sip_status, self.cause_table)
        self._settle(a, TE.FAIL, code, "system", now, cause=e.cause)

    def _on_result(self, e: ev.ResultSet, now: float) -> None:
        self.settings.result(e.code)   # InvalidValue for a code the campaign does not have
        a = self._attempts.get(e.uuid)
        if a is None:
            return
        if a.state is TS.BRIDGED:
            a.pending = e
        elif a.state is TS.WRAP_UP:
            self._settle(a, TE.RESULT, e.code, f"agent:{e.agent_id}", now, result_event=e)

    def _on_callback(self, e: ev.CallbackScheduled, now: float) -> None:
        lead = self._leads.get(e.callback.lead_id)
        if lead is None:
            raise NotFound("lead", e.callback.lead_id)
        if (lead.state, LE.CALLBACK) not in _LEAD_CALLBACK_OK:
            raise Conflict("lead", lead.lead_id, f"is {lead.state.value}: a callback cannot be scheduled now")
        if lead.state is LeadState.RESERVED:
            for a in self._agents.values():
                if a.lead_id == lead.lead_id and a.uuid is None:
                    if a.preview:
                        self._out.append(cmd.PreviewCancel(a.agent_id, lead.lead_id, "callback"))
                    self._release_agent(a, "callback", now)
        self._schedule_callback(lead, e.callback, now)

    def _on_preview_dial(self, e: ev.PreviewDial, now: float) -> None:
        a = self._agents.get(e.agent_id)
        lead = self._leads.get(e.lead_id)
        if a is None or lead is None or not a.preview or a.lead_id != e.lead_id:
            self._out.append(cmd.DialRefused(e.agent_id, e.lead_id, ("no-preview",)))
            return
        a.preview = False
        a.version += 1
        reasons = self._dial_blockers(lead, now)
        if reasons:
            self._out.append(cmd.DialRefused(e.agent_id, e.lead_id, tuple(reasons)))
            self._requeue(lead, now, 0.0)
            self._release_agent(a, "refused", now)
            return
        self._dial(lead, a, "preview", now)

    def _on_preview_skip(self, e: ev.PreviewSkip, now: float) -> None:
        a = self._agents.get(e.agent_id)
        lead = self._leads.get(e.lead_id)
        if a is None or lead is None or not a.preview or a.lead_id != e.lead_id:
            return
        a.preview = False
        self._requeue(lead, now, self.settings.skip_delay_s)
        self._release_agent(a, "skip:" + e.reason, now)

    def _on_click(self, e: ev.ClickToDial, now: float) -> None:
        a = self._agents.get(e.agent_id)
        lead = self._leads.get(e.lead_id)
        reasons: list[str] = []
        if lead is None:
            reasons.append(Why.UNKNOWN_LEAD)
        elif lead.state not in IDLE_STATES:
            reasons.append(Why.IN_PROGRESS)
        if a is None or a.state is not AS.IDLE:
            reasons.append("agent-busy")
        if lead is not None and e.number is not None and e.number not in lead.numbers:
            reasons.append("not-a-number-of-the-lead")
        if lead is not None and not reasons:
            number = e.number if e.number is not None else None
            reasons.extend(self._dial_blockers(lead, now, number=number, manual=True))
        if reasons or lead is None or a is None:
            self._out.append(cmd.DialRefused(e.agent_id, e.lead_id, tuple(reasons)))
            return
        self._queue.discard(lead.lead_id)
        if e.number is not None:
            lead = self._put(dataclasses.replace(lead, number_index=lead.numbers.index(e.number)))
        self._dial(lead, a, "manual", now, manual=True)

    def _on_tick(self, e: ev.Tick, now: float) -> None:
        return

    # ------------------------------------------------------------------ leads

    def _put(self, lead: Lead) -> Lead:
        self._leads[lead.lead_id] = lead
        return lead

    def _change(self, lead: Lead, event: LE, now: float, **changes: object) -> Lead:
        state = lead_transition(lead.state, event, lead.lead_id)
        new = dataclasses.replace(lead, state=state, **changes)  # type: ignore[arg-type]
        self._put(new)
        self._out.append(cmd.LeadChanged(new))
        return new

    def _owner_of(self, lead: Lead) -> str | None:
        cb = self._callbacks.get(lead.lead_id)
        if lead.state is LeadState.CALLBACK and cb is not None:
            return cb.agent_id
        return lead.owner_agent

    def _enqueue(self, lead: Lead, now: float) -> None:
        if lead.state is LeadState.CALLBACK:
            cb = self._callbacks.get(lead.lead_id)
            due = cb.due_at if cb is not None else (lead.next_dial_at or now)
            group: GroupKey = (self._owner_of(lead), lead.tz, True)
            self._queue.put(lead.lead_id, group, (CALLBACK, -lead.priority, due), due, now)
            return
        klass = RETRY if lead.attempts else NEW
        group = (lead.owner_agent, lead.tz, False)
        self._queue.put(lead.lead_id, group, (klass, -lead.priority, lead.created_at), lead.next_dial_at, now)

    def _requeue(self, lead: Lead, now: float, delay: float) -> None:
        if lead.lead_id in self._callbacks:
            lead = self._change(lead, LE.CALLBACK, now)
        elif lead.attempts == 0 and delay <= 0:
            lead = self._change(lead, LE.REQUEUE, now)
        else:
            lead = self._change(lead, LE.RELEASE, now, next_dial_at=now + delay if delay > 0 else lead.next_dial_at)
        self._enqueue(lead, now)

    def _number_index(self, lead: Lead, start: int | None = None) -> int | None:
        """The first number (from ``number_index``, wrapping) not on a do-not-call list."""
        n = len(lead.numbers)
        first = lead.number_index if start is None else start
        for k in range(n):
            i = (first + k) % n
            if not any(lead.numbers[i] in d for d in self.dnc_lists):
                return i
        return None

    def _schedule_callback(self, lead: Lead, cb: Callback, now: float) -> None:
        self._queue.discard(lead.lead_id)
        self._callbacks[lead.lead_id] = cb
        lead = self._change(lead, LE.CALLBACK, now, next_dial_at=cb.due_at)
        self._enqueue(lead, now)
        self._schedule_reminders(cb, now)

    def _schedule_reminders(self, cb: Callback, now: float) -> None:
        before = cb.due_at - self.settings.callback_reminder_s
        key = f"{cb.lead_id}\x00{cb.due_at!r}"
        if before >= now:
            self._timer(before, "remind-before", key, 0)
        if cb.due_at >= now:
            self._timer(cb.due_at, "remind-due", key, 0)

    # ------------------------------------------------------------------ dialing

    def _any_ready(self) -> bool:
        return any(a.ready for a in self._agents.values())

    def _ready_count(self) -> int:
        return sum(1 for a in self._agents.values() if a.ready)

    def _effective_mode(self) -> CampaignMode:
        mode = self.settings.mode
        if mode is CampaignMode.PREDICTIVE and self._ready_count() < self.settings.min_agents_predictive:
            return CampaignMode.PROGRESSIVE
        return mode

    def _window_open(self, tz: str, now: float) -> bool:
        cached = self._win.get(tz)
        if cached is None or (cached[1] is not None and cached[1] <= now):
            cached = next_change(self.calendar, tz, now)
            self._win[tz] = cached
        return cached[0]

    def _dial_blockers(self, lead: Lead, now: float, number: str | None = None, manual: bool = False) -> list[str]:
        """Reasons that forbid dialing ``lead`` right now (checked right before every originate)."""
        out: list[str] = []
        if self.status is not CampaignStatus.RUNNING:
            out.append("campaign-" + self.status.value)
        if number is not None:
            if any(number in d for d in self.dnc_lists):
                out.append(Why.DNC)
        elif self._number_index(lead) is None:
            out.append(Why.DNC)
        if not in_window(self.calendar, lead.tz, now):
            out.append(Why.WINDOW_CLOSED)
        if not manual and lead.attempts >= self.settings.max_attempts and lead.state is not LeadState.CALLBACK:
            out.append(Why.MAX_ATTEMPTS)
        return out

    def _take(self, groups: list[GroupKey], now: float) -> Lead | None:
        """Pop the first dialable lead of ``groups``; leads found on DNC or exhausted are settled on the way."""
        while True:
            open_groups = [g for g in groups if self._window_open(g[1], now)]
            lead_id = self._queue.best(open_groups)
            if lead_id is None:
                return None
            self._queue.discard(lead_id)
            lead = self._leads[lead_id]
            if self._number_index(lead) is None:
                self._change(lead, LE.DNC, now)
                self._callbacks.pop(lead_id, None)
                continue
            if lead.attempts >= self.settings.max_attempts and lead.state is not LeadState.CALLBACK:
                self._change(lead, LE.EXHAUSTED, now)
                continue
            if not in_window(self.calendar, lead.tz, now):
                # the cached window said open, the exact check says closed (a DST edge): wait for it
                self._win[lead.tz] = next_change(self.calendar, lead.tz, now)
                self._enqueue(lead, now)
                groups = [g for g in groups if g[1] != lead.tz]
                continue
            return lead

    def _dial(self, lead: Lead, agent: _Agent | None, why: str, now: float, manual: bool = False) -> None:
        idx = self._number_index(lead)
        assert idx is not None
        number = lead.numbers[idx]
        uuid = self._uuid()
        ids = self.settings.caller_ids
        caller_id = ids[self._cid % len(ids)] if ids else ""
        self._cid += 1
        lead = self._change(lead, LE.DIAL, now, attempts=lead.attempts + 1, number_index=idx, next_dial_at=None)
        if lead.lead_id in self._callbacks:
            del self._callbacks[lead.lead_id]
        a = _Attempt(uuid, lead.lead_id, number, now, agent.agent_id if agent else None, manual)
        self._attempts[uuid] = a
        if agent is not None:
            if agent.state is AS.IDLE:
                self._move(agent, AE.RESERVE, now)
                self._out.append(cmd.ReserveAgent(agent.agent_id, lead.lead_id, why))
            agent.lead_id, agent.uuid, agent.preview = lead.lead_id, uuid, False
        else:
            self._pool[uuid] = now
        self._out.append(cmd.Originate(uuid, self.settings.campaign_id, lead.lead_id, number,
                                       self.settings.render_dial_string(number), caller_id,
                                       self.settings.dial_timeout_s, a.agent_id, manual))
        self._timer(now + self.settings.dial_timeout_s + self.pacing.dial_grace_s, "dial", uuid, a.version)

    def _release_agent(self, a: _Agent, why: str, now: float) -> None:
        if a.state is AS.RESERVED:
            self._move(a, AE.RELEASE, now)
            self._out.append(cmd.ReleaseAgent(a.agent_id, why))
        a.lead_id, a.uuid, a.preview = None, None, False

    def _end_preview(self, a: _Agent, why: str, now: float) -> None:
        lead = self._leads.get(a.lead_id or "")
        self._out.append(cmd.PreviewCancel(a.agent_id, a.lead_id or "", why))
        a.preview = False
        if lead is not None and lead.state is LeadState.RESERVED:
            self._requeue(lead, now, 0.0)
        self._release_agent(a, why, now)

    def _pump(self, now: float) -> None:
        self._fire_timers(now)
        self._queue.advance(now)
        if self.status is not CampaignStatus.RUNNING:
            return
        mode = self._effective_mode()
        if mode is CampaignMode.MANUAL:
            return
        pool_for_agents = mode in (CampaignMode.PROGRESSIVE, CampaignMode.PREVIEW)
        for agent_id in list(self._idle):
            a = self._agents[agent_id]
            if a.state is not AS.IDLE or not a.ready:
                continue
            owners: list[str | None] = [agent_id, None]
            if not self._queue.ready_count_hint(owners):
                continue
            groups = [g for g in self._queue.groups(owners) if g[0] == agent_id or g[2] or pool_for_agents]
            lead = self._take(groups, now)
            if lead is None:
                continue
            if mode is CampaignMode.PREVIEW and lead.state is not LeadState.CALLBACK:
                lead = self._change(lead, LE.RESERVE, now)
                self._move(a, AE.RESERVE, now)
                a.lead_id, a.preview = lead.lead_id, True
                self._out.append(cmd.ReserveAgent(agent_id, lead.lead_id, "preview"))
                self._out.append(cmd.PreviewOffer(agent_id, lead, self.settings.preview_timeout_s))
                self._timer(now + self.settings.preview_timeout_s, "preview", agent_id, a.version)
            else:
                why = "callback" if lead.state is LeadState.CALLBACK else mode.value
                self._dial(lead, a, why, now)
        if mode is CampaignMode.PREDICTIVE:
            self._pace(now)
        self._maybe_finish(now)

    def _pace(self, now: float) -> None:
        self._last_pace = now
        self._pace_wanted = False
        while self._answer_obs and self._answer_obs[0][0] <= now:
            self.answers.add(True, self._answer_obs.popleft()[1])
        if not self._idle and not any(a.ready and a.state in (AS.TALKING, AS.WRAP_UP)
                                      for a in self._agents.values()):
            self.last_plan = 0
            return
        groups = [g for g in self._queue.groups([None]) if not g[2] and self._window_open(g[1], now)]
        self._pace_wanted = bool(groups)
        if not groups:
            self.last_plan = 0
            return
        cfg = self.pacing
        k_points = cfg.horizon_points
        # an answer comes before the dial timeout: the horizon never looks further (nor, with no ring time of
        # the campaign's own yet, less far: the ring prior is uniform over the timeout)
        span = min(self.settings.dial_timeout_s, max(1.0, self.answers.ring.quantile(cfg.horizon_quantile)))
        ts = [span * (k + 1) / k_points for k in range(k_points)]
        p = ramped_rate(self.answers.rate(), self.answers.samples(), cfg.ramp_samples, cfg.start_rate)
        x_mean = [0.0] * k_points
        x_var = [0.0] * k_points
        x_total = 0.0
        memo: dict[float, list[float]] = {}
        for t0 in self._pool.values():
            rung = round(now - t0, 1)
            curve = memo.get(rung)
            if curve is None:
                curve = memo[rung] = self.answers.answer_curve(rung, [*ts, 1e9], p)
            x_total += curve[-1]
            for k in range(k_points):
                q = curve[k]
                x_mean[k] += q
                x_var[k] += q * (1.0 - q)
        idle = 0
        y_mean = [0.0] * k_points
        y_var = [0.0] * k_points
        wrap_mean = self.wrap.mean()
        talk_h = [t - wrap_mean for t in ts]
        for a in self._agents.values():
            if not a.ready:
                continue
            if a.state is AS.IDLE:
                idle += 1
                continue
            if a.state is AS.TALKING:
                curve = self.talk.end_curve(now - a.since, talk_h)
            elif a.state is AS.WRAP_UP:
                curve = self.wrap.end_curve(now - a.since, ts)
            else:
                continue
            for k in range(k_points):
                f = curve[k]
                y_mean[k] += f
                y_var[k] += f * (1.0 - f)
        target = self.settings.abandon_target
        rate = max(self.rolling_24h.rate(now, target, cfg.feedback_weight),
                   self.rolling_30d.rate(now, target, cfg.feedback_weight))
        hold = min(1.0, (target / rate) ** cfg.gain) if rate > 0 else 1.0
        tau = target * max(cfg.min_factor, min(cfg.max_factor, math.exp(self.correction) * hold))
        lines = int(self.settings.max_lines_per_agent * self._ready_count())
        max_new = max(0, lines - len(self._attempts))
        n = plan_dials(PacingInput(
            tuple(x_mean), tuple(x_var), tuple(m + idle for m in y_mean), tuple(y_var),
            tuple(self.answers.answers_within(0.0, t, p) for t in ts), x_total,
            self.answers.answers_within(0.0, 1e9, p), tau, max_new, idle + y_mean[-1]))
        self.last_plan = n
        for _ in range(n):
            lead = self._take(groups, now)
            if lead is None:
                break
            self._dial(lead, None, "predictive", now)

    def _maybe_finish(self, now: float) -> None:
        # a lead in wrap-up has an open attempt, a reserved one an agent holding it: no scan of the leads
        if self._leads and not self._queue and not self._attempts and not any(
                a.lead_id is not None for a in self._agents.values()):
            self._set_status(campaign_transition(self.status, _FINISH, self.settings.campaign_id), now)

    # ------------------------------------------------------------------ results

    def _settle(self, a: _Attempt, how: TE, code: str, by: str, now: float, *, cause: str | None = None,
                result_event: ev.ResultSet | None = None) -> None:
        a.state = attempt_transition(a.state, how, a.uuid)
        a.version += 1
        self._attempts.pop(a.uuid, None)
        self._pool.pop(a.uuid, None)
        if a.ended_at is None:
            a.ended_at = now
        a.cause = cause or a.cause
        result = self.settings.result(code)
        if a.answered_at is None and not a.manual and how in (TE.FAIL, TE.HANGUP):
            self.answers.add(False, now - a.started_at)
        if result.abandon:
            self._count_abandon(a, now)
        self._out.append(cmd.SetResult(DialAttempt(
            a.uuid, a.lead_id, self.settings.campaign_id, a.number, a.started_at, a.agent_id, a.answered_at,
            a.bridged_at, a.ended_at, a.cause, code, by)))
        if a.agent_id is not None:
            ag = self._agents.get(a.agent_id)
            if ag is not None and ag.uuid == a.uuid:
                if ag.state is AS.WRAP_UP:
                    self.wrap.add(now - ag.since)
                    self._move(ag, AE.WRAP_DONE, now)
                    ag.lead_id, ag.uuid = None, None
                elif ag.state is AS.RESERVED:
                    self._release_agent(ag, "call-ended:" + code, now)
        lead = self._leads.get(a.lead_id)
        if lead is not None and lead.state in (LeadState.DIALING, LeadState.ANSWERED, LeadState.WRAP_UP):
            self._lead_outcome(lead, result, a, result_event, now)

    def _lead_outcome(self, lead: Lead, result: Result, a: _Attempt, e: ev.ResultSet | None, now: float) -> None:
        counts = dict(lead.result_counts)
        counts[result.code] = counts.get(result.code, 0) + 1
        result_counts = tuple(sorted(counts.items()))
        base: dict[str, object] = {"last_result": result.code, "result_counts": result_counts}
        if result.dnc:
            self.own_dnc.add(a.number)
            self._out.append(cmd.AddToDnc(a.number, lead.lead_id))
            self._change(lead, LE.DNC, now, **base)
            return
        if result.callback and e is not None and e.callback_at is not None:
            lead = dataclasses.replace(lead, last_result=result.code, result_counts=result_counts)
            owner = e.agent_id if e.callback_owner_only else None
            self._schedule_callback(lead, Callback(lead.lead_id, e.callback_at, owner, e.note), now)
            return
        more_numbers = len(lead.numbers) > 1 and self._number_index(lead, (lead.number_index + 1)) not in (
            None, lead.number_index)
        if result.final:
            dead = sum(counts.get(c, 0) for c in _NUMBER_RESULTS)
            if result.code in _NUMBER_RESULTS and more_numbers and dead < len(lead.numbers):
                nxt = self._number_index(lead, lead.number_index + 1)
                self._retry(lead, now, lead.number_index if nxt is None else nxt, now, base)
                return
            self._change(lead, LE.FINAL, now, **base)
            return
        if result.retry or result.callback:
            rule = self.settings.retry_rules.get(result.code)
            if rule is not None and counts[result.code] > rule.max_retries:
                self._change(lead, LE.EXHAUSTED, now, **base)
                return
            delay = rule.delay_s if rule is not None else _DAY
            nxt_idx = lead.number_index
            if not result.human_reached and more_numbers:
                nxt_idx = self._number_index(lead, lead.number_index + 1) or 0
            self._retry(lead, now, nxt_idx, now + delay, base)
            return
        self._change(lead, LE.FINAL, now, **base)

    def _retry(self, lead: Lead, now: float, number_index: int, due: float, base: dict[str, object]) -> None:
        if lead.attempts >= self.settings.max_attempts:
            self._change(lead, LE.EXHAUSTED, now, number_index=number_index, **base)
        else:
            self._enqueue(self._change(lead, LE.RETRY, now, number_index=number_index, next_dial_at=due, **base), now)

    # ------------------------------------------------------------------ timers

    def _timer(self, due: float, kind: str, key: str, version: int) -> None:
        self._tseq += 1
        heapq.heappush(self._timers, _Timer(due, self._tseq, kind, key, version))

    def _timer_valid(self, t: _Timer) -> bool:
        if t.kind in ("dial", "bridge", "overflow", "wrap"):
            a = self._attempts.get(t.key)
            return a is not None and a.version == t.version
        if t.kind == "preview":
            ag = self._agents.get(t.key)
            return ag is not None and ag.preview and ag.version == t.version
        lead_id, _, due = t.key.partition("\x00")
        cb = self._callbacks.get(lead_id)
        return cb is not None and repr(cb.due_at) == due

    def _fire_timers(self, now: float) -> None:
        while self._timers and self._timers[0].due <= now:
            t = heapq.heappop(self._timers)
            if not self._timer_valid(t):
                continue
            if t.kind == "dial":
                a = self._attempts[t.key]
                self._out.append(cmd.HangupCall(a.uuid, "NORMAL_CLEARING"))
                self._settle(a, TE.TIMEOUT, ResultCode.SYSTEM_ERROR, "watchdog", now, cause="WATCHDOG")
            elif t.kind == "bridge":
                a = self._attempts[t.key]
                if a.state is TS.ANSWERED and a.agent_id is not None:
                    self._bridged(a, now)        # no word from the bridge: assume it stands (the reconciler checks)
            elif t.kind == "overflow":
                a = self._attempts[t.key]
                self._out.append(cmd.HangupCall(a.uuid, "NORMAL_CLEARING"))
                self._settle(a, TE.TIMEOUT, ResultCode.OVERFLOW, "watchdog", now)
            elif t.kind == "wrap":
                a = self._attempts[t.key]
                self._settle(a, TE.TIMEOUT, self.settings.wrap_up_default_result, "wrap-up-timeout", now)
            elif t.kind == "preview":
                ag = self._agents[t.key]
                self._end_preview(ag, "timeout", now)
                ag.ready = False
                self._sync_idle(ag)
                self._out.append(cmd.AgentSetNotReady(ag.agent_id, "preview-timeout"))
            else:
                lead_id, _, _ = t.key.partition("\x00")
                cb = self._callbacks[lead_id]
                self._out.append(cmd.CallbackReminder(lead_id, cb.agent_id, cb.due_at,
                                                      "before" if t.kind == "remind-before" else "due"))


_FINISH = CampaignEvent.FINISH
_LEAD_CALLBACK_OK = {(s, LE.CALLBACK) for s in (*IDLE_STATES, LeadState.RESERVED, LeadState.DONE,
                                                LeadState.EXHAUSTED)}

_HANDLERS: dict[type, Callable[[Dialer, object, float], None]] = {
    ev.CampaignControl: Dialer._on_control,  # type: ignore[dict-item]
    ev.LeadAdded: Dialer._on_lead_added,  # type: ignore[dict-item]
    ev.LeadRemoved: Dialer._on_lead_removed,  # type: ignore[dict-item]
    ev.DncAdded: Dialer._on_dnc_added,  # type: ignore[dict-item]
    ev.DncRemoved: Dialer._on_dnc_removed,  # type: ignore[dict-item]
    ev.AgentReady: Dialer._on_agent_ready,  # type: ignore[dict-item]
    ev.AgentNotReady: Dialer._on_agent_not_ready,  # type: ignore[dict-item]
    ev.AgentTalking: Dialer._on_agent_talking,  # type: ignore[dict-item]
    ev.AgentWrapUp: Dialer._on_agent_wrap,  # type: ignore[dict-item]
    ev.AgentWrapDone: Dialer._on_agent_wrap_done,  # type: ignore[dict-item]
    ev.OriginateAnswered: Dialer._on_answered,  # type: ignore[dict-item]
    ev.OriginateFailed: Dialer._on_failed,  # type: ignore[dict-item]
    ev.Bridged: Dialer._on_bridged,  # type: ignore[dict-item]
    ev.BridgeFailed: Dialer._on_bridge_failed,  # type: ignore[dict-item]
    ev.CallHungUp: Dialer._on_hangup,  # type: ignore[dict-item]
    ev.ResultSet: Dialer._on_result,  # type: ignore[dict-item]
    ev.CallbackScheduled: Dialer._on_callback,  # type: ignore[dict-item]
    ev.PreviewDial: Dialer._on_preview_dial,  # type: ignore[dict-item]
    ev.PreviewSkip: Dialer._on_preview_skip,  # type: ignore[dict-item]
    ev.ClickToDial: Dialer._on_click,  # type: ignore[dict-item]
    ev.Tick: Dialer._on_tick,  # type: ignore[dict-item]
}
