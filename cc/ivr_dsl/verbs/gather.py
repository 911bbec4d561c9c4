"""`gather`: collect digits into a variable (min/max, terminators, timeout, regex), with retries."""

from __future__ import annotations

import re
from typing import ClassVar

from cc.ivr_dsl.commands import Collect, Digits, Failed, NoInput, Result
from cc.ivr_dsl.schema import Duration, Field, Int, Name, Prompts, Str
from cc.ivr_dsl.verbs.base import CheckContext, Precondition, RunContext, Step, Verb, VerbProblem, Waits

__all__ = ["GatherVerb"]


class GatherVerb(Verb):
    """Collect ``min_digits``..``max_digits`` digits into ``into``; a miss retries, then ``on_fail``."""

    name: ClassVar[str] = "gather"
    doc: ClassVar[str] = "Collect digits into a variable: `gather: {prompt: pin.wav, into: pin, regex: '\\d{4}'}`."
    fields: ClassVar[dict[str, Field]] = {
        "prompt": Prompts(required=True, doc="what the caller hears"),
        "into": Name(required=True, doc="variable receiving the digits (null after a failure)"),
        "min_digits": Int(default=1, lo=1, hi=64, doc="fewest digits accepted"),
        "max_digits": Int(default=16, lo=1, hi=64, doc="most digits accepted"),
        "terminators": Str(default="#", pattern=r"[0-9*#]*", pattern_hint="DTMF keys", doc="keys that end input"),
        "timeout": Duration(default=5.0, lo=0.5, hi=120, doc="wait for the first digit"),
        "digit_timeout": Duration(default=3.0, lo=0.5, hi=60, doc="wait between digits"),
        "regex": Str(doc="the digits must match this (whole) regular expression"),
        "retries": Int(default=2, lo=0, hi=10, doc="more tries after a miss"),
        "invalid_prompt": Prompts(doc="played after invalid input (then the prompt again)"),
    }
    outcomes: ClassVar[dict[str, str]] = {"next": "next", "fail": "on_fail"}
    precondition: ClassVar[Precondition] = Precondition.ANSWERED
    waits: ClassVar[Waits] = Waits.INPUT
    results: ClassVar[tuple[type[Result], ...]] = (Digits, NoInput, Failed)

    def check(self, ctx: CheckContext) -> list[VerbProblem]:
        """min <= max and a compiling regex."""
        out = []
        if self.cfg["min_digits"] > self.cfg["max_digits"]:
            out.append(
                VerbProblem(
                    ("min_digits",),
                    f"min_digits {self.cfg['min_digits']} is more than max_digits {self.cfg['max_digits']}",
                )
            )
        if self.cfg.get("regex") is not None:
            try:
                re.compile(self.cfg["regex"])
            except re.error as exc:
                out.append(VerbProblem(("regex",), f"bad regular expression: {exc}"))
        return out

    def prompt_fields(self) -> list[str]:
        """The prompts."""
        return ["prompt", "invalid_prompt"]

    def writes(self) -> set[str]:
        """``into``."""
        return {self.cfg["into"]}

    def _collect(self, ctx: RunContext, invalid: bool) -> Step:
        prompts = [ctx.prompt(t) for t in (self.cfg.get("invalid_prompt") or ())] if invalid else []
        prompts += [ctx.prompt(t) for t in self.cfg["prompt"]]
        c = self.cfg
        return Step(
            [
                Collect(
                    tuple(prompts),
                    c["min_digits"],
                    c["max_digits"],
                    c["timeout"],
                    c["digit_timeout"],
                    c["terminators"],
                )
            ],
            wait=True,
        )

    def enter(self, ctx: RunContext) -> Step:
        """Ask the first time."""
        ctx.state["tries"] = 1
        return self._collect(ctx, False)

    def resume(self, ctx: RunContext, result: Result) -> Step:
        """Accept valid digits; retry or fail otherwise."""
        c = self.cfg
        if isinstance(result, Digits):
            d = result.digits
            ok = c["min_digits"] <= len(d) <= c["max_digits"] and d.strip("0123456789*#") == ""
            if ok and c.get("regex") is not None:
                ok = re.fullmatch(c["regex"], d) is not None
            if ok:
                ctx.vars[c["into"]] = d
                return Step(outcome="next")
        if not isinstance(result, Failed) and ctx.state["tries"] <= c["retries"]:
            ctx.state["tries"] += 1
            return self._collect(ctx, isinstance(result, Digits))
        ctx.vars[c["into"]] = None
        return Step(outcome="fail")
