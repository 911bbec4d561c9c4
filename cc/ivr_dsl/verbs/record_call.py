"""`record_call`: start, pause, resume or stop the call recording (pause while a card number is read)."""

from __future__ import annotations

from typing import ClassVar

from cc.ivr_dsl.commands import RecordCall
from cc.ivr_dsl.schema import Choice, Field, TemplateField
from cc.ivr_dsl.verbs.base import CheckContext, Precondition, RunContext, Step, Verb, VerbProblem, Waits

__all__ = ["RecordCallVerb"]


class RecordCallVerb(Verb):
    """Control the whole-call recording: ``record_call: pause`` ... ``record_call: resume``."""

    name: ClassVar[str] = "record_call"
    doc: ClassVar[str] = "Call recording control: `record_call: start|pause|resume|stop`."
    short: ClassVar[str | None] = "action"
    fields: ClassVar[dict[str, Field]] = {
        "action": Choice(required=True, options=("start", "pause", "resume", "stop"), doc="what to do"),
        "path": TemplateField(doc="file for start (default: the runtime's recording template)"),
    }
    precondition: ClassVar[Precondition] = Precondition.ANSWERED
    waits: ClassVar[Waits] = Waits.NO

    def check(self, ctx: CheckContext) -> list[VerbProblem]:
        """A path only makes sense with start."""
        if self.cfg.get("path") is not None and self.cfg["action"] != "start":
            return [
                VerbProblem(
                    ("path",),
                    f"path is ignored by {self.cfg['action']}",
                    "only start takes a path",
                    warning=True,
                )
            ]
        return []

    def enter(self, ctx: RunContext) -> Step:
        """Emit RecordCall."""
        path = ctx.render(self.cfg["path"]) if self.cfg.get("path") is not None else ""
        return Step([RecordCall(self.cfg["action"], path)], outcome="next")
