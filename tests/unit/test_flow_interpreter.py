"""FlowRun as a whole: caller hang-up anywhere, misuse by the runtime, runaway loops, random drivers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cc.errors import FlowRunError
from cc.ivr_dsl import (
    CallerHangup,
    Collect,
    Digits,
    Done,
    Enqueue,
    Failed,
    FlowRun,
    Hangup,
    Http,
    HttpResponse,
    NoInput,
    QueueOutcome,
    QueueResult,
    Record,
    Recorded,
    Transfer,
    Voicemail,
    check_text,
    load_flow,
    load_flow_text,
)
from cc.ivr_dsl.flow import Flow

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = {name: load_flow(str(ROOT / "flows" / f"{name}.yaml")) for name in ("main_menu", "support", "collections")}
NOW = 1_795_510_800.0  # 2026-11-24T09:00:00Z, a Tuesday


def _result_for(cmd: Any, pick: int) -> Any:
    """A plausible result for an awaited command; ``pick`` chooses among the plausible ones."""
    if isinstance(cmd, Collect):
        return [Digits("1"), Digits("2"), Digits("9"), NoInput(), Digits("4111111111111111"), Digits("1228")][pick % 6]
    if isinstance(cmd, Enqueue):
        return QueueResult(list(QueueOutcome)[pick % len(QueueOutcome)], "a1")
    if isinstance(cmd, Http):
        return [
            HttpResponse(200, {"customer": {"id": "C", "vip": pick % 2 == 0, "balance": 10}}),
            HttpResponse(0, None, "timeout"),
            HttpResponse(200, {"status": "approved"}),
        ][pick % 3]
    if isinstance(cmd, (Record, Voicemail)):
        return Recorded("/r.wav", float(pick % 3) * 5)
    return [Done(), Failed("x")][pick % 2] if pick % 7 == 0 else Done()


def _waiting_points(flow: Flow, picks: list[int]) -> list[str]:
    run = FlowRun(flow, call_uuid="w")
    run.start(NOW)
    seen = []
    for pick in picks:
        if run.done:
            break
        seen.append(run.node)
        run.feed(_result_for(run.pending, pick), NOW)
    return seen


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_caller_hangup_at_every_waiting_point_ends_cleanly(name: str) -> None:
    flow = EXAMPLES[name]
    for picks in ([0] * 30, [1] * 30, [2] * 30, [3] * 30, list(range(30))):
        points = _waiting_points(flow, picks)
        for k, node in enumerate(points):
            run = FlowRun(flow, call_uuid="h")
            run.start(NOW)
            for pick in picks[:k]:
                run.feed(_result_for(run.pending, pick), NOW)
            assert run.node == node and run.pending is not None
            assert run.feed(CallerHangup("NORMAL_CLEARING"), NOW + 1) == []
            assert run.done and run.ended_by == "caller" and run.ended_at == node
            assert run.final == CallerHangup("NORMAL_CLEARING") and run.pending is None
            assert run.feed(CallerHangup(), NOW + 2) == []  # a late second hang-up is harmless
            with pytest.raises(FlowRunError):
                run.feed(Done(), NOW + 3)
            assert run.summary()["ended_at"] == node


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(sorted(EXAMPLES)), st.lists(st.integers(0, 50), max_size=40))
def test_random_callers_always_get_a_command_or_an_end(name: str, picks: list[int]) -> None:
    run = FlowRun(EXAMPLES[name], call_uuid="r", caller_id="+4930")
    out = run.start(NOW)
    for pick in picks:
        if run.done:
            break
        assert out and out[-1].awaits and run.pending is out[-1]
        out = run.feed(_result_for(run.pending, pick), NOW)
    if run.done:
        assert run.ended_by == "flow" and isinstance(run.final, (Hangup, Transfer))
        assert run.ended_at == run.path[-1]
    else:
        assert run.pending is not None and run.pending is out[-1]


def test_wrong_result_is_a_flow_run_error_naming_call_and_node() -> None:
    run = FlowRun(EXAMPLES["main_menu"], call_uuid="call-7")
    run.start(NOW)
    with pytest.raises(FlowRunError) as info:
        run.feed(QueueResult(QueueOutcome.SERVED), NOW)
    assert info.value.call_uuid == "call-7" and info.value.node == "greet"
    assert "call call-7: node greet (play) waits for play, not a queue_result result" == str(info.value)


def test_feed_before_start_and_start_twice() -> None:
    run = FlowRun(EXAMPLES["support"])
    with pytest.raises(FlowRunError, match="before start"):
        run.feed(Done(), NOW)
    run.start(NOW)
    with pytest.raises(FlowRunError, match="started twice"):
        run.start(NOW)


def test_runaway_loop_is_stopped() -> None:
    flow = load_flow_text("flow: t\nstart: a\nnodes:\n  a: {set: {n: '1'}, next: b}\n  b: {hangup: {}}\n")
    flow.nodes["a"].transitions["next"] = "a"  # bypass validation, which refuses such a loop
    run = FlowRun(flow, call_uuid="loop")
    out = run.start(NOW)
    assert out == [Hangup("NORMAL_TEMPORARY_FAILURE")]
    assert run.ended_by == "error" and "runaway" in run.messages[-1]
    assert len(run.path) == 1000


def test_summary_is_json_ready() -> None:
    import json

    run = FlowRun(EXAMPLES["collections"], call_uuid="s", caller_id="+49")
    run.start(NOW)
    run.feed(HttpResponse(200, {"customer": {"id": "C", "vip": True, "balance": 1}}), NOW)
    run.feed(QueueResult(QueueOutcome.SERVED, "a1"), NOW)
    data = json.loads(json.dumps(run.summary()))
    assert data["final"] == {"kind": "hangup", "cause": "NORMAL_CLEARING"}
    assert data["path"][-2:] == ["vip", "bye"] and data["vars"]["customer"]["vip"] is True


def test_time_only_moves_forward() -> None:
    run = FlowRun(EXAMPLES["support"])
    run.start(NOW)
    run.feed(Digits("1"), NOW - 100)
    assert run.now == NOW


def test_answered_call_gets_no_answer_command() -> None:
    run = FlowRun(EXAMPLES["main_menu"], answered=True)
    assert [c.kind for c in run.start(NOW)] == ["play"]


_TEMPLATES = [
    "{{play: [a.wav, b.wav], barge_in: true, into: k, next: {t1}}}",
    "{{say: {{value: '{{{{n}}}}', as: digits}}, next: {t1}}}",
    "{{menu: {{prompt: m.wav, choices: {{'1': {t1}, '2': {t2}}}, retries: 1, into: c}}, on_fail: {t3}}}",
    "{{gather: {{prompt: g.wav, into: g, min_digits: 2, max_digits: 4, regex: '[12]+'}}, next: {t1}, on_fail: {t2}}}",
    "{{record: {{into: r, max: 10s}}, next: {t1}, on_empty: {t2}}}",
    "{{set: {{n: 'n + 1', s: \"'x' + str(n)\"}}, next: {t1}}}",
    "{{branch: [{{if: 'n > 2 or c == 1', then: {t1}}}], else: {t2}}}",
    "{{business_hours: cal, open: {t1}, closed: {t2}}}",
    "{{http: {{url: 'https://x/{{{{n}}}}', into: h}}, next: {t1}, on_error: {t2}}}",
    "{{enqueue: {{queue: q, priority: 'if(h.vip, 5, 1)', callback: true, exit_key: '0'}}, next: {t1}, "
    "on_timeout: {t2}, on_callback: {t3}, on_exit_key: {t1}}}",
    "{{voicemail: box, next: {t1}}}",
    "{{survey: {{name: s, prompt: s.wav, into: sc}}, next: {t1}, on_fail: {t2}}}",
    "{{record_call: pause, next: {t1}}}",
    "{{language: es, next: {t1}}}",
    "{{goto: {t1}}}",
    "{{transfer: {{number: '+4930123'}}}}",
    "{{hangup: USER_BUSY}}",
    "{{return: {{}}}}",
]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, len(_TEMPLATES) - 1), st.integers(0, 9), st.integers(0, 9), st.integers(0, 9)),
        min_size=1,
        max_size=10,
    ),
    st.lists(st.integers(0, 50), max_size=30),
    st.integers(0, 23),
)
def test_random_valid_flows_run_to_a_wait_or_an_end(
    spec: list[tuple[int, int, int, int]], picks: list[int], hour: int
) -> None:
    n = len(spec)
    lines = [
        "flow: r",
        "start: n0",
        "vars: {n: 0, c: null, h: null}",
        "calendars:",
        "  cal: {timezone: UTC, hours: {daily: '08:00-18:00'}}",
        "nodes:",
    ]
    for i, (tpl, a, b, c) in enumerate(spec):
        lines.append(f"  n{i}: " + _TEMPLATES[tpl].format(t1=f"n{a % n}", t2=f"n{b % n}", t3=f"n{c % n}"))
    flow, problems = check_text("\n".join(lines) + "\n")
    if flow is None:
        assert any(p.is_error for p in problems)
        return
    run = FlowRun(flow, call_uuid="rnd")
    out = run.start(NOW + hour * 3600)
    for pick in picks:
        if run.done:
            break
        assert out and out[-1].awaits and run.pending is out[-1]
        out = run.feed(_result_for(run.pending, pick), NOW + hour * 3600)
    if run.done:
        assert run.ended_by in ("flow", "error") and run.final is not None
    else:
        assert run.pending is not None
    run.feed(CallerHangup(), NOW)
    assert run.done
