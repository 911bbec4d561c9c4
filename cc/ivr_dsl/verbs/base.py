"""The Verb base class, what a verb returns to the interpreter (Step), and what it sees (RunContext)."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from cc.ivr_dsl.commands import Command, Failed, Result
from cc.ivr_dsl.expr import Expr, Template
from cc.ivr_dsl.schema import Field
from cc.model import BusinessCalendar

__all__ = ["CheckContext", "Precondition", "RunContext", "Step", "Verb", "VerbProblem", "Waits"]


class Precondition(enum.StrEnum):
    """The call state a verb needs: answered, not yet answered, or either."""

    ANSWERED = "answered"
    UNANSWERED = "unanswered"
    ANY = "any"


class Waits(enum.StrEnum):
    """Whether a verb takes time: not at all, only while the caller listens, or until the caller acts."""

    NO = "no"
    OUTPUT = "output"
    INPUT = "input"


@dataclass
class Step:
    """What a verb tells the interpreter: commands, then wait, end, call, return or follow ``outcome``."""

    commands: list[Command] = field(default_factory=list)
    outcome: str | None = None
    wait: bool = False
    end: bool = False
    call: str | None = None
    ret: bool = False


@dataclass(frozen=True)
class VerbProblem:
    """A problem a verb's own check found: ``sub`` is the path below the node, ``warning`` its severity."""

    sub: tuple[str | int, ...]
    message: str
    hint: str = ""
    warning: bool = False


@dataclass
class CheckContext:
    """What a verb's check may know about the flow: its calendars, nodes and folder."""

    calendars: Mapping[str, BusinessCalendar]
    nodes: frozenset[str]
    base_dir: str
    external_calendars: bool = False


class RunContext(Protocol):
    """The interpreter's view given to verbs while they run (all pure data)."""

    vars: dict[str, Any]
    state: dict[str, Any]
    now: float
    answered: bool
    language: str
    call_uuid: str
    calendars: Mapping[str, BusinessCalendar]

    def render(self, template: Template) -> str:
        """Fill a template from the variables."""
        ...

    def prompt(self, template: Template) -> str:
        """Render a prompt file name and resolve it against the flow's prompt folder."""
        ...

    def log(self, message: str) -> None:
        """Note something in the run's log (e.g. a runtime fallback)."""
        ...


def _names(value: Any, out: set[str]) -> None:
    if isinstance(value, (Expr, Template)):
        out |= value.names
    elif isinstance(value, Mapping):
        for v in value.values():
            _names(v, out)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _names(v, out)


class Verb:
    """Base of every verb: a schema, outcomes, a precondition, and ``enter``/``resume`` producing Steps.

    Subclasses set the class attributes and override ``enter`` (and ``resume`` when they wait).
    ``short`` names the field a scalar or list value fills (``play: hello.wav``); ``value_is`` names the
    field that takes the verb's whole value (``set: {a: 1}``). ``outcomes`` maps each outcome to the key
    that names its target node; a missing key falls back to ``next`` when ``next_fallback`` is true.
    """

    name: ClassVar[str] = ""
    doc: ClassVar[str] = ""
    short: ClassVar[str | None] = None
    value_is: ClassVar[str | None] = None
    fields: ClassVar[dict[str, Field]] = {}
    outcomes: ClassVar[dict[str, str]] = {"next": "next"}
    next_fallback: ClassVar[bool] = True
    terminal: ClassVar[bool] = False
    precondition: ClassVar[Precondition] = Precondition.ANY
    waits: ClassVar[Waits] = Waits.NO
    results: ClassVar[tuple[type[Result], ...]] = ()

    def __init__(self, cfg: dict[str, Any], node: str) -> None:
        self.cfg = cfg
        self.node = node

    # --- static side -------------------------------------------------------------------------------
    def check(self, ctx: CheckContext) -> list[VerbProblem]:
        """Cross-field checks beyond the schema (override)."""
        return []

    def extra_targets(self) -> dict[str, tuple[str, tuple[str | int, ...]]]:
        """Outcomes whose targets are data (menu choices, branch cases): outcome -> (node, sub-path)."""
        return {}

    def reads(self) -> set[str]:
        """Variables the verb reads (default: every name in its expressions and templates)."""
        out: set[str] = set()
        _names(self.cfg, out)
        return out

    def writes(self) -> set[str]:
        """Variables the verb writes on every outcome."""
        return set()

    def prompt_fields(self) -> list[str]:
        """Names of fields that hold prompt files (checked to exist)."""
        return []

    # --- running -----------------------------------------------------------------------------------
    def enter(self, ctx: RunContext) -> Step:
        """Start the verb at a node visit."""
        return Step(outcome="next")

    def resume(self, ctx: RunContext, result: Result) -> Step:
        """Continue after the awaited command's result (only called for verbs that wait)."""
        if isinstance(result, Failed):
            ctx.log(f"{self.name} failed: {result.reason}")
        return Step(outcome="next")
