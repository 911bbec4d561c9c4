"""Scorecards as data: sections of items with weights that add up to 100, critical items, N/A; YAML in, checked.

A scorecard file (``ccctl qa scorecard add|set FILE``)::

    name: support-basic
    description: Inbound support calls
    sections:
      - title: Opening
        items:
          - {key: greet, text: Greets with name and company, weight: 10}
          - {key: verify, text: Verifies the caller, weight: 15, critical: true}
      - title: Resolution
        items:
          - {key: solve, text: Solves the issue, weight: 60}
          - {key: hold, text: Asks before putting on hold, weight: 15, na: true}

Weights are points (at most two decimals) and add up to exactly 100. ``critical: true`` items fail the whole
call when answered ``fail`` (they take pass/fail/na only); ``na: true`` allows N/A. Every error names
``file:line``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from cc.errors import ConfigError

__all__ = ["Item", "Scorecard", "Section", "load_scorecard", "parse_scorecard", "scorecard_from_dict"]

_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Item:
    """One question of a scorecard: its key (unique in the card), text, weight (points), critical, N/A allowed."""

    key: str
    text: str
    weight: Decimal
    critical: bool = False
    na: bool = False


@dataclass(frozen=True)
class Section:
    """A titled group of items."""

    title: str
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Scorecard:
    """A scorecard's content (one version of it): name, description, sections."""

    name: str
    sections: tuple[Section, ...]
    description: str = ""

    def items(self) -> Iterator[Item]:
        """Every item, section by section, in file order."""
        for s in self.sections:
            yield from s.items

    def item(self, key: str) -> Item | None:
        """The item called ``key`` (None: no such item)."""
        return next((i for i in self.items() if i.key == key), None)

    def to_dict(self) -> dict[str, Any]:
        """As plain JSON data (weights as strings, exact); :func:`scorecard_from_dict` reads it back."""
        return {"name": self.name, "description": self.description,
                "sections": [{"title": s.title,
                              "items": [{"key": i.key, "text": i.text, "weight": str(i.weight),
                                         "critical": i.critical, "na": i.na} for i in s.items]}
                             for s in self.sections]}


class _Where:
    """Where a path of the YAML document is (file:line), for error messages."""

    def __init__(self, file: str, doc: Any) -> None:
        self.file, self.doc = file, doc

    def fail(self, path: tuple[str | int, ...], message: str) -> ConfigError:
        line = self.doc.pos(path).line if self.doc is not None else None
        where = ".".join(str(p) for p in path)
        loc = f"{self.file}:{line}" if line is not None else self.file
        return ConfigError(f"{loc}: {where + ': ' if where else ''}{message}", file=self.file, line=line, path=where)


def _weight(value: object) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        d = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    if not d.is_finite() or d <= 0 or d != d.quantize(Decimal("0.01")):
        return None
    return d


def _build(data: Any, where: _Where) -> Scorecard:
    if not isinstance(data, Mapping):
        raise where.fail((), "a scorecard is a mapping with name: and sections:")
    for key in data:
        if key not in ("name", "description", "sections"):
            raise where.fail((key,), f"unknown key {key!r} (known: name, description, sections)")
    name = data.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise where.fail(("name",), "name: letters, digits, '.', '_' or '-' (up to 128)")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise where.fail(("description",), "description is a string")
    raw_sections = data.get("sections")
    if not isinstance(raw_sections, Sequence) or isinstance(raw_sections, str) or not raw_sections:
        raise where.fail(("sections",), "sections: is a list of {title, items}, at least one")
    sections: list[Section] = []
    seen: set[str] = set()
    total = Decimal(0)
    for si, raw in enumerate(raw_sections):
        sp: tuple[str | int, ...] = ("sections", si)
        if not isinstance(raw, Mapping):
            raise where.fail(sp, "a section is a mapping with title: and items:")
        for key in raw:
            if key not in ("title", "items"):
                raise where.fail((*sp, key), f"unknown key {key!r} (known: title, items)")
        title = raw.get("title")
        if not isinstance(title, str) or not title.strip():
            raise where.fail((*sp, "title"), "title: the section's name")
        raw_items = raw.get("items")
        if not isinstance(raw_items, Sequence) or isinstance(raw_items, str) or not raw_items:
            raise where.fail((*sp, "items"), "items: is a list of {key, text, weight}, at least one")
        items: list[Item] = []
        for ii, it in enumerate(raw_items):
            ip: tuple[str | int, ...] = (*sp, "items", ii)
            if not isinstance(it, Mapping):
                raise where.fail(ip, "an item is a mapping with key:, text: and weight:")
            for key in it:
                if key not in ("key", "text", "weight", "critical", "na"):
                    raise where.fail((*ip, key), f"unknown key {key!r} (known: key, text, weight, critical, na)")
            key = it.get("key")
            if not isinstance(key, str) or not _KEY.match(key):
                raise where.fail((*ip, "key"), "key: a letter, then letters, digits, '_' or '-' (up to 64)")
            if key in seen:
                raise where.fail((*ip, "key"), f"item key {key!r} is used twice")
            seen.add(key)
            text = it.get("text")
            if not isinstance(text, str) or not text.strip():
                raise where.fail((*ip, "text"), "text: the question the QA user answers")
            weight = _weight(it.get("weight"))
            if weight is None:
                raise where.fail((*ip, "weight"), f"weight={it.get('weight')!r}: a number > 0 with at most "
                                                   "two decimals")
            flags = {}
            for flag in ("critical", "na"):
                v = it.get(flag, False)
                if not isinstance(v, bool):
                    raise where.fail((*ip, flag), f"{flag} is true or false")
                flags[flag] = v
            total += weight
            items.append(Item(key, text.strip(), weight, flags["critical"], flags["na"]))
        sections.append(Section(title.strip(), tuple(items)))
    if total != HUNDRED:
        raise where.fail(("sections",), f"the weights add up to {total.normalize():f}, not 100")
    return Scorecard(name, tuple(sections), description)


def parse_scorecard(text: str | bytes, file: str = "<scorecard>") -> Scorecard:
    """A scorecard from YAML text; ConfigError naming ``file:line`` and the path of the first problem."""
    from cc.ivr_dsl.loader import read_yaml

    doc, problems = read_yaml(text, file)
    errors = [p for p in problems if p.is_error]
    if errors:
        first = errors[0]
        raise ConfigError(f"{first.file}:{first.line}: {first.message}", file=first.file, line=first.line)
    return _build(doc.value, _Where(file, doc))


def load_scorecard(path: str) -> Scorecard:
    """A scorecard from a YAML file (ConfigError with file:line; an unreadable file is named too)."""
    try:
        with open(path, "rb") as fh:
            text = fh.read()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}", file=path) from exc
    return parse_scorecard(text, path)


def scorecard_from_dict(data: Mapping[str, Any]) -> Scorecard:
    """A scorecard from :meth:`Scorecard.to_dict` data (the store's copy; checked again)."""
    return _build(data, _Where("<stored scorecard>", None))
