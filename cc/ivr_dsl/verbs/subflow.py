"""`subflow`: run another flow file as a subroutine (same variables); its `return` comes back to `next`."""

from __future__ import annotations

from typing import ClassVar

from cc.ivr_dsl.schema import Field, Str
from cc.ivr_dsl.verbs.base import Precondition, RunContext, Step, Verb, Waits

__all__ = ["SubflowVerb"]


class SubflowVerb(Verb):
    """``subflow: common/identify.yaml``, then ``next``; the path is relative to this flow's file."""

    name: ClassVar[str] = "subflow"
    doc: ClassVar[str] = "Call another flow file and come back: `subflow: identify.yaml, next: menu`."
    short: ClassVar[str | None] = "flow"
    fields: ClassVar[dict[str, Field]] = {
        "flow": Str(
            required=True,
            pattern=r".+\.ya?ml",
            pattern_hint="a .yaml file relative to this flow",
            doc="flow file",
        ),
    }
    precondition: ClassVar[Precondition] = Precondition.ANY
    waits: ClassVar[Waits] = Waits.INPUT  # conservatively: the subflow may wait for the caller

    #: Variables the called flow may write (filled in by the loader; used by read-before-write checks).
    sub_writes: set[str]

    def __init__(self, cfg: dict[str, object], node: str) -> None:
        super().__init__(cfg, node)
        self.sub_writes = set()
        #: The loaded flow's key in Flow.subflows (filled in by the loader).
        self.key = ""

    def writes(self) -> set[str]:
        """What the subflow writes anywhere (an over-approximation)."""
        return set(self.sub_writes)

    def enter(self, ctx: RunContext) -> Step:
        """Ask the interpreter to call the subflow."""
        return Step(call=self.key)
