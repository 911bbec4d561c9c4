"""FlowRun: the pure interpreter of a loaded flow. Results and `now` in, commands out; no I/O, no clock.

``start(now)`` returns the first commands; the last command of a batch may await a result, which the
runtime feeds with ``feed(result, now)``. A CallerHangup may be fed at any time: the run ends cleanly and
``ended_at`` records the node it was at. ``path`` lists every node visited (subflow nodes as
``subflow-name/node``); ``final`` is the command that ended the run (Hangup, Transfer) or the
CallerHangup result.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cc.errors import FlowRunError
from cc.ivr_dsl.commands import Answer, CallerHangup, Command, Hangup, Result, SetLanguage
from cc.ivr_dsl.expr import Template
from cc.ivr_dsl.flow import Flow, Node
from cc.ivr_dsl.limits import MAX_STEPS
from cc.ivr_dsl.verbs.base import Precondition, Step
from cc.model import BusinessCalendar

__all__ = ["MAX_STEPS", "FlowRun"]

log = logging.getLogger(__name__)


@dataclass
class _Frame:
    flow: Flow
    node: str
    return_to: str | None


class FlowRun:
    """One call going through a flow. Not thread-safe: one per call, driven by that call's greenlet."""

    def __init__(
        self,
        flow: Flow,
        *,
        call_uuid: str = "",
        caller_id: str = "",
        destination: str = "",
        variables: Mapping[str, Any] | None = None,
        answered: bool = False,
        calendars: Mapping[str, BusinessCalendar] | None = None,
    ) -> None:
        self.flow = flow
        self.call_uuid = call_uuid
        self.language = flow.language
        self.vars: dict[str, Any] = {
            "call_uuid": call_uuid,
            "caller_id": caller_id,
            "caller_name": "",
            "destination": destination,
            "language": flow.language,
        }
        self.vars.update(copy.deepcopy(flow.vars))
        self.vars.update(variables or {})
        self.calendars: Mapping[str, BusinessCalendar] = {**flow.calendars, **(calendars or {})}
        self.answered = answered
        self.state: dict[str, Any] = {}
        self.now = 0.0
        self.path: list[str] = []
        self.trace: list[tuple[str, str]] = []
        self.emitted: list[Command] = []
        self.messages: list[str] = []
        self.pending: Command | None = None
        self.done = False
        self.final: Command | Result | None = None
        self.ended_by: str | None = None
        self.ended_at: str | None = None
        self._frames = [_Frame(flow, flow.start, None)]
        self._started = False

    # --- RunContext --------------------------------------------------------------------------------
    def render(self, template: Template) -> str:
        """Fill a template from the run's variables."""
        return template.render(self.vars)

    def prompt(self, template: Template) -> str:
        """A prompt file name: constant names were resolved when the flow loaded; holes are filled."""
        return template.render(self.vars)

    def log(self, message: str) -> None:
        """Keep a note about the run (and log it with the call UUID)."""
        self.messages.append(f"{self.node}: {message}")
        log.info("call %s flow %s node %s: %s", self.call_uuid, self.flow.name, self.node, message)

    # --- state -------------------------------------------------------------------------------------
    @property
    def node(self) -> str:
        """The current node's label (``subflow/node`` inside a subflow)."""
        if not self._frames:
            return self.ended_at or ""
        frame = self._frames[-1]
        return frame.node if len(self._frames) == 1 else f"{frame.flow.name}/{frame.node}"

    def _current(self) -> Node:
        frame = self._frames[-1]
        return frame.flow.nodes[frame.node]

    def summary(self) -> dict[str, Any]:
        """A JSON-ready account of the run so far."""
        final = (
            self.final.to_dict()
            if isinstance(self.final, Command)
            else (
                {"kind": self.final.kind, "cause": self.final.cause} if isinstance(self.final, CallerHangup) else None
            )
        )
        return {
            "flow": self.flow.name,
            "call_uuid": self.call_uuid,
            "path": list(self.path),
            "done": self.done,
            "ended_by": self.ended_by,
            "ended_at": self.ended_at,
            "final": final,
            "vars": _jsonable(self.vars),
            "messages": list(self.messages),
        }

    # --- driving -----------------------------------------------------------------------------------
    def start(self, now: float) -> list[Command]:
        """Begin at the start node; returns the commands up to the first wait or the end."""
        if self._started:
            raise FlowRunError(f"call {self.call_uuid}: flow {self.flow.name} started twice", call_uuid=self.call_uuid)
        self._started = True
        self.now = now
        log.debug("call %s: flow %s starts at %s", self.call_uuid, self.flow.name, self.flow.start)
        return self._advance(None)

    def feed(self, result: Result, now: float) -> list[Command]:
        """Give the result of the awaited command (or a CallerHangup, any time); return the next commands."""
        if not self._started:
            raise FlowRunError(
                f"call {self.call_uuid}: result {result.kind} fed before start()", call_uuid=self.call_uuid
            )
        self.now = max(self.now, now)
        if self.done:
            if isinstance(result, CallerHangup):
                return []
            raise FlowRunError(
                f"call {self.call_uuid}: result {result.kind} fed after the flow ended at {self.ended_at}",
                call_uuid=self.call_uuid,
                node=self.ended_at,
            )
        if isinstance(result, CallerHangup):
            self._finish(result, "caller")
            log.info("call %s: caller hung up (%s) at node %s", self.call_uuid, result.cause, self.ended_at)
            return []
        node = self._current()
        if self.pending is None or not isinstance(result, type(node.verb).results):
            wanted = self.pending.kind if self.pending is not None else "nothing"
            raise FlowRunError(
                f"call {self.call_uuid}: node {self.node} ({node.verb.name}) waits for {wanted}, "
                f"not a {result.kind} result",
                call_uuid=self.call_uuid,
                node=self.node,
            )
        self.pending = None
        return self._advance(node.verb.resume(self, result))

    def _finish(self, final: Command | Result | None, by: str) -> None:
        self.done = True
        self.final = final
        self.ended_by = by
        self.ended_at = self.node
        self.pending = None

    def _advance(self, step: Step | None) -> list[Command]:
        out: list[Command] = []
        budget = MAX_STEPS
        while True:
            node = self._current()
            if step is None:
                self.path.append(self.node)
                self.state = {}
                if node.verb.precondition is Precondition.ANSWERED and not self.answered and self.flow.auto_answer:
                    out.append(Answer())
                    self.answered = True
                step = node.verb.enter(self)
            for cmd in step.commands:
                if isinstance(cmd, Answer):
                    self.answered = True
                elif isinstance(cmd, SetLanguage):
                    self.language = cmd.language
            out.extend(step.commands)
            if step.wait:
                if not step.commands or not step.commands[-1].awaits:
                    self._error(out, f"verb {node.verb.name} waits without an awaiting command")
                    break
                self.pending = step.commands[-1]
                break
            if step.end:
                self.trace.append((self.node, "end"))
                self._finish(step.commands[-1] if step.commands else None, "flow")
                break
            if step.call is not None:
                sub = self._frames[-1].flow.subflows.get(step.call)
                if sub is None:
                    self._error(out, f"subflow {step.call!r} is not loaded")
                    break
                self.trace.append((self.node, "call"))
                self._frames.append(_Frame(sub, sub.start, node.transitions.get("next")))
            elif step.ret:
                self.trace.append((self.node, "return"))
                if len(self._frames) == 1:
                    out.append(Hangup())
                    self._finish(out[-1], "flow")
                    break
                frame = self._frames.pop()
                if frame.return_to is None:
                    self._error(out, "subflow returned to nowhere")
                    break
                self._frames[-1].node = frame.return_to
            else:
                target = node.transitions.get(step.outcome or "")
                if target is None:
                    self._error(out, f"no target for outcome {step.outcome!r}")
                    break
                self.trace.append((self.node, step.outcome or ""))
                self._frames[-1].node = target
            step = None
            budget -= 1
            if budget <= 0:
                self._error(out, f"passed {MAX_STEPS} nodes without waiting: stopped as a runaway loop")
                break
        self.emitted.extend(out)
        return out

    def _error(self, out: list[Command], why: str) -> None:
        log.error("call %s: flow %s node %s: %s; hanging up", self.call_uuid, self.flow.name, self.node, why)
        self.messages.append(f"{self.node}: {why}")
        out.append(Hangup("NORMAL_TEMPORARY_FAILURE"))
        self._finish(out[-1], "error")


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)
