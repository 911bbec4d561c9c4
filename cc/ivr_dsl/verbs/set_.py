"""`set`: assign variables from expressions of the safe expression language (optionally export them)."""

from __future__ import annotations

from typing import ClassVar

from cc.ivr_dsl.commands import Command, SetVar
from cc.ivr_dsl.expr import to_text
from cc.ivr_dsl.schema import Bool, ExprField, Field, MapOf, Name
from cc.ivr_dsl.verbs.base import Precondition, RunContext, Step, Verb, Waits

__all__ = ["SetVerb"]


class SetVerb(Verb):
    """Assign each variable in order (later ones may read earlier ones); ``export`` copies to the channel."""

    name: ClassVar[str] = "set"
    doc: ClassVar[str] = "Assign variables: `set: {tries: 'tries + 1', lang: \"'es'\"}` (values are expressions)."
    value_is: ClassVar[str | None] = "vars"
    fields: ClassVar[dict[str, Field]] = {
        "vars": MapOf(required=True, min_len=1, key=Name(), value=ExprField(), doc="name -> expression"),
        "export": Bool(default=False, doc="also set them as channel variables (SetVar commands)"),
    }
    precondition: ClassVar[Precondition] = Precondition.ANY
    waits: ClassVar[Waits] = Waits.NO

    def reads(self) -> set[str]:
        """Names read before this node writes them."""
        seen: set[str] = set()
        out: set[str] = set()
        for name, expr in self.cfg["vars"].items():
            out |= expr.names - seen
            seen.add(name)
        return out

    def writes(self) -> set[str]:
        """Every assigned name."""
        return set(self.cfg["vars"])

    def enter(self, ctx: RunContext) -> Step:
        """Evaluate and assign in order."""
        commands: list[Command] = []
        for name, expr in self.cfg["vars"].items():
            ctx.vars[name] = expr.evaluate(ctx.vars)
            if self.cfg["export"]:
                commands.append(SetVar(name, to_text(ctx.vars[name])))
        return Step(commands, outcome="next")
