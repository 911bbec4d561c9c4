"""The base of the store's repositories: input checks, transactions, history scans and the queue report's slots.

repos.py and queue_calls.py both build on these, so the repositories form layers (repo_base <- queue_calls
<- repos), not a circle.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    and_,
    case,
    cast,
    extract,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.exc import (
    DataError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.orm import InstrumentedAttribute, Session

from cc.errors import Conflict, DatabaseUnavailable, InvalidValue, NotFound, StoreError
from cc.store import tables as t
from cc.store.codec import KINDS, Kind, to_utc
from cc.store.db import Database

__all__ = ["PAGE", "SLOT_S", "QueueSlot", "survey_slot_query"]

T = TypeVar("T")
#: Rows per page of a streamed scan.
PAGE = 1_000


# ------------------------------------------------------------------------------------------ helpers


def _text(field: str, value: object, max_len: int, *, empty: bool = False) -> str:
    """A string field within ``max_len`` characters (non-empty unless ``empty``)."""
    if not isinstance(value, str):
        raise InvalidValue(field, value, "must be a string")
    if not empty and not value.strip():
        raise InvalidValue(field, value, "must not be empty")
    if len(value) > max_len:
        raise InvalidValue(field, value, f"longer than {max_len} characters")
    return value


def _opt_text(field: str, value: object, max_len: int) -> str | None:
    return None if value is None else _text(field, value, max_len, empty=True)


def _number(
    field: str, value: object, *, minimum: float = 0.0, strict: bool = False, optional: bool = False
) -> float | None:
    """A finite number >= ``minimum`` (> when ``strict``); None only when ``optional``."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidValue(field, value, "must be a finite number")
    if value < minimum or (strict and value == minimum):
        raise InvalidValue(field, value, f"must be {'>' if strict else '>='} {minimum:g}")
    return float(value)


def _num(field: str, value: object, *, minimum: float = 0.0, strict: bool = False) -> float:
    result = _number(field, value, minimum=minimum, strict=strict)
    assert result is not None
    return result


