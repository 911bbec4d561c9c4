"""The offline case runner behind `ccctl flow test`: the examples pass, and every expectation can fail."""

from __future__ import annotations

from pathlib import Path

import pytest

from cc.errors import FlowError
from cc.ivr_dsl import check_file, load_flow, load_flow_text
from cc.ivr_dsl.loader import read_yaml
from cc.ivr_dsl.testing import load_cases, parse_cases, run_case, run_cases

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["main_menu", "support", "collections"])
def test_examples_are_clean_and_their_cases_pass(name: str) -> None:
    flow, problems = check_file(str(ROOT / "flows" / f"{name}.yaml"))
    assert flow is not None and problems == []
    results = run_cases(flow, load_cases(str(ROOT / "flows" / f"{name}.cases.yaml")))
    assert len(results) >= 5
    assert [r.failures for r in results if not r.passed] == []


FLOW = load_flow_text("""
flow: t
start: hours
calendars:
  c: {timezone: UTC, hours: {daily: "09:00-17:00"}}
nodes:
  hours: {business_hours: c, open: hello, closed: shut}
  hello: {play: hi.wav, next: ask}
  ask:
    gather: {prompt: pin.wav, into: pin, min_digits: 2, max_digits: 4}
    next: check
    on_fail: shut
  check: {set: {ok: "pin == '42'"}, next: route}
  route:
    branch: [{if: ok, then: good}]
    else: wait
  wait: {play: hold.wav, next: hours}
  good: {transfer: {extension: "42"}}
  shut: {hangup: USER_BUSY}
""")


def _case(body: str):  # type: ignore[no-untyped-def]
    doc, problems = read_yaml("cases:\n" + body, "cases.yaml")
    assert problems == []
    cases, found = parse_cases(doc)
    assert found == [], [str(p) for p in found]
    return run_case(FLOW, cases[0])


def test_passing_case() -> None:
    r = _case("""
  - at: 2026-11-24T10:00:00Z
    steps: [{digits: "42"}]
    expect:
      path: [hours, hello, ask, check, route, good]
      visits: [hello, good]
      not_visits: [shut]
      vars: {pin: 42, ok: true}
      final: {transfer: {extension: "42"}}
      emitted: [answer, {play: {files: [hi.wav]}}, {collect: {min_digits: 2}}, transfer]
      ended_at: good
      ended_by: flow
""")
    assert r.passed, r.failures


@pytest.mark.parametrize(
    ("expect", "failure"),
    [
        ("path: [hours, shut]", "path: expected hours > shut, got hours > hello > ask > check > route > good"),
        ("visits: [good, hello]", "visits: 'hello' not visited in order"),
        ("not_visits: [ask]", "not_visits: 'ask' was visited"),
        ("vars: {pin: '43'}", "vars.pin: expected '43', got '42'"),
        ("final: hangup", "final: expected 'hangup', got transfer(to='extension', target='42')"),
        ("final: {transfer: {number: '42'}}", "final: expected {'transfer': {'number': '42'}}"),
        ("emitted: [transfer, answer]", "emitted: 'answer' not found in order"),
        ("ended_at: ask", "ended_at: expected 'ask', got 'good'"),
        ("ended_by: caller", "ended_by: expected 'caller', got 'flow'"),
    ],
)
def test_every_expectation_can_fail(expect: str, failure: str) -> None:
    r = _case(f"  - at: 2026-11-24T10:00:00Z\n    steps: [{{digits: '42'}}]\n    expect: {{{expect}}}\n")
    assert not r.passed
    assert r.failures[0].startswith(failure)


def test_wait_moves_the_clock_for_business_hours() -> None:
    r = _case("""
  - at: 2026-11-24T16:59:00Z
    steps: [{digits: "11"}, {wait: 2m}]
    expect: {path: [hours, hello, ask, check, route, wait, hours, shut], final: {hangup: USER_BUSY}}
""")
    assert r.passed, r.failures


def test_hangup_after_prompts_and_hangup_now_during_one() -> None:
    r = _case("  - at: 2026-11-24T10:00:00Z\n    steps: [hangup]\n    expect: {ended_at: ask, final: caller_hangup}\n")
    assert r.passed, r.failures
    r = _case("  - at: 2026-11-24T10:00:00Z\n    steps: [hangup_now]\n    expect: {ended_at: hello}\n")
    assert r.passed, r.failures


def test_exhausted_script_means_the_caller_hangs_up() -> None:
    r = _case("  - at: 2026-11-24T10:00:00Z\n    expect: {ended_at: ask, ended_by: caller}\n")
    assert r.passed, r.failures


def test_wrong_step_for_what_the_flow_waits_for() -> None:
    r = _case("  - at: 2026-11-24T10:00:00Z\n    steps: [{queue: served}]\n")
    assert r.failures == ["step at line 3 (queue): node ask waits for collect, not queue"]


def test_unused_steps_fail_the_case() -> None:
    r = _case("  - at: 2026-11-24T20:00:00Z\n    steps: [{digits: '1'}]\n")
    assert r.failures == ["1 step(s) left unused (from line 3): the flow ended at shut"]


def test_case_file_problems_are_located(tmp_path: Path) -> None:
    bad = tmp_path / "c.yaml"
    bad.write_text("cases:\n  - nam: x\n    at: yesterday\n    steps: [{queue: lost}]\n    expect: {pth: []}\n")
    with pytest.raises(FlowError) as info:
        load_cases(str(bad))
    texts = [str(p).split(": ", 1)[1] for p in info.value.problems]
    assert [str(p).split(":")[1:3] for p in info.value.problems] == [["2", "5"], ["3", "9"], ["4", "21"], ["5", "14"]]
    assert texts[0] == "cases[0].nam: unknown key 'nam' in a case (hint: did you mean 'name'?)"
    assert "'lost' is not a queue outcome" in texts[2]
    assert texts[3] == "cases[0].expect.pth: unknown expectation 'pth' (hint: did you mean 'path'?)"


def test_load_flow_of_examples_has_no_warnings() -> None:
    for name in ("main_menu", "support", "collections", "common/identify"):
        assert load_flow(str(ROOT / "flows" / f"{name}.yaml")).warnings == []
