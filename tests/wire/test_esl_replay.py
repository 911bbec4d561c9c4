"""`ccctl replay` through click's CliRunner: the replayed IVR call, a caller hang-up, bad arguments."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import cc

pytestmark = pytest.mark.timeout(60)


def test_replay_ivr_call_json(captures_dir: Path) -> None:
    r = CliRunner().invoke(cc, ["replay", "--json", "--speed", "50",
                                "--capture", str(captures_dir / "outbound_ivr.esl")])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["outcome"] == "completed"
    assert out["digits"] == "123" and out["dtmf"] == ["1", "2", "3"]
    assert out["replay_mismatches"] == []
    assert [s["step"] for s in out["steps"]][:3] == ["connect", "answer", "playback welcome"]
    assert out["events"]["DTMF"] == 3 and out["destination"] == "7000"


def test_replay_default_capture_tables(captures_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CC_ESL_CAPTURES", str(captures_dir))
    r = CliRunner().invoke(cc, ["replay", "--speed", "50"])
    assert r.exit_code == 0, r.output
    assert "What the app did" in r.output and "digits collected: '123'" in r.output
    assert "outcome: completed" in r.output


def test_replay_caller_hangup(captures_dir: Path) -> None:
    r = CliRunner().invoke(cc, ["replay", "--json", "--speed", "50",
                                "--capture", str(captures_dir / "outbound_caller_hangup.esl")])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["outcome"] == "caller hung up (NORMAL_CLEARING)"
    # the demo app plays tone2s.wav where the captured client played tone20s.wav: reported, not hidden
    assert len(out["replay_mismatches"]) == 1 and "tone20s.wav" in out["replay_mismatches"][0]


def test_replay_missing_capture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CC_ESL_CAPTURES", str(tmp_path / "nowhere"))
    r = CliRunner().invoke(cc, ["replay"])
    assert r.exit_code == 2
    assert len(r.stderr.strip().splitlines()) == 1 and "capture not found" in r.stderr


def test_replay_bad_speed(captures_dir: Path) -> None:
    r = CliRunner().invoke(cc, ["replay", "--speed", "0"])
    assert r.exit_code == 2 and "--speed" in r.stderr
    r = CliRunner().invoke(cc, ["replay", "--speed", "fast"])
    assert r.exit_code == 2


def test_replay_help_has_example() -> None:
    r = CliRunner().invoke(cc, ["replay", "--help"])
    assert r.exit_code == 0 and "Example:" in r.output and "ccctl replay" in r.output
