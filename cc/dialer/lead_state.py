"""The lead state machine as one table: ``TABLE[(state, event)] -> state``; others raise."""

from __future__ import annotations

import enum

from cc.dialer.model import LeadState
from cc.statetable import step

__all__ = ["IDLE_STATES", "TABLE", "LeadEvent", "transition"]


class LeadEvent(enum.StrEnum):
    """What happens to a lead."""

    RESERVE = "reserve"          # held for an agent (preview offer, progressive reservation)
    RELEASE = "release"          # the hold ended without a dial (skip, timeout, agent gone): waits again
    REQUEUE = "requeue"          # the hold of a never-dialed lead ended: new again
    DIAL = "dial"                # an originate went out
    ANSWER = "answer"            # the customer answered
    HANGUP = "hangup"            # a bridged call ended: the agent's result is awaited (wrap-up)
    RETRY = "retry"              # the attempt's result asks for another attempt later
    CALLBACK = "callback"        # a callback is scheduled (a result with a time, or an operator)
    FINAL = "final"              # a final result: done
    EXHAUSTED = "exhausted"      # max attempts (or the result's max retries) reached
    DNC = "dnc"                  # the number is on the do-not-call list (or the result said so)


_S = LeadState
_E = LeadEvent

#: States in which a lead waits to be dialed (it is in the dialer's order or its timers).
IDLE_STATES = frozenset({_S.NEW, _S.RETRY, _S.CALLBACK})
_OUTCOMES = {_E.RETRY: _S.RETRY, _E.CALLBACK: _S.CALLBACK, _E.FINAL: _S.DONE, _E.EXHAUSTED: _S.EXHAUSTED,
             _E.DNC: _S.DNC}

TABLE: dict[tuple[LeadState, LeadEvent], LeadState] = {
    **{(s, _E.RESERVE): _S.RESERVED for s in IDLE_STATES},
    **{(s, _E.DIAL): _S.DIALING for s in (*IDLE_STATES, _S.RESERVED)},
    **{(s, _E.DNC): _S.DNC for s in (*IDLE_STATES, _S.RESERVED)},
    **{(s, _E.CALLBACK): _S.CALLBACK for s in (*IDLE_STATES, _S.RESERVED, _S.DONE, _S.EXHAUSTED)},
    (_S.RESERVED, _E.RELEASE): _S.RETRY,
    (_S.RESERVED, _E.REQUEUE): _S.NEW,
    (_S.DIALING, _E.ANSWER): _S.ANSWERED,
    (_S.ANSWERED, _E.HANGUP): _S.WRAP_UP,
    **{(s, e): to for s in (_S.DIALING, _S.ANSWERED, _S.WRAP_UP) for e, to in _OUTCOMES.items()},
}
"""Every legal (state, event) pair and the state it leads to; a pair not listed is illegal."""


def transition(state: LeadState, event: LeadEvent, lead: str | None = None) -> LeadState:
    """Return the state after ``event``; raise InvalidTransition if the table has no row."""
    return step(TABLE, state, event, lead, "lead")
