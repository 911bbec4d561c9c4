"""Retention in the store: the tables each data type keeps, and batched deletes of rows older than a cut.

Every delete is one short transaction of at most ``batch`` rows picked by the table's time index
(``DELETE ... WHERE key IN (SELECT key ... WHERE t < cut LIMIT n)``), so that the controller's writer
never waits long behind it (SQLite has one writer). Tables of other areas (campaigns, the audit log)
are used when their revision has been applied and skipped otherwise.
"""

from __future__ import annotations

import datetime
import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, delete, func, insert, inspect, or_, select
from sqlalchemy.exc import SQLAlchemyError

from cc.errors import StoreError
from cc.privacy.policy import DATA_TYPES
from cc.store.db import Database
from cc.store.tables import Base

__all__ = ["AGENT_STATE_MARGIN_S", "DATA_TYPES", "TABLES", "RetentionRepo", "TableCut", "TableSpec"]

#: agent_state_events are kept this much longer than the other call records: the agent report reads a day
#: before its window to know each agent's status at the window's start.
AGENT_STATE_MARGIN_S = 86400.0

#: Modules whose tables belong to other areas; imported when present so that their tables are known.
_OPTIONAL_MODULES = ("cc.store.campaign_tables", "cc.store.org_tables")


@dataclass(frozen=True)
class TableSpec:
    """One table of a data type: its key, its time column, and what else a row must satisfy to go."""

    kind: str
    table: str
    key: str
    time: str
    margin_s: float = 0.0                                   # kept this much longer than the type's period
    where: Callable[[Table], ColumnElement[bool]] | None = None


def _finished_leads(t: Table) -> ColumnElement[bool]:
    """A lead goes only when it is final and was not dialed since the cut (checked with the cut below)."""
    return t.c.state.in_(("done", "dnc", "exhausted"))


TABLES: tuple[TableSpec, ...] = (
    TableSpec("recordings", "recordings", "uuid", "started_at"),
    TableSpec("call_records", "calls", "uuid", "started_at"),
    TableSpec("call_records", "call_segments", "id", "started_at"),
    TableSpec("call_records", "call_legs", "uuid", "started_at"),
    TableSpec("call_records", "queue_events", "id", "at"),
    TableSpec("call_records", "queue_calls", "id", "entered_at"),
    TableSpec("call_records", "survey_results", "id", "at"),
    TableSpec("call_records", "agent_state_events", "id", "at", margin_s=AGENT_STATE_MARGIN_S),
    TableSpec("interactions", "interactions", "id", "at"),
    TableSpec("leads", "dial_attempts", "uuid", "started_at"),
    TableSpec("leads", "leads", "id", "created_at", where=_finished_leads),
    TableSpec("audit", "audit_log", "id", "at"),
)


@dataclass(frozen=True)
class TableCut:
    """What goes from one table: rows older than ``cut`` (count, oldest and newest of them)."""

    kind: str
    table: str
    cut: datetime.datetime
    rows: int
    oldest: datetime.datetime | None
    newest: datetime.datetime | None


def _aware(value: Any) -> datetime.datetime | None:
    if value is None:
        return None
    at: datetime.datetime = datetime.datetime.fromisoformat(value) if isinstance(value, str) else value
    if at.tzinfo is None:
        return at.replace(tzinfo=datetime.UTC)   # SQLite keeps UTC without a zone
    return at.astimezone(datetime.UTC)


