"""tests/flows/good and tests/flows/bad: each fixture's exact messages (with line and column) are in its
own header comments (``# error: LINE:COL: path: message`` / ``# warning: ...``; a message about another
file, such as a subflow, carries that file's name)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cc.errors import FlowError
from cc.ivr_dsl import check_file, load_flow

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "flows"
BAD = sorted((FIXTURES / "bad").glob("*.yaml"))
GOOD = sorted(p for p in (FIXTURES / "good").glob("*.yaml") if not p.name.endswith(".cases.yaml"))


def _expected(path: Path, rel: str) -> list[tuple[str, str]]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        for sev in ("error", "warning"):
            if line.startswith(f"# {sev}: "):
                text = line[len(sev) + 4 :]
                out.append((sev, f"{rel}:{text}" if text[:1].isdigit() else text))  # else: about another file
    return out


def test_there_are_fixtures() -> None:
    assert len(BAD) >= 25
    assert len(GOOD) >= 4


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.name)
def test_bad_fixture_gives_its_exact_messages(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    rel = str(path.relative_to(ROOT))
    expected = _expected(path, rel)
    assert any(sev == "error" for sev, _ in expected), "a bad fixture names at least one error"
    flow, problems = check_file(rel)
    assert flow is None
    assert [(p.severity.value, str(p)) for p in problems] == expected
    with pytest.raises(FlowError) as info:
        load_flow(rel)
    first_error = next(text for sev, text in expected if sev == "error")
    assert str(info.value).startswith(first_error)
    assert info.value.problems == problems
    err = next(p for p in problems if p.is_error)
    assert (info.value.file, info.value.line) == (err.file, err.line)


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.name)
def test_good_fixture_loads_with_exactly_its_warnings(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    rel = str(path.relative_to(ROOT))
    flow, problems = check_file(rel)
    assert flow is not None, [str(p) for p in problems]
    assert [(p.severity.value, str(p)) for p in problems] == _expected(path, rel)
    assert flow.warnings == problems


def test_message_format_is_file_line_col_path_message_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    _, problems = check_file("tests/flows/bad/unknown_key.yaml")
    (p,) = problems
    assert (p.file, p.line, p.col, p.path) == ("tests/flows/bad/unknown_key.yaml", 5, 24, "nodes.a.barge")
    assert p.message == "unknown key 'barge' for play"
    assert p.hint == "did you mean 'barge_in'?"
    assert str(p) == (
        "tests/flows/bad/unknown_key.yaml:5:24: nodes.a.barge: unknown key 'barge' for play "
        "(hint: did you mean 'barge_in'?)"
    )
    assert p.to_dict()["severity"] == "error"


def test_every_verb_fixture_uses_every_builtin_verb(monkeypatch: pytest.MonkeyPatch) -> None:
    from cc.ivr_dsl import BUILTIN_VERBS

    monkeypatch.chdir(ROOT)
    flow = load_flow("tests/flows/good/every_verb.yaml")
    used = {n.verb.name for n in flow.nodes.values()} | {
        n.verb.name for sub in flow.subflows.values() for n in sub.nodes.values()
    }
    assert used == set(BUILTIN_VERBS)
