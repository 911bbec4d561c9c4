"""Commands ``Acd.handle`` returns for the controller to carry out: frozen dataclasses, in order."""

from __future__ import annotations

from dataclasses import dataclass

from cc.model import AgentState, AgentStatus, ExitReason

__all__ = [
    "AcdCommand",
    "AgentAutoBreak",
    "AgentStateChanged",
    "Announce",
    "CancelOffer",
    "Connect",
    "Exit",
    "Offer",
    "OfferCallback",
]


@dataclass(frozen=True, init=False)
class Offer:
    """Ring ``agent_id`` at ``contact`` for the waiting caller ``member_uuid``; give up after ``timeout_s``.

    The agent is already reserved (compare-and-set inside the engine) when this is emitted. Report the
    outcome with AgentRinging / AgentAnswered / AgentNoAnswer / AgentBusy / AgentRejected carrying
    ``offer_id``. An Offer also ends any announcement being played to the member.
    """

    offer_id: str
    member_uuid: str
    queue: str
    agent_id: str
    contact: str
    timeout_s: float

    def __init__(self, offer_id: str, member_uuid: str, queue: str, agent_id: str, contact: str,
                 timeout_s: float) -> None:
        d = self.__dict__  # a frozen dataclass, filled directly (twice as fast as the generated __init__)
        d["offer_id"] = offer_id
        d["member_uuid"] = member_uuid
        d["queue"] = queue
        d["agent_id"] = agent_id
        d["contact"] = contact
        d["timeout_s"] = timeout_s


@dataclass(frozen=True)
class OfferCallback:
    """Call ``agent_id`` first for the callback entry ``member_uuid``; when they answer, dial ``number``."""

    offer_id: str
    member_uuid: str
    queue: str
    agent_id: str
    contact: str
    number: str
    timeout_s: float


@dataclass(frozen=True)
class CancelOffer:
    """Stop ringing ``agent_id`` for ``offer_id`` (hang up the agent leg if it answered too late)."""

    offer_id: str
    member_uuid: str
    agent_id: str
    reason: str


@dataclass(frozen=True, init=False)
class Connect:
    """The agent answered: bridge ``member_uuid`` (or dial the callback ``number``) to ``agent_id``."""

    offer_id: str
    member_uuid: str
    queue: str
    agent_id: str
    wait_s: float
    number: str | None = None

    def __init__(self, offer_id: str, member_uuid: str, queue: str, agent_id: str, wait_s: float,
                 number: str | None = None) -> None:
        d = self.__dict__  # a frozen dataclass, filled directly (twice as fast as the generated __init__)
        d["offer_id"] = offer_id
        d["member_uuid"] = member_uuid
        d["queue"] = queue
        d["agent_id"] = agent_id
        d["wait_s"] = wait_s
        d["number"] = number


@dataclass(frozen=True)
class Announce:
    """Tell the member its ``position`` (1 = next) and expected wait ``ewt_s`` (None: unknown)."""

    member_uuid: str
    queue: str
    position: int
    ewt_s: float | None


@dataclass(frozen=True)
class Exit:
    """The member left the queue without an agent, for ``reason``, after waiting ``wait_s``."""

    member_uuid: str
    queue: str
    reason: ExitReason
    wait_s: float


@dataclass(frozen=True)
class AgentAutoBreak:
    """The engine put the agent on break (e.g. reason "no-answer" after max_no_answer misses)."""

    agent_id: str
    reason: str


@dataclass(frozen=True, init=False)
class AgentStateChanged:
    """An agent's status or state changed at ``at`` (for the agent_state_events log and dashboards)."""

    agent_id: str
    status: AgentStatus
    state: AgentState
    reason: str | None
    at: float

    def __init__(self, agent_id: str, status: AgentStatus, state: AgentState, reason: str | None,
                 at: float) -> None:
        d = self.__dict__  # a frozen dataclass, filled directly (twice as fast as the generated __init__)
        d["agent_id"] = agent_id
        d["status"] = status
        d["state"] = state
        d["reason"] = reason
        d["at"] = at


AcdCommand = (
    Offer | OfferCallback | CancelOffer | Connect | Announce | Exit | AgentAutoBreak | AgentStateChanged
)
"""Any command ``Acd.handle`` returns."""
