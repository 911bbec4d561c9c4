"""The YAML reader and the flow checker on hostile input: positions, limits, and fuzzing (never a crash)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cc.errors import FlowError
from cc.ivr_dsl import check_text, load_flow, load_flow_text
from cc.ivr_dsl.loader import MAX_BYTES, Pos, read_yaml


def test_positions_of_keys_and_values_are_one_based() -> None:
    doc, problems = read_yaml("flow: x\nnodes:\n  a: {play: [p.wav, q.wav], next: b}\n", "f.yaml")
    assert problems == []
    assert doc.key_pos[("nodes", "a", "next")] == Pos(3, 29)
    assert doc.val_pos[("nodes", "a", "play", 1)] == Pos(3, 21)
    assert doc.pos(("nodes", "a", "play", 5)) == Pos(3, 13)  # falls back to the nearest known parent


def test_no_sexagesimal_numbers() -> None:
    doc, _ = read_yaml("a: 9:30\nb: 12\nc: 1.5\nd: yes\ne: null\n")
    assert doc.value == {"a": "9:30", "b": 12, "c": 1.5, "d": True, "e": None}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: 1\n---\nb: 2\n", "f.yaml:2:1: more than one YAML document in the file"),
        ("a: &x {k: 1}\nb: {<<: *x}\n", "2:5: b: merge keys (<<) are not supported"),
        ("a: *nowhere\n", "f.yaml:1:4: a: alias *nowhere refers to no finished anchor"),
        ("a: !!binary aGVsbG8=\n", "1:4: a: YAML tag tag:yaml.org,2002:binary is not allowed"),
        ("? [a, b]\n: 1\n", "1:3: a mapping key must be a plain scalar"),
        ("a: 'unterminated\n", "malformed YAML"),
        ("\t- tab\n", "malformed YAML"),
    ],
)
def test_hostile_yaml_becomes_one_problem(text: str, message: str) -> None:
    _, problems = read_yaml(text, "f.yaml")
    assert len(problems) == 1
    assert message in str(problems[0])


def test_recursive_alias_is_refused() -> None:
    _, problems = read_yaml("a: &a [1, *a]\n")
    assert "refers to no finished anchor" in str(problems[0])


def test_ten_megabyte_file_is_a_flow_error(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    head = b"flow: x\nstart: a\nnodes:\n  a: {hangup: {}}\n"
    big.write_bytes(head + b"# padding padding padding\n" * 400_000)
    assert big.stat().st_size > 10_000_000
    with pytest.raises(FlowError) as info:
        load_flow(str(big))
    assert f"larger than {MAX_BYTES} bytes" in str(info.value)
    assert info.value.line == 1


def test_big_string_is_refused_before_parsing() -> None:
    with pytest.raises(FlowError, match="a flow file may have at most"):
        load_flow_text("x" * (MAX_BYTES + 1))


def test_not_utf8() -> None:
    with pytest.raises(FlowError, match="not UTF-8"):
        load_flow_text(b"flow: \xff\xfe\n")


def test_wide_alias_fan_out_is_stopped_quickly() -> None:
    lines = ["a0: &a0 [" + ", ".join(["x"] * 50) + "]"]
    for i in range(1, 8):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 50) + "]")
    _, problems = read_yaml("\n".join(lines) + "\n")
    assert "alias bomb" in str(problems[0])


_VALID = "flow: f\nstart: a\nnodes:\n  a: {play: x.wav, next: b}\n  b: {hangup: {}}\n"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400))
def test_fuzz_any_text_gives_problems_never_an_exception(text: str) -> None:
    flow, problems = check_text(text)
    assert flow is not None or any(p.is_error for p in problems)
    for p in problems:
        assert p.line >= 1 and p.col >= 1 and str(p).startswith("<flow>:")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_bytes(data: bytes) -> None:
    check_text(data)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, len(_VALID) - 1), st.integers(0, len(_VALID)), st.text(max_size=12))
def test_fuzz_mutations_of_a_valid_flow(start: int, end: int, insert: str) -> None:
    text = _VALID[:start] + insert + _VALID[max(start, end) :]
    check_text(text)


_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False),
    st.text(max_size=10),
    st.sampled_from(["5s", "2m", "play", "hangup", "next", "a", "b"]),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.sampled_from(
                [
                    "play",
                    "next",
                    "menu",
                    "choices",
                    "prompt",
                    "timeout",
                    "set",
                    "branch",
                    "if",
                    "then",
                    "enqueue",
                    "queue",
                    "skills",
                    "require",
                    "for",
                    "http",
                    "url",
                    "a",
                    "b",
                ]
            ),
            inner,
            max_size=4,
        ),
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(["a", "b", "c"]), _values, min_size=1, max_size=3))
def test_fuzz_structured_nodes(nodes: dict[str, object]) -> None:
    text = yaml.safe_dump({"flow": "f", "start": "a", "nodes": nodes})
    flow, problems = check_text(text)
    assert flow is not None or problems


@pytest.mark.timeout(60)
def test_big_flows_are_checked_without_blowing_up() -> None:
    n = 3000
    chain = ["flow: big", "start: n0", "nodes:"]
    chain += [f"  n{i}: {{set: {{v{i}: '{i}'}}, next: n{i + 1}}}" for i in reversed(range(n - 1))]
    chain.append(f"  n{n - 1}: {{say: '{{{{v0 + v{n - 2}}}}}', next: n{n}}}")
    chain.append(f"  n{n}: {{hangup: {{}}}}")
    flow, problems = check_text("\n".join(chain) + "\n")
    assert flow is not None and problems == []  # every v_i is set on the only path before it is read
    missing = ["flow: big", "start: n0", "nodes:"] + [f"  n{i}: {{goto: m{i}}}" for i in range(n)]
    flow, problems = check_text("\n".join(missing) + "\n")
    assert flow is None and len(problems) == 501
    assert problems[0].message == "more than 500 problems; the rest are not shown"  # sorted first (line 1)
