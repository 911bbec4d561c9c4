"""`hangup`: end the call with a Q.850 cause."""

from __future__ import annotations

from typing import ClassVar

from cc.ivr_dsl.commands import Hangup
from cc.ivr_dsl.schema import Choice, Field
from cc.ivr_dsl.verbs.base import Precondition, RunContext, Step, Verb, Waits

__all__ = ["CAUSES", "HangupVerb"]

#: Hang-up causes a flow may give (FreeSWITCH names of Q.850 causes).
CAUSES = (
    "NORMAL_CLEARING",
    "USER_BUSY",
    "NO_ANSWER",
    "CALL_REJECTED",
    "UNALLOCATED_NUMBER",
    "NO_ROUTE_DESTINATION",
    "NORMAL_TEMPORARY_FAILURE",
    "SERVICE_UNAVAILABLE",
    "FACILITY_REJECTED",
    "DESTINATION_OUT_OF_ORDER",
    "INVALID_NUMBER_FORMAT",
    "NORMAL_UNSPECIFIED",
    "SWITCH_CONGESTION",
    "ORIGINATOR_CANCEL",
)


class HangupVerb(Verb):
    """``hangup: USER_BUSY`` (default NORMAL_CLEARING); the run ends."""

    name: ClassVar[str] = "hangup"
    doc: ClassVar[str] = "End the call: `hangup: {}` or `hangup: USER_BUSY`."
    short: ClassVar[str | None] = "cause"
    fields: ClassVar[dict[str, Field]] = {
        "cause": Choice(default="NORMAL_CLEARING", options=CAUSES, doc="Q.850 cause name"),
    }
    outcomes: ClassVar[dict[str, str]] = {}
    next_fallback: ClassVar[bool] = False
    terminal: ClassVar[bool] = True
    precondition: ClassVar[Precondition] = Precondition.ANY
    waits: ClassVar[Waits] = Waits.NO

    def enter(self, ctx: RunContext) -> Step:
        """Emit Hangup; the run ends."""
        return Step([Hangup(self.cfg["cause"])], end=True)
