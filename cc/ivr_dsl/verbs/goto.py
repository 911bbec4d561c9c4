"""`goto`: jump to another node."""

from __future__ import annotations

from typing import ClassVar

from cc.ivr_dsl.schema import Field, NodeRef
from cc.ivr_dsl.verbs.base import Precondition, RunContext, Step, Verb, Waits

__all__ = ["GotoVerb"]


class GotoVerb(Verb):
    """``goto: menu``: continue at that node."""

    name: ClassVar[str] = "goto"
    doc: ClassVar[str] = "Jump: `goto: menu`."
    short: ClassVar[str | None] = "target"
    fields: ClassVar[dict[str, Field]] = {"target": NodeRef(required=True, doc="node to continue at")}
    outcomes: ClassVar[dict[str, str]] = {"goto": "target"}
    next_fallback: ClassVar[bool] = False
    precondition: ClassVar[Precondition] = Precondition.ANY
    waits: ClassVar[Waits] = Waits.NO

    def enter(self, ctx: RunContext) -> Step:
        """Follow the target."""
        return Step(outcome="goto")
