"""State machines as tables: the one lookup of ``table[(state, event)]`` that names the machine when it has no row."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from cc.errors import InvalidTransition

__all__ = ["step"]

S = TypeVar("S")
E = TypeVar("E")


def step(table: Mapping[tuple[S, E], S], state: S, event: E, key: str | None = None, kind: str = "agent") -> S:
    """The state after ``event`` in ``state``; InvalidTransition naming the ``kind`` of machine and the thing
    (``key``) when the table has no row for the pair."""
    try:
        return table[(state, event)]
    except KeyError:
        raise InvalidTransition(state, event, key, kind) from None
