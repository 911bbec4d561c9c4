"""`record_notice`: play the "this call may be recorded" notice and mark the call as notified."""

from __future__ import annotations

from typing import ClassVar

from cc.ivr_dsl.commands import Done, Failed, Play, RecordNotice, Result
from cc.ivr_dsl.schema import Field, Prompts
from cc.ivr_dsl.verbs.base import Precondition, RunContext, Step, Verb, Waits

__all__ = ["NOTICE_VAR", "RecordNoticeVerb"]

#: The flow variable the verb sets: true once the caller heard the whole notice, false when it failed to play.
NOTICE_VAR = "notice_played"


class RecordNoticeVerb(Verb):
    """Play the recording notice in full (no barge-in); once it played, the call counts as notified.

    The runtime keeps the mark on the channel (``cc_record_notice=played``), so a restarted controller
    knows it too. When the prompt fails to play the call is not notified: ``notice_played`` is false and,
    where the notice is required, the runtime refuses to start a recording.
    """

    name: ClassVar[str] = "record_notice"
    doc: ClassVar[str] = (
        "Play the 'this call may be recorded' notice: `record_notice: notice_{{language}}.wav`; "
        "sets `notice_played`."
    )
    short: ClassVar[str | None] = "prompt"
    fields: ClassVar[dict[str, Field]] = {
        "prompt": Prompts(
            required=True, doc="the notice, one file or a list; `{{language}}` picks the call's language"
        ),
    }
    precondition: ClassVar[Precondition] = Precondition.ANSWERED
    waits: ClassVar[Waits] = Waits.OUTPUT
    results: ClassVar[tuple[type[Result], ...]] = (Done, Failed)

    def prompt_fields(self) -> list[str]:
        """The notice's files."""
        return ["prompt"]

    def writes(self) -> set[str]:
        """``notice_played``."""
        return {NOTICE_VAR}

    def enter(self, ctx: RunContext) -> Step:
        """Emit Play (not interruptible) and wait for it."""
        files = tuple(ctx.prompt(t) for t in self.cfg["prompt"])
        return Step([Play(files, False, "")], wait=True)

    def resume(self, ctx: RunContext, result: Result) -> Step:
        """Played: mark the call (RecordNotice); failed: the call stays unnotified."""
        if isinstance(result, Failed):
            ctx.vars[NOTICE_VAR] = False
            ctx.log(f"record_notice not played: {result.reason}")
            return Step(outcome="next")
        ctx.vars[NOTICE_VAR] = True
        return Step([RecordNotice()], outcome="next")
