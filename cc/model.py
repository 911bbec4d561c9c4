"""Domain types shared by the cores and the store: frozen dataclasses and Enums, no behaviour.

Configuration (Agent, Queue, Tier, Skill, Team) is what operators edit; history records (CallRecord,
CallLeg, QueueEvent, AgentStateEvent, RecordingRecord, SurveyResult) are what the controller appends.
Times are float seconds since the Unix epoch (UTC) in the cores; the store turns them into
timezone-aware UTC datetimes. Every history record carries an ``id`` chosen by its producer so that
writing it twice is harmless (the store's idempotent key).
"""

from __future__ import annotations

import datetime
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = [
    "Agent",
    "AgentState",
    "AgentStateEvent",
    "AgentStatus",
    "BusinessCalendar",
    "CallDirection",
    "CallLeg",
    "CallRecord",
    "CallSegment",
    "Customer",
    "ExitReason",
    "FlowRoute",
    "Holiday",
    "Interaction",
    "InteractionKind",
    "OpeningHours",
    "PhoneNumber",
    "QueueCall",
    "QueueConfig",
    "QueueEvent",
    "QueueEventType",
    "RecordPolicy",
    "RecordingRecord",
    "Skill",
    "SkillRequirement",
    "SkillStep",
    "Strategy",
    "SurveyResult",
    "Team",
    "Tier",
]


class AgentStatus(enum.StrEnum):
    """What a person says about themselves."""

    LOGGED_OUT = "logged_out"
    AVAILABLE = "available"
    AVAILABLE_ON_DEMAND = "available_on_demand"
    ON_BREAK = "on_break"


class AgentState(enum.StrEnum):
    """What calls do to an agent."""

    IDLE = "idle"
    RESERVED = "reserved"
    RINGING = "ringing"
    IN_CALL = "in_call"
    WRAP_UP = "wrap_up"


class Strategy(enum.StrEnum):
    """How a queue picks among eligible agents; names as in mod_callcenter where behaviour matches."""

    LONGEST_IDLE_AGENT = "longest-idle-agent"
    ROUND_ROBIN = "round-robin"
    RING_ALL = "ring-all"
    TOP_DOWN = "top-down"
    SEQUENTIALLY_BY_AGENT_ORDER = "sequentially-by-agent-order"
    AGENT_WITH_FEWEST_CALLS = "agent-with-fewest-calls"
    AGENT_WITH_LEAST_TALK_TIME = "agent-with-least-talk-time"
    RANDOM = "random"
    SKILLS_BASED = "skills-based"


class RecordPolicy(enum.StrEnum):
    """When a queue's calls are recorded."""

    ALWAYS = "always"
    NEVER = "never"
    ON_DEMAND = "on_demand"


class CallDirection(enum.StrEnum):
    """Which way a call goes, seen from the call center."""

    INBOUND = "inbound"
    OUTBOUND = "outbound"


class ExitReason(enum.StrEnum):
    """Why a member left a queue without talking to an agent."""

    TIMEOUT = "TIMEOUT"
    NO_AGENT = "NO_AGENT"
    FULL = "FULL"
    CALLER_ABANDON = "CALLER_ABANDON"
    EXIT_KEY = "EXIT_KEY"
    #: the call was ended by someone other than the caller (logged as EXIT_OTHER with this cause as detail)
    SUPERVISOR_HANGUP = "SUPERVISOR_HANGUP"
    TRANSFER_FAILED = "TRANSFER_FAILED"
    SHUTDOWN = "SHUTDOWN"
    CONTROLLER_ERROR = "CONTROLLER_ERROR"
    TRANSFERRED = "TRANSFERRED"
    #: the call's outbound socket closed while its channel was up (no hang-up): cc lost control of it
    SOCKET_LOST = "SOCKET_LOST"


class QueueEventType(enum.StrEnum):
    """One line of the queue log (Asterisk queue_log style)."""

    ENTER = "ENTER"
    OFFER = "OFFER"
    RING_NO_ANSWER = "RING_NO_ANSWER"
    AGENT_BUSY = "AGENT_BUSY"
    AGENT_REJECT = "AGENT_REJECT"
    CONNECT = "CONNECT"
    ABANDON = "ABANDON"
    COMPLETE_CALLER = "COMPLETE_CALLER"
    COMPLETE_AGENT = "COMPLETE_AGENT"
    TRANSFER = "TRANSFER"
    EXIT_TIMEOUT = "EXIT_TIMEOUT"
    EXIT_NO_AGENT = "EXIT_NO_AGENT"
    EXIT_FULL = "EXIT_FULL"
    EXIT_KEY = "EXIT_KEY"
    #: the call left the queue ended by someone other than the caller; the detail says how (hangup-by-supervisor,
    #: transfer-failed, transferred-by-supervisor, cut-at-shutdown, controller-error, socket-lost)
    EXIT_OTHER = "EXIT_OTHER"
    CALLBACK_REQUESTED = "CALLBACK_REQUESTED"
    CALLBACK_COMPLETED = "CALLBACK_COMPLETED"
    CALLBACK_FAILED = "CALLBACK_FAILED"


