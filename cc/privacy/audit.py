"""Where privacy actions are recorded: the AuditSink protocol (reveal, export, erasure, retention).

The append-only audit log itself belongs to the permissions core (revision 0006); ``cc.privacy``
writes to it only through this protocol, so that the adapter to that log is the one place to
change. ``ListAudit`` keeps rows in memory (the tests' and the benchmark's sink).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["AuditEntry", "AuditSink", "ListAudit"]


@dataclass(frozen=True)
class AuditEntry:
    """One audited action: who did what to which thing, and its details (counts, reason ...)."""

    actor: str
    action: str
    target: str
    detail: Mapping[str, Any] = field(default_factory=dict)


class AuditSink(Protocol):
    """Appends one audit row; raises (a StoreError) when it cannot, so that the action is refused."""

    def append(self, entry: AuditEntry) -> None:
        """Record ``entry`` durably before the audited action's result is handed out."""


class ListAudit:
    """An AuditSink that keeps its entries in a list."""

    def __init__(self) -> None:
        self.entries: list[AuditEntry] = []

    def append(self, entry: AuditEntry) -> None:
        """Keep ``entry``."""
        self.entries.append(entry)