def _int(field: str, value: object, lo: int, hi: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidValue(field, value, "must be an integer")
    if value < lo or (hi is not None and value > hi):
        raise InvalidValue(field, value, f"must be between {lo} and {hi}" if hi is not None else f"must be >= {lo}")
    return value


def _enum(field: str, cls: type[Any], value: object) -> Any:
    try:
        return cls(value)
    except ValueError:
        allowed = ", ".join(m.value for m in cls)
        raise InvalidValue(field, value, f"must be one of {allowed}") from None


def _proficiency(field: str, value: object) -> int:
    return _int(field, value, 1, 10)


def _window(start: float, end: float) -> tuple[datetime.datetime, datetime.datetime]:
    _num("start", start, minimum=-1e11)
    _num("end", end, minimum=-1e11)
    if end < start:
        raise InvalidValue("end", end, f"before start {start}")
    return to_utc(start), to_utc(end)


@contextmanager
def _db_errors(kind: str, key: object) -> Iterator[None]:
    """Database failures as CCErrors: constraint -> Conflict, bad data -> InvalidValue,
    unreachable -> DatabaseUnavailable, anything else -> StoreError (the transaction is rolled back)."""
    try:
        yield
    except IntegrityError as exc:
        raise Conflict(kind, key, f"violates a database constraint ({_why(exc)})") from exc
    except DataError as exc:
        raise InvalidValue(kind, key, f"refused by the database ({_why(exc)})") from exc
    except (OperationalError, InterfaceError) as exc:
        raise DatabaseUnavailable(f"database unavailable: {_why(exc)}") from exc
    except SQLAlchemyError as exc:
        raise StoreError(f"{kind} {key!r}: {_why(exc)}") from exc


def _why(exc: SQLAlchemyError) -> str:
    return " ".join(str(getattr(exc, "orig", None) or exc).split())


class _Repo:
    """Shared plumbing: a Database and a transaction that maps integrity errors to Conflict."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def _tx(self, fn: Callable[[Session], T], *, kind: str = "row", key: object = None) -> T:
        """Run ``fn`` in one transaction; a constraint violation becomes Conflict(kind, key)."""
        with _db_errors(kind, key):
            with self.db.transaction() as session:
                return fn(session)

    def _read(self, fn: Callable[[Session], T]) -> T:
        with _db_errors("row", None), self.db.sessions() as session:
            return fn(session)

    def _epoch(self, col: Any) -> Any:
        """``col`` (a UTC time column) as epoch seconds, in SQL (exact to the microsecond on both dialects)."""
        if self.db.dialect == "postgresql":
            return cast(extract("epoch", col), Float)
        # SQLAlchemy stores 'YYYY-MM-DD HH:MM:SS.ffffff' (naive UTC) on SQLite
        return cast(func.strftime("%s", col), Integer) + cast(func.substr(col, 20), Float)

    def _slot(self, col: Any) -> Any:
        """The number of the SLOT_S-second UTC slot holding ``col`` (epoch >= 0), in SQL."""
        if self.db.dialect == "postgresql":  # CAST rounds there; on SQLite it truncates (= floor for >= 0)
            # date_part gives a double (EXTRACT a numeric, twice as slow over a month of rows); exact enough
            # here: a time a whole microsecond off a slot boundary stays on its side of it
            epoch = func.date_part("epoch", col, type_=Float)
            return cast(func.floor(epoch / literal_column(f"{SLOT_S}.0")), Integer)
        return cast(self._epoch(col) / literal_column(f"{SLOT_S}.0"), Integer)

    def _scan(
        self,
        kind: Kind,
        time_col: InstrumentedAttribute[Any],
        start: float,
        end: float,
        filters: Sequence[ColumnElement[bool]] = (),
        page: int = PAGE,
    ) -> Iterator[Any]:
        """Stream rows of ``kind`` with ``start <= time < end`` ordered by (time, id), page by page."""
        lo, hi = _window(start, end)
        _int("page", page, 1, 100_000)
        row = kind.row
        key = getattr(row, kind.key)
        last: tuple[datetime.datetime, str] | None = None
        while True:
            # plain Core rows, not ORM objects: several times cheaper per row (from_row reads attributes)
            q = select(*row.__table__.columns).where(time_col < hi, *filters)
            if last is None:
                q = q.where(time_col >= lo)
            else:
                # ``time >= last`` bounds the index range at the last row returned (without it each page
                # re-reads everything from the window start: quadratic); the OR breaks ties on the key.
                q = q.where(
                    time_col >= last[0], or_(time_col > last[0], and_(time_col == last[0], key > last[1]))
                )
            q = q.order_by(time_col, key).limit(page)
            with _db_errors(kind.name, None), self.db.sessions() as session:
                rows = list(session.execute(q))
            for r in rows:
                yield kind.from_row(r)
            if len(rows) < page:
                return
            last = (getattr(rows[-1], time_col.name), getattr(rows[-1], key.name))


class _HistoryRepo(_Repo):
    """add / get / scan for one append-only history kind (the writer is the bulk path)."""

    record: type[Any]
    time_field = "at"

    @property
    def _kind(self) -> Kind:
        return KINDS[self.record]

    def add(self, record: Any) -> None:
        """Insert one record now (synchronously); a duplicate id raises Conflict."""
        kind = self._kind
        if not isinstance(record, self.record):
            raise InvalidValue("record", type(record).__name__, f"expected {self.record.__name__}")
        values = kind.to_row(record)
        key = values[kind.key]

        def run(session: Session) -> None:
            if session.get(kind.row, key) is not None:
                raise Conflict(kind.name.rstrip("s"), key)
            session.add(kind.row(**values))

        self._tx(run, kind=kind.name.rstrip("s"), key=key)

    def get(self, key: str) -> Any:
        """The record with this id (uuid); NotFound otherwise."""
        kind = self._kind
        row = self._read(lambda s: s.get(kind.row, key))
        if row is None:
            raise NotFound(kind.name.rstrip("s"), key)
        return kind.from_row(row)

    def scan(self, start: float, end: float, *, page: int = PAGE, **equal: object) -> Iterator[Any]:
        """Records with ``start <= time < end`` in time order, streamed; ``equal`` filters columns."""
        kind = self._kind
        filters = []
        for name, value in equal.items():
            column = getattr(kind.row, name, None)
            if column is None or name not in kind.fields:
                raise InvalidValue("filter", name, f"not a field of {kind.name}")
            filters.append(column == value)
        return self._scan(kind, getattr(kind.row, self.time_field), start, end, filters, page)


# ------------------------------------------------------------------------------ queue report slots


#: Width of the UTC slots the in-database queue report groups by (every report interval is a union of them).
SLOT_S = 900


@dataclasses.dataclass
class QueueSlot:
    """The queue report's sums for the calls of one queue that entered in one UTC slot (see SLOT_S)."""

    queue: str
    slot: float
    offered: int = 0
    answered: int = 0
    answered_in_sl: int = 0
    answered_wait: float = 0.0
    abandoned: int = 0
    short_abandoned: int = 0
    timeouts: int = 0
    no_agent: int = 0
    full: int = 0
    exit_key: int = 0
    other_exits: int = 0
    callbacks_requested: int = 0
    callbacks_completed: int = 0
    callbacks_failed: int = 0
    transfers: int = 0
    waits: int = 0
    wait_sum: float = 0.0
    max_wait: float | None = None
    handled: int = 0
    talk: float = 0.0
    hold: float = 0.0
    wrap: float = 0.0
    survey_count: int = 0
    survey_sum: float = 0.0


def _flag(cond: ColumnElement[bool]) -> Any:
    return func.sum(case((cond, 1), else_=0))


def _fsum(cond: ColumnElement[bool], value: Any) -> Any:
    return func.coalesce(func.sum(case((cond, value), else_=None)), 0.0)


def survey_slot_query(slot: Callable[[Any], Any], lo: datetime.datetime, hi: datetime.datetime,
                      queue: str | None) -> Any:
    """SELECT (queue, slot number, answers, score sum) of the survey answers dated in ``[lo, hi)``."""
    sv = t.SurveyResultRow
    q = (select(sv.queue, slot(sv.at).label("slot"), func.count(), func.sum(sv.score))
         .where(sv.at >= lo, sv.at < hi, sv.queue.is_not(None)).group_by(sv.queue, "slot"))
    return q if queue is None else q.where(sv.queue == queue)
