"""cc.privacy's AuditSink on the store: rows appended to the permissions core's audit_log (revision 0006).

An adapter until the permissions core exposes its own append function; it writes the same columns.
Details pass through number masking: the audit log is append-only, so it must never hold a number that
a customer's erasure would have to remove. Without the audit_log table the append fails (StoreError),
and the audited action (a reveal, an export, an erasure) is refused.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable

from sqlalchemy import insert, inspect
from sqlalchemy.exc import SQLAlchemyError

from cc.errors import StoreError
from cc.privacy.audit import AuditEntry
from cc.privacy.mask import mask_payload, mask_text
from cc.store.db import Database
from cc.store.tables import Base

__all__ = ["StoreAudit"]

try:   # the permissions core's tables (revision 0006), when that area is installed
    import cc.store.org_tables  # noqa: F401
except ImportError:   # pragma: no cover - a tree without the permissions core
    pass


class StoreAudit:
    """Appends AuditEntry rows to audit_log, each in its own committed transaction."""

    def __init__(self, db: Database, *, clock: Callable[[], datetime.datetime] | None = None,
                 client: str = "") -> None:
        self.db = db
        self.clock = clock or (lambda: datetime.datetime.now(datetime.UTC))
        self.client = client
        self._checked = False

    def append(self, entry: AuditEntry) -> None:
        """Write ``entry`` (actor as login, action, target as resource, masked detail); StoreError on failure."""
        table = Base.metadata.tables.get("audit_log")
        try:
            if not self._checked:
                if table is None or not inspect(self.db.engine).has_table("audit_log"):
                    raise StoreError("the audit log is missing (database revision 0006): run `ccctl db upgrade`; "
                                     "audited actions are refused until then")
                self._checked = True
            assert table is not None
            with self.db.transaction() as s:
                s.execute(insert(table).values(at=self.clock(), login=entry.actor[:128], action=entry.action,
                                               kind="privacy", resource=mask_text(entry.target)[:128],
                                               detail=mask_payload(dict(entry.detail)), client=self.client))
        except SQLAlchemyError as exc:
            raise StoreError(f"audit log: {exc}") from exc
