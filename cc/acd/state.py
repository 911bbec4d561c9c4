"""The engine's mutable runtime records (agents, members, queues, offers, timers); internal to cc.acd."""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sortedcontainers import SortedList  # type: ignore[import-untyped]

from cc.acd.skills import Signature
from cc.model import Agent, AgentState, AgentStatus, QueueConfig, SkillStep, Tier

__all__ = [
    "STAFFED", "AgentRt", "CallRt", "MemberRt", "MemberState", "OfferRt", "QueueRt", "Timer", "TimerKind",
    "World",
]

STAFFED = frozenset({AgentStatus.AVAILABLE, AgentStatus.AVAILABLE_ON_DEMAND})
"""Statuses that count as logged in and working (mod_callcenter's 'available' agents)."""


class MemberState(enum.StrEnum):
    """Where a member is: in line, or being offered to one or more reserved agents."""

    WAITING = "waiting"
    OFFERING = "offering"


class TimerKind(enum.StrEnum):
    """What a due timer does."""

    MAX_WAIT = "max_wait"
    NO_AGENT = "no_agent"
    QUEUE_NO_AGENT = "queue_no_agent"
    RELAX = "relax"
    TIER = "tier"
    ANNOUNCE = "announce"
    OFFER = "offer"
    READY = "ready"
    WRAP = "wrap"


_WAITING = MemberState.WAITING  # bound once: reading a member off its Enum class is slow (Python 3.11)


@dataclass(eq=False, slots=True)
class Timer:
    """One scheduled wake-up; cancelled timers stay in the heap and are skipped (lazy deletion)."""

    due: float
    kind: TimerKind
    target: Any
    active: bool = True
    since: float | None = None

    def cancel(self) -> None:
        """Skip it when it comes due, and let go of its target now: a cancelled offer's timer refers back to the
        offer, and in the heap until its due time it would keep the ended offer (and its member) alive."""
        self.active = False
        self.target = None


@dataclass(eq=False, slots=True)
class CallRt:
    """The call an agent is in (or wrapping up)."""

    member_uuid: str
    queue: str
    offer_id: str
    answered_at: float
    wrap_started_at: float | None = None


@dataclass(eq=False, slots=True)
class AgentRt:
    """An agent at run time: configuration, status, call state, counters and index bookkeeping."""

    cfg: Agent
    status: AgentStatus = AgentStatus.LOGGED_OUT
    state: AgentState = AgentState.IDLE
    reason: str | None = None
    state_since: float = 0.0
    status_since: float = 0.0
    tiers: dict[str, Tier] = field(default_factory=dict)
    free: bool = False
    ready_at: float = 0.0
    idle_since: float = 0.0
    rand_ticket: float = 0.0
    last_offered_at: float = 0.0
    calls_answered: int = 0
    talk_time_s: float = 0.0
    last_call_end: float | None = None
    no_answer_count: int = 0
    offer: OfferRt | None = None
    call: CallRt | None = None
    timer: Timer | None = None
    index_entries: list[tuple[Any, tuple[Any, ...]]] = field(default_factory=list)
    id: str = field(init=False, default="")
    """The agent's id (``cfg.id``, which never changes: a new configuration keeps the id)."""

    def __post_init__(self) -> None:
        self.id = self.cfg.id


@dataclass(eq=False, slots=True, init=False)
class MemberRt:
    """A member in a queue: its score key, requirement step and the offers it has out."""

    uuid: str
    queue: str
    priority: int
    steps: tuple[SkillStep, ...]
    caller: Mapping[str, str]
    joined_at: float
    key: float
    seq: int
    sig: Signature = ()
    step: int = 0
    state: MemberState = MemberState.WAITING
    callback_number: str | None = None
    offers: dict[str, OfferRt] = field(default_factory=dict)
    timers: list[Timer] = field(default_factory=list)
    entry: tuple[float, int, str] = field(init=False, default=(0.0, 0, ""))
    """The member's sort entry ``(key, seq, uuid)``: lower is served first (higher score, then earlier
    arrival); kept in step with ``key`` by ``set_key``."""

    def __init__(self, uuid: str, queue: str, priority: int, steps: tuple[SkillStep, ...],
                 caller: Mapping[str, str], joined_at: float, key: float, seq: int) -> None:
        self.uuid = uuid
        self.queue = queue
        self.priority = priority
        self.steps = steps
        self.caller = caller
        self.joined_at = joined_at
        self.key = key
        self.seq = seq
        self.sig = ()
        self.step = 0
        self.state = _WAITING
        self.callback_number = None
        self.offers = {}
        self.timers = []
        self.entry = (key, seq, uuid)

    def set_key(self, key: float) -> None:
        """Change the score key (and the sort entry with it)."""
        self.key = key
        self.entry = (key, self.seq, self.uuid)


@dataclass(eq=False, slots=True)
class OfferRt:
    """One agent reserved and rung for one member."""

    offer_id: str
    member: MemberRt
    agent: AgentRt
    queue: str
    at: float
    timer: Timer | None = None


@dataclass(eq=False, slots=True)
class QueueRt:
    """A queue at run time: members in line by score, tiers, staffing per level, handle-time history."""

    cfg: QueueConfig
    waiting: Any = field(default_factory=SortedList)
    members: dict[str, MemberRt] = field(default_factory=dict)
    tiers: dict[str, Tier] = field(default_factory=dict)
    level_tiers: dict[int, int] = field(default_factory=dict)
    staffed: dict[int, int] = field(default_factory=dict)
    staffed_total: int = 0
    no_agent_since: float | None = None
    rr_last: tuple[int, str] | None = None
    """(position, id) of the agent last offered, kept while the strategy is round-robin (which starts after it)."""
    handle_times: deque[float] = field(default_factory=lambda: deque(maxlen=100))
    levels: list[int] = field(default_factory=list)
    name: str = field(init=False, default="")
    """The queue's name (``cfg.name``, which never changes: a new configuration keeps the name)."""

    def __post_init__(self) -> None:
        self.name = self.cfg.name


@dataclass(eq=False)
class World:
    """Everything the routers may read: agents and queues by name (owned and mutated by the engine)."""

    agents: dict[str, AgentRt] = field(default_factory=dict)
    queues: dict[str, QueueRt] = field(default_factory=dict)
