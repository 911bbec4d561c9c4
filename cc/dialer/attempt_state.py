"""The dial-attempt state machine as one table: ``TABLE[(state, event)] -> state``; others raise.

An attempt is one originate. It ends in SETTLED exactly once, where its one result is set. Events that
have no row for the attempt's state (a duplicate answer, a hangup after the reconciler settled it) are
not transitions: the engine ignores them (``legal``) instead of raising.
"""

from __future__ import annotations

import enum

from cc.statetable import step

__all__ = ["TABLE", "AttemptEvent", "AttemptState", "legal", "transition"]


class AttemptState(enum.StrEnum):
    """Where one originate is."""

    DIALING = "dialing"      # originate sent, the far end not answered
    ANSWERED = "answered"    # answered; the bridge to an agent is under way
    BRIDGED = "bridged"      # talking to an agent
    OVERFLOW = "overflow"    # answered with no free agent: the overflow message plays (an abandon)
    WRAP_UP = "wrap_up"      # the bridged call ended; the agent's result is awaited
    SETTLED = "settled"      # its one result is set


class AttemptEvent(enum.StrEnum):
    """What happens to an originate."""

    ANSWER = "answer"        # the far end answered
    FAIL = "fail"            # the originate failed (BACKGROUND_JOB -ERR <cause>) or hung up unanswered
    BRIDGE = "bridge"        # bridged to its agent
    OVERFLOW = "overflow"    # no agent free at answer: play the message
    HANGUP = "hangup"        # the call ended after answer
    RESULT = "result"        # the agent set the result (wrap-up ends)
    TIMEOUT = "timeout"      # the engine's own watchdog (no event came) or the wrap-up timeout
    SETTLE = "settle"        # the reconciler found the call gone


_S = AttemptState
_E = AttemptEvent

TABLE: dict[tuple[AttemptState, AttemptEvent], AttemptState] = {
    (_S.DIALING, _E.ANSWER): _S.ANSWERED,
    (_S.DIALING, _E.FAIL): _S.SETTLED,
    (_S.DIALING, _E.HANGUP): _S.SETTLED,
    (_S.DIALING, _E.TIMEOUT): _S.SETTLED,
    (_S.DIALING, _E.SETTLE): _S.SETTLED,
    (_S.ANSWERED, _E.BRIDGE): _S.BRIDGED,
    (_S.ANSWERED, _E.OVERFLOW): _S.OVERFLOW,
    (_S.ANSWERED, _E.HANGUP): _S.SETTLED,      # the customer hung up before the bridge: abandoned
    (_S.ANSWERED, _E.TIMEOUT): _S.SETTLED,
    (_S.ANSWERED, _E.SETTLE): _S.SETTLED,
    (_S.OVERFLOW, _E.HANGUP): _S.SETTLED,
    (_S.OVERFLOW, _E.TIMEOUT): _S.SETTLED,
    (_S.OVERFLOW, _E.SETTLE): _S.SETTLED,
    (_S.BRIDGED, _E.RESULT): _S.BRIDGED,       # set during the call; applied when it ends
    (_S.BRIDGED, _E.HANGUP): _S.WRAP_UP,
    (_S.BRIDGED, _E.SETTLE): _S.WRAP_UP,
    (_S.WRAP_UP, _E.RESULT): _S.SETTLED,
    (_S.WRAP_UP, _E.TIMEOUT): _S.SETTLED,      # the wrap-up timeout applies the default result
}
"""Every legal (state, event) pair and the state it leads to; a pair not listed is illegal."""


def legal(state: AttemptState, event: AttemptEvent) -> bool:
    """True when the table has a row for (state, event)."""
    return (state, event) in TABLE


def transition(state: AttemptState, event: AttemptEvent, uuid: str | None = None) -> AttemptState:
    """Return the state after ``event``; raise InvalidTransition if the table has no row."""
    return step(TABLE, state, event, uuid, "attempt")
