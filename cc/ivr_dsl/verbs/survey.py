"""`survey`: ask a post-call satisfaction question answered by one key (1-5); the answer is stored."""

from __future__ import annotations

from typing import ClassVar

from cc.ivr_dsl.commands import Collect, Digits, Failed, NoInput, Result, StoreSurvey
from cc.ivr_dsl.schema import Duration, Field, Int, Name, Prompts, Str
from cc.ivr_dsl.verbs.base import CheckContext, Precondition, RunContext, Step, Verb, VerbProblem, Waits

__all__ = ["SurveyVerb"]


class SurveyVerb(Verb):
    """One key ``min``..``max``; a valid answer emits StoreSurvey (with the queue and agent of the last
    enqueue) and goes ``next``; no valid answer after the retries goes ``on_fail``."""

    name: ClassVar[str] = "survey"
    doc: ClassVar[str] = "Post-call survey: `survey: {name: csat, prompt: rate.wav}` (1-5, stored)."
    fields: ClassVar[dict[str, Field]] = {
        "name": Str(required=True, doc="survey name in the store"),
        "question": Str(default="q1", doc="question id in the store"),
        "prompt": Prompts(required=True, doc="the question"),
        "min": Int(default=1, lo=0, hi=9, doc="lowest score"),
        "max": Int(default=5, lo=0, hi=9, doc="highest score"),
        "timeout": Duration(default=5.0, lo=0.5, hi=60, doc="wait for the key"),
        "retries": Int(default=1, lo=0, hi=5, doc="more tries after a miss"),
        "invalid_prompt": Prompts(doc="played after a key out of range"),
        "into": Name(doc="variable receiving the score (null when none)"),
    }
    outcomes: ClassVar[dict[str, str]] = {"next": "next", "fail": "on_fail"}
    precondition: ClassVar[Precondition] = Precondition.ANSWERED
    waits: ClassVar[Waits] = Waits.INPUT
    results: ClassVar[tuple[type[Result], ...]] = (Digits, NoInput, Failed)

    def check(self, ctx: CheckContext) -> list[VerbProblem]:
        """min <= max."""
        if self.cfg["min"] > self.cfg["max"]:
            return [VerbProblem(("min",), f"min {self.cfg['min']} is more than max {self.cfg['max']}")]
        return []

    def prompt_fields(self) -> list[str]:
        """The prompts."""
        return ["prompt", "invalid_prompt"]

    def writes(self) -> set[str]:
        """``into`` when given."""
        return {self.cfg["into"]} if self.cfg.get("into") else set()

    def _ask(self, ctx: RunContext, invalid: bool) -> Step:
        prompts = [ctx.prompt(t) for t in (self.cfg.get("invalid_prompt") or ())] if invalid else []
        prompts += [ctx.prompt(t) for t in self.cfg["prompt"]]
        return Step([Collect(tuple(prompts), 1, 1, self.cfg["timeout"], 1.0, "")], wait=True)

    def enter(self, ctx: RunContext) -> Step:
        """Ask."""
        ctx.state["tries"] = 1
        return self._ask(ctx, False)

    def resume(self, ctx: RunContext, result: Result) -> Step:
        """Store a valid score; retry or fail otherwise."""
        c = self.cfg
        if (
            isinstance(result, Digits)
            and result.digits.isdigit()
            and len(result.digits) == 1
            and c["min"] <= int(result.digits) <= c["max"]
        ):
            score = int(result.digits)
            if c.get("into"):
                ctx.vars[c["into"]] = score
            agent = ctx.vars.get("queue_agent")
            queue = ctx.vars.get("queue_name")
            return Step(
                [
                    StoreSurvey(
                        c["name"],
                        c["question"],
                        score,
                        agent if isinstance(agent, str) else None,
                        queue if isinstance(queue, str) else None,
                    )
                ],
                outcome="next",
            )
        if not isinstance(result, Failed) and ctx.state["tries"] <= c["retries"]:
            ctx.state["tries"] += 1
            return self._ask(ctx, isinstance(result, Digits))
        if c.get("into"):
            ctx.vars[c["into"]] = None
        return Step(outcome="fail")
