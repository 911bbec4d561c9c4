"""`transfer`: hand the call to an extension, an outside number or another flow; the run ends."""

from __future__ import annotations

import re
from typing import ClassVar

from cc.ivr_dsl.commands import Transfer
from cc.ivr_dsl.schema import Field, Str, TemplateField
from cc.ivr_dsl.verbs.base import CheckContext, Precondition, RunContext, Step, Verb, VerbProblem, Waits

__all__ = ["TransferVerb"]

_KINDS = ("extension", "number", "flow")


class TransferVerb(Verb):
    """Give exactly one of ``extension``, ``number`` or ``flow`` (``transfer: 1001`` is an extension)."""

    name: ClassVar[str] = "transfer"
    doc: ClassVar[str] = "Hand the call over: `transfer: 1001`, `transfer: {number: '+4930123'}`, `{flow: sales}`."
    short: ClassVar[str | None] = "extension"
    fields: ClassVar[dict[str, Field]] = {
        "extension": TemplateField(doc="a dialplan extension"),
        "number": TemplateField(doc="an outside number (E.164 preferred)"),
        "flow": TemplateField(doc="another flow by name"),
        "context": Str(default="", doc="dialplan context for an extension"),
    }
    outcomes: ClassVar[dict[str, str]] = {}
    next_fallback: ClassVar[bool] = False
    terminal: ClassVar[bool] = True
    precondition: ClassVar[Precondition] = Precondition.ANY
    waits: ClassVar[Waits] = Waits.NO

    def check(self, ctx: CheckContext) -> list[VerbProblem]:
        """Exactly one target; a constant number looks like one."""
        given = [k for k in _KINDS if self.cfg.get(k) is not None]
        if len(given) != 1:
            return [
                VerbProblem(
                    (),
                    f"transfer needs exactly one of extension, number, flow (got {len(given)})",
                    "transfer: {number: '+4930123456'}",
                )
            ]
        number = self.cfg.get("number")
        if number is not None and number.is_constant and not re.fullmatch(r"\+?[0-9]{3,20}", number.source):
            return [
                VerbProblem(
                    ("number",),
                    f"{number.source!r} is not a phone number",
                    "digits with an optional leading +",
                )
            ]
        return []

    def enter(self, ctx: RunContext) -> Step:
        """Emit Transfer; the run ends."""
        kind = next(k for k in _KINDS if self.cfg.get(k) is not None)
        return Step([Transfer(kind, ctx.render(self.cfg[kind]), self.cfg["context"])], end=True)
