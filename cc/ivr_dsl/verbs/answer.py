"""`answer`: answer the call (a no-op when it is answered already)."""

from __future__ import annotations

from typing import ClassVar

from cc.ivr_dsl.commands import Answer
from cc.ivr_dsl.verbs.base import Precondition, RunContext, Step, Verb, Waits

__all__ = ["AnswerVerb"]


class AnswerVerb(Verb):
    """Answer the call, then go to ``next``."""

    name: ClassVar[str] = "answer"
    doc: ClassVar[str] = "Answer the call (no-op when already answered). `answer: {}`, then `next`."
    precondition: ClassVar[Precondition] = Precondition.ANY
    waits: ClassVar[Waits] = Waits.NO

    def enter(self, ctx: RunContext) -> Step:
        """Emit Answer unless the call is answered."""
        return Step([] if ctx.answered else [Answer()], outcome="next")
