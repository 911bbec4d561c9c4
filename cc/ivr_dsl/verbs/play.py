"""`play`: play one or many prompt files, optionally interruptible by a digit (barge-in)."""

from __future__ import annotations

from typing import ClassVar

from cc.ivr_dsl.commands import Digits, Done, Failed, Play, Result
from cc.ivr_dsl.schema import Bool, Field, Name, Prompts, Str
from cc.ivr_dsl.verbs.base import Precondition, RunContext, Step, Verb, Waits

__all__ = ["PlayVerb"]


class PlayVerb(Verb):
    """Play files; with ``barge_in`` a digit stops playback and lands in ``into``."""

    name: ClassVar[str] = "play"
    doc: ClassVar[str] = "Play one file or a list (`play: welcome.wav`); `barge_in: true` lets a digit stop it."
    short: ClassVar[str | None] = "files"
    fields: ClassVar[dict[str, Field]] = {
        "files": Prompts(required=True, doc="a prompt file or a list of files, played in order"),
        "barge_in": Bool(default=False, doc="a digit stops playback"),
        "into": Name(doc="variable that receives the barge-in digit(s) ('' when none)"),
        "terminators": Str(default="", pattern=r"[0-9*#]*", doc="digits that end a barge-in"),
    }
    precondition: ClassVar[Precondition] = Precondition.ANSWERED
    waits: ClassVar[Waits] = Waits.OUTPUT
    results: ClassVar[tuple[type[Result], ...]] = (Done, Digits, Failed)

    def prompt_fields(self) -> list[str]:
        """The played files."""
        return ["files"]

    def writes(self) -> set[str]:
        """``into`` when given."""
        return {self.cfg["into"]} if self.cfg.get("into") else set()

    def enter(self, ctx: RunContext) -> Step:
        """Emit Play and wait for it."""
        files = tuple(ctx.prompt(t) for t in self.cfg["files"])
        return Step([Play(files, bool(self.cfg["barge_in"]), self.cfg["terminators"])], wait=True)

    def resume(self, ctx: RunContext, result: Result) -> Step:
        """Keep barge-in digits, go on."""
        if self.cfg.get("into"):
            ctx.vars[self.cfg["into"]] = result.digits if isinstance(result, Digits) else ""
        if isinstance(result, Failed):
            ctx.log(f"play failed: {result.reason}")
        return Step(outcome="next")
