"""The audit log: append a row (in the audited change's own transaction, or alone), search it, stream it out.

Rows are append-only (revision 0006's triggers); there is no update or delete here. Times are epoch seconds
outside the store. A search is a time window ``[start, end)`` with optional user and action filters, newest
first, streamed page by page (keyset on (at, id)).
"""

from __future__ import annotations

import datetime
import functools
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from cc.errors import InvalidValue
from cc.store.codec import to_epoch, to_utc
from cc.store.org_tables import AuditRow
from cc.store.repo_base import _Repo
from cc.store.tables import ID, NAME

__all__ = ["Actor", "AuditRecord", "AuditRepo", "write_audit"]

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
    """Add one audit row in ``session``'s transaction (it commits or rolls back with the change it records)."""
    when = to_utc(at) if at is not None else datetime.datetime.now(datetime.UTC)
    body = dict(detail or {})
    text = json.dumps(body, default=str)
    if len(text) > MAX_DETAIL:
        body = {"truncated": text[:MAX_DETAIL]}
    else:
        body = json.loads(text)   # plain JSON values only (sets, enums ... as their text)
    session.add(AuditRow(at=when, user_id=actor.user_id, login=_clip(actor.login, NAME), action=_clip(action, ID),
                         kind=_clip(kind, ID), resource=_clip(resource, NAME), detail=body,
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
