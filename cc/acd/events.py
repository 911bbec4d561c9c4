"""Events the controller feeds into ``Acd.handle(event, now)``: frozen dataclasses, one per fact."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from cc.model import AgentStatus, ExitReason, SkillStep

__all__ = [
    "AcdEvent",
    "AgentAnswered",
    "AgentBusy",
    "AgentInCall",
    "AgentLogin",
    "AgentLogout",
    "AgentNoAnswer",
    "AgentRejected",
    "AgentRinging",
    "AgentStatusChanged",
    "CallEnded",
    "CallbackRequested",
    "CountersReset",
    "MemberJoined",
    "MemberLeft",
    "OfferWithdrawn",
    "Tick",
    "WrapUpDone",
]


@dataclass(frozen=True)
class AgentLogin:
    """An agent logs in; ``status`` is what they become (available by default)."""

    agent_id: str
    status: AgentStatus = AgentStatus.AVAILABLE
    reason: str | None = None


@dataclass(frozen=True)
class AgentLogout:
    """An agent logs out; a pending offer is withdrawn, a call in progress finishes normally."""

    agent_id: str
    reason: str | None = None


@dataclass(frozen=True)
class AgentStatusChanged:
    """A person changes their status (available, on demand, on break with a reason code, logged out)."""

    agent_id: str
    status: AgentStatus
    reason: str | None = None


@dataclass(frozen=True, init=False)
class MemberJoined:
    """A caller enters a queue.

    ``joined_at`` (default: now) lets a member moved from another queue keep its waiting time;
    ``priority`` is added to the score as ``priority x queue.priority_weight`` seconds.
    """

    member_uuid: str
    queue: str
    priority: int = 0
    skill_steps: tuple[SkillStep, ...] = ()
    caller: Mapping[str, str] = field(default_factory=dict)
    joined_at: float | None = None

    def __init__(self, member_uuid: str, queue: str, priority: int = 0, skill_steps: tuple[SkillStep, ...] = (),
                 caller: Mapping[str, str] | None = None, joined_at: float | None = None) -> None:
        d = self.__dict__  # a frozen dataclass, filled directly (twice as fast as the generated __init__)
        d["member_uuid"] = member_uuid
        d["queue"] = queue
        d["priority"] = priority
        d["skill_steps"] = skill_steps
        d["caller"] = {} if caller is None else caller
        d["joined_at"] = joined_at


@dataclass(frozen=True)
class MemberLeft:
    """A member leaves without talking to an agent: hung up (CALLER_ABANDON) or pressed the exit key."""

    member_uuid: str
    reason: ExitReason = ExitReason.CALLER_ABANDON


@dataclass(frozen=True)
class CallbackRequested:
    """A waiting member converts to a callback entry that keeps its score and place in line."""

    member_uuid: str
    number: str


@dataclass(frozen=True)
class AgentRinging:
    """The agent's phone rings for offer ``offer_id`` (optional; moves the agent reserved -> ringing)."""

    offer_id: str
    agent_id: str


@dataclass(frozen=True, init=False)
class AgentAnswered:
    """The agent answered offer ``offer_id``; the controller bridges on the Connect command."""

    offer_id: str
    agent_id: str

    def __init__(self, offer_id: str, agent_id: str) -> None:
        d = self.__dict__  # a frozen dataclass, filled directly (twice as fast as the generated __init__)
        d["offer_id"] = offer_id
        d["agent_id"] = agent_id


@dataclass(frozen=True)
class AgentNoAnswer:
    """Offer ``offer_id`` rang out unanswered."""

    offer_id: str
    agent_id: str


@dataclass(frozen=True)
class AgentBusy:
    """The agent's phone answered busy for offer ``offer_id``."""

    offer_id: str
    agent_id: str


@dataclass(frozen=True)
class AgentRejected:
    """The agent declined offer ``offer_id``."""

    offer_id: str
    agent_id: str


@dataclass(frozen=True)
class OfferWithdrawn:
    """Offer ``offer_id`` could not be carried out for a reason that is not the agent's (the switch's link is
    down): it ends with no penalty (no delay, no missed offer counted), the member keeps its place."""

    offer_id: str
    agent_id: str


@dataclass(frozen=True, init=False)
class CallEnded:
    """The call an agent was in ended; ``by`` says who hung up ("agent", "caller" or "system")."""

    agent_id: str
    by: str = "caller"

    def __init__(self, agent_id: str, by: str = "caller") -> None:
        d = self.__dict__  # a frozen dataclass, filled directly (twice as fast as the generated __init__)
        d["agent_id"] = agent_id
        d["by"] = by


@dataclass(frozen=True)
class AgentInCall:
    """The switch shows the agent talking to ``member_uuid`` of ``queue`` since ``answered_at``, on a call
    the engine did not connect (a restarted controller takes over the calls of the one before)."""

    agent_id: str
    member_uuid: str
    queue: str
    answered_at: float


@dataclass(frozen=True)
class WrapUpDone:
    """The agent ends wrap-up early (the engine's own wrap-up timer ends it otherwise)."""

    agent_id: str


@dataclass(frozen=True)
class CountersReset:
    """Start a new day: calls answered and talk time today go back to zero for every agent."""


@dataclass(frozen=True)
class Tick:
    """Nothing happened but time passed: fire the timers due at ``now`` (see ``Acd.next_wakeup``)."""


AcdEvent = (
    AgentLogin | AgentLogout | AgentStatusChanged | MemberJoined | MemberLeft | CallbackRequested
    | AgentRinging | AgentAnswered | AgentNoAnswer | AgentBusy | AgentRejected | OfferWithdrawn | CallEnded
    | AgentInCall | WrapUpDone | CountersReset | Tick
)
"""Any event ``Acd.handle`` accepts."""
