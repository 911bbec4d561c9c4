"""`say`: speak a number, digits, money, a date or time with FreeSWITCH's `say` application."""

from __future__ import annotations

from typing import ClassVar

from cc.ivr_dsl.commands import Done, Failed, Result, Say
from cc.ivr_dsl.schema import Bool, Choice, Field, Str, TemplateField
from cc.ivr_dsl.verbs.base import Precondition, RunContext, Step, Verb, Waits

__all__ = ["SAY_TYPES", "SayVerb"]

#: ``as:`` value -> (FreeSWITCH say type, say method).
SAY_TYPES: dict[str, tuple[str, str]] = {
    "number": ("NUMBER", "PRONOUNCED"),
    "digits": ("NUMBER", "ITERATED"),
    "ordinal": ("NUMBER", "COUNTED"),
    "money": ("CURRENCY", "PRONOUNCED"),
    "date": ("CURRENT_DATE", "PRONOUNCED"),
    "time": ("CURRENT_TIME", "PRONOUNCED"),
    "datetime": ("CURRENT_DATE_TIME", "PRONOUNCED"),
    "telephone": ("TELEPHONE_NUMBER", "ITERATED"),
    "spelled": ("NAME_SPELLED", "ITERATED"),
}


class SayVerb(Verb):
    """Speak ``value`` as ``as`` in the call's language (dates and times take epoch seconds)."""

    name: ClassVar[str] = "say"
    doc: ClassVar[str] = "Speak a value: `say: {value: '{{balance}}', as: money}`."
    short: ClassVar[str | None] = "value"
    fields: ClassVar[dict[str, Field]] = {
        "value": TemplateField(required=True, doc="what to say; may use {{ }}"),
        "as": Choice(default="number", options=tuple(SAY_TYPES), doc="how to say it"),
        "language": Str(
            pattern=r"[a-z]{2}([-_][A-Za-z]{2})?",
            pattern_hint="e.g. en, es, fr, pt_BR",
            doc="override the call's language",
        ),
        "gender": Choice(default="", options=("", "masculine", "feminine", "neuter"), doc="grammatical gender"),
        "barge_in": Bool(default=False, doc="a digit stops it"),
    }
    precondition: ClassVar[Precondition] = Precondition.ANSWERED
    waits: ClassVar[Waits] = Waits.OUTPUT
    results: ClassVar[tuple[type[Result], ...]] = (Done, Failed)

    def enter(self, ctx: RunContext) -> Step:
        """Emit Say and wait for it."""
        say_type, method = SAY_TYPES[self.cfg["as"]]
        text = ctx.render(self.cfg["value"])
        return Step(
            [
                Say(
                    text,
                    say_type,
                    method,
                    self.cfg.get("language") or ctx.language,
                    self.cfg["gender"],
                    bool(self.cfg["barge_in"]),
                )
            ],
            wait=True,
        )
