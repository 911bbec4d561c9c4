"""cc.privacy's AuditSink on the store: a thin wrapper that appends each entry with :meth:`AuditRepo.append`.

There is one way to write an audit row (cc.store.audit); this only translates a privacy AuditEntry (actor
login, action, target, detail) into it. The target and the detail are masked (write_audit masks every
detail): the audit log is append-only, so it must never hold a number that a customer's erasure would have
to remove. Without the audit_log table the append fails (StoreError), and the audited action (a reveal, an
export, an erasure) is refused.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable

from sqlalchemy import inspect
from sqlalchemy.exc import SQLAlchemyError

from cc.errors import StoreError
from cc.privacy.audit import AuditEntry
from cc.privacy.mask import mask_text
from cc.store.audit import Actor, AuditRepo
from cc.store.db import Database

__all__ = ["StoreAudit"]


class StoreAudit:
    """Appends AuditEntry rows to audit_log through AuditRepo, each in its own committed transaction."""

    def __init__(self, db: Database, *, clock: Callable[[], datetime.datetime] | None = None,
                 client: str = "") -> None:
        self.db = db
        self.repo = AuditRepo(db)
        self.clock = clock
        self.client = client
        self._checked = False

    def append(self, entry: AuditEntry) -> None:
        """Write ``entry`` (actor as login, action, target as resource, masked detail); StoreError on failure."""
        if not self._checked:
            try:
                present = inspect(self.db.engine).has_table("audit_log")
            except SQLAlchemyError as exc:
                raise StoreError(f"audit log: {exc}") from exc
            if not present:
                raise StoreError("the audit log is missing (database revision 0006): run `ccctl db upgrade`; "
                                 "audited actions are refused until then")
            self._checked = True
        at = self.clock().timestamp() if self.clock is not None else None
        self.repo.append(Actor(entry.actor, None, self.client), entry.action, "privacy", mask_text(entry.target),
                         entry.detail, at=at)
