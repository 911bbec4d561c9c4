"""`record`: record a caller's message (max length, silence stop, beep) into a variable and the store."""

from __future__ import annotations

from typing import ClassVar

from cc.ivr_dsl.commands import Done, Failed, Play, Record, Recorded, Result
from cc.ivr_dsl.schema import Bool, Choice, Duration, Field, Int, Name, Prompts, Str, TemplateField
from cc.ivr_dsl.verbs.base import Precondition, RunContext, Step, Verb, Waits

__all__ = ["RecordVerb"]


class RecordVerb(Verb):
    """Record the caller; the path lands in ``into``; shorter than ``min`` goes ``on_empty``."""

    name: ClassVar[str] = "record"
    doc: ClassVar[str] = "Record a message: `record: {prompt: leave.wav, into: msg, max: 2m, silence: 3s}`."
    fields: ClassVar[dict[str, Field]] = {
        "prompt": Prompts(doc="played before the beep"),
        "into": Name(doc="variable receiving the file path (null when empty)"),
        "path": TemplateField(doc="file to record to; default recordings/{{call_uuid}}-<node>.wav"),
        "max": Duration(default=120.0, lo=1, hi=3600, doc="longest recording"),
        "min": Duration(default=1.0, lo=0, hi=60, doc="shorter than this counts as empty"),
        "silence": Duration(default=3.0, lo=0, hi=60, doc="stop after this much silence (0: never)"),
        "silence_threshold": Int(default=200, lo=1, hi=10000, doc="energy below which audio is silence"),
        "beep": Bool(default=True, doc="beep before recording"),
        "terminators": Str(default="#", pattern=r"[0-9*#]*", doc="keys that stop the recording"),
        "store": Bool(default=True, doc="keep the recording in the store"),
        "purpose": Choice(
            default="message",
            options=("message", "name", "greeting", "other"),
            doc="what the recording is, for the store",
        ),
    }
    outcomes: ClassVar[dict[str, str]] = {"next": "next", "empty": "on_empty"}
    precondition: ClassVar[Precondition] = Precondition.ANSWERED
    waits: ClassVar[Waits] = Waits.INPUT
    results: ClassVar[tuple[type[Result], ...]] = (Done, Recorded, Failed)

    def prompt_fields(self) -> list[str]:
        """The prompt."""
        return ["prompt"]

    def writes(self) -> set[str]:
        """``into`` when given."""
        return {self.cfg["into"]} if self.cfg.get("into") else set()

    def _record(self, ctx: RunContext) -> Step:
        c = self.cfg
        path = ctx.render(c["path"]) if c.get("path") else f"recordings/{ctx.call_uuid}-{self.node}.wav"
        ctx.state["phase"] = "record"
        return Step(
            [
                Record(
                    path,
                    c["max"],
                    c["silence"],
                    c["silence_threshold"],
                    c["beep"],
                    c["terminators"],
                    c["store"],
                    c["purpose"],
                )
            ],
            wait=True,
        )

    def enter(self, ctx: RunContext) -> Step:
        """Play the prompt (if any), then record."""
        if self.cfg.get("prompt"):
            ctx.state["phase"] = "prompt"
            return Step([Play(tuple(ctx.prompt(t) for t in self.cfg["prompt"]))], wait=True)
        return self._record(ctx)

    def resume(self, ctx: RunContext, result: Result) -> Step:
        """After the prompt record; after the recording keep the path."""
        if ctx.state.get("phase") == "prompt":
            return self._record(ctx)
        into = self.cfg.get("into")
        if isinstance(result, Recorded) and result.path and result.duration_s >= self.cfg["min"]:
            if into:
                ctx.vars[into] = result.path
            return Step(outcome="next")
        if into:
            ctx.vars[into] = None
        if isinstance(result, Failed):
            ctx.log(f"record failed: {result.reason}")
        return Step(outcome="empty")
