"""The agent call-state machine as one table: ``TABLE[(state, event)] -> next state``; others raise."""

from __future__ import annotations

import enum

from cc.errors import InvalidTransition
from cc.model import AgentState

__all__ = ["TABLE", "AgentEvent", "transition"]


class AgentEvent(enum.StrEnum):
    """What can happen to an agent's call state (status, set by the person, is separate)."""

    RESERVE = "reserve"        # the engine picked the agent for a member (compare-and-set)
    RING = "ring"              # the controller reports the agent's phone is ringing
    ANSWER = "answer"          # the agent picked up the offer
    NO_ANSWER = "no_answer"    # the offer rang out (or the engine's offer timer fired)
    BUSY = "busy"              # the agent's phone was busy
    REJECT = "reject"          # the agent declined the offer
    CANCEL = "cancel"          # the engine withdrew the offer (member left, ring-all lost, logout ...)
    HANGUP = "hangup"          # the call the agent was in ended
    WRAP_DONE = "wrap_done"    # wrap-up time is over (timer or the agent said so)
    ADOPT = "adopt"            # the switch shows the agent on a call the engine did not connect (restart)


_S = AgentState
_E = AgentEvent

TABLE: dict[tuple[AgentState, AgentEvent], AgentState] = {
    (_S.IDLE, _E.RESERVE): _S.RESERVED,
    (_S.RESERVED, _E.RING): _S.RINGING,
    (_S.RESERVED, _E.ANSWER): _S.IN_CALL,
    (_S.RESERVED, _E.NO_ANSWER): _S.IDLE,
    (_S.RESERVED, _E.BUSY): _S.IDLE,
    (_S.RESERVED, _E.REJECT): _S.IDLE,
    (_S.RESERVED, _E.CANCEL): _S.IDLE,
    (_S.RINGING, _E.ANSWER): _S.IN_CALL,
    (_S.RINGING, _E.NO_ANSWER): _S.IDLE,
    (_S.RINGING, _E.BUSY): _S.IDLE,
    (_S.RINGING, _E.REJECT): _S.IDLE,
    (_S.RINGING, _E.CANCEL): _S.IDLE,
    (_S.IN_CALL, _E.HANGUP): _S.WRAP_UP,
    (_S.IDLE, _E.ADOPT): _S.IN_CALL,
    (_S.WRAP_UP, _E.WRAP_DONE): _S.IDLE,
}
"""Every legal (state, event) pair and the state it leads to; a pair not listed is illegal."""


def transition(state: AgentState, event: AgentEvent, agent: str | None = None) -> AgentState:
    """Return the state after ``event`` in ``state``; raise InvalidTransition if the table has no row."""
    try:
        return TABLE[(state, event)]
    except KeyError:
        raise InvalidTransition(state, event, agent) from None
