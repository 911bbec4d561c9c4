"""Conversions of history records: dataclass <-> table row values <-> one JSON line of the journal.

Every history record type of cc.model has one :class:`Kind` here: the table it goes to, which of its
fields are epoch-second timestamps (stored as aware UTC datetimes) and which are Enums.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
import typing
from collections.abc import Mapping
from typing import Any, cast

from sqlalchemy import Table

from cc.errors import InvalidValue
from cc.model import (
    AgentStateEvent,
    CallLeg,
    CallRecord,
    CallSegment,
    Interaction,
    QueueCall,
    QueueEvent,
    RecordingRecord,
    SurveyResult,
)
from cc.store import tables

__all__ = ["KINDS", "KINDS_BY_NAME", "HistoryRecord", "Kind", "decode_line", "encode_line", "kind_of",
           "to_epoch", "to_utc"]

#: What the writer accepts.
HistoryRecord = (CallRecord | CallSegment | CallLeg | QueueEvent | QueueCall | AgentStateEvent | RecordingRecord
                 | SurveyResult | Interaction)


def to_utc(epoch: float) -> datetime.datetime:
    """Epoch seconds -> an aware UTC datetime."""
    return datetime.datetime.fromtimestamp(epoch, datetime.UTC)


def to_epoch(when: datetime.datetime) -> float:
    """An aware datetime -> epoch seconds."""
    return when.timestamp()


class Kind:
    """How one record type maps to its table and to JSON."""

    def __init__(self, cls: type[Any], row: type[tables.Base], *, upsert: bool = False) -> None:
        self.cls = cls
        self.upsert = upsert  # a later record with the same id replaces the row (calls, legs, recordings)
        self.row = row
        self.name: str = row.__tablename__
        self.table: Table = cast(Table, row.__table__)
        hints = typing.get_type_hints(cls)
        self.fields: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(cls))
        self.key: str = next(iter(self.table.primary_key.columns)).name
        self.times: frozenset[str] = frozenset(
            f for f in self.fields if f == "at" or f.endswith("_at"))
        self.enums: dict[str, type[enum.Enum]] = {}
        for f in self.fields:
            hint = hints[f]
            for arg in (hint, *typing.get_args(hint)):
                if isinstance(arg, type) and issubclass(arg, enum.Enum):
                    self.enums[f] = arg
        self.spans: frozenset[str] = frozenset(f for f in self.fields if f == "paused_spans")
        # plain fields and the Python types their values must have (None is checked separately)
        self.plain: dict[str, tuple[type, ...]] = {}
        for f in self.fields:
            if f in self.times or f in self.enums or f in self.spans:
                continue
            base = {a for a in (hints[f], *typing.get_args(hints[f])) if a in (str, int, float)}
            if base:
                self.plain[f] = (int, float) if float in base else tuple(base)

    def to_row(self, record: Any) -> dict[str, Any]:
        """Column values for inserting ``record``; a bad field raises InvalidValue naming it."""
        out: dict[str, Any] = {}
        for f in self.fields:
            value = getattr(record, f)
            if value is not None:
                if f in self.times:
                    if not isinstance(value, int | float) or isinstance(value, bool):
                        raise InvalidValue(f"{self.name}.{f}", value, "expected epoch seconds")
                    value = to_utc(value)
                elif f in self.enums:
                    value = self.enums[f](value)
                elif f in self.spans:
                    value = [[float(a), float(b)] for a, b in value]
                elif f in self.plain:
                    types = self.plain[f]
                    if not isinstance(value, types) or (isinstance(value, bool) and str not in types):
                        raise InvalidValue(f"{self.name}.{f}", value, f"expected {types[0].__name__}")
            out[f] = value
        return out

    def from_row(self, row: Any) -> Any:
        """The dataclass for an ORM row of this kind."""
        values: dict[str, Any] = {}
        for f in self.fields:
            value = getattr(row, f)
            if value is not None:
                if f in self.times:
                    value = to_epoch(value)
                elif f in self.spans:
                    value = tuple((float(a), float(b)) for a, b in value)
            values[f] = value
        return self.cls(**values)

    def to_json(self, record: Any) -> dict[str, Any]:
        """A JSON-ready dict of ``record`` (enums by value, tuples as lists)."""
        out: dict[str, Any] = {}
        for f in self.fields:
            value = getattr(record, f)
            if isinstance(value, enum.Enum):
                value = value.value
            elif f in self.spans:
                value = [list(s) for s in value]
            out[f] = value
        return out

    def from_json(self, data: Mapping[str, Any]) -> Any:
        """Rebuild a record from :meth:`to_json`'s output; unknown or bad fields raise InvalidValue."""
        unknown = set(data) - set(self.fields)
        if unknown:
            raise InvalidValue(f"{self.name} field", sorted(unknown)[0], "unknown field")
        values = dict(data)
        try:
            for f, cls in self.enums.items():
                if values.get(f) is not None:
                    values[f] = cls(values[f])
            for f in self.spans:
                if f in values:
                    values[f] = tuple((float(a), float(b)) for a, b in values[f])
            return self.cls(**values)
        except (TypeError, ValueError) as exc:
            raise InvalidValue(self.name, dict(data), str(exc)) from exc


KINDS: dict[type[Any], Kind] = {
    cls: Kind(cls, row, upsert=upsert)
    for cls, row, upsert in (
        (CallRecord, tables.CallRow, True),
        (CallSegment, tables.CallSegmentRow, True),
        (CallLeg, tables.CallLegRow, True),
        (QueueEvent, tables.QueueEventRow, False),
        (QueueCall, tables.QueueCallRow, True),  # rewritten while late lines still change the stay
        (AgentStateEvent, tables.AgentStateEventRow, False),
        (RecordingRecord, tables.RecordingRow, True),
        (SurveyResult, tables.SurveyResultRow, False),
        (Interaction, tables.InteractionRow, True),  # a call's: at its end, then with the agent's result
    )
}
KINDS_BY_NAME: dict[str, Kind] = {k.name: k for k in KINDS.values()}


def kind_of(record: object) -> Kind:
    """The Kind of a history record; anything else raises InvalidValue."""
    try:
        return KINDS[type(record)]
    except KeyError:
        raise InvalidValue("record", type(record).__name__, "not a history record type") from None


def encode_line(record: object) -> str:
    """One journal line (JSON, newline-terminated) for ``record``."""
    kind = kind_of(record)
    try:
        return json.dumps({"k": kind.name, "r": kind.to_json(record)}, separators=(",", ":"),
                          allow_nan=False) + "\n"
    except (TypeError, ValueError) as exc:
        raise InvalidValue(kind.name, repr(record)[:200], f"cannot be journaled ({exc})") from exc


def decode_line(line: str) -> Any:
    """The record of one journal line; malformed lines raise InvalidValue."""
    try:
        data = json.loads(line)
        kind = KINDS_BY_NAME[data["k"]]
        body = data["r"]
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidValue("journal line", line[:200], f"not a journal record ({exc!r})") from exc
    if not isinstance(body, dict):
        raise InvalidValue("journal line", line[:200], "record body is not an object")
    return kind.from_json(body)
