"""The audit log: append a row (in the audited change's own transaction, or alone), search it, stream it out.

Rows are append-only (revision 0006's triggers); there is no update or delete here. Times are epoch seconds
outside the store. A search is a time window ``[start, end)`` with optional user and action filters, newest
first, streamed page by page (keyset on (at, id)). Every row's resource and detail pass through number masking (the log
outlives a customer's erasure, so it must never hold his number). :class:`AuditedDatabase` hands a command's
repositories a database whose first transaction that changes something also appends the command's row.
"""

from __future__ import annotations

import datetime
import functools
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, event, or_, select
from sqlalchemy.orm import ORMExecuteState, Session

from cc.errors import InvalidValue
from cc.privacy.mask import mask_payload, mask_text
from cc.store.codec import to_epoch, to_utc
from cc.store.db import Database
from cc.store.org_tables import AuditRow
from cc.store.repo_base import _Repo
from cc.store.tables import ID, NAME

__all__ = ["Actor", "AuditRecord", "AuditRepo", "AuditedDatabase", "Change", "write_audit"]

PAGE = 1000
MAX_DETAIL = 16_000


@dataclass(frozen=True)
class Actor:
    """Who acts: a user (id and login), or a program (``cli:root``); and from where (an address)."""

    login: str
    user_id: int | None = None
    client: str = ""


@dataclass(frozen=True)
class AuditRecord:
    """One row of the audit log."""

    id: int
    at: float
    login: str
    action: str
    kind: str = ""
    resource: str = ""
    detail: Mapping[str, Any] = field(default_factory=dict)
    client: str = ""
    user_id: int | None = None


def _record(row: AuditRow) -> AuditRecord:
    return AuditRecord(row.id, to_epoch(row.at), row.login, row.action, row.kind, row.resource,
                       dict(row.detail or {}), row.client, row.user_id)


def _clip(value: str, n: int) -> str:
    return value if len(value) <= n else value[: n - 1] + "…"


def write_audit(session: Session, actor: Actor, action: str, kind: str = "", resource: str = "",
                detail: Mapping[str, Any] | None = None, *, at: float | None = None) -> None:
    """Add one audit row in ``session``'s transaction (it commits or rolls back with the change it records);
    the numbers in the resource and the detail are masked."""
    when = to_utc(at) if at is not None else datetime.datetime.now(datetime.UTC)
    body = mask_payload(dict(detail or {}))
    text = json.dumps(body, default=str)
    if len(text) > MAX_DETAIL:
        body = {"truncated": text[:MAX_DETAIL]}
    else:
        body = json.loads(text)   # plain JSON values only (sets, enums ... as their text)
    session.add(AuditRow(at=when, user_id=actor.user_id, login=_clip(actor.login, NAME), action=_clip(action, ID),
                         kind=_clip(kind, ID), resource=_clip(mask_text(resource), NAME), detail=body,
                         client=_clip(actor.client, NAME)))


def _page(q: Any, session: Session) -> list[tuple[AuditRecord, datetime.datetime]]:
    return [(_record(r), r.at) for r in session.scalars(q)]


class AuditRepo(_Repo):
    """Appends to and searches the audit log."""

    def append(self, actor: Actor, action: str, kind: str = "", resource: str = "",
               detail: Mapping[str, Any] | None = None, *, at: float | None = None) -> None:
        """Add one row in its own transaction (StoreError when the database cannot take it)."""
        self._tx(lambda s: write_audit(s, actor, action, kind, resource, detail, at=at), kind="audit", key=action)

    def search(self, start: float, end: float, *, login: str | None = None, action: str | None = None,
               limit: int | None = None) -> Iterator[AuditRecord]:
        """Rows with ``start <= at < end`` (and the user's login, the action, if given), newest first."""
        if end < start:
            raise InvalidValue("until", end, f"before since {start}")
        if limit is not None and limit < 1:
            raise InvalidValue("limit", limit, "must be >= 1")
        lo, hi = to_utc(start), to_utc(end)
        sent = 0
        cursor: tuple[datetime.datetime, int] | None = None
        while True:
            q = select(AuditRow).where(AuditRow.at >= lo, AuditRow.at < hi)
            if login is not None:
                q = q.where(AuditRow.login == login)
            if action is not None:
                q = q.where(AuditRow.action == action)
            if cursor is not None:
                q = q.where(or_(AuditRow.at < cursor[0], and_(AuditRow.at == cursor[0], AuditRow.id < cursor[1])))
            q = q.order_by(AuditRow.at.desc(), AuditRow.id.desc()).limit(PAGE)
            page = self._read(functools.partial(_page, q))
            for rec, at in page:
                yield rec
                sent += 1
                if limit is not None and sent >= limit:
                    return
                cursor = (at, rec.id)
            if len(page) < PAGE:
                return


@dataclass(frozen=True)
class Change:
    """The audit row of one change: who, the action (``queue.set``), the resource's kind and id, a detail."""

    actor: Actor
    action: str
    kind: str = ""
    resource: str = ""
    detail: Mapping[str, Any] = field(default_factory=dict)


_WROTE = "cc.audit.wrote"


def _mark_flush(session: Session, flush_context: Any) -> None:
    session.info[_WROTE] = True


def _mark_dml(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info[_WROTE] = True


class AuditedDatabase(Database):
    """The same engine as ``db``; the first of its transactions that writes a row also appends ``change``'s
    audit row, in that transaction (both commit or neither). Later transactions of the same command add no
    row: one command, one change, one row. ``written`` says whether the row is in."""

    def __init__(self, db: Database, change: Change) -> None:
        super().__init__(engine=db.engine)
        self.change = change
        self.written = False

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session in a transaction; when it wrote anything (rows flushed, an INSERT/UPDATE/DELETE run) and
        the command's row is not in yet, the row is added before the commit."""
        pending = False
        with self.sessions() as session, session.begin():
            if not self.written:
                event.listen(session, "after_flush", _mark_flush)
                event.listen(session, "do_orm_execute", _mark_dml)
            yield session
            if not self.written and (session.info.get(_WROTE) or session.new or session.dirty or session.deleted):
                c = self.change
                write_audit(session, c.actor, c.action, c.kind, c.resource, c.detail)
                pending = True
        if pending:   # committed: the row is in
            self.written = True
