"""The IVR flow language: YAML flows, validation with file:line errors, and the pure interpreter.

Load a flow with :func:`load_flow` (raises FlowError listing every problem), run a call through it with
:class:`FlowRun` (results and ``now`` in, commands out), test it offline with :mod:`cc.ivr_dsl.testing`.
Verbs live in a :class:`Registry`; ``default_registry().register(MyVerb)`` adds an application's own.
"""

from __future__ import annotations

from cc.ivr_dsl.calendars import is_open
from cc.ivr_dsl.commands import (
    Answer,
    CallbackOffer,
    CallerHangup,
    Collect,
    Command,
    Digits,
    Done,
    Enqueue,
    Failed,
    Hangup,
    Http,
    HttpResponse,
    NoInput,
    Play,
    QueueOutcome,
    QueueResult,
    Record,
    RecordCall,
    Recorded,
    RecordNotice,
    Result,
    Say,
    SetLanguage,
    SetVar,
    StoreSurvey,
    Transfer,
    Voicemail,
)
from cc.ivr_dsl.expr import Expr, Template, parse_expr, parse_template
from cc.ivr_dsl.flow import Flow, Node, check_file, check_text, load_calendars, load_flow, load_flow_text
from cc.ivr_dsl.graph import render_graph
from cc.ivr_dsl.interpreter import FlowRun
from cc.ivr_dsl.problems import Problem, Severity
from cc.ivr_dsl.verbs import BUILTIN_VERBS, Registry, default_registry
from cc.ivr_dsl.verbs.base import Precondition, RunContext, Step, Verb, VerbProblem, Waits

__all__ = [
    "BUILTIN_VERBS",
    "Answer",
    "CallbackOffer",
    "CallerHangup",
    "Collect",
    "Command",
    "Digits",
    "Done",
    "Enqueue",
    "Expr",
    "Failed",
    "Flow",
    "FlowRun",
    "Hangup",
    "Http",
    "HttpResponse",
    "NoInput",
    "Node",
    "Play",
    "Precondition",
    "Problem",
    "QueueOutcome",
    "QueueResult",
    "Record",
    "RecordCall",
    "RecordNotice",
    "Recorded",
    "Registry",
    "Result",
    "RunContext",
    "Say",
    "SetLanguage",
    "SetVar",
    "Severity",
    "Step",
    "StoreSurvey",
    "Template",
    "Transfer",
    "Verb",
    "VerbProblem",
    "Voicemail",
    "Waits",
    "check_file",
    "check_text",
    "default_registry",
    "is_open",
    "load_calendars",
    "load_flow",
    "load_flow_text",
    "parse_expr",
    "parse_template",
    "render_graph",
]