class RetentionRepo:
    """Counts and deletes expired rows table by table; every call is short and runs in the caller's thread."""

    def __init__(self, db: Database) -> None:
        self.db = db
        for name in _OPTIONAL_MODULES:
            try:
                importlib.import_module(name)
            except ImportError:   # that area is not installed in this tree
                pass
        self._present: set[str] | None = None

    def present(self, spec: TableSpec) -> Table | None:
        """The table of ``spec`` when the database has it (its revision applied), else None."""
        if self._present is None:
            try:
                self._present = set(inspect(self.db.engine).get_table_names())
            except SQLAlchemyError as exc:
                raise StoreError(f"retention: cannot list the tables: {exc}") from exc
        table = Base.metadata.tables.get(spec.table)
        return table if table is not None and spec.table in self._present else None

    def _expired(self, spec: TableSpec, table: Table, cut: datetime.datetime) -> ColumnElement[bool]:
        clause: ColumnElement[bool] = table.c[spec.time] < cut
        if spec.table == "leads":
            last = table.c.last_dialed_at
            clause = and_(clause, or_(last.is_(None), last < cut))
        if spec.where is not None:
            clause = and_(clause, spec.where(table))
        return clause

    def count(self, spec: TableSpec, cut: datetime.datetime) -> TableCut:
        """How many rows of ``spec`` are older than ``cut``, and the oldest and newest of them."""
        table = self.present(spec)
        if table is None:
            return TableCut(spec.kind, spec.table, cut, 0, None, None)
        col = table.c[spec.time]
        try:
            with self.db.transaction() as s:
                n, lo, hi = s.execute(select(func.count(), func.min(col), func.max(col))
                                      .where(self._expired(spec, table, cut))).one()
        except SQLAlchemyError as exc:
            raise StoreError(f"retention: counting {spec.table}: {exc}") from exc
        return TableCut(spec.kind, spec.table, cut, int(n), _aware(lo), _aware(hi))

    def delete_batch(self, spec: TableSpec, cut: datetime.datetime, batch: int) -> int:
        """Delete at most ``batch`` expired rows of ``spec`` in one transaction; how many went."""
        table = self.present(spec)
        if table is None:
            return 0
        key = table.c[spec.key]
        pick = select(key).where(self._expired(spec, table, cut)).limit(batch).scalar_subquery()
        try:
            with self.db.transaction() as s:
                return int(s.execute(delete(table).where(key.in_(pick))).rowcount or 0)   # type: ignore[attr-defined]
        except SQLAlchemyError as exc:
            raise StoreError(f"retention: deleting from {spec.table}: {exc}") from exc

    def expired_recordings(self, cut: datetime.datetime, batch: int) -> list[tuple[str, str]]:
        """(uuid, path) of at most ``batch`` recordings that started before ``cut``."""
        table = Base.metadata.tables["recordings"]
        try:
            with self.db.transaction() as s:
                rows = s.execute(select(table.c.uuid, table.c.path).where(table.c.started_at < cut)
                                 .limit(batch)).all()
        except SQLAlchemyError as exc:
            raise StoreError(f"retention: reading recordings: {exc}") from exc
        return [(str(u), str(p)) for u, p in rows]

    def delete_recordings(self, uuids: Sequence[str]) -> int:
        """Delete these recording rows in one transaction."""
        table = Base.metadata.tables["recordings"]
        try:
            with self.db.transaction() as s:
                return int(s.execute(delete(table).where(table.c.uuid.in_(list(uuids)))).rowcount or 0)  # type: ignore[attr-defined]
        except SQLAlchemyError as exc:
            raise StoreError(f"retention: deleting recordings: {exc}") from exc

    def referenced(self, paths: Sequence[str]) -> set[str]:
        """Which of ``paths`` a recording row still points at."""
        if not paths:
            return set()
        table = Base.metadata.tables["recordings"]
        try:
            with self.db.transaction() as s:
                return {str(p) for p in s.execute(select(table.c.path).where(table.c.path.in_(list(paths))))
                        .scalars()}
        except SQLAlchemyError as exc:
            raise StoreError(f"retention: reading recordings: {exc}") from exc

    def mark_audit_purge(self, cut: datetime.datetime, login: str, now: datetime.datetime) -> None:
        """Append the audit log's retention mark (audit_purges): rows older than ``cut`` may then be deleted."""
        table = Base.metadata.tables.get("audit_purges")
        if table is None or self.present(TableSpec("audit", "audit_purges", "id", "at")) is None:
            return
        try:
            with self.db.transaction() as s:
                s.execute(insert(table).values(at=now, before=cut, login=login))
        except SQLAlchemyError as exc:
            raise StoreError(f"retention: marking the audit log's cut: {exc}") from exc
