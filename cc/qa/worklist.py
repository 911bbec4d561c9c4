"""The QA work list's state machine as a table: to do -> in progress -> scored -> disputed -> resolved.

An item enters ``todo`` when sampling picks its call. A QA user starts it (``in_progress``; releasing it puts it
back), scores it (``scored``); the agent may dispute a score once (``disputed``), and his supervisor resolves it
(``resolved``: upheld, or changed with a new total). There is no way back from ``resolved`` and no second
dispute: the table has no row for it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

from cc.statetable import step

__all__ = ["TRANSITIONS", "ItemEvent", "ItemState", "Resolution", "next_state"]


class ItemState(enum.StrEnum):
    """Where a work-list item is."""

    TODO = "todo"
    IN_PROGRESS = "in_progress"
    SCORED = "scored"
    DISPUTED = "disputed"
    RESOLVED = "resolved"


class ItemEvent(enum.StrEnum):
    """What happens to a work-list item."""

    ASSIGN = "assign"       #: given to a QA user (or taken back: assigned to nobody)
    START = "start"         #: a QA user opens it to score
    RELEASE = "release"     #: put back without a score
    SCORE = "score"         #: a score is saved
    DISPUTE = "dispute"     #: the agent disputes the score (once)
    RESOLVE = "resolve"     #: the supervisor settles the dispute


class Resolution(enum.StrEnum):
    """How a dispute ended."""

    UPHELD = "upheld"       #: the score stands
    CHANGED = "changed"     #: the score is changed to a new total


S, E = ItemState, ItemEvent

#: (state, event) -> next state; anything else is an InvalidTransition.
TRANSITIONS: Mapping[tuple[ItemState, ItemEvent], ItemState] = {
    (S.TODO, E.ASSIGN): S.TODO,
    (S.TODO, E.START): S.IN_PROGRESS,
    (S.TODO, E.SCORE): S.SCORED,
    (S.IN_PROGRESS, E.ASSIGN): S.IN_PROGRESS,
    (S.IN_PROGRESS, E.START): S.IN_PROGRESS,
    (S.IN_PROGRESS, E.RELEASE): S.TODO,
    (S.IN_PROGRESS, E.SCORE): S.SCORED,
    (S.SCORED, E.DISPUTE): S.DISPUTED,
    (S.DISPUTED, E.RESOLVE): S.RESOLVED,
}


def next_state(state: ItemState, event: ItemEvent, item: object = None) -> ItemState:
    """The state after ``event``; InvalidTransition (naming the item) when the table has no row for it."""
    return step(TRANSITIONS, state, event, None if item is None else str(item), "qa item")
