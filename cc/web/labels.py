"""The codes the pages offer (not-ready reasons, call results, agent states) and their labels in the page's
language: a configured label ({code, zh, en}) wins, else the catalog's translation of the built-in name."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from flask_babel import get_locale, lazy_gettext
from flask_babel.speaklater import LazyString

from cc.config import Label

__all__ = ["BUILTIN", "DEFAULT_REASONS", "DEFAULT_RESULTS", "Choice", "choices", "label"]

#: every built-in code's name, translated by the catalog
BUILTIN: dict[str, LazyString] = {
    # not-ready reasons
    "break": lazy_gettext("Break"),
    "meal": lazy_gettext("Meal"),
    "training": lazy_gettext("Training"),
    "meeting": lazy_gettext("Meeting"),
    "after_call_work": lazy_gettext("After-call work"),
    # call results
    "resolved": lazy_gettext("Resolved"),
    "follow_up": lazy_gettext("Needs follow-up"),
    "not_resolved": lazy_gettext("Not resolved"),
    "complaint": lazy_gettext("Complaint"),
    "wrong_number": lazy_gettext("Wrong number"),
    # kinds of interaction
    "call": lazy_gettext("Call"),
    "note": lazy_gettext("Note"),
    "email": lazy_gettext("E-mail"),
    "callback": lazy_gettext("Callback"),
    # agent states
    "ready": lazy_gettext("Ready"),
    "not_ready": lazy_gettext("Not ready"),
    "logged_out": lazy_gettext("Logged out"),
    "ringing": lazy_gettext("Ringing"),
    "in_call": lazy_gettext("In call"),
    "wrap_up": lazy_gettext("After-call work"),
    "on_demand": lazy_gettext("Ready (on demand)"),
}

DEFAULT_REASONS: tuple[Label, ...] = tuple(Label(c) for c in ("break", "meal", "training", "meeting"))
DEFAULT_RESULTS: tuple[Label, ...] = tuple(Label(c) for c in ("resolved", "follow_up", "not_resolved", "complaint",
                                                             "wrong_number"))


@dataclass(frozen=True)
class Choice:
    """A code and its label in the current language."""

    code: str
    label: str


def label(code: str | None, configured: Sequence[Label] = ()) -> str:
    """The label of ``code`` in the request's language (a code nobody named is shown as it is)."""
    if not code:
        return ""
    zh = str(get_locale() or "").startswith("zh")
    for item in configured:
        if item.code == code:
            text = item.zh if zh else item.en
            if text:
                return text
            break
    builtin = BUILTIN.get(code)
    return str(builtin) if builtin is not None else code


def choices(configured: Sequence[Label], defaults: Sequence[Label]) -> list[Choice]:
    """The codes to offer (the configured ones, else the defaults) with their labels."""
    items = configured or defaults
    return [Choice(item.code, label(item.code, items)) for item in items]

