"""`ccctl flow validate|test|graph` through click's CliRunner: output, --json, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import cc

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(ROOT)
    return CliRunner()


def test_validate_examples_ok(runner: CliRunner) -> None:
    res = runner.invoke(cc, ["flow", "validate", "flows/"])
    assert res.exit_code == 0, res.output
    assert "OK: 5 file(s), 0 error(s), 0 warning(s)" in res.output


def test_validate_bad_exits_1_with_located_messages(runner: CliRunner) -> None:
    res = runner.invoke(cc, ["flow", "validate", "tests/flows/bad/unknown_key.yaml", "tests/flows/good/minimal.yaml"])
    assert res.exit_code == 1
    assert "error: tests/flows/bad/unknown_key.yaml:5:24: nodes.a.barge: unknown key 'barge' for play" in res.output
    assert "FAILED: 2 file(s), 1 error(s), 0 warning(s)" in res.output


def test_validate_json(runner: CliRunner) -> None:
    res = runner.invoke(cc, ["flow", "validate", "--json", "tests/flows/good/warnings.yaml"])
    assert res.exit_code == 0
    data = json.loads(res.output)
    assert data["ok"] is True and data["errors"] == 0 and data["warnings"] == 6
    first = data["files"][0]["problems"][0]
    assert (first["line"], first["col"], first["severity"]) == (10, 3, "warning")
    strict = runner.invoke(cc, ["flow", "validate", "--strict", "--json", "tests/flows/good/warnings.yaml"])
    assert strict.exit_code == 1 and json.loads(strict.output)["ok"] is False


def test_validate_whole_fixture_folder(runner: CliRunner) -> None:
    res = runner.invoke(cc, ["flow", "validate", "--json", "tests/flows/"])
    data = json.loads(res.output)
    assert res.exit_code == 1
    bad = {Path(f["file"]).name for f in data["files"] if not f["ok"]}
    assert bad == {p.name for p in (ROOT / "tests/flows/bad").glob("*.yaml")}


def test_validate_with_external_calendars(runner: CliRunner, tmp_path: Path) -> None:
    flow = tmp_path / "f.yaml"
    flow.write_text("flow: f\nstart: h\nnodes:\n  h: {business_hours: office, open: b, closed: b}\n  b: {hangup: {}}\n")
    assert runner.invoke(cc, ["flow", "validate", str(flow)]).exit_code == 1
    res = runner.invoke(cc, ["flow", "validate", str(flow), "--calendars", "flows/calendars.yaml"])
    assert res.exit_code == 0, res.output


@pytest.mark.parametrize(
    "args",
    [
        ["flow", "validate"],
        ["flow", "validate", "no/such/dir"],
        ["flow", "test", "no-such.yaml"],
        ["flow", "test", "tests/flows/good/minimal.yaml"],
        ["flow", "graph", "nope.yaml"],
        ["flow", "validate", "flows/", "--calendars", "nope.yaml"],
    ],
)
def test_bad_arguments_exit_2_with_one_line(runner: CliRunner, args: list[str]) -> None:
    res = runner.invoke(cc, args)
    assert res.exit_code == 2
    assert len(res.output.strip().splitlines()) == 1 and res.output.startswith("ccctl flow ")


@pytest.mark.parametrize("name", ["main_menu", "support", "collections"])
def test_example_case_files_pass(runner: CliRunner, name: str) -> None:
    res = runner.invoke(cc, ["flow", "test", f"flows/{name}.yaml", "--case", f"flows/{name}.cases.yaml", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["ok"] and data["failed"] == 0 and data["passed"] >= 5


def test_failing_case_exits_1_with_a_table(runner: CliRunner, tmp_path: Path) -> None:
    cases = tmp_path / "c.yaml"
    cases.write_text(
        "cases:\n"
        "  - name: wrong expectation\n"
        "    at: 2026-11-24T10:00:00+01:00\n"
        "    steps: [{digits: '1'}, {queue: served}]\n"
        "    expect: {path: [greet, hours, menu, billing], final: {transfer: {extension: '1000'}}}\n"
        "  - name: right\n"
        "    at: 2026-11-24T10:00:00+01:00\n"
        "    steps: [hangup]\n"
        "    expect: {final: caller_hangup, ended_at: menu}\n"
    )
    res = runner.invoke(cc, ["flow", "test", "flows/main_menu.yaml", "--case", str(cases)])
    assert res.exit_code == 1
    assert "FAIL" in res.output and "PASS" in res.output and "1 passed, 1 failed" in res.output
    data = json.loads(
        runner.invoke(cc, ["flow", "test", "flows/main_menu.yaml", "--case", str(cases), "--json"]).output
    )
    assert data["cases"][0]["failures"] == [
        "path: expected greet > hours > menu > billing, got greet > hours > menu > sales > goodbye",
        "final: expected {'transfer': {'extension': '1000'}}, got hangup(cause='NORMAL_CLEARING')",
    ]


def test_invalid_case_file_exits_2_naming_the_line(runner: CliRunner, tmp_path: Path) -> None:
    cases = tmp_path / "c.yaml"
    cases.write_text("cases:\n  - name: x\n    steps: [{digitz: '1'}]\n")
    res = runner.invoke(cc, ["flow", "test", "flows/main_menu.yaml", "--case", str(cases)])
    assert res.exit_code == 2
    assert "c.yaml:3:13: cases[0].steps[0]: unknown step 'digitz' (hint: did you mean 'digits'?)" in res.output


def test_default_case_file_next_to_the_flow(runner: CliRunner) -> None:
    assert runner.invoke(cc, ["flow", "test", "flows/support.yaml"]).exit_code == 0


def test_graph_formats(runner: CliRunner, tmp_path: Path) -> None:
    res = runner.invoke(cc, ["flow", "graph", "flows/main_menu.yaml"])
    assert res.exit_code == 0
    assert res.output.startswith("flowchart TD\n") and '-->|"1"|' in res.output and '(["greet<br/>play"])' in res.output
    out = tmp_path / "g.dot"
    res = runner.invoke(cc, ["flow", "graph", "flows/collections.yaml", "--format", "dot", "-o", str(out)])
    assert res.exit_code == 0
    dot = out.read_text()
    assert dot.startswith('digraph "collections" {') and '"route" -> "vip" [label="if customer.vip or' in dot


def test_help_has_examples(runner: CliRunner) -> None:
    for sub in ("validate", "test", "graph"):
        res = runner.invoke(cc, ["flow", sub, "--help"])
        assert res.exit_code == 0 and "Example" in res.output