@dataclass(frozen=True)
class Skill:
    """A skill agents can have with a proficiency 1-10."""

    name: str
    description: str = ""


@dataclass(frozen=True)
class SkillRequirement:
    """One condition on an agent's proficiency in a skill, e.g. ``billing >= 5``."""

    skill: str
    op: str  # one of ">=", ">", "==", "<=", "<"
    level: int


@dataclass(frozen=True)
class SkillStep:
    """One step of a member's skill requirements; after ``for_s`` seconds it relaxes to the next.

    ``for_s`` None means the step holds until the member leaves (the last step). An empty
    ``require`` accepts any agent of the queue.
    """

    require: tuple[SkillRequirement, ...] = ()
    for_s: float | None = None


@dataclass(frozen=True)
class Team:
    """A group of agents (for reports and supervision)."""

    name: str
    description: str = ""


@dataclass(frozen=True)
class Agent:
    """An agent's configuration: how to reach them and how they are treated after a miss."""

    id: str
    name: str = ""
    contact: str = ""
    team: str | None = None
    max_no_answer: int = 3
    wrap_up_s: float = 10.0
    reject_delay_s: float = 10.0
    busy_delay_s: float = 60.0
    no_answer_delay_s: float = 30.0
    skills: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class QueueConfig:
    """A queue's configuration (mod_callcenter's queue parameters and more)."""

    name: str
    strategy: Strategy = Strategy.LONGEST_IDLE_AGENT
    moh: str = "local_stream://moh"
    announce_position: bool = True
    announce_interval_s: float = 30.0
    announce_prompt: str | None = None
    max_wait_s: float | None = None
    max_wait_no_agent_s: float | None = None
    max_len: int | None = None
    offer_timeout_s: float = 20.0
    wrap_up_s: float | None = None
    sl_threshold_s: float = 20.0
    priority_weight: float = 60.0
    tier_rules_apply: bool = False
    tier_rule_wait_s: float = 0.0
    tier_rule_wait_multiply_level: bool = True
    tier_rule_no_agent_no_wait: bool = True
    record_policy: RecordPolicy = RecordPolicy.NEVER
    record_template: str = "{yyyy}/{mm}/{dd}/{queue}/{uuid}.wav"
    overflow_target: str | None = None
    #: the "this call may be recorded" prompt cc plays when a caller who has not heard the notice in the flow
    #: enters a queue that records always (before the recording starts); ``{language}`` is the call's language
    record_notice: str | None = None


@dataclass(frozen=True)
class Tier:
    """An agent's membership of a queue at a level and a position within it."""

    agent_id: str
    queue: str
    level: int = 1
    position: int = 1


@dataclass(frozen=True)
class CallRecord:
    """One row per call: who, where, when, how it ended."""

    uuid: str
    direction: CallDirection
    caller: str
    callee: str
    started_at: float
    node: str = ""
    answered_at: float | None = None
    ended_at: float | None = None
    hangup_cause: str | None = None
    flow: str | None = None
    disposition: str | None = None
    #: why cc refused to start a recording of this call (``notice_not_played``), None when it never did
    recording_refused: str | None = None


@dataclass(frozen=True)
class CallSegment:
    """A later visit of a call to cc under the same channel UUID (it left cc's socket by a dialplan transfer and
    reached a ``socket`` extension again): its own row, so the call's first row is never overwritten."""

    id: str
    call_uuid: str
    segment: int          #: 2 for the first return, 3 for the next ...
    caller: str
    callee: str
    started_at: float
    node: str = ""
    answered_at: float | None = None
    ended_at: float | None = None
    hangup_cause: str | None = None
    flow: str | None = None
    disposition: str | None = None


@dataclass(frozen=True)
class CallLeg:
    """One channel of a call (the caller's, an agent's, a transfer target's)."""

    uuid: str
    call_uuid: str
    role: str
    dial_string: str
    started_at: float
    answered_at: float | None = None
    ended_at: float | None = None
    hangup_cause: str | None = None
    agent_id: str | None = None


