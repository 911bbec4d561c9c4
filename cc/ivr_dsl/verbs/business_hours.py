"""`business_hours`: go to `open` or `closed` by a named calendar at the time the run is given."""

from __future__ import annotations

from typing import ClassVar

from cc.ivr_dsl.calendars import is_open
from cc.ivr_dsl.schema import Field, Str, did_you_mean
from cc.ivr_dsl.verbs.base import CheckContext, Precondition, RunContext, Step, Verb, VerbProblem, Waits

__all__ = ["BusinessHoursVerb"]


class BusinessHoursVerb(Verb):
    """Open or closed now, by a calendar (timezone, weekly hours, holidays); an unknown calendar is closed."""

    name: ClassVar[str] = "business_hours"
    doc: ClassVar[str] = "Route by calendar: `business_hours: office, open: menu, closed: after_hours`."
    short: ClassVar[str | None] = "calendar"
    fields: ClassVar[dict[str, Field]] = {
        "calendar": Str(required=True, doc="a calendar name (calendars: section or --calendars file)"),
    }
    outcomes: ClassVar[dict[str, str]] = {"open": "open", "closed": "closed"}
    precondition: ClassVar[Precondition] = Precondition.ANY
    waits: ClassVar[Waits] = Waits.NO

    def check(self, ctx: CheckContext) -> list[VerbProblem]:
        """The calendar must be defined."""
        name = self.cfg["calendar"]
        if name in ctx.calendars:
            return []
        hint = (
            did_you_mean(name, list(ctx.calendars))
            if ctx.calendars
            else "define it under calendars: in the flow, or pass a calendars file"
        )
        return [VerbProblem(("calendar",), f"no calendar named {name!r}", hint, warning=ctx.external_calendars)]

    def enter(self, ctx: RunContext) -> Step:
        """Evaluate the calendar at ``ctx.now``."""
        cal = ctx.calendars.get(self.cfg["calendar"])
        if cal is None:
            ctx.log(f"no calendar {self.cfg['calendar']!r}: treated as closed")
            return Step(outcome="closed")
        return Step(outcome="open" if is_open(cal, ctx.now) else "closed")
