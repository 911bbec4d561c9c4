"""Read-only views of the engine for the CLI and dashboards: frozen dataclasses built by ``Acd`` queries."""

from __future__ import annotations

from dataclasses import dataclass

from cc.model import AgentState, AgentStatus, Strategy

__all__ = ["AcdSnapshot", "AgentView", "MemberView", "QueueView"]


@dataclass(frozen=True)
class MemberView:
    """A member in a queue: place in line (None while being offered), wait, score and expected wait."""

    uuid: str
    queue: str
    state: str
    position: int | None
    waited_s: float
    priority: int
    score: float
    step: int
    callback_number: str | None
    offered_to: tuple[str, ...]
    ewt_s: float | None


@dataclass(frozen=True)
class AgentView:
    """An agent: status, call state, time in that state and the counters strategies use."""

    id: str
    status: AgentStatus
    state: AgentState
    reason: str | None
    in_state_s: float
    in_status_s: float
    free: bool
    ready_in_s: float
    calls_answered: int
    talk_time_s: float
    no_answer_count: int
    member_uuid: str | None
    queues: tuple[str, ...]


@dataclass(frozen=True)
class QueueView:
    """A queue's live figures."""

    name: str
    strategy: Strategy
    waiting: int
    offering: int
    callbacks: int
    staffed: int
    free_agents: int
    longest_wait_s: float
    aht_s: float
    ewt_new_s: float | None


@dataclass(frozen=True)
class AcdSnapshot:
    """Everything at once, at time ``at``."""

    at: float
    queues: tuple[QueueView, ...]
    agents: tuple[AgentView, ...]
    members: tuple[MemberView, ...]
    joined: int
    connected: int
    exited: int
