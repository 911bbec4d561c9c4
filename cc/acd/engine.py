"""The ACD engine: ``Acd.handle(event, now) -> commands``; routing runs only on events, never by polling.

Each call to ``handle`` (or a config method) runs the same steps: validate the event (nothing changes
if it is refused), fire the timers due by ``now``, apply the event, fire timers again (a zero wait is
due at once), route, and finally emit the announcements that fell due for members still waiting (an
Offer made in the same step wins over an announcement). Routing serves, in order: agents that became
free (each takes the best-scored waiting member it is eligible for, across its queues), then members
that became routable — joined, back from a missed offer, relaxed, or in a queue whose rules or staffing
changed — best score first, each taking the agent its queue's strategy ranks first.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import random
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any, Literal

from cc.acd import events as ev
from cc.acd.agent_state import TABLE, AgentEvent, transition
from cc.acd.commands import (
    AcdCommand,
    AgentAutoBreak,
    AgentStateChanged,
    Announce,
    CancelOffer,
    Connect,
    Exit,
    Offer,
    OfferCallback,
)
from cc.acd.reference import ReferenceRouter
from cc.acd.router import IndexedRouter, Router
from cc.acd.skills import OPS, Signature, signature, step_at
from cc.acd.state import (
    STAFFED,
    AgentRt,
    CallRt,
    MemberRt,
    MemberState,
    OfferRt,
    QueueRt,
    Timer,
    TimerKind,
    World,
)
from cc.acd.strategies import next_tier_at
from cc.acd.views import AcdSnapshot, AgentView, MemberView, QueueView
from cc.errors import AcdError, Conflict, InvalidTransition, InvalidValue, NotFound
from cc.model import Agent, AgentState, AgentStatus, ExitReason, QueueConfig, SkillStep, Strategy, Tier

__all__ = ["Acd"]

log = logging.getLogger(__name__)

_FAIL_DELAY = {
    AgentEvent.NO_ANSWER: "no_answer_delay_s",
    AgentEvent.BUSY: "busy_delay_s",
    AgentEvent.REJECT: "reject_delay_s",
}
_OFFER_EVENTS: dict[type, AgentEvent] = {
    ev.AgentNoAnswer: AgentEvent.NO_ANSWER,
    ev.AgentBusy: AgentEvent.BUSY,
    ev.AgentRejected: AgentEvent.REJECT,
    ev.OfferWithdrawn: AgentEvent.CANCEL,
}


def _column(event: AgentEvent) -> dict[AgentState, AgentState]:
    """One event's column of the agent state table (a state it lacks goes through ``transition``, which
    raises)."""
    return {s: t for (s, e), t in TABLE.items() if e is event}


# enum members bound to module names for the per-event paths: reading a member off its class goes through
# EnumType.__getattr__ (Python 3.11), ten times the cost of a global
_IDLE, _IN_CALL, _WRAP_UP = AgentState.IDLE, AgentState.IN_CALL, AgentState.WRAP_UP
_ON_DEMAND = AgentStatus.AVAILABLE_ON_DEMAND
_ROUND_ROBIN = Strategy.ROUND_ROBIN
_WAITING, _OFFERING = MemberState.WAITING, MemberState.OFFERING
_T_MAX_WAIT, _T_NO_AGENT, _T_QUEUE_NO_AGENT = TimerKind.MAX_WAIT, TimerKind.NO_AGENT, TimerKind.QUEUE_NO_AGENT
_T_RELAX, _T_TIER, _T_ANNOUNCE = TimerKind.RELAX, TimerKind.TIER, TimerKind.ANNOUNCE
_T_OFFER, _T_READY, _T_WRAP = TimerKind.OFFER, TimerKind.READY, TimerKind.WRAP

_RESERVE = _column(AgentEvent.RESERVE)
_ANSWER = _column(AgentEvent.ANSWER)
_HANGUP = _column(AgentEvent.HANGUP)
_WRAP_DONE = _column(AgentEvent.WRAP_DONE)


def _entry_of(m: MemberRt) -> tuple[float, int, str]:
    return m.entry


def _nothing(_: object) -> None:
    """Apply nothing (a Tick only lets time pass)."""


def _call(apply: Callable[[], None]) -> None:
    """Apply an event validated by ``Acd._validate`` (its closure)."""
    apply()


_NO_CALLER: Mapping[str, str] = MappingProxyType({})
"""The caller data of a member that joined without any (shared: a member's caller data is never changed)."""


class Acd:
    """The automatic call distributor: queues, agents, tiers and members in memory; pure and synchronous.

    ``router="indexed"`` (default) decides in O(log n) from sorted indexes; ``router="reference"`` scans
    everything (slow, obviously correct) and must make exactly the same decisions.

    ``answer_at_once=True`` is for simulations whose agents answer every offer the moment it is made: each
    offer is answered in the step that makes it (its Offer is followed by the agent's state change and the
    Connect in the same command list, no offer timer runs and no AgentAnswered is expected). The commands
    and the state are those of the default engine sent AgentAnswered for the first offer of each member at
    the same ``now`` (ring-all: the first agent offered takes the call, the others are cancelled).

    ``agent_state_commands=False`` is for a controller that keeps no agent-state log (a simulation): the
    engine then emits no AgentStateChanged; every other command, and every decision, stays the same.
    """

    # slots: attribute reads are the engine's most frequent operation, and an instance dict with this many
    # keys would no longer share its keys (CPython 3.11), which makes every ``self.x`` slower
    __slots__ = (
        "_agent_states", "_agents", "_announce_due", "_answer_at_once", "_carry", "_default_aht_s",
        "_dirty_agents", "_dirty_members", "_dirty_queues", "_ended_offers", "_fresh", "_info", "_member_seq",
        "_members", "_now", "_offer_seq", "_offers", "_out", "_queues", "_random", "_rng", "_router",
        "_steps", "_timer_seq", "_timers", "_unindexed", "_w", "connected", "exited", "joined",
    )

    def __init__(self, queues: Iterable[QueueConfig] = (), agents: Iterable[Agent] = (),
                 tiers: Iterable[Tier] = (), *, rng_seed: int = 0, now: float = 0.0,
                 router: Literal["indexed", "reference"] = "indexed", default_aht_s: float = 180.0,
                 answer_at_once: bool = False, agent_state_commands: bool = True) -> None:
        self._w = World()
        self._agents = self._w.agents  # the world's dicts, never replaced: one attribute lookup less per use
        self._queues = self._w.queues
        self._answer_at_once = bool(answer_at_once)
        self._agent_states = bool(agent_state_commands)
        self._router: Router = IndexedRouter(self._w) if router == "indexed" else ReferenceRouter(self._w)
        self._rng = random.Random(rng_seed)
        self._random = self._rng.random
        self._now = float(now)
        self._default_aht_s = float(default_aht_s)
        self._timers: list[tuple[float, int, Timer]] = []
        self._timer_seq = itertools.count()
        self._member_seq = itertools.count()
        self._offer_seq = itertools.count(1)
        self._members: dict[str, MemberRt] = {}
        self._offers: dict[str, OfferRt] = {}
        self._ended_offers: OrderedDict[str, tuple[str, str]] = OrderedDict()
        self._out: list[AcdCommand] = []
        self._carry: list[AcdCommand] | None = None  # commands of timers fired in a step that then failed
        self._dirty_agents: dict[str, AgentRt] = {}
        self._unindexed: dict[str, AgentRt] = {}
        self._dirty_members: dict[str, MemberRt] = {}
        self._dirty_queues: dict[str, QueueRt] = {}
        self._announce_due: dict[str, MemberRt] = {}
        self._fresh: MemberRt | None = None  # joined in this step, not yet in line (see ``_run``)
        self._info: bool | None = None  # INFO logging is on (asked at most once per step, see ``_logs``)
        self.joined = 0
        self.connected = 0
        self.exited = 0
        # exact event type -> its validation and step (subclasses and foreign objects go through ``_validate``)
        self._steps: dict[type, Callable[[Any, float], list[AcdCommand]]] = {
            ev.Tick: self._s_tick,
            ev.MemberJoined: self._s_join,
            ev.CallEnded: self._s_call_ended,
            ev.AgentAnswered: self._s_offer_result,
        }
        for q in queues:
            self._add_queue(q)
        for a in agents:
            self._add_agent(a)
        for t in tiers:
            self._check_tier(t)
            self._put_tier(t)
        self._dirty_agents.clear()

    # == public API ==================================================================================

    @property
    def world(self) -> World:
        """The engine's live state, for the reference checks in tests and the bench; never mutate it."""
        return self._w

    @property
    def router(self) -> Router:
        """The router in use (indexed or reference)."""
        return self._router

    @property
    def now(self) -> float:
        """The latest time the engine was given."""
        return self._now

    def handle(self, event: ev.AcdEvent, now: float) -> list[AcdCommand]:
        """Apply ``event`` at time ``now`` and return the commands to carry out, in order.

        Raises NotFound / Conflict / InvalidValue / InvalidTransition / AcdError for an event that cannot
        apply; the engine is then unchanged by that event (commands of timers that fell due are kept and
        returned by the next call).
        """
        if type(now) is not float or not now >= self._now:
            now = self._check_time(now)
        step = self._steps.get(type(event))
        if step is None:
            return self._run(now, _call, self._validate(event, now))
        return step(event, now)

    def next_wakeup(self) -> float | None:
        """When the runtime must call ``handle(Tick(), t)`` next (None: no timer pending)."""
        timers = self._timers
        while timers and not timers[0][2].active:
            heapq.heappop(timers)
        return timers[0][0] if timers else None

    # -- configuration at run time (members are never lost) -------------------------------------------

    def set_queue(self, cfg: QueueConfig, now: float) -> list[AcdCommand]:
        """Add a queue or change its configuration; waiting members keep their place."""
        now = self._check_time(now)
        self._check_queue_cfg(cfg)
        return self._run(now, self._put_queue, cfg)

    def remove_queue(self, name: str, now: float) -> list[AcdCommand]:
        """Remove a queue and its tiers; refused (Conflict) while members are in it."""
        now = self._check_time(now)
        q = self._queue(name)
        if q.members:
            raise Conflict("queue", name, f"still has {len(q.members)} member(s)")
        return self._run(now, self._drop_queue, q)

    def set_agent(self, cfg: Agent, now: float) -> list[AcdCommand]:
        """Add an agent (logged out) or change its configuration (skills, contact, delays ...)."""
        now = self._check_time(now)
        self._check_agent_cfg(cfg)
        return self._run(now, self._put_agent, cfg)

    def remove_agent(self, agent_id: str, now: float) -> list[AcdCommand]:
        """Remove an agent and its tiers; refused (Conflict) while reserved, in a call or wrapping up."""
        now = self._check_time(now)
        a = self._agent(agent_id)
        if a.state is not AgentState.IDLE or a.offer is not None or a.call is not None:
            raise Conflict("agent", agent_id, f"is {a.state}")
        return self._run(now, self._drop_agent, a)

    def set_tier(self, tier: Tier, now: float) -> list[AcdCommand]:
        """Put an agent in a queue at a level and position (or move it there)."""
        now = self._check_time(now)
        self._check_tier(tier)
        return self._run(now, self._put_tier, tier)

    def remove_tier(self, agent_id: str, queue: str, now: float) -> list[AcdCommand]:
        """Take an agent out of a queue (an offer or call in progress finishes normally)."""
        now = self._check_time(now)
        a = self._agent(agent_id)
        q = self._queue(queue)
        if queue not in a.tiers:
            raise NotFound("tier", (agent_id, queue))
        return self._run(now, _call, lambda: self._drop_tier(a, q))

    # -- queries ---------------------------------------------------------------------------------------

    def has_queue(self, name: str) -> bool:
        """Whether a queue of that name exists."""
        return name in self._queues

    def has_agent(self, agent_id: str) -> bool:
        """Whether an agent with that id exists."""
        return agent_id in self._agents

    def queue_config(self, name: str) -> QueueConfig:
        """The queue's current configuration (NotFound if there is none)."""
        return self._queue(name).cfg

    def agent_config(self, agent_id: str) -> Agent:
        """The agent's current configuration (NotFound if there is none)."""
        return self._agent(agent_id).cfg

    def member_queue(self, member_uuid: str) -> str | None:
        """The queue a member is in (waiting or being offered), or None."""
        m = self._members.get(member_uuid)
        return m.queue if m is not None else None

    def position(self, member_uuid: str) -> int | None:
        """1-based place in line of a waiting member (None while it is being offered)."""
        m = self._member(member_uuid)
        if m.state is not MemberState.WAITING:
            return None
        return int(self._queues[m.queue].waiting.bisect_left(m.entry)) + 1

    def ewt(self, member_uuid: str) -> float | None:
        """Expected wait: position x average handle time / staffed agents (None: nobody staffed)."""
        m = self._member(member_uuid)
        pos = self.position(member_uuid)
        return self._ewt(self._queues[m.queue], pos if pos is not None else 0)

    def members(self, queue: str | None = None, now: float | None = None) -> list[MemberView]:
        """Members (waiting and being offered), best score first, optionally of one queue."""
        at = self._now if now is None else now
        qs = [self._queue(queue)] if queue is not None else list(self._queues.values())
        views: list[MemberView] = []
        for q in qs:
            waiting = [q.members[e[2]] for e in q.waiting]
            offering = sorted((m for m in q.members.values() if m.state is MemberState.OFFERING),
                              key=lambda m: m.entry)
            for i, m in enumerate(waiting, 1):
                views.append(self._member_view(q, m, i, at))
            for m in offering:
                views.append(self._member_view(q, m, None, at))
        return views

    def agents(self, now: float | None = None) -> list[AgentView]:
        """Every agent, sorted by id."""
        at = self._now if now is None else now
        return [self._agent_view(a, at) for a in sorted(self._agents.values(), key=lambda a: a.id)]

    def queues(self, now: float | None = None) -> list[QueueView]:
        """Every queue, sorted by name."""
        at = self._now if now is None else now
        return [self._queue_view(q, at) for q in sorted(self._queues.values(), key=lambda q: q.name)]

    def snapshot(self, now: float | None = None) -> AcdSnapshot:
        """Queues, agents and members at once (for ``ccctl queue show``, dashboards and tests)."""
        at = self._now if now is None else now
        return AcdSnapshot(at=at, queues=tuple(self.queues(at)), agents=tuple(self.agents(at)),
                           members=tuple(self.members(None, at)), joined=self.joined,
                           connected=self.connected, exited=self.exited)

    # == the step =====================================================================================

    def _check_time(self, now: float) -> float:
        """``now`` as a float, if it is a time not before the last one."""
        if not isinstance(now, int | float) or now != now:  # NaN
            raise InvalidValue("now", now, "expected a number of seconds")
        if now < self._now:
            raise AcdError(f"time went backwards: now={now!r} < last {self._now!r}")
        return float(now)

    def _run(self, now: float, apply: Callable[[Any], None], arg: Any) -> list[AcdCommand]:
        """One step at ``now``: due timers, ``apply(arg)`` (the event, validated), timers, routing, announcements."""
        out = self._carry
        if out is None:
            out = []
        else:
            self._carry = None
        self._out = out
        timers = self._timers
        try:
            self._now = now  # a float (``_check_time``)
            self._info = None  # INFO logging on? asked the first time a step logs
            if timers and timers[0][0] <= now:
                self._fire_timers(now)
            apply(arg)
            m = self._fresh
            if m is not None:
                self._fresh = None
                if (not self._dirty_members and not self._dirty_agents and not self._dirty_queues
                        and not self._unindexed and not (timers and timers[0][0] <= now)):
                    # the new member alone is routable and no timer is due: exactly what ``_route`` would
                    # do, without putting the member in line and taking it out again when an agent is free
                    picked = self._router.pick_agents(m, now)
                    if picked:
                        self._offer(m, picked, now, False)
                    else:
                        self._index_member(m)
                else:
                    self._index_member(m)
                    self._dirty_members[m.uuid] = m
            if timers and timers[0][0] <= now:
                self._fire_timers(now)
            if self._dirty_agents or self._dirty_members or self._dirty_queues:
                self._route(now)
            if self._announce_due:
                self._announce(now)
        except BaseException:
            self._index_fresh()
            self._carry = out
            self._out = []
            raise
        self._out = []
        return out

    # -- validation (nothing may change before it passes) ------------------------------------------------

    # the steps of the frequent events: validate (nothing changes if that fails), then run the step

    def _s_tick(self, event: ev.Tick, now: float) -> list[AcdCommand]:
        return self._run(now, _nothing, None)

    def _s_call_ended(self, event: ev.CallEnded, now: float) -> list[AcdCommand]:
        a = self._agents.get(event.agent_id) if type(event.agent_id) is str else None
        if a is None:
            return self._run(now, _call, self._validate(event, now))
        if a.call is None or a.state is not _IN_CALL:
            raise InvalidTransition(a.state, AgentEvent.HANGUP, a.id)
        return self._run(now, self._on_call_ended, a)

    def _s_offer_result(self, event: ev.AgentAnswered, now: float) -> list[AcdCommand]:
        a = self._agents.get(event.agent_id) if type(event.agent_id) is str else None
        if a is None:
            return self._run(now, _call, self._validate(event, now))
        offer = self._offers.get(event.offer_id)
        if offer is not None and offer.agent is not a:
            raise AcdError(f"offer {event.offer_id} is for agent {offer.agent.id}, not {a.id}")
        return self._run(now, self._on_offer_result, event)

    def _s_join(self, event: ev.MemberJoined, now: float) -> list[AcdCommand]:
        self._check_join(event, now)
        return self._run(now, self._on_member_joined, event)

    def _validate(self, event: object, now: float) -> Callable[[], None]:
        if isinstance(event, ev.Tick):
            return lambda: None
        if isinstance(event, ev.MemberJoined):
            self._check_join(event, now)
            return lambda: self._on_member_joined(event)
        if isinstance(event, ev.MemberLeft):
            if not isinstance(event.reason, ExitReason):
                raise InvalidValue("MemberLeft.reason", event.reason, "expected an ExitReason")
            return lambda: self._on_member_left(event)
        if isinstance(event, ev.CallbackRequested):
            self._member(event.member_uuid)
            if not isinstance(event.number, str) or not event.number.strip():
                raise InvalidValue("CallbackRequested.number", event.number, "expected a phone number")
            return lambda: self._on_callback(event)
        if isinstance(event, ev.CountersReset):
            return self._on_counters_reset
        agent_id = getattr(event, "agent_id", None)
        if not isinstance(agent_id, str):
            raise AcdError(f"not an ACD event: {event!r}")
        a = self._agent(agent_id)
        if isinstance(event, ev.AgentLogin | ev.AgentStatusChanged):
            status = event.status
            if not isinstance(status, AgentStatus):
                raise InvalidValue(f"{type(event).__name__}.status", status, "expected an AgentStatus")
            return lambda: self._set_status(a, status, event.reason)
        if isinstance(event, ev.AgentLogout):
            return lambda: self._set_status(a, AgentStatus.LOGGED_OUT, event.reason)
        if isinstance(event, ev.AgentRinging | ev.AgentAnswered | ev.AgentNoAnswer | ev.AgentBusy
                      | ev.AgentRejected | ev.OfferWithdrawn):
            offer = self._offers.get(event.offer_id)
            if offer is not None and offer.agent is not a:
                raise AcdError(f"offer {event.offer_id} is for agent {offer.agent.id}, not {a.id}")
            return lambda: self._on_offer_result(event)
        if isinstance(event, ev.CallEnded):
            if a.call is None or a.state is not AgentState.IN_CALL:
                raise InvalidTransition(a.state, AgentEvent.HANGUP, a.id)
            return lambda: self._on_call_ended(a)
        if isinstance(event, ev.AgentInCall):
            if a.state is not AgentState.IDLE or a.offer is not None or a.call is not None:
                raise InvalidTransition(a.state, AgentEvent.ADOPT, a.id)
            return lambda: self._on_in_call(a, event)
        if isinstance(event, ev.WrapUpDone):
            if a.state is AgentState.IN_CALL:  # anything else is a harmless race with the wrap-up timer
                raise InvalidTransition(a.state, AgentEvent.WRAP_DONE, a.id)
            return lambda: self._on_wrap_up_done(a)
        raise AcdError(f"not an ACD event: {event!r}")

    def _check_join(self, e: ev.MemberJoined, now: float) -> None:
        uuid = e.member_uuid
        if (type(uuid) is not str and not isinstance(uuid, str)) or not uuid:
            raise InvalidValue("MemberJoined.member_uuid", uuid, "expected a non-empty string")
        if e.queue not in self._queues:
            raise NotFound("queue", e.queue)
        if uuid in self._members:
            raise Conflict("member", uuid, f"is in queue {self._members[uuid].queue}")
        priority = e.priority
        if type(priority) is not int and (isinstance(priority, bool) or not isinstance(priority, int)):
            raise InvalidValue("MemberJoined.priority", priority, "expected an integer")
        if e.joined_at is not None and (not isinstance(e.joined_at, int | float) or e.joined_at > now):
            raise InvalidValue("MemberJoined.joined_at", e.joined_at, "must be a time not after now")
        if e.skill_steps:
            self._check_steps(e.skill_steps)

    @staticmethod
    def _check_steps(steps: tuple[SkillStep, ...]) -> None:
        for i, step in enumerate(steps):
            if not isinstance(step, SkillStep):
                raise InvalidValue(f"MemberJoined.skill_steps[{i}]", step, "expected a SkillStep")
            if step.for_s is not None and step.for_s < 0:
                raise InvalidValue(f"MemberJoined.skill_steps[{i}].for_s", step.for_s, "must not be negative")
            for r in step.require:
                if r.op not in OPS:
                    raise InvalidValue(f"MemberJoined.skill_steps[{i}].require.{r.skill}", r.op,
                                       f"unknown operator (one of {', '.join(OPS)})")

    # -- timers -------------------------------------------------------------------------------------------

    def _schedule(self, due: float, kind: TimerKind, target: object, since: float | None = None) -> Timer:
        t = Timer(due=due, kind=kind, target=target, since=since)
        heapq.heappush(self._timers, (due, next(self._timer_seq), t))
        if isinstance(target, MemberRt):
            target.timers.append(t)
        return t

    def _fire_timers(self, now: float) -> None:
        timers = self._timers
        while timers and timers[0][0] <= now:
            _due, _seq, t = heapq.heappop(timers)
            if not t.active:
                continue
            t.active = False
            target = t.target
            if isinstance(target, MemberRt):
                if target.timers:
                    try:
                        target.timers.remove(t)
                    except ValueError:
                        pass
                if self._members.get(target.uuid) is not target:
                    continue
                self._fire_member_timer(t, target, now)
            elif t.kind is _T_OFFER:
                offer: OfferRt = target
                if self._offers.get(offer.offer_id) is offer:
                    log.info("offer %s timed out: member %s agent %s", offer.offer_id, offer.member.uuid,
                             offer.agent.id)
                    self._end_offer(offer, AgentEvent.NO_ANSWER, now, cancel_reason="timeout")
            elif t.kind is _T_READY:
                agent: AgentRt = target
                if agent.timer is t:
                    agent.timer = None
                self._refresh(agent, now)
            elif t.kind is _T_WRAP:
                agent = target
                if agent.timer is t:
                    agent.timer = None
                if agent.state is _WRAP_UP:
                    self._wrap_done(agent, now)
            elif t.kind is _T_QUEUE_NO_AGENT:
                q: QueueRt = target
                self._queue_no_agent(q, t, now)

    def _fire_member_timer(self, t: Timer, m: MemberRt, now: float) -> None:
        q = self._queues[m.queue]
        kind = t.kind
        if kind is _T_MAX_WAIT:
            self._exit(m, ExitReason.TIMEOUT, now)
        elif kind is _T_NO_AGENT:
            x = q.cfg.max_wait_no_agent_s
            if q.staffed_total == 0 and q.no_agent_since is not None and x is not None:
                due = max(m.joined_at, q.no_agent_since) + x
                if now >= due:
                    self._exit(m, ExitReason.NO_AGENT, now)
                else:
                    self._schedule(due, TimerKind.NO_AGENT, m)
        elif kind is _T_RELAX:
            self._relax(m, now)
        elif kind is _T_TIER:
            if m.state is _WAITING:
                self._dirty_members[m.uuid] = m
            nxt = next_tier_at(q, m.joined_at, now)
            if nxt is not None:
                self._schedule(nxt, TimerKind.TIER, m)
        elif kind is _T_ANNOUNCE:
            if m.state is _WAITING and m.callback_number is None:
                self._announce_due[m.uuid] = m
            interval = q.cfg.announce_interval_s
            if q.cfg.announce_position and interval > 0 and m.callback_number is None:
                nxt = t.due + interval
                self._schedule(nxt if nxt > now else now + interval, TimerKind.ANNOUNCE, m)

    def _queue_no_agent(self, q: QueueRt, t: Timer, now: float) -> None:
        x = q.cfg.max_wait_no_agent_s
        if self._queues.get(q.name) is not q or x is None:
            return
        if q.staffed_total != 0 or q.no_agent_since is None or q.no_agent_since != t.since:
            return
        for m in sorted(q.members.values(), key=lambda m: m.entry):
            if m.callback_number is None and now >= max(m.joined_at, q.no_agent_since) + x:
                self._exit(m, ExitReason.NO_AGENT, now)

    def _relax(self, m: MemberRt, now: float) -> None:
        step, relax_at = step_at(m.steps, m.joined_at, now)
        sig = signature(m.steps[step].require) if m.steps else ()
        m.step = step
        if sig != m.sig:
            log.debug("member %s relaxes to step %d %s", m.uuid, step, sig)
            self._change_sig(m, sig)
        if relax_at is not None:
            self._schedule(relax_at, TimerKind.RELAX, m)

    def _change_sig(self, m: MemberRt, sig: Signature) -> None:
        if m.state is MemberState.WAITING:
            self._router.member_unwaiting(m)
            m.sig = sig
            self._router.member_waiting(m)
            self._dirty_members[m.uuid] = m
        else:
            m.sig = sig

    # -- routing --------------------------------------------------------------------------------------

    def _route(self, now: float) -> None:
        router = self._router
        dirty_agents = self._dirty_agents
        if len(dirty_agents) == 1 and not self._dirty_members and not self._dirty_queues:
            # one agent freed and nothing else to route (a hang-up): the first pass of the loop below, made
            # short; offering one agent to a waiting member makes nothing else routable
            a = dirty_agents.popitem()[1]
            if a.free and self._members:  # (no member at all: none to pick)
                m = router.pick_member(a, now)
                if m is not None:
                    self._offer(m, [a], now)
            unindexed = self._unindexed
            while unindexed:
                router.agent_free(unindexed.popitem()[1])
        while self._dirty_agents or self._dirty_members or self._dirty_queues:
            # 0. a queue whose rules or staffing changed makes all its waiting members newly routable
            if self._dirty_queues:
                for q in self._dirty_queues.values():
                    if self._queues.get(q.name) is q:
                        for entry in q.waiting:
                            self._dirty_members[entry[2]] = q.members[entry[2]]
                self._dirty_queues.clear()
            # 1. agents that became free take the best waiting member they may serve, unless that member
            #    is itself newly routable: then the member's strategy chooses (step 2) among all free agents
            dirty_members = self._dirty_members
            pending: dict[str, AgentRt] = {}
            if self._dirty_agents:
                agents = list(self._dirty_agents.values())
                self._dirty_agents.clear()
                for a in agents:
                    if a.free:
                        m = router.pick_member(a, now)
                        if m is None:
                            continue
                        if m.uuid in dirty_members:
                            pending[a.id] = a
                        else:
                            self._offer(m, [a], now)
            # agents freed by this event enter the indexes only now, if nobody took them in step 1
            # (when members wait, a freed agent is taken at once and never touches the indexes)
            if self._unindexed:
                for a in self._unindexed.values():
                    router.agent_free(a)
                self._unindexed.clear()
            # 2. newly routable members, best score first, each per its queue's strategy; a pending agent
            #    still goes to the best member it may serve (nobody is passed over)
            if dirty_members:
                if len(dirty_members) == 1:
                    members = list(dirty_members.values())
                else:
                    members = sorted(dirty_members.values(), key=_entry_of)
                self._dirty_members = {}
                for m in members:
                    while m.state is _WAITING and self._members.get(m.uuid) is m:
                        picked = router.pick_agents(m, now)
                        if not picked:
                            break
                        claimed = False
                        if pending:
                            for a in picked:
                                if a.id in pending:
                                    best = router.pick_member(a, now)
                                    if best is not None and best is not m:
                                        self._offer(best, [a], now)
                                        claimed = True
                                        break
                        if not claimed:
                            self._offer(m, picked, now)
            # 3. pending agents nobody took
            for a in pending.values():
                if a.free:
                    m = router.pick_member(a, now)
                    if m is not None:
                        self._offer(m, [a], now)

    def _logs(self) -> bool:
        """Whether INFO lines are logged (asked of the logger once per step)."""
        info = self._info
        if info is None:
            info = self._info = log.isEnabledFor(logging.INFO)
        return info

    def _index_member(self, m: MemberRt) -> None:
        """Put a new member in line: the queue's waiting list and the router's indexes."""
        self._queues[m.queue].waiting.add(m.entry)
        self._router.member_waiting(m)

    def _index_fresh(self) -> None:
        """The member that joined in this step enters the line as a newly routable member."""
        m = self._fresh
        self._fresh = None
        if m is not None:
            self._index_member(m)
            self._dirty_members[m.uuid] = m

    def _offer(self, m: MemberRt, agents: list[AgentRt], now: float, waiting: bool = True) -> None:
        """Reserve ``agents`` for ``m`` and offer it to them (``waiting``: ``m`` is in line, not a new member)."""
        q = self._queues[m.queue]
        if waiting:
            self._router.member_unwaiting(m)
            q.waiting.remove(m.entry)
        m.state = _OFFERING
        number = m.callback_number
        if number is not None:
            agents = agents[:1]
        first = agents[0]
        qname = q.name
        if q.cfg.strategy is _ROUND_ROBIN:  # only round-robin reads it (and a new strategy resets it)
            q.rr_last = (first.tiers[qname].position, first.id)
        timeout = q.cfg.offer_timeout_s
        at_once = self._answer_at_once
        if at_once and len(agents) == 1:
            self._connect_at_once(m, first, q, timeout, now)
            return
        out = self._out
        unindexed = self._unindexed
        agent_unfree = self._router.agent_unfree
        first_offer: OfferRt | None = None
        for a in agents:
            unindexed.pop(a.id, None)  # ``_unfree``
            agent_unfree(a)
            a.free = False
            state = _RESERVE.get(a.state)
            a.state = state if state is not None else transition(a.state, AgentEvent.RESERVE, a.id)
            a.state_since = now
            a.last_offered_at = now
            oid = f"o{next(self._offer_seq)}"
            offer = OfferRt(oid, m, a, qname, now)
            if first_offer is None:
                first_offer = offer
            if not at_once:  # an offer answered in this very step needs no timer
                timer = offer.timer = Timer(now + timeout, TimerKind.OFFER, offer)
                heapq.heappush(self._timers, (timer.due, next(self._timer_seq), timer))
            a.offer = offer
            m.offers[oid] = offer
            self._offers[oid] = offer
            if self._agent_states:
                out.append(AgentStateChanged(a.id, a.status, a.state, a.reason, now))
            if self._logs():
                log.info("offer %s: member %s queue %s -> agent %s", oid, m.uuid, qname, a.id)
            if number is not None:
                out.append(OfferCallback(oid, m.uuid, qname, a.id, a.cfg.contact, number, timeout))
            else:
                out.append(Offer(oid, m.uuid, qname, a.id, a.cfg.contact, timeout))
        if at_once and first_offer is not None:
            self._answer(first_offer, now)

    def _connect_at_once(self, m: MemberRt, a: AgentRt, q: QueueRt, timeout: float, now: float) -> None:
        """Offer ``m`` to ``a`` and answer at once (``answer_at_once``, one agent): the commands and state of
        ``_offer`` then ``_answer``, without the offer record that would live in between."""
        aid = a.id
        qname = q.name
        if self._unindexed:  # ``_unfree``
            self._unindexed.pop(aid, None)
        self._router.agent_unfree(a)
        a.free = False
        state = _RESERVE.get(a.state)
        a.state = state if state is not None else transition(a.state, AgentEvent.RESERVE, aid)
        a.last_offered_at = now
        oid = f"o{next(self._offer_seq)}"
        uuid = m.uuid
        number = m.callback_number
        out = self._out
        agent_states = self._agent_states
        if agent_states:
            out.append(AgentStateChanged(aid, a.status, a.state, a.reason, now))
        info = self._info
        if info is None:
            info = self._logs()
        if info:
            log.info("offer %s: member %s queue %s -> agent %s", oid, uuid, qname, aid)
        if number is not None:
            out.append(OfferCallback(oid, uuid, qname, aid, a.cfg.contact, number, timeout))
        else:
            out.append(Offer(oid, uuid, qname, aid, a.cfg.contact, timeout))
        state = _ANSWER.get(a.state)
        a.state = state if state is not None else transition(a.state, AgentEvent.ANSWER, aid)
        a.state_since = now
        a.no_answer_count = 0
        a.calls_answered += 1
        a.call = CallRt(uuid, qname, oid, now)
        if agent_states:
            out.append(AgentStateChanged(aid, a.status, a.state, a.reason, now))
        self._remove_member(m, q)
        self.connected += 1
        if info:
            log.info("member %s connected to agent %s (offer %s)", uuid, aid, oid)
        out.append(Connect(oid, uuid, qname, aid, now - m.joined_at, number))

    def _announce(self, now: float) -> None:
        if not self._announce_due:
            return
        due = sorted(self._announce_due.values(), key=lambda m: m.entry)
        self._announce_due.clear()
        for m in due:
            alive = self._members.get(m.uuid) is m
            if alive and m.state is MemberState.WAITING and m.callback_number is None:
                q = self._queues[m.queue]
                pos = int(q.waiting.bisect_left(m.entry)) + 1
                self._out.append(Announce(m.uuid, q.name, pos, self._ewt(q, pos)))

    # -- agents --------------------------------------------------------------------------------------

    def _emit_agent(self, a: AgentRt, now: float) -> None:
        if self._agent_states:
            self._out.append(AgentStateChanged(a.id, a.status, a.state, a.reason, now))

    def _refresh(self, a: AgentRt, now: float) -> None:
        """Make ``a.free`` (and the router's indexes) agree with the agent's status, state and delay."""
        if a.status in STAFFED and a.state is _IDLE and a.offer is None and a.call is None:  # ready
            if a.ready_at <= now:
                if a.tiers:  # should be free
                    if not a.free:
                        a.free = True
                        a.idle_since = now
                        a.rand_ticket = self._random()
                        self._unindexed[a.id] = a
                        self._dirty_agents[a.id] = a
                    return
            else:  # ready once its delay is over
                if a.free:
                    self._unfree(a)
                if a.timer is None or not a.timer.active:
                    a.timer = self._schedule(a.ready_at, _T_READY, a)
                return
        if a.free:
            self._unfree(a)

    def _unfree(self, a: AgentRt) -> None:
        self._unindexed.pop(a.id, None)
        self._router.agent_unfree(a)
        a.free = False

    def _set_status(self, a: AgentRt, status: AgentStatus, reason: str | None) -> None:
        now = self._now
        if status is a.status and reason == a.reason:
            return
        was, becomes = a.status in STAFFED, status in STAFFED
        if was != becomes:
            for qname, tier in a.tiers.items():
                self._staff(self._queues[qname], tier.level, 1 if becomes else -1, now)
        if status is not a.status:
            a.status_since = now
        a.status = status
        a.reason = reason
        if becomes and not was:
            a.no_answer_count = 0
        log.info("agent %s status %s (%s)", a.id, status, reason or "-")
        self._emit_agent(a, now)
        if not becomes and a.offer is not None:
            self._end_offer(a.offer, AgentEvent.CANCEL, now, cancel_reason=f"agent {status}")
        self._refresh(a, now)

    def _staff(self, q: QueueRt, level: int, delta: int, now: float) -> None:
        before = q.staffed.get(level, 0)
        q.staffed[level] = before + delta
        q.staffed_total += delta
        if q.staffed_total == 0 and delta < 0:
            q.no_agent_since = now
            if q.cfg.max_wait_no_agent_s is not None:
                self._schedule(now + q.cfg.max_wait_no_agent_s, TimerKind.QUEUE_NO_AGENT, q, since=now)
        elif q.staffed_total == delta and delta > 0:
            q.no_agent_since = None
        crossed = (before == 0) != (before + delta == 0)
        if q.cfg.tier_rules_apply and q.cfg.tier_rule_no_agent_no_wait and crossed:
            self._retime_tiers(q)

    def _end_offer(self, offer: OfferRt, how: AgentEvent, now: float, *, cancel_reason: str | None = None,
                   requeue: bool = True) -> None:
        """Close an offer: the agent back to idle (delayed after a failure), the member back in line."""
        a, m = offer.agent, offer.member
        del self._offers[offer.offer_id]
        self._ended_offers[offer.offer_id] = (m.uuid, a.id)
        if len(self._ended_offers) > 10_000:
            self._ended_offers.popitem(last=False)
        m.offers.pop(offer.offer_id, None)
        if offer.timer is not None:
            offer.timer.cancel()
        a.offer = None
        a.state = transition(a.state, how, a.id)
        a.state_since = now
        if cancel_reason is not None:
            self._out.append(CancelOffer(offer.offer_id, m.uuid, a.id, cancel_reason))
        delay_attr = _FAIL_DELAY.get(how)
        if delay_attr is not None:
            a.ready_at = now + float(getattr(a.cfg, delay_attr))
        self._emit_agent(a, now)
        if how is AgentEvent.NO_ANSWER:
            a.no_answer_count += 1
            if a.cfg.max_no_answer > 0 and a.no_answer_count >= a.cfg.max_no_answer:
                log.warning("agent %s missed %d offers: auto break", a.id, a.no_answer_count)
                self._out.append(AgentAutoBreak(a.id, "no-answer"))
                self._set_status(a, AgentStatus.ON_BREAK, "no-answer")
        self._refresh(a, now)
        if requeue and not m.offers and self._members.get(m.uuid) is m and m.state is MemberState.OFFERING:
            q = self._queues[m.queue]
            m.state = MemberState.WAITING
            q.waiting.add(m.entry)
            self._router.member_waiting(m)
            self._dirty_members[m.uuid] = m

    def _on_offer_result(self, e: ev.AgentRinging | ev.AgentAnswered | ev.AgentNoAnswer | ev.AgentBusy
                         | ev.AgentRejected | ev.OfferWithdrawn) -> None:
        now = self._now
        offer = self._offers.get(e.offer_id)
        if offer is None:
            log.info("stale %s for offer %s (agent %s): ignored", type(e).__name__, e.offer_id, e.agent_id)
            if isinstance(e, ev.AgentAnswered):
                member_uuid = self._ended_offers.get(e.offer_id, ("", ""))[0]
                self._out.append(CancelOffer(e.offer_id, member_uuid, e.agent_id, "too-late"))
            return
        if isinstance(e, ev.AgentRinging):
            if offer.agent.state is AgentState.RESERVED:
                offer.agent.state = transition(offer.agent.state, AgentEvent.RING, offer.agent.id)
                offer.agent.state_since = now
                self._emit_agent(offer.agent, now)
            return
        if isinstance(e, ev.AgentAnswered):
            self._answer(offer, now)
            return
        self._end_offer(offer, _OFFER_EVENTS[type(e)], now)

    def _answer(self, offer: OfferRt, now: float) -> None:
        a, m = offer.agent, offer.member
        oid = offer.offer_id
        qname = m.queue
        del self._offers[oid]
        offers = m.offers
        offers.pop(oid, None)
        if offer.timer is not None:
            offer.timer.cancel()
        state = _ANSWER.get(a.state)
        a.state = state if state is not None else transition(a.state, AgentEvent.ANSWER, a.id)
        a.state_since = now
        a.offer = None
        a.no_answer_count = 0
        a.calls_answered += 1
        a.call = CallRt(m.uuid, qname, oid, now)
        out = self._out
        if self._agent_states:
            out.append(AgentStateChanged(a.id, a.status, a.state, a.reason, now))
        if offers:
            for other in list(offers.values()):
                self._end_offer(other, AgentEvent.CANCEL, now, cancel_reason="answered-elsewhere",
                                requeue=False)
        self._remove_member(m)
        self.connected += 1
        if self._logs():
            log.info("member %s connected to agent %s (offer %s)", m.uuid, a.id, oid)
        out.append(Connect(oid, m.uuid, qname, a.id, now - m.joined_at, m.callback_number))

    def _on_call_ended(self, a: AgentRt) -> None:
        now = self._now
        call = a.call
        assert call is not None
        state = _HANGUP.get(a.state)
        a.state = state if state is not None else transition(a.state, AgentEvent.HANGUP, a.id)
        a.state_since = now
        a.talk_time_s += now - call.answered_at
        a.last_call_end = now
        call.wrap_started_at = now
        q = self._queues.get(call.queue)
        wrap = q.cfg.wrap_up_s if q is not None and q.cfg.wrap_up_s is not None else a.cfg.wrap_up_s
        if self._agent_states:
            self._out.append(AgentStateChanged(a.id, a.status, a.state, a.reason, now))
        if wrap > 0:
            if a.timer is not None:
                a.timer.cancel()
            a.timer = self._schedule(now + wrap, TimerKind.WRAP, a)
        else:
            self._wrap_done(a, now)

    def _on_in_call(self, a: AgentRt, e: ev.AgentInCall) -> None:
        now = self._now
        a.state = transition(a.state, AgentEvent.ADOPT, a.id)
        a.state_since = now
        a.call = CallRt(e.member_uuid, e.queue, "", min(float(e.answered_at), now))
        log.info("agent %s is in a call with %s of %s that the engine takes over", a.id, e.member_uuid, e.queue)
        self._emit_agent(a, now)
        self._refresh(a, now)

    def _on_wrap_up_done(self, a: AgentRt) -> None:
        if a.state is AgentState.WRAP_UP:
            if a.timer is not None:
                a.timer.cancel()
                a.timer = None
            self._wrap_done(a, self._now)

    def _wrap_done(self, a: AgentRt, now: float) -> None:
        call = a.call
        state = _WRAP_DONE.get(a.state)
        a.state = state if state is not None else transition(a.state, AgentEvent.WRAP_DONE, a.id)
        a.state_since = now
        a.call = None
        if call is not None:
            q = self._queues.get(call.queue)
            if q is not None:
                q.handle_times.append(now - call.answered_at)
        if self._agent_states:
            self._out.append(AgentStateChanged(a.id, a.status, a.state, a.reason, now))
        if a.status is _ON_DEMAND:
            self._set_status(a, AgentStatus.ON_BREAK, "on-demand")
        self._refresh(a, now)

    def _on_counters_reset(self) -> None:
        for a in self._agents.values():
            a.calls_answered = 0
            a.talk_time_s = 0.0
            if a.free:
                self._router.agent_reindex(a)

    # -- members -------------------------------------------------------------------------------------

    def _on_member_joined(self, e: ev.MemberJoined) -> None:
        now = self._now
        q = self._queues[e.queue]
        cfg = q.cfg
        self.joined += 1
        if cfg.max_len is not None and len(q.members) >= cfg.max_len:
            log.info("member %s refused: queue %s is full (%d)", e.member_uuid, q.name, cfg.max_len)
            self.exited += 1
            self._out.append(Exit(e.member_uuid, q.name, ExitReason.FULL, 0.0))
            return
        joined = float(e.joined_at) if e.joined_at is not None else now
        steps = tuple(e.skill_steps)
        uuid = e.member_uuid
        m = MemberRt(uuid, q.name, e.priority, steps, dict(e.caller) if e.caller else _NO_CALLER, joined,
                     joined - e.priority * cfg.priority_weight, next(self._member_seq))
        relax_at = None
        if steps:
            m.step, relax_at = step_at(steps, joined, now)
            m.sig = signature(steps[m.step].require)
        q.members[uuid] = m
        self._members[uuid] = m
        if self._fresh is not None:
            self._index_fresh()
        # enters the line (indexes) and becomes routable in ``_run``, unless it can be offered at once
        self._fresh = m
        self._router.member_prepare(m)
        info = self._info  # ``_logs()``, inlined: every join asks
        if info is None:
            info = self._info = log.isEnabledFor(logging.INFO)
        if info:
            log.info("member %s joined queue %s (priority %d, sig %s)", uuid, q.name, m.priority, m.sig)
        if cfg.max_wait_s is not None or cfg.max_wait_no_agent_s is not None or cfg.announce_position:
            self._member_timers(q, m, now)
        if relax_at is not None:
            self._schedule(relax_at, TimerKind.RELAX, m)
        if cfg.tier_rules_apply:
            nxt = next_tier_at(q, joined, now)
            if nxt is not None:
                self._schedule(nxt, TimerKind.TIER, m)

    def _member_timers(self, q: QueueRt, m: MemberRt, now: float) -> None:
        """(Re)schedule the timers a caller has and a callback entry has not: max wait, no agent, announce."""
        cfg = q.cfg
        if cfg.max_wait_s is not None:
            self._schedule(m.joined_at + cfg.max_wait_s, TimerKind.MAX_WAIT, m)
        if cfg.max_wait_no_agent_s is not None and q.staffed_total == 0 and q.no_agent_since is not None:
            due = max(m.joined_at, q.no_agent_since) + cfg.max_wait_no_agent_s
            self._schedule(due, TimerKind.NO_AGENT, m)
        if cfg.announce_position and cfg.announce_interval_s > 0:
            self._schedule(now + cfg.announce_interval_s, TimerKind.ANNOUNCE, m)

    def _cancel_member_timers(self, m: MemberRt, kinds: frozenset[TimerKind] | None = None) -> None:
        keep = []
        for t in m.timers:
            if kinds is None or t.kind in kinds:
                t.cancel()
            else:
                keep.append(t)
        m.timers = keep

    def _remove_member(self, m: MemberRt, q: QueueRt | None = None) -> None:
        if q is None:
            q = self._queues[m.queue]
        if m.state is _WAITING:
            self._router.member_unwaiting(m)
            q.waiting.remove(m.entry)
        if m.timers:
            self._cancel_member_timers(m)
        uuid = m.uuid
        del q.members[uuid]
        del self._members[uuid]
        if self._dirty_members:
            self._dirty_members.pop(uuid, None)
        if self._announce_due:
            self._announce_due.pop(uuid, None)

    def _exit(self, m: MemberRt, reason: ExitReason, now: float) -> None:
        for offer in list(m.offers.values()):
            self._end_offer(offer, AgentEvent.CANCEL, now, cancel_reason=f"member {reason}", requeue=False)
        self._remove_member(m)
        self.exited += 1
        log.info("member %s left queue %s: %s after %.1fs", m.uuid, m.queue, reason, now - m.joined_at)
        self._out.append(Exit(m.uuid, m.queue, reason, now - m.joined_at))

    def _on_member_left(self, e: ev.MemberLeft) -> None:
        m = self._members.get(e.member_uuid)
        if m is None:
            log.info("member %s left but is not in any queue (connected or gone already): ignored",
                     e.member_uuid)
            return
        self._exit(m, e.reason, self._now)

    def _on_callback(self, e: ev.CallbackRequested) -> None:
        now = self._now
        m = self._members[e.member_uuid]
        m.callback_number = e.number
        self._cancel_member_timers(m, frozenset({TimerKind.MAX_WAIT, TimerKind.NO_AGENT, TimerKind.ANNOUNCE}))
        self._announce_due.pop(m.uuid, None)
        log.info("member %s converts to a callback entry, keeping its place", m.uuid)
        for offer in list(m.offers.values()):
            self._end_offer(offer, AgentEvent.CANCEL, now, cancel_reason="member-callback")
        if m.state is MemberState.WAITING:
            self._dirty_members[m.uuid] = m

    # -- configuration ------------------------------------------------------------------------------

    def _check_queue_cfg(self, cfg: QueueConfig) -> None:
        if not isinstance(cfg, QueueConfig) or not cfg.name:
            raise InvalidValue("queue", cfg, "expected a QueueConfig with a name")
        for name in ("max_wait_s", "max_wait_no_agent_s"):
            v = getattr(cfg, name)
            if v is not None and v < 0:
                raise InvalidValue(f"queue {cfg.name}.{name}", v, "must not be negative")
        if cfg.offer_timeout_s <= 0:
            raise InvalidValue(f"queue {cfg.name}.offer_timeout_s", cfg.offer_timeout_s, "must be positive")
        if cfg.max_len is not None and cfg.max_len < 0:
            raise InvalidValue(f"queue {cfg.name}.max_len", cfg.max_len, "must not be negative")

    def _check_agent_cfg(self, cfg: Agent) -> None:
        if not isinstance(cfg, Agent) or not cfg.id:
            raise InvalidValue("agent", cfg, "expected an Agent with an id")
        for name in ("wrap_up_s", "reject_delay_s", "busy_delay_s", "no_answer_delay_s"):
            if getattr(cfg, name) < 0:
                raise InvalidValue(f"agent {cfg.id}.{name}", getattr(cfg, name), "must not be negative")
        for skill, level in cfg.skills.items():
            if isinstance(level, bool) or not isinstance(level, int):
                raise InvalidValue(f"agent {cfg.id}.skills.{skill}", level, "expected an integer proficiency")

    def _check_tier(self, t: Tier) -> None:
        self._agent(t.agent_id)
        self._queue(t.queue)

    def _add_queue(self, cfg: QueueConfig) -> None:
        self._check_queue_cfg(cfg)
        if cfg.name in self._queues:
            raise Conflict("queue", cfg.name)
        self._put_queue(cfg)

    def _add_agent(self, cfg: Agent) -> None:
        self._check_agent_cfg(cfg)
        if cfg.id in self._agents:
            raise Conflict("agent", cfg.id)
        self._put_agent(cfg)

    def _put_queue(self, cfg: QueueConfig) -> None:
        now = self._now
        q = self._queues.get(cfg.name)
        if q is None:
            q = QueueRt(cfg=cfg, no_agent_since=now)
            self._queues[cfg.name] = q
            if cfg.max_wait_no_agent_s is not None:
                self._schedule(now + cfg.max_wait_no_agent_s, TimerKind.QUEUE_NO_AGENT, q, since=now)
            self._router.queue_reindex(q)
            return
        old = q.cfg
        q.cfg = cfg
        if old.strategy is not cfg.strategy:
            q.rr_last = None
            self._router.queue_reindex(q)
        if (old.max_wait_s, old.max_wait_no_agent_s, old.announce_position, old.announce_interval_s) != (
                cfg.max_wait_s, cfg.max_wait_no_agent_s, cfg.announce_position, cfg.announce_interval_s):
            if q.staffed_total == 0 and cfg.max_wait_no_agent_s is not None and q.no_agent_since is not None:
                self._schedule(q.no_agent_since + cfg.max_wait_no_agent_s, TimerKind.QUEUE_NO_AGENT, q,
                               since=q.no_agent_since)
            for m in q.members.values():
                if m.callback_number is None:
                    self._cancel_member_timers(m, frozenset({TimerKind.MAX_WAIT, TimerKind.NO_AGENT,
                                                             TimerKind.ANNOUNCE}))
                    self._member_timers(q, m, now)
        if old.priority_weight != cfg.priority_weight:
            for m in sorted(q.members.values(), key=lambda m: m.seq):
                waiting = m.state is MemberState.WAITING
                if waiting:
                    self._router.member_unwaiting(m)
                    q.waiting.remove(m.entry)
                m.set_key(m.joined_at - m.priority * cfg.priority_weight)
                if waiting:
                    q.waiting.add(m.entry)
                    self._router.member_waiting(m)
        self._retime_tiers(q)

    def _retime_tiers(self, q: QueueRt) -> None:
        """Tier levels or their staffing changed: reschedule every member's next tier step and re-route."""
        now = self._now
        for m in q.members.values():
            self._cancel_member_timers(m, frozenset({TimerKind.TIER}))
            nxt = next_tier_at(q, m.joined_at, now)
            if nxt is not None:
                self._schedule(nxt, TimerKind.TIER, m)
        self._dirty_queues[q.name] = q

    def _drop_queue(self, q: QueueRt) -> None:
        for agent_id in list(q.tiers):
            self._drop_tier(self._agents[agent_id], q)
        self._router.queue_removed(q.name)
        del self._queues[q.name]

    def _put_agent(self, cfg: Agent) -> None:
        now = self._now
        a = self._agents.get(cfg.id)
        if a is None:
            a = AgentRt(cfg=cfg, state_since=now, status_since=now, idle_since=now)
            self._agents[cfg.id] = a
            return
        a.cfg = cfg
        self._router.agent_reindex(a)
        if a.free:
            self._dirty_agents[a.id] = a

    def _drop_agent(self, a: AgentRt) -> None:
        if a.status in STAFFED:
            self._set_status(a, AgentStatus.LOGGED_OUT, "removed")
        for qname in list(a.tiers):
            self._drop_tier(a, self._queues[qname])
        if a.timer is not None:
            a.timer.cancel()
        self._unindexed.pop(a.id, None)
        self._router.agent_unfree(a)
        self._router.agent_removed(a)
        del self._agents[a.id]

    def _put_tier(self, t: Tier) -> None:
        now = self._now
        a = self._agents[t.agent_id]
        q = self._queues[t.queue]
        if t.queue in a.tiers:
            self._unlink_tier(a, q)
        a.tiers[q.name] = t
        q.tiers[a.id] = t
        q.level_tiers[t.level] = q.level_tiers.get(t.level, 0) + 1
        q.levels = sorted(level for level, n in q.level_tiers.items() if n > 0)
        if a.status in STAFFED:
            self._staff(q, t.level, 1, now)
        self._router.agent_reindex(a)
        self._refresh(a, now)
        if a.free:
            self._dirty_agents[a.id] = a
        if q.cfg.tier_rules_apply:
            self._retime_tiers(q)

    def _unlink_tier(self, a: AgentRt, q: QueueRt) -> None:
        t = a.tiers.pop(q.name)
        del q.tiers[a.id]
        q.level_tiers[t.level] -= 1
        q.levels = sorted(level for level, n in q.level_tiers.items() if n > 0)
        if a.status in STAFFED:
            self._staff(q, t.level, -1, self._now)

    def _drop_tier(self, a: AgentRt, q: QueueRt) -> None:
        self._unlink_tier(a, q)
        self._router.agent_reindex(a)
        self._refresh(a, self._now)
        if q.cfg.tier_rules_apply:
            self._retime_tiers(q)

    # -- lookups and views ------------------------------------------------------------------------------

    def _agent(self, agent_id: str) -> AgentRt:
        a = self._agents.get(agent_id)
        if a is None:
            raise NotFound("agent", agent_id)
        return a

    def _queue(self, name: str) -> QueueRt:
        q = self._queues.get(name)
        if q is None:
            raise NotFound("queue", name)
        return q

    def _member(self, uuid: str) -> MemberRt:
        m = self._members.get(uuid)
        if m is None:
            raise NotFound("member", uuid)
        return m

    def _aht(self, q: QueueRt) -> float:
        return sum(q.handle_times) / len(q.handle_times) if q.handle_times else self._default_aht_s

    def _ewt(self, q: QueueRt, position: int) -> float | None:
        if q.staffed_total <= 0:
            return None
        return position * self._aht(q) / q.staffed_total

    def _member_view(self, q: QueueRt, m: MemberRt, pos: int | None, at: float) -> MemberView:
        return MemberView(uuid=m.uuid, queue=q.name, state=str(m.state), position=pos,
                          waited_s=max(0.0, at - m.joined_at), priority=m.priority,
                          score=m.priority * q.cfg.priority_weight + (at - m.joined_at), step=m.step,
                          callback_number=m.callback_number,
                          offered_to=tuple(o.agent.id for o in m.offers.values()),
                          ewt_s=self._ewt(q, pos) if pos is not None else None)

    def _agent_view(self, a: AgentRt, at: float) -> AgentView:
        member = a.offer.member.uuid if a.offer is not None else (a.call.member_uuid if a.call else None)
        return AgentView(id=a.id, status=a.status, state=a.state, reason=a.reason,
                         in_state_s=max(0.0, at - a.state_since), in_status_s=max(0.0, at - a.status_since),
                         free=a.free, ready_in_s=max(0.0, a.ready_at - at), calls_answered=a.calls_answered,
                         talk_time_s=a.talk_time_s, no_answer_count=a.no_answer_count, member_uuid=member,
                         queues=tuple(sorted(a.tiers)))

    def _queue_view(self, q: QueueRt, at: float) -> QueueView:
        offering = sum(1 for m in q.members.values() if m.state is MemberState.OFFERING)
        callbacks = sum(1 for m in q.members.values() if m.callback_number is not None)
        free = sum(1 for aid in q.tiers if self._agents[aid].free)
        longest = max((at - m.joined_at for m in q.members.values()), default=0.0)
        return QueueView(name=q.name, strategy=q.cfg.strategy, waiting=len(q.waiting), offering=offering,
                         callbacks=callbacks, staffed=q.staffed_total, free_agents=free,
                         longest_wait_s=max(0.0, longest), aht_s=self._aht(q),
                         ewt_new_s=self._ewt(q, len(q.waiting) + 1))
