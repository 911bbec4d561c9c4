"""`voicemail`: leave the caller in a voicemail box (greeting, beep, recording)."""

from __future__ import annotations

from typing import ClassVar

from cc.ivr_dsl.commands import Done, Failed, Recorded, Result, Voicemail
from cc.ivr_dsl.schema import Duration, Field, Str, TemplateField
from cc.ivr_dsl.verbs.base import Precondition, RunContext, Step, Verb, Waits

__all__ = ["VoicemailVerb"]


class VoicemailVerb(Verb):
    """Run voicemail box ``box``; the recorded file (if reported) lands in ``voicemail_path``."""

    name: ClassVar[str] = "voicemail"
    doc: ClassVar[str] = "Voicemail: `voicemail: sales` or `{box: sales, greeting: closed.wav, max: 3m}`."
    short: ClassVar[str | None] = "box"
    fields: ClassVar[dict[str, Field]] = {
        "box": TemplateField(required=True, doc="mailbox id"),
        "domain": Str(default="", doc="voicemail domain (default: the runtime's)"),
        "greeting": Str(default="", doc="greeting file instead of the box's own"),
        "max": Duration(default=180.0, lo=5, hi=3600, doc="longest message"),
    }
    precondition: ClassVar[Precondition] = Precondition.ANSWERED
    waits: ClassVar[Waits] = Waits.INPUT
    results: ClassVar[tuple[type[Result], ...]] = (Done, Recorded, Failed)

    def writes(self) -> set[str]:
        """``voicemail_path``."""
        return {"voicemail_path"}

    def enter(self, ctx: RunContext) -> Step:
        """Emit Voicemail and wait."""
        c = self.cfg
        return Step([Voicemail(ctx.render(c["box"]), c["domain"], c["greeting"], c["max"])], wait=True)

    def resume(self, ctx: RunContext, result: Result) -> Step:
        """Keep the file path, go on."""
        ctx.vars["voicemail_path"] = result.path if isinstance(result, Recorded) and result.path else None
        if isinstance(result, Failed):
            ctx.log(f"voicemail failed: {result.reason}")
        return Step(outcome="next")
