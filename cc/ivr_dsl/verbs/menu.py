"""`menu`: play a prompt, take one choice by DTMF, retry on no input or a wrong key, then `on_fail`."""

from __future__ import annotations

from typing import ClassVar

from cc.ivr_dsl.commands import Collect, Digits, Failed, NoInput, Result
from cc.ivr_dsl.schema import Duration, Field, Int, MapOf, Name, NodeRef, Prompts, Str
from cc.ivr_dsl.verbs.base import Precondition, RunContext, Step, Verb, Waits

__all__ = ["MenuVerb"]


class MenuVerb(Verb):
    """A DTMF menu: ``choices`` maps keys to nodes; ``retries`` more tries after a miss, then ``on_fail``."""

    name: ClassVar[str] = "menu"
    doc: ClassVar[str] = "A keypress menu: `menu: {prompt: m.wav, choices: {'1': sales}, on_fail: op}`."
    fields: ClassVar[dict[str, Field]] = {
        "prompt": Prompts(required=True, doc="what the caller hears"),
        "choices": MapOf(
            required=True,
            min_len=1,
            key=Str(pattern=r"[0-9*#]{1,8}", pattern_hint="keys are DTMF digits 0-9 * #"),
            value=NodeRef(),
            doc="digit(s) -> node",
        ),
        "timeout": Duration(default=5.0, lo=0.5, hi=60, doc="wait for the first digit"),
        "retries": Int(default=2, lo=0, hi=10, doc="more tries after no input or a wrong key"),
        "invalid_prompt": Prompts(doc="played after a wrong key (then the prompt again)"),
        "no_input_prompt": Prompts(doc="played after no input (then the prompt again)"),
        "into": Name(doc="variable that receives the chosen key"),
    }
    outcomes: ClassVar[dict[str, str]] = {"fail": "on_fail"}
    precondition: ClassVar[Precondition] = Precondition.ANSWERED
    waits: ClassVar[Waits] = Waits.INPUT
    results: ClassVar[tuple[type[Result], ...]] = (Digits, NoInput, Failed)

    def prompt_fields(self) -> list[str]:
        """The menu's prompts."""
        return ["prompt", "invalid_prompt", "no_input_prompt"]

    def extra_targets(self) -> dict[str, tuple[str, tuple[str | int, ...]]]:
        """One outcome per choice."""
        return {f"choice:{k}": (v, ("choices", k)) for k, v in self.cfg["choices"].items()}

    def writes(self) -> set[str]:
        """``into`` when given."""
        return {self.cfg["into"]} if self.cfg.get("into") else set()

    def _collect(self, ctx: RunContext, extra: str | None) -> Step:
        prompts = [ctx.prompt(t) for t in (self.cfg.get(extra) or ())] if extra else []
        prompts += [ctx.prompt(t) for t in self.cfg["prompt"]]
        lengths = [len(k) for k in self.cfg["choices"]]
        return Step(
            [
                Collect(
                    tuple(prompts),
                    min(lengths),
                    max(lengths),
                    self.cfg["timeout"],
                    3.0,
                    "#" if min(lengths) != max(lengths) else "",
                )
            ],
            wait=True,
        )

    def enter(self, ctx: RunContext) -> Step:
        """Ask the first time."""
        ctx.state["tries"] = 1
        return self._collect(ctx, None)

    def resume(self, ctx: RunContext, result: Result) -> Step:
        """Follow a valid choice; retry or fail otherwise."""
        into = self.cfg.get("into")
        if isinstance(result, Digits) and result.digits in self.cfg["choices"]:
            if into:
                ctx.vars[into] = result.digits
            return Step(outcome=f"choice:{result.digits}")
        if isinstance(result, Failed):
            ctx.log(f"menu collect failed: {result.reason}")
        elif ctx.state["tries"] <= self.cfg["retries"]:
            ctx.state["tries"] += 1
            return self._collect(ctx, "invalid_prompt" if isinstance(result, Digits) else "no_input_prompt")
        if into:
            ctx.vars[into] = None
        return Step(outcome="fail")
