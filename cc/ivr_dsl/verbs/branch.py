"""`branch`: go to the first case whose condition holds, else to `else`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from cc.ivr_dsl.schema import Custom, ExprField, Field, Invalid, ListOf, NodeRef
from cc.ivr_dsl.verbs.base import Precondition, RunContext, Step, Verb, Waits

__all__ = ["BranchVerb"]

_COND = ExprField()
_NODE = NodeRef()


def _case(value: Any) -> tuple[Any, str]:
    if not isinstance(value, Mapping):
        raise Invalid("a case is a mapping {if: condition, then: node}")
    extra = set(value) - {"if", "then"}
    if extra:
        raise Invalid(f"unknown key {sorted(extra)[0]!r} in a case", "a case has if: and then:", (sorted(extra)[0],))
    for key in ("if", "then"):
        if key not in value:
            raise Invalid(f"a case needs {key}:", "- if: \"lang == 'es'\"\n  then: spanish")
    try:
        cond = _COND.convert(value["if"])
    except Invalid as exc:
        raise Invalid(exc.message, exc.hint, ("if",)) from None
    try:
        target = _NODE.convert(value["then"])
    except Invalid as exc:
        raise Invalid(exc.message, exc.hint, ("then",)) from None
    return cond, target


class BranchVerb(Verb):
    """Conditions over variables (==, !=, <, >, in, matches, and/or/not), first match wins."""

    name: ClassVar[str] = "branch"
    doc: ClassVar[str] = "Route on variables: `branch: [{if: 'crm.vip', then: vip}]`, `else: normal`."
    value_is: ClassVar[str | None] = "cases"
    fields: ClassVar[dict[str, Field]] = {
        "cases": ListOf(
            required=True,
            min_len=1,
            item=Custom(fn=_case, type_name="{if: expr, then: node}"),
            doc="tried in order",
        ),
    }
    outcomes: ClassVar[dict[str, str]] = {"else": "else"}
    precondition: ClassVar[Precondition] = Precondition.ANY
    waits: ClassVar[Waits] = Waits.NO

    def extra_targets(self) -> dict[str, tuple[str, tuple[str | int, ...]]]:
        """One outcome per case."""
        return {f"case:{i}": (target, ("cases", i, "then")) for i, (_, target) in enumerate(self.cfg["cases"])}

    def enter(self, ctx: RunContext) -> Step:
        """Pick the first true case."""
        for i, (cond, _) in enumerate(self.cfg["cases"]):
            if cond.evaluate(ctx.vars):
                return Step(outcome=f"case:{i}")
        return Step(outcome="else")
