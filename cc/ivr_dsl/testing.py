"""Offline flow tests: scripted callers (digits, no input, hang-ups, http answers, queue outcomes, clock
time) run a flow through FlowRun, then the expected path, variables, emitted commands and final action are
checked. Used by ``ccctl flow test`` and by tests; no FreeSWITCH, no simulator.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cc.errors import FlowRunError
from cc.ivr_dsl.commands import (
    CallerHangup,
    Digits,
    Done,
    Failed,
    HttpResponse,
    NoInput,
    Play,
    QueueOutcome,
    QueueResult,
    Recorded,
    Result,
    Say,
)
from cc.ivr_dsl.expr import to_text
from cc.ivr_dsl.flow import Flow
from cc.ivr_dsl.interpreter import FlowRun
from cc.ivr_dsl.loader import Doc, Path, read_yaml_file
from cc.ivr_dsl.problems import Problem, raise_if_errors
from cc.ivr_dsl.schema import Invalid, did_you_mean, parse_duration

__all__ = ["DEFAULT_AT", "Case", "CaseResult", "load_cases", "parse_cases", "run_case", "run_cases"]

#: Clock time of a case without ``at:``: 2026-01-01T12:00:00Z (a Thursday).
DEFAULT_AT = 1_767_268_800.0
_CASE_KEYS = ("name", "at", "caller_id", "destination", "vars", "answered", "steps", "expect")
_EXPECT_KEYS = ("path", "visits", "not_visits", "vars", "final", "emitted", "ended_at", "ended_by")
_STEP_KINDS = (
    "digits",
    "barge",
    "no_input",
    "done",
    "hangup",
    "hangup_now",
    "http",
    "queue",
    "record",
    "failed",
    "wait",
)
_AUTO_LIMIT = 200


@dataclass(frozen=True)
class Case:
    """One scripted caller: when, who, the steps fed in order, and what is expected."""

    name: str
    line: int
    at: float = DEFAULT_AT
    caller_id: str = ""
    destination: str = ""
    vars: Mapping[str, Any] = field(default_factory=dict)
    answered: bool = False
    steps: tuple[tuple[str, Any, int], ...] = ()  # (kind, value, line)
    expect: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class CaseResult:
    """How a case went: ``failures`` is empty when it passed."""

    name: str
    line: int
    failures: list[str]
    path: list[str]
    final: dict[str, Any] | None
    vars: dict[str, Any]
    ended_at: str | None

    @property
    def passed(self) -> bool:
        """True when every expectation held."""
        return not self.failures

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "line": self.line,
            "passed": self.passed,
            "failures": self.failures,
            "path": self.path,
            "final": self.final,
            "ended_at": self.ended_at,
            "vars": self.vars,
        }


def _when(value: Any) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            dt = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise Invalid(f"{value!r} is not a time", "ISO 8601, e.g. 2026-11-24T10:00:00+01:00") from None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=datetime.UTC)
        return dt.timestamp()
    raise Invalid(f"{value!r} is not a time", "ISO 8601, e.g. 2026-11-24T10:00:00+01:00")


def _step(raw: Any) -> tuple[str, Any]:
    if isinstance(raw, str):
        if raw in ("no_input", "done", "hangup", "hangup_now"):
            return raw, None
        raise Invalid(f"unknown step {raw!r}", did_you_mean(raw, _STEP_KINDS))
    if not isinstance(raw, Mapping) or len(raw) != 1:
        raise Invalid(
            "a step is one of digits:, barge:, no_input, done, hangup, http:, queue:, record:, failed:, wait:"
        )
    kind, value = next(iter(raw.items()))
    if kind not in _STEP_KINDS:
        raise Invalid(f"unknown step {kind!r}", did_you_mean(str(kind), _STEP_KINDS))
    if kind in ("digits", "barge"):
        if isinstance(value, bool) or not isinstance(value, (str, int)) or not str(value):
            raise Invalid(f'{kind}: takes the keys pressed, e.g. "12#"', sub=(kind,))
        return kind, str(value)
    if kind == "wait":
        try:
            return kind, parse_duration(value)
        except Invalid as exc:
            raise Invalid(exc.message, exc.hint, (kind,)) from None
    if kind == "queue":
        spec = {"outcome": value} if isinstance(value, str) else value
        if not isinstance(spec, Mapping):
            raise Invalid("queue: takes an outcome or {outcome, agent, wait, talk, digit}", sub=(kind,))
        outcome = spec.get("outcome", "served")
        if outcome not in [o.value for o in QueueOutcome]:
            raise Invalid(
                f"{outcome!r} is not a queue outcome", did_you_mean(str(outcome), list(QueueOutcome)), (kind,)
            )
        try:
            return kind, QueueResult(
                QueueOutcome(outcome),
                spec.get("agent"),
                parse_duration(spec.get("wait", 0)),
                parse_duration(spec.get("talk", 0)),
                str(spec.get("digit", "")),
            )
        except Invalid as exc:
            raise Invalid(exc.message, exc.hint, (kind,)) from None
    if kind == "http":
        if not isinstance(value, Mapping):
            raise Invalid("http: takes {status: 200, body: {...}} or {error: timeout}", sub=(kind,))
        status = value.get("status", 0 if "error" in value else 200)
        if not isinstance(status, int):
            raise Invalid("status is a number", sub=(kind, "status"))
        return kind, HttpResponse(status, value.get("body"), str(value.get("error", "")))
    if kind == "record":
        spec = value if isinstance(value, Mapping) else {}
        try:
            return kind, Recorded(str(spec.get("path", "recording.wav")), parse_duration(spec.get("duration", 5)))
        except Invalid as exc:
            raise Invalid(exc.message, exc.hint, (kind,)) from None
    if kind == "failed":
        return kind, Failed(to_text(value))
    if kind in ("hangup", "hangup_now"):
        return kind, CallerHangup(str(value) if value else "NORMAL_CLEARING")
    return str(kind), value


def parse_cases(doc: Doc) -> tuple[list[Case], list[Problem]]:
    """Check a case file already read into ``doc``."""
    problems: list[Problem] = []
    top = doc.value
    if not isinstance(top, Mapping) or "cases" not in top or not isinstance(top["cases"], list):
        return [], [doc.problem((), "a case file has cases: followed by a list of cases")]
    for key in top:
        if key not in ("cases", "flow"):
            problems.append(
                doc.problem(
                    (key,),
                    f"unknown top-level key {key!r}",
                    key=True,
                    hint="a case file has cases: (and optionally flow:)",
                )
            )
    cases: list[Case] = []
    for i, raw in enumerate(top["cases"]):
        path: Path = ("cases", i)
        if not isinstance(raw, Mapping):
            problems.append(doc.problem(path, "a case is a mapping with name:, steps: and expect:"))
            continue
        before = len(problems)
        for key in raw:
            if key not in _CASE_KEYS:
                problems.append(
                    doc.problem(
                        (*path, key),
                        f"unknown key {key!r} in a case",
                        key=True,
                        hint=did_you_mean(str(key), _CASE_KEYS),
                    )
                )
        at = DEFAULT_AT
        if "at" in raw:
            try:
                at = _when(raw["at"])
            except Invalid as exc:
                problems.append(doc.problem((*path, "at"), exc.message, hint=exc.hint))
        steps: list[tuple[str, Any, int]] = []
        raw_steps = raw.get("steps", [])
        if not isinstance(raw_steps, list):
            problems.append(doc.problem((*path, "steps"), "steps: is a list"))
            raw_steps = []
        for j, st in enumerate(raw_steps):
            try:
                kind, value = _step(st)
            except Invalid as exc:
                problems.append(doc.problem((*path, "steps", j, *exc.sub), exc.message, hint=exc.hint))
                continue
            steps.append((kind, value, doc.pos((*path, "steps", j)).line))
        expect = raw.get("expect", {})
        if not isinstance(expect, Mapping):
            problems.append(doc.problem((*path, "expect"), "expect: is a mapping"))
            expect = {}
        for key in expect:
            if key not in _EXPECT_KEYS:
                problems.append(
                    doc.problem(
                        (*path, "expect", key),
                        f"unknown expectation {key!r}",
                        key=True,
                        hint=did_you_mean(str(key), _EXPECT_KEYS),
                    )
                )
        variables = raw.get("vars", {})
        if not isinstance(variables, Mapping):
            problems.append(doc.problem((*path, "vars"), "vars: is a mapping"))
            variables = {}
        if len(problems) > before:
            continue
        cases.append(
            Case(
                str(raw.get("name", f"case {i + 1}")),
                doc.pos(path).line,
                at,
                to_text(raw.get("caller_id", "")),
                to_text(raw.get("destination", "")),
                dict(variables),
                bool(raw.get("answered", False)),
                tuple(steps),
                dict(expect),
            )
        )
    return cases, problems


def load_cases(path: str) -> list[Case]:
    """Read a case file; raises FlowError (with every problem) when it is not valid."""
    doc, problems = read_yaml_file(path)
    cases: list[Case] = []
    if not any(p.is_error for p in problems):
        cases, found = parse_cases(doc)
        problems.extend(found)
    raise_if_errors(problems)
    return cases


def _loose_eq(expected: Any, actual: Any) -> bool:
    if isinstance(expected, Mapping):
        return isinstance(actual, Mapping) and all(k in actual and _loose_eq(v, actual[k]) for k, v in expected.items())
    if isinstance(expected, list):
        return (
            isinstance(actual, (list, tuple))
            and len(expected) == len(actual)
            and all(_loose_eq(e, a) for e, a in zip(expected, actual, strict=True))
        )
    if expected is None or isinstance(expected, bool) or actual is None or isinstance(actual, bool):
        return bool(expected == actual)
    if isinstance(expected, str) and isinstance(actual, str) and expected and actual.endswith("/" + expected):
        return True  # prompt files: the flow resolved them to absolute paths
    return bool(expected == actual) or to_text(expected) == to_text(actual)


def _spec(expected: Any) -> tuple[str, Mapping[str, Any]]:
    """``hangup`` / ``{hangup: USER_BUSY}`` / ``{transfer: {extension: '1000'}}`` / ``{enqueue: x}``."""
    if isinstance(expected, str):
        return expected, {}
    if isinstance(expected, Mapping) and len(expected) == 1:
        kind, fields = next(iter(expected.items()))
        if kind == "hangup" and isinstance(fields, str):
            return "hangup", {"cause": fields}
        if kind == "caller_hangup" and isinstance(fields, str):
            return "caller_hangup", {"cause": fields}
        if kind == "transfer" and isinstance(fields, Mapping) and len(fields) == 1:
            ((to, target),) = fields.items()
            if to in ("extension", "number", "flow"):
                return "transfer", {"to": to, "target": target}
        if kind == "enqueue" and isinstance(fields, str):
            return "enqueue", {"queue": fields}
        return str(kind), fields if isinstance(fields, Mapping) else {}
    return to_text(expected), {}


def _matches(expected: Any, actual: Mapping[str, Any] | None) -> bool:
    if actual is None:
        return expected in (None, "none")
    kind, fields = _spec(expected)
    return actual.get("kind") == kind and _loose_eq(dict(fields), actual)


def _describe(d: Mapping[str, Any] | None) -> str:
    if d is None:
        return "nothing"
    rest = ", ".join(f"{k}={v!r}" for k, v in d.items() if k != "kind" and v not in ("", None, (), []))
    return f"{d['kind']}({rest})"


def run_case(flow: Flow, case: Case) -> CaseResult:
    """Run one case through a fresh FlowRun and check its expectations."""
    now = case.at
    run = FlowRun(
        flow,
        call_uuid=f"test-{case.line}",
        caller_id=case.caller_id,
        destination=case.destination,
        variables=case.vars,
        answered=case.answered,
    )
    failures: list[str] = []
    try:
        run.start(now)
        steps = list(case.steps)
        auto = 0
        while not run.done:
            pending = run.pending
            nxt = steps[0] if steps else None
            if nxt is not None and nxt[0] == "wait":
                now += float(nxt[1])
                steps.pop(0)
                continue
            listening = isinstance(pending, (Play, Say))
            if listening and (nxt is None or nxt[0] not in ("done", "barge", "failed", "hangup_now")):
                auto += 1
                if auto > _AUTO_LIMIT:
                    failures.append(f"the flow keeps playing prompts at {run.node} after the script ended")
                    break
                run.feed(Done(), now)
                continue
            if nxt is None:
                run.feed(CallerHangup(), now)  # the scripted caller has nothing more to do: they hang up
                break
            kind, value, line = steps.pop(0)
            result: Result
            if kind in ("digits", "barge"):
                result = Digits(value)
            elif kind == "no_input":
                result = NoInput()
            elif kind == "done":
                result = Done()
            elif kind in ("hangup", "hangup_now"):
                result = value if isinstance(value, CallerHangup) else CallerHangup()
            else:
                result = value
            try:
                run.feed(result, now)
            except FlowRunError:
                failures.append(
                    f"step at line {line} ({kind}): node {run.node} waits for "
                    f"{pending.kind if pending else 'nothing'}, not {kind}"
                )
                break
        if steps and not failures:
            failures.append(
                f"{len(steps)} step(s) left unused (from line {steps[0][2]}): the flow ended at {run.ended_at}"
            )
    except FlowRunError as exc:
        failures.append(str(exc))
    summary = run.summary()
    final = summary["final"]
    exp = case.expect
    if "path" in exp and [to_text(p) for p in exp["path"]] != run.path:
        failures.append(f"path: expected {' > '.join(map(to_text, exp['path']))}, got {' > '.join(run.path)}")
    if "visits" in exp:
        it = iter(run.path)
        missing = [v for v in map(to_text, exp["visits"]) if not any(p == v for p in it)]
        if missing:
            failures.append(f"visits: {missing[0]!r} not visited in order (path {' > '.join(run.path)})")
    for node in exp.get("not_visits", []) or []:
        if to_text(node) in run.path:
            failures.append(f"not_visits: {node!r} was visited")
    for name, value in (exp.get("vars") or {}).items():
        actual = run.vars.get(str(name))
        if not _loose_eq(value, actual):
            failures.append(f"vars.{name}: expected {value!r}, got {actual!r}")
    if "final" in exp and not _matches(exp["final"], final):
        failures.append(f"final: expected {exp['final']!r}, got {_describe(final)}")
    if "ended_at" in exp and to_text(exp["ended_at"]) != run.ended_at:
        failures.append(f"ended_at: expected {exp['ended_at']!r}, got {run.ended_at!r}")
    if "ended_by" in exp and to_text(exp["ended_by"]) != run.ended_by:
        failures.append(f"ended_by: expected {exp['ended_by']!r}, got {run.ended_by!r}")
    if "emitted" in exp:
        emitted = [c.to_dict() for c in run.emitted]
        it2 = iter(emitted)
        for want in exp["emitted"] or []:
            if not any(_matches(want, got) for got in it2):
                kinds = ", ".join(_describe(c) for c in emitted)
                failures.append(f"emitted: {want!r} not found in order among: {kinds}")
                break
    return CaseResult(case.name, case.line, failures, list(run.path), final, summary["vars"], run.ended_at)


def run_cases(flow: Flow, cases: list[Case]) -> list[CaseResult]:
    """Run every case."""
    return [run_case(flow, c) for c in cases]
