"""An embedding application registers its own verb (the example in docs/flows.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pytest

from cc.errors import Conflict, FlowError, InvalidValue
from cc.ivr_dsl import (
    BUILTIN_VERBS,
    Command,
    Done,
    FlowRun,
    Precondition,
    Result,
    RunContext,
    Step,
    Verb,
    Waits,
    default_registry,
    load_flow_text,
)
from cc.ivr_dsl.schema import Field, Int, TemplateField


# --- the example from docs/flows.md ---------------------------------------------------------------
@dataclass(frozen=True)
class SendSms(Command):
    """Ask the runtime to send an SMS; it answers Done when the SMS gateway accepted it."""

    kind: ClassVar[str] = "send_sms"
    awaits: ClassVar[bool] = True
    to: str
    text: str


class SmsVerb(Verb):
    """``sms: {to: '{{caller_id}}', text: 'Your code is {{code}}'}``, then ``next``."""

    name: ClassVar[str] = "sms"
    doc: ClassVar[str] = "Send an SMS to the caller."
    short: ClassVar[str | None] = "text"
    fields: ClassVar[dict[str, Field]] = {
        "text": TemplateField(required=True, doc="message text"),
        "to": TemplateField(doc="number (default: the caller)"),
        "retries": Int(default=0, lo=0, hi=3, doc="extra attempts"),
    }
    outcomes: ClassVar[dict[str, str]] = {"next": "next", "failed": "on_failed"}
    precondition: ClassVar[Precondition] = Precondition.ANY
    waits: ClassVar[Waits] = Waits.OUTPUT
    results: ClassVar[tuple[type[Result], ...]] = (Done,)

    def enter(self, ctx: RunContext) -> Step:
        """Emit SendSms and wait for the runtime's Done."""
        to = ctx.render(self.cfg["to"]) if self.cfg.get("to") else ctx.vars["caller_id"]
        return Step([SendSms(to, ctx.render(self.cfg["text"]))], wait=True)

    def resume(self, ctx: RunContext, result: Result) -> Step:
        """Sent."""
        return Step(outcome="next")


FLOW = """
flow: otp
start: send
vars: {code: 4711}
nodes:
  send: {sms: 'Your code is {{code}}', next: bye, on_failed: bye}
  bye: {hangup: {}}
"""


def test_registered_verb_loads_runs_and_validates() -> None:
    registry = default_registry()
    registry.register(SmsVerb)
    flow = load_flow_text(FLOW, registry=registry)
    run = FlowRun(flow, caller_id="+4915112345")
    assert run.start(0.0) == [SendSms("+4915112345", "Your code is 4711")]
    assert run.feed(Done(), 1.0)[-1].kind == "hangup"
    with pytest.raises(FlowError) as info:
        load_flow_text(FLOW.replace("next: bye, on_failed", "nxt: bye, on_failed"), registry=registry)
    assert "nodes.send.nxt: unknown key 'nxt' for sms (hint: did you mean 'next'?)" in str(info.value)


def test_unregistered_verb_is_unknown_and_the_builtin_table_is_untouched() -> None:
    with pytest.raises(FlowError, match="unknown verb 'sms'"):
        load_flow_text(FLOW)
    registry = default_registry()
    registry.register(SmsVerb)
    assert "sms" in registry and "sms" not in BUILTIN_VERBS and "sms" not in default_registry()


def test_register_refuses_bad_verbs() -> None:
    registry = default_registry()
    with pytest.raises(Conflict):
        registry.register(type("Play2", (Verb,), {"name": "play"}))
    registry.register(type("Play2", (Verb,), {"name": "play"}), replace=True)
    with pytest.raises(InvalidValue):
        registry.register(type("NoName", (Verb,), {}))
    with pytest.raises(InvalidValue):
        registry.register(type("BadShort", (Verb,), {"name": "x", "short": "nope"}))
    with pytest.raises(InvalidValue):
        registry.register(object)  # type: ignore[arg-type]


class EarlyMedia(Verb):
    """A verb that only makes sense before the call is answered."""

    name: ClassVar[str] = "early_media"
    precondition: ClassVar[Precondition] = Precondition.UNANSWERED


def test_unanswered_precondition_is_checked_statically() -> None:
    registry = default_registry()
    registry.register(EarlyMedia)
    ok = "flow: t\nstart: e\nnodes:\n  e: {early_media: {}, next: p}\n  p: {play: x.wav, next: b}\n  b: {hangup: {}}\n"
    load_flow_text(ok, registry=registry)
    bad = "flow: t\nstart: p\nnodes:\n  p: {play: x.wav, next: e}\n  e: {early_media: {}, next: b}\n  b: {hangup: {}}\n"
    with pytest.raises(FlowError) as info:
        load_flow_text(bad, registry=registry)
    assert str(info.value) == (
        "<flow>:5:7: nodes.e.early_media: early_media needs a call that is not answered "
        "yet, and it may be answered here (hint: move it before the first answer, play, "
        "menu ...)"
    )
