"""`language`: switch the prompt language of the call (and the `language` variable)."""

from __future__ import annotations

from typing import ClassVar

from cc.ivr_dsl.commands import SetLanguage
from cc.ivr_dsl.schema import Field, Str
from cc.ivr_dsl.verbs.base import Precondition, RunContext, Step, Verb, Waits

__all__ = ["LanguageVerb"]


class LanguageVerb(Verb):
    """``language: es``: later prompts, `say` and ``{{language}}`` in file names use it."""

    name: ClassVar[str] = "language"
    doc: ClassVar[str] = "Set the prompt language: `language: es`."
    short: ClassVar[str | None] = "language"
    fields: ClassVar[dict[str, Field]] = {
        "language": Str(
            required=True,
            pattern=r"[a-z]{2}([-_][A-Za-z]{2})?",
            pattern_hint="a language code like en, es, fr, pt_BR",
            doc="language code",
        ),
    }
    precondition: ClassVar[Precondition] = Precondition.ANY
    waits: ClassVar[Waits] = Waits.NO

    def writes(self) -> set[str]:
        """``language``."""
        return {"language"}

    def enter(self, ctx: RunContext) -> Step:
        """Emit SetLanguage."""
        ctx.language = self.cfg["language"]
        ctx.vars["language"] = self.cfg["language"]
        return Step([SetLanguage(self.cfg["language"])], outcome="next")
