"""`enqueue`: put the caller in an ACD queue with priority, skill steps, announcements, a callback offer."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

from cc.ivr_dsl.commands import CallbackOffer, Enqueue, Failed, QueueOutcome, QueueResult, Result
from cc.ivr_dsl.expr import Expr, ExprSyntaxError, parse_template
from cc.ivr_dsl.schema import (
    Bool,
    Custom,
    Duration,
    ExprField,
    Field,
    Invalid,
    Str,
    parse_duration,
)
from cc.ivr_dsl.verbs.base import CheckContext, Precondition, RunContext, Step, Verb, VerbProblem, Waits
from cc.model import SkillRequirement, SkillStep

__all__ = ["EnqueueVerb", "parse_skills"]

_REQ = re.compile(r"^\s*(>=|<=|==|>|<)?\s*(\d{1,3})\s*$")
_EXPR = ExprField()


def parse_skills(value: Any) -> tuple[SkillStep, ...]:
    """``[{require: {billing: ">=5"}, for: 30s}, {require: {}}]`` -> SkillSteps; raises Invalid."""
    if not isinstance(value, list) or not value:
        raise Invalid(
            "skills is a non-empty list of steps",
            "skills: [{require: {billing: '>=5'}, for: 30s}, {require: {}}]",
        )
    steps: list[SkillStep] = []
    for i, step in enumerate(value):
        if not isinstance(step, Mapping):
            raise Invalid("a skill step is a mapping {require: {...}, for: 30s}", sub=(i,))
        extra = set(step) - {"require", "for"}
        if extra:
            raise Invalid(
                f"unknown key {sorted(extra)[0]!r} in a skill step",
                "a step has require: and for:",
                (i, sorted(extra)[0]),
            )
        require = step.get("require", {})
        if require is None:
            require = {}
        if not isinstance(require, Mapping):
            raise Invalid("require is a mapping of skill -> level", "require: {billing: '>=5'}", (i, "require"))
        reqs: list[SkillRequirement] = []
        for skill, cond in require.items():
            m = _REQ.match(str(cond)) if isinstance(cond, (str, int)) and not isinstance(cond, bool) else None
            if m is None or not 0 <= int(m.group(2)) <= 100:
                raise Invalid(
                    f"{cond!r} is not a skill level condition",
                    "a level 0-100 with an optional operator: 5, '>=5', '>3', '==7', '<=2'",
                    (i, "require", skill),
                )
            if "{{" in str(skill):
                try:
                    parse_template(str(skill))
                except ExprSyntaxError as exc:
                    raise Invalid(f"bad skill name {skill!r}: {exc}", sub=(i, "require", skill)) from None
            reqs.append(SkillRequirement(str(skill), m.group(1) or ">=", int(m.group(2))))
        for_s = None
        if "for" in step:
            try:
                for_s = parse_duration(step["for"])
            except Invalid as exc:
                raise Invalid(exc.message, exc.hint, (i, "for")) from None
        elif i < len(value) - 1:
            raise Invalid("only the last skill step may omit for:", "say how long this step holds: for: 30s", (i,))
        steps.append(SkillStep(tuple(reqs), for_s))
    return tuple(steps)


def _priority(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        if not 0 <= value <= 100:
            raise Invalid(f"{value} is out of range", "priority is 0 (lowest) to 100")
        return value
    if isinstance(value, str):
        return _EXPR.convert(value)
    raise Invalid(f"priority is a whole number 0-100 or an expression, not {value!r}")


def _callback(value: Any) -> CallbackOffer | None:
    if value is False or value is None:
        return None
    if value is True:
        return CallbackOffer()
    if not isinstance(value, Mapping):
        raise Invalid("callback is true or {digit: '1', after: 60s, prompt: file}")
    extra = set(value) - {"digit", "after", "prompt"}
    if extra:
        raise Invalid(
            f"unknown key {sorted(extra)[0]!r} in callback",
            "callback has digit, after, prompt",
            (sorted(extra)[0],),
        )
    digit = str(value.get("digit", "1"))
    if not re.fullmatch(r"[0-9*#]", digit):
        raise Invalid(f"{digit!r} is not one DTMF key", sub=("digit",))
    try:
        after = parse_duration(value.get("after", 60))
    except Invalid as exc:
        raise Invalid(exc.message, exc.hint, ("after",)) from None
    prompt = value.get("prompt", "")
    if not isinstance(prompt, str):
        raise Invalid("prompt is a file name", sub=("prompt",))
    return CallbackOffer(digit, after, prompt)


def _skill(name: str, ctx: RunContext) -> str:
    """A skill name, with ``{{ }}`` holes filled (``"{{product}}"`` -> ``internet``)."""
    return ctx.render(parse_template(name)) if "{{" in name else name


_OUTCOME = {
    QueueOutcome.SERVED: "next",
    QueueOutcome.TIMEOUT: "timeout",
    QueueOutcome.NO_AGENT: "no_agent",
    QueueOutcome.FULL: "full",
    QueueOutcome.CALLBACK: "callback",
    QueueOutcome.EXIT_KEY: "exit_key",
}


class EnqueueVerb(Verb):
    """Wait in a queue for an agent; after the agent call the flow goes on at ``next`` (e.g. a survey)."""

    name: ClassVar[str] = "enqueue"
    doc: ClassVar[str] = "Queue the caller: `enqueue: {queue: billing, priority: 2, max_wait: 5m}`, `next: survey`."
    short: ClassVar[str | None] = "queue"
    fields: ClassVar[dict[str, Field]] = {
        "queue": Str(required=True, doc="queue name"),
        "priority": Custom(
            default=0,
            fn=_priority,
            type_name="0-100 or expression",
            doc='higher is served first; or an expression such as "if(crm.vip, 10, 0)"',
        ),
        "skills": Custom(
            fn=parse_skills,
            type_name="[{require: {skill: '>=N'}, for: 30s}]",
            doc="requirement steps relaxed over time",
        ),
        "announce_position": Bool(default=False, doc="tell the caller their position"),
        "announce_ewt": Bool(default=False, doc="tell the caller the estimated wait"),
        # no floor beyond 1 s: announcements that come faster than they play are coalesced (the latest is played
        # next, none is queued in front of the agent's Connect), so a short period only means back-to-back ones
        "announce_every": Duration(lo=1, hi=3600, doc="repeat announcements this often (1s-1h; due while one "
                                   "plays: only the latest is played next)"),
        "max_wait": Duration(lo=1, doc="leave with outcome timeout after this long"),
        "max_wait_no_agent": Duration(lo=0, doc="leave with no_agent when nobody is logged in this long"),
        "callback": Custom(
            fn=_callback,
            type_name="true | {digit, after, prompt}",
            doc="offer 'press 1 for a callback' after a while",
        ),
        "exit_key": Str(
            default="",
            pattern=r"[0-9*#]?",
            pattern_hint="one DTMF key",
            doc="a key that leaves the queue (outcome exit_key)",
        ),
        "moh": Str(default="", doc="music on hold (default: the queue's)"),
    }
    outcomes: ClassVar[dict[str, str]] = {
        "next": "next",
        "timeout": "on_timeout",
        "no_agent": "on_no_agent",
        "full": "on_full",
        "callback": "on_callback",
        "exit_key": "on_exit_key",
    }
    precondition: ClassVar[Precondition] = Precondition.ANSWERED
    waits: ClassVar[Waits] = Waits.INPUT
    results: ClassVar[tuple[type[Result], ...]] = (QueueResult, Failed)

    def check(self, ctx: CheckContext) -> list[VerbProblem]:
        """Outcome branches that can never happen are warnings."""
        out = []
        if "on_callback" in self.cfg and not self.cfg.get("callback"):
            out.append(
                VerbProblem(
                    ("on_callback",),
                    "on_callback is never taken: no callback is offered",
                    "add callback: true",
                    warning=True,
                )
            )
        if "on_exit_key" in self.cfg and not self.cfg["exit_key"]:
            out.append(VerbProblem(("on_exit_key",), "on_exit_key is never taken: no exit_key is set", warning=True))
        cb = self.cfg.get("callback")
        if cb is not None and self.cfg["exit_key"] and cb.digit == self.cfg["exit_key"]:
            out.append(VerbProblem(("exit_key",), f"exit_key {cb.digit!r} is also the callback digit"))
        return out

    def reads(self) -> set[str]:
        """Names in the priority expression and in templated skill names."""
        out = super().reads()
        for step in self.cfg.get("skills") or ():
            for r in step.require:
                if "{{" in r.skill:
                    out |= parse_template(r.skill).names
        return out

    def writes(self) -> set[str]:
        """What the queue result leaves behind."""
        return {"queue_name", "queue_outcome", "queue_agent", "queue_wait"}

    def enter(self, ctx: RunContext) -> Step:
        """Emit Enqueue and wait for the outcome."""
        c = self.cfg
        prio = c["priority"]
        if isinstance(prio, Expr):
            value = prio.evaluate(ctx.vars)
            prio = min(100, max(0, int(value))) if isinstance(value, (int, float)) else 0
        ctx.vars["queue_name"] = c["queue"]
        steps = tuple(
            SkillStep(tuple(SkillRequirement(_skill(r.skill, ctx), r.op, r.level) for r in s.require), s.for_s)
            for s in c.get("skills") or ()
        )
        return Step(
            [
                Enqueue(
                    c["queue"],
                    int(prio),
                    steps,
                    c["announce_position"],
                    c["announce_ewt"],
                    c.get("announce_every"),
                    c.get("max_wait"),
                    c.get("max_wait_no_agent"),
                    c.get("callback"),
                    c["exit_key"],
                    c["moh"],
                )
            ],
            wait=True,
        )

    def resume(self, ctx: RunContext, result: Result) -> Step:
        """Record the outcome in variables and follow it."""
        if isinstance(result, QueueResult):
            ctx.vars.update(queue_outcome=str(result.outcome), queue_agent=result.agent_id, queue_wait=result.wait_s)
            return Step(outcome=_OUTCOME[result.outcome])
        ctx.vars.update(queue_outcome="failed", queue_agent=None, queue_wait=0)
        ctx.log(f"enqueue failed: {getattr(result, 'reason', '')}")
        return Step(outcome="no_agent")
