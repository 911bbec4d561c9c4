"""The dialer's agent call-state machine as one table: ``TABLE[(state, event)] -> state``; others raise.

The agent's status (ready or not, set by the person) is kept apart from this state (what calls do): a
reserved or talking agent who says "not ready" finishes the call and is not given another.
"""

from __future__ import annotations

import enum

from cc.statetable import step

__all__ = ["TABLE", "DialerAgentEvent", "DialerAgentState", "transition"]


class DialerAgentState(enum.StrEnum):
    """What an agent of the campaign is doing."""

    IDLE = "idle"            # free (takes a call when also ready)
    RESERVED = "reserved"    # held for a preview, a progressive dial or a callback
    TALKING = "talking"      # on a call (ours, or one the dialer did not place)
    WRAP_UP = "wrap_up"      # after a call, until the result is set (or the timeout)


class DialerAgentEvent(enum.StrEnum):
    """What happens to an agent's calls."""

    RESERVE = "reserve"      # held for one lead
    RELEASE = "release"      # the hold ended without a call (failure, skip, timeout)
    CONNECT = "connect"      # bridged to a customer
    TALK = "talk"            # on a call the dialer did not place (inbound, manual elsewhere)
    HANGUP = "hangup"        # the call ended
    WRAP_DONE = "wrap_done"  # the result is in (or the wrap-up timeout)


_S = DialerAgentState
_E = DialerAgentEvent

TABLE: dict[tuple[DialerAgentState, DialerAgentEvent], DialerAgentState] = {
    (_S.IDLE, _E.RESERVE): _S.RESERVED,
    (_S.IDLE, _E.CONNECT): _S.TALKING,       # predictive: the answered customer goes to a free agent
    (_S.IDLE, _E.TALK): _S.TALKING,
    (_S.RESERVED, _E.RELEASE): _S.IDLE,
    (_S.RESERVED, _E.CONNECT): _S.TALKING,
    (_S.TALKING, _E.HANGUP): _S.WRAP_UP,
    (_S.WRAP_UP, _E.WRAP_DONE): _S.IDLE,
}
"""Every legal (state, event) pair and the state it leads to; a pair not listed is illegal."""


def transition(state: DialerAgentState, event: DialerAgentEvent, agent: str | None = None) -> DialerAgentState:
    """Return the state after ``event``; raise InvalidTransition if the table has no row."""
    return step(TABLE, state, event, agent)
