"""Custom fields of customers, defined by the admin (``ccctl customer-field``): their definitions
(customer_fields) and the check of a customer's values against them (:func:`check_values`, pure).

A value is kept in customers.fields under the field's key: text as a string, a number as a JSON number, a date
as ``YYYY-MM-DD``, a choice as one of the field's choices. A value of a field whose definition was deleted stays
on the customer (nothing is lost) and is shown again if the field comes back.
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cc.errors import InvalidValue, NotFound
from cc.store import tables as t
from cc.store.repo_base import _Repo

__all__ = ["FIELD_TYPES", "TEXT_MAX", "CustomerField", "CustomerFieldRepo", "check_values"]

#: the kinds of value a field takes
FIELD_TYPES = ("text", "number", "date", "choice")
#: the longest text value
TEXT_MAX = 1024
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


@dataclass(frozen=True)
class CustomerField:
    """One field's definition: ``key`` (lower-case letters, digits, _), labels, type, choices (of a choice),
    whether a customer must have a value, and its place on the page."""

    key: str
    type: str
    label_zh: str = ""
    label_en: str = ""
    choices: tuple[str, ...] = field(default_factory=tuple)
    required: bool = False
    position: int = 0

    def label(self, zh: bool) -> str:
        """The label in the page's language (the other one, else the key, when it is empty)."""
        return (self.label_zh or self.label_en if zh else self.label_en or self.label_zh) or self.key


def check_definition(f: CustomerField) -> CustomerField:
    """``f`` when it is a valid definition, else InvalidValue naming what is wrong."""
    if not _KEY.match(f.key):
        raise InvalidValue("key", f.key, "expected a lower-case letter, then letters, digits or _ (64 at most)")
    if f.type not in FIELD_TYPES:
        raise InvalidValue("type", f.type, f"expected one of {', '.join(FIELD_TYPES)}")
    if f.type == "choice" and not f.choices:
        raise InvalidValue("choices", "", "a choice field needs at least one choice")
    if f.type != "choice" and f.choices:
        raise InvalidValue("choices", ",".join(f.choices), f"only a choice field has choices, not a {f.type} field")
    if len(set(f.choices)) != len(f.choices) or any(not c.strip() or len(c) > t.NAME for c in f.choices):
        raise InvalidValue("choices", ",".join(f.choices), f"choices must be distinct, non-empty, {t.NAME} "
                                                           "characters at most")
    for name, label in (("label_zh", f.label_zh), ("label_en", f.label_en)):
        if len(label) > t.NAME:
            raise InvalidValue(name, label, f"longer than {t.NAME} characters")
    return f


def _value(f: CustomerField, raw: str) -> Any:
    if f.type == "text":
        if len(raw) > TEXT_MAX:
            raise InvalidValue(f.key, raw[:40] + "...", f"longer than {TEXT_MAX} characters")
        return raw
    if f.type == "number":
        try:
            number = float(raw)
        except ValueError:
            raise InvalidValue(f.key, raw, "expected a number") from None
        if not math.isfinite(number):
            raise InvalidValue(f.key, raw, "expected a finite number")
        return int(number) if number.is_integer() and abs(number) < 2**53 else number
    if f.type == "date":
        try:
            return datetime.date.fromisoformat(raw).isoformat()
        except ValueError:
            raise InvalidValue(f.key, raw, "expected a date YYYY-MM-DD") from None
    if raw not in f.choices:
        raise InvalidValue(f.key, raw, f"expected one of {', '.join(f.choices)}")
    return raw


def check_values(defs: Sequence[CustomerField], raw: Mapping[str, str],
                 kept: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The customer's fields from the form's ``raw`` strings (key -> text; empty: no value), checked against
    ``defs``: InvalidValue names the first field that is missing (required) or wrong. Values in ``kept`` (the
    customer's stored fields) of keys without a definition are carried over; keys of ``raw`` without one are
    refused."""
    known = {f.key for f in defs}
    for key in raw:
        if key not in known:
            raise InvalidValue(key, raw[key], "no such customer field")
    out = {k: v for k, v in (kept or {}).items() if k not in known}
    for f in defs:
        text = raw.get(f.key, "").strip()
        if not text:
            if f.required:
                raise InvalidValue(f.key, "", "a value is required")
            continue
        out[f.key] = _value(f, text)
    return out


def _field(r: t.CustomerFieldRow) -> CustomerField:
    return CustomerField(r.key, r.type, r.label_zh, r.label_en, tuple(r.choices or ()), r.required, r.position)


class CustomerFieldRepo(_Repo):
    """The admin's custom field definitions."""

    def list(self) -> list[CustomerField]:
        """Every field, in page order."""
        q = select(t.CustomerFieldRow).order_by(t.CustomerFieldRow.position, t.CustomerFieldRow.key)
        return self._read(lambda s: [_field(r) for r in s.scalars(q)])

    def save(self, f: CustomerField) -> CustomerField:
        """Add or replace a field (InvalidValue for a bad definition). Values customers have stay as they are
        (a page shows a value that no longer fits, and asks for a valid one on the next save)."""
        check_definition(f)

        def run(session: Session) -> None:
            session.merge(t.CustomerFieldRow(key=f.key, type=f.type, label_zh=f.label_zh, label_en=f.label_en,
                                             choices=list(f.choices), required=f.required, position=f.position))

        self._tx(run, kind="customer field", key=f.key)
        return f

    def delete(self, key: str) -> None:
        """Delete a field's definition (NotFound when there is none); customers keep their values."""

        def run(session: Session) -> None:
            row = session.get(t.CustomerFieldRow, key)
            if row is None:
                raise NotFound("customer field", key)
            session.delete(row)

        self._tx(run, kind="customer field", key=key)
