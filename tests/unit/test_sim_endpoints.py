"""Agents and callers files: what they load to, and errors that name file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from cc.errors import ConfigError
from cc.sim import AgentSpec, DigitPress, load_agents, load_callers

DATA = Path(__file__).resolve().parents[1] / "data" / "sim"


def test_example_files_load() -> None:
    agents = load_agents(DATA / "agents.yaml")
    assert [a.id for a in agents] == ["1001", "1002", "1003", "1004", "1005"]
    assert agents[0] == AgentSpec("1001", answer_after=2.0, talk_time=60.0)
    assert agents[4].script == ("busy", "no_answer")
    groups = load_callers(DATA / "callers.yaml")
    assert [g.count for g in groups] == [3, 1]
    assert groups[0].every == 2.0 and groups[0].spec.hangup_after == 5.0
    assert groups[1].spec.digits == (DigitPress("1"), DigitPress("1234#", 0.5, 0.3))
    assert groups[1].spec.patience == 120.0 and groups[1].start == 1.0


@pytest.mark.parametrize(("text", "where"), [
    ("callers:\n  - destination: '7000'\n    patience: soon\n", "callers[0].patience"),
    ("callers:\n  - caller_id_number: '1'\n", "callers[0].destination"),
    ("callers:\n  - destination: '7000'\n    digits: ['12x']\n", "callers[0].digits[0]"),
    ("callers:\n  - destination: '7000'\n    count: -1\n", "callers[0].count"),
    ("callers:\n  - destination: '7000'\n    colour: red\n", "callers[0].colour"),
])
def test_bad_callers_name_file_line_field(tmp_path: Path, text: str, where: str) -> None:
    f = tmp_path / "callers.yaml"
    f.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_callers(f)
    assert str(f) in str(err.value) and where in str(err.value)
    assert err.value.file == str(f) and err.value.path == where and err.value.line is not None


@pytest.mark.parametrize(("text", "where"), [
    ("agents:\n  - id: '1'\n    mode: sleepy\n", "agents[0].mode"),
    ("agents:\n  - id: '1'\n  - id: '1'\n", "agents[1].id"),
    ("agents:\n  - mode: busy\n", "agents[0].id"),
    ("agents:\n  - id: '1'\n    answer_after: -2\n", "agents[0].answer_after"),
    ("agents:\n  - id: '1'\n    script: [answer, nope]\n", "agents[0].script[1]"),
    ("agents:\n  - id: '1'\n    hold_for: -1\n", "agents[0].hold_for"),
])
def test_bad_agents_name_file_line_field(tmp_path: Path, text: str, where: str) -> None:
    f = tmp_path / "agents.yaml"
    f.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_agents(f)
    assert where in str(err.value) and err.value.path == where


def test_agent_hold_options(tmp_path: Path) -> None:
    f = tmp_path / "agents.yaml"
    f.write_text("agents:\n  - id: '1'\n    hold_after: 5\n    hold_for: 12.5\n  - id: '2'\n")
    held, plain = load_agents(f)
    assert (held.hold_after, held.hold_for) == (5.0, 12.5)
    assert (plain.hold_after, plain.hold_for) == (None, 0.0)


def test_unreadable_and_not_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_agents(tmp_path / "missing.yaml")
    f = tmp_path / "x.yaml"
    f.write_text("agents: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_agents(f)
    f.write_text("agents: 3\n")
    with pytest.raises(ConfigError, match="expected a list"):
        load_agents(f)


def test_a_file_that_is_not_utf8_is_one_error_naming_it(tmp_path: Path) -> None:
    """Agents, callers and parties files are read by one reader (cc.sim.yaml_lines): a GBK file is a ConfigError
    naming the file, not a UnicodeDecodeError traceback."""
    from cc.sim.parties import load_parties

    f = tmp_path / "gbk.yaml"
    f.write_bytes("agents:\n  - id: '1001'  # 坐席\n".encode("gbk"))
    for load in (load_agents, load_callers, load_parties):
        with pytest.raises(ConfigError, match=r"gbk.yaml: not UTF-8 text"):
            load(f)
