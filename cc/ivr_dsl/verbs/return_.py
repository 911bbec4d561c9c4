"""`return`: end a subflow and continue after the `subflow` node that called it."""

from __future__ import annotations

from typing import ClassVar

from cc.ivr_dsl.verbs.base import Precondition, RunContext, Step, Verb, Waits

__all__ = ["ReturnVerb"]


class ReturnVerb(Verb):
    """``return: {}``; in a flow that was not called as a subflow it hangs up normally."""

    name: ClassVar[str] = "return"
    doc: ClassVar[str] = "Return from a subflow: `return: {}` (in a top-level flow: hang up normally)."
    outcomes: ClassVar[dict[str, str]] = {}
    next_fallback: ClassVar[bool] = False
    terminal: ClassVar[bool] = True
    precondition: ClassVar[Precondition] = Precondition.ANY
    waits: ClassVar[Waits] = Waits.NO

    def enter(self, ctx: RunContext) -> Step:
        """Return to the caller flow."""
        return Step(ret=True)
