"""A customer's request: export everything held about him, or erase it; each request goes to the audit log.

Export writes one JSON document (``customer.json``: the subject, and every table's rows about him,
numbers unmasked: it is his own data) and copies his recordings next to it. Erasure replaces his
numbers and name in history rows by one random pseudonym (``anon-`` + 12 hex digits: the same in every
row of the request, so reports still count his calls as one caller's, and not derivable from the
number), deletes his CRM rows, recordings (rows first, files after, through the retention journal)
and do-not-call entries. The audit log gets a row before the erasure (the request: who, when, what)
and one after (the counts); neither holds his number or name.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from cc.privacy.audit import AuditEntry, AuditSink
from cc.privacy.retention import forget_journal, unlink_files, write_journal
from cc.store.customer_data import CustomerDataRepo, Erasure, Subject

__all__ = ["ErasureResult", "ExportResult", "erase_customer", "export_customer", "pseudonym"]


def pseudonym() -> str:
    """A fresh random pseudonym for one erasure (``anon-1f3a9c0b7d2e``)."""
    return "anon-" + uuid.uuid4().hex[:12]


class ExportResult:
    """Where an export went and what it holds."""

    def __init__(self, path: Path, counts: dict[str, int], files: int, missing: int) -> None:
        self.path, self.counts, self.files, self.missing = path, counts, files, missing

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"path": str(self.path), "rows": self.counts, "recording_files": self.files,
                "recording_files_missing": self.missing}


def export_customer(repo: CustomerDataRepo, subject: Subject, out_dir: str | Path, *, audit: AuditSink,
                    actor: str, reason: str, now: datetime.datetime | None = None) -> ExportResult:
    """Write the subject's data to ``out_dir`` (customer.json + recordings/); audited before it is written."""
    data = repo.collect(subject)
    counts = {k: len(v) for k, v in data.items() if v}
    audit.append(AuditEntry(actor, "customer_export", subject.key(), {"reason": reason, "rows": counts}))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = missing = 0
    recordings = data.get("recordings", [])
    if recordings:
        (out / "recordings").mkdir(exist_ok=True)
    for rec in recordings:
        src = Path(str(rec["path"]))
        try:
            shutil.copy2(src, out / "recordings" / f"{rec['uuid']}{src.suffix}")
            files += 1
        except OSError:
            missing += 1
    when = (now or datetime.datetime.now(datetime.UTC)).isoformat(timespec="seconds")
    doc = {"generated_at": when, "customer_ids": list(subject.customer_ids), "numbers": list(subject.numbers),
           "names": list(subject.names), "tables": data}
    path = out / "customer.json"
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, ensure_ascii=False, indent=1, default=str)
    os.replace(tmp, path)
    return ExportResult(path, counts, files, missing)


class ErasureResult:
    """What an erasure changed."""

    def __init__(self, erasure: Erasure, alias: str, deleted: int, missing: int) -> None:
        self.counts, self.pseudonym = erasure.counts, alias
        self.files_deleted, self.files_missing = deleted, missing

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"pseudonym": self.pseudonym, "rows": self.counts, "recording_files_deleted": self.files_deleted,
                "recording_files_missing": self.files_missing}


def erase_customer(repo: CustomerDataRepo, subject: Subject, recordings_dir: str | Path, *, audit: AuditSink,
                   actor: str, reason: str) -> ErasureResult:
    """Erase the subject (see the module docstring); the request is audited first, the counts after."""
    alias = pseudonym()
    audit.append(AuditEntry(actor, "customer_erase", subject.key(), {"reason": reason, "pseudonym": alias}))
    rec_dir = Path(recordings_dir)
    erasure = repo.erase(subject, alias, before_commit=lambda paths: write_journal(rec_dir, paths) if paths else None)
    deleted, missing = unlink_files(erasure.recording_paths)
    forget_journal(rec_dir, erasure.recording_paths)
    result = ErasureResult(erasure, alias, deleted, missing)
    audit.append(AuditEntry(actor, "customer_erased", subject.key(), {"pseudonym": alias, **result.as_dict()}))
    return result