@dataclass(frozen=True)
class QueueEvent:
    """One line of the queue log."""

    id: str
    at: float
    queue: str
    member_uuid: str
    type: QueueEventType
    agent_id: str | None = None
    wait_s: float | None = None
    talk_s: float | None = None
    detail: str = ""
    hold_s: float | None = None


@dataclass(frozen=True)
class QueueCall:
    """One stay of a call in a queue, summed up from its queue-log lines and its agent's wrap-up.

    Written (and rewritten while late lines still change it) by the controller as the stay settles, so
    that a month's queue report is one GROUP BY (see cc.reports.summary and docs/reports.md). ``id`` is
    the id of the stay's ENTER line. ``outcome``: answered, abandoned, timeout, no_agent, full, exit_key,
    callback (requested, not yet done), callback_completed, callback_failed, or "" while still waiting.
    Waits: ``waits``/``wait_sum``/``max_wait_s`` cover answers, exits and callback requests; an abandon's
    wait is kept apart in ``abandon_wait_s`` because whether it counts depends on the short-abandon limit.
    """

    id: str
    entered_at: float
    queue: str
    member_uuid: str
    outcome: str = ""
    agent_id: str | None = None
    answered: int = 0
    answer_wait_s: float | None = None
    abandon_wait_s: float | None = None
    waits: int = 0
    wait_sum: float = 0.0
    max_wait_s: float | None = None
    handled: int = 0
    talk_s: float = 0.0
    hold_s: float = 0.0
    wrap_s: float = 0.0
    transfers: int = 0
    callbacks_requested: int = 0
    callbacks_completed: int = 0
    callbacks_failed: int = 0
    ended_at: float | None = None


@dataclass(frozen=True)
class AgentStateEvent:
    """An agent's status or state change, with the reason code where a person gave one."""

    id: str
    at: float
    agent_id: str
    status: AgentStatus
    state: AgentState
    reason: str | None = None


@dataclass(frozen=True)
class RecordingRecord:
    """A closed recording file and what is known about it."""

    uuid: str
    call_uuid: str
    path: str
    started_at: float
    stopped_at: float | None = None
    duration_s: float | None = None
    paused_spans: tuple[tuple[float, float], ...] = ()
    size_bytes: int | None = None
    sha256: str | None = None


@dataclass(frozen=True)
class SurveyResult:
    """A caller's answer to a post-call survey question."""

    id: str
    at: float
    call_uuid: str
    survey: str
    question: str
    score: int
    agent_id: str | None = None
    queue: str | None = None


class InteractionKind(enum.StrEnum):
    """What kind of contact an interaction with a customer was."""

    CALL = "call"
    NOTE = "note"
    EMAIL = "email"
    CALLBACK = "callback"


@dataclass(frozen=True)
class PhoneNumber:
    """One of a customer's phone numbers, normalized to E.164 (``+4930123456``) by the store."""

    number: str
    label: str = ""


@dataclass(frozen=True)
class Customer:
    """A customer of the CRM; ``phones`` are E.164 numbers, any of which finds the customer."""

    id: str
    name: str = ""
    email: str | None = None
    note: str = ""
    phones: tuple[PhoneNumber, ...] = ()
    created_at: float | None = None


@dataclass(frozen=True)
class Interaction:
    """One contact with a customer (a call, a note ...), linked to the agent and a disposition."""

    id: str
    at: float
    kind: InteractionKind
    customer_id: str | None = None
    agent_id: str | None = None
    call_uuid: str | None = None
    queue: str | None = None
    disposition: str | None = None
    note: str = ""


@dataclass(frozen=True)
class FlowRoute:
    """Which flow file answers calls to a number (DNIS)."""

    number: str
    flow: str
    description: str = ""


@dataclass(frozen=True)
class OpeningHours:
    """Open from ``opens`` to ``closes`` (local time of the calendar) on ``weekday`` (0 = Monday)."""

    weekday: int
    opens: datetime.time
    closes: datetime.time


@dataclass(frozen=True)
class Holiday:
    """A day the calendar is closed all day."""

    date: datetime.date
    name: str = ""


@dataclass(frozen=True)
class BusinessCalendar:
    """Business hours: an IANA timezone, weekly opening hours and holidays."""

    name: str
    timezone: str = "UTC"
    hours: tuple[OpeningHours, ...] = ()
    holidays: tuple[Holiday, ...] = ()
