"""docs/flows.md carries the verb reference generated from the registry, so it cannot drift."""

from __future__ import annotations

from pathlib import Path

from cc.ivr_dsl import BUILTIN_VERBS
from cc.ivr_dsl.reference import BEGIN, END, verb_reference

DOC = Path(__file__).resolve().parents[2] / "docs" / "flows.md"


def test_reference_in_docs_is_current() -> None:
    text = DOC.read_text(encoding="utf-8")
    start, end = text.index(BEGIN), text.index(END) + len(END)
    assert text[start:end] + "\n" == verb_reference(), "run: python -m cc.ivr_dsl.reference, paste into docs/flows.md"


def test_every_verb_is_documented_with_its_keys() -> None:
    text = DOC.read_text(encoding="utf-8")
    for name, cls in BUILTIN_VERBS.items():
        assert f"### `{name}`" in text
        for key in cls.fields:
            assert f"| `{key}`" in text
