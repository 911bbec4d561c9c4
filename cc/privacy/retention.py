"""Retention: each data type's period (cc.yaml ``retention:``) and the job that deletes what is older.

The job walks the data types (recordings, call_records, interactions, leads, audit), cuts each table
at ``now - period`` (agent_state_events a day later, see cc.store.retention) and deletes in short
batches, pausing between them so that the controller's writes go first. ``plan()`` is the dry run:
counts per table with the oldest and newest row that would go.

Recording files and rows go together, rows first, through a journal in the recordings folder::

    1. write the batch's file paths to <recordings>/.cc-retention-journal (fsync)
    2. delete the batch's rows (one transaction)
    3. unlink the files, then take them off the journal (removed when empty; entries a crashed run left
       stay there, even when a customer's erasure, which goes through the same journal, comes between)

A crash before 2 leaves rows and files (the next run finds them again); a crash after 2 leaves files
no row points at, listed in the journal: every run (and `ccctl serve` at start) first replays it,
unlinking each listed file that no row references. So no row ever points at a deleted file, and an
unreferenced file lives only until the next run.
"""

from __future__ import annotations

import datetime
import json
import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cc.privacy.audit import AuditEntry, AuditSink
from cc.privacy.policy import DATA_TYPES, RetentionPolicy, parse_age
from cc.store.retention import TABLES, RetentionRepo, TableCut

__all__ = ["JOURNAL", "RetentionJob", "RetentionPolicy", "RetentionResult", "TypeResult", "describe", "forget_journal",
           "parse_age", "periods_seconds", "unlink_files", "write_journal"]

log = logging.getLogger(__name__)

JOURNAL = ".cc-retention-journal"
@dataclass
class TypeResult:
    """One data type: its cut, what went (or would go) per table, and the recording files."""

    kind: str
    period_s: float | None
    cut: datetime.datetime | None
    tables: list[TableCut] = field(default_factory=list)
    deleted: dict[str, int] = field(default_factory=dict)
    files_deleted: int = 0
    files_missing: int = 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (`ccctl retention run --json`)."""
        def iso(d: datetime.datetime | None) -> str | None:
            return None if d is None else d.isoformat(timespec="seconds")
        return {"kind": self.kind, "period_days": None if self.period_s is None else self.period_s / 86400.0,
                "cut": iso(self.cut),
                "tables": [{"table": t.table, "cut": iso(t.cut), "rows": t.rows, "oldest": iso(t.oldest),
                            "newest": iso(t.newest), "deleted": self.deleted.get(t.table, 0)} for t in self.tables],
                "files_deleted": self.files_deleted, "files_missing": self.files_missing}


@dataclass
class RetentionResult:
    """A run of the job (or its dry run)."""

    dry_run: bool
    at: datetime.datetime
    types: list[TypeResult]
    journal_replayed: int = 0

    @property
    def rows(self) -> int:
        """Rows deleted (dry run: rows that would go)."""
        if self.dry_run:
            return sum(t.rows for r in self.types for t in r.tables)
        return sum(sum(r.deleted.values()) for r in self.types)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"dry_run": self.dry_run, "at": self.at.isoformat(timespec="seconds"), "rows": self.rows,
                "files_deleted": sum(r.files_deleted for r in self.types),
                "journal_replayed": self.journal_replayed, "types": [r.as_dict() for r in self.types]}


def _journal_paths(journal: Path) -> list[str]:
    """The paths a journal lists ([] when there is none or it is not a journal)."""
    try:
        data = json.loads(journal.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [str(p) for p in data] if isinstance(data, list) else []


def _store_journal(journal: Path, paths: list[str]) -> None:
    """Write (fsync, rename) ``paths`` as the journal; remove it when there are none."""
    if not paths:
        journal.unlink(missing_ok=True)
        return
    tmp = journal.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(paths, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, journal)


def write_journal(recordings_dir: Path, paths: list[str]) -> None:
    """Add the recording files about to lose their rows to the journal (fsync, rename), keeping the entries a
    crashed run left there for the next run to replay."""
    recordings_dir.mkdir(parents=True, exist_ok=True)
    journal = recordings_dir / JOURNAL
    pending = _journal_paths(journal)
    known = set(pending)
    _store_journal(journal, pending + [p for p in paths if p not in known])


def forget_journal(recordings_dir: Path, paths: Any) -> None:
    """Take ``paths`` (unlinked now) off the journal; other entries stay for the next run's replay."""
    journal = recordings_dir / JOURNAL
    done = set(paths)
    pending = _journal_paths(journal)
    if pending or journal.exists():
        _store_journal(journal, [p for p in pending if p not in done])


def unlink_files(paths: Any) -> tuple[int, int]:
    """Delete recording files whose rows are gone: (deleted, missing or not deletable)."""
    deleted = missing = 0
    for p in paths:
        try:
            os.unlink(p)
            deleted += 1
        except FileNotFoundError:
            missing += 1
        except OSError as exc:   # its row is gone already: say so; an operator removes it by hand
            log.warning("retention: cannot delete the recording file %s: %s", p, exc)
            missing += 1
    return deleted, missing


class RetentionJob:
    """Deletes expired history in batches; files of recordings with their rows (see the module docstring)."""

    def __init__(self, repo: RetentionRepo, policy: RetentionPolicy, recordings_dir: str | Path, *,
                 audit: AuditSink | None = None, actor: str = "system:retention",
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep,
                 progress: Callable[[str, int], None] | None = None) -> None:
        self.repo = repo
        self.policy = policy
        self.recordings_dir = Path(recordings_dir)
        self.audit = audit
        self.actor = actor
        self.clock = clock
        self.sleep = sleep
        self.progress = progress
        self.stop_requested = False

    @property
    def journal(self) -> Path:
        """The journal of recording files whose rows are being deleted."""
        return self.recordings_dir / JOURNAL

    def _cut(self, kind: str, now: datetime.datetime) -> datetime.datetime | None:
        period = self.policy.periods.get(kind)
        return None if period is None else now - datetime.timedelta(seconds=period)

    def plan(self) -> RetentionResult:
        """The dry run: what each table would lose now (counts, oldest, newest); nothing is changed."""
        now = datetime.datetime.fromtimestamp(self.clock(), datetime.UTC)
        out = []
        for kind in DATA_TYPES:
            cut = self._cut(kind, now)
            res = TypeResult(kind, self.policy.periods.get(kind), cut)
            if cut is not None:
                for spec in TABLES:
                    if spec.kind == kind and self.repo.present(spec) is not None:
                        res.tables.append(self.repo.count(spec, cut - datetime.timedelta(seconds=spec.margin_s)))
            out.append(res)
        return RetentionResult(True, now, out)

    def run(self) -> RetentionResult:
        """Delete what is expired now; one audit entry per data type that lost rows."""
        journal_replayed = self.replay_journal()
        result = self.plan()
        result.dry_run = False
        result.journal_replayed = journal_replayed
        for res in result.types:
            if res.cut is None:
                continue
            for t in res.tables:
                if self.stop_requested:
                    break
                if t.table == "recordings":
                    self._recordings(res, t.cut)
                elif t.table == "audit_log":
                    if t.rows:
                        self.repo.mark_audit_purge(t.cut, self.actor, result.at)
                    res.deleted[t.table] = self._rows(t)
                else:
                    res.deleted[t.table] = self._rows(t)
            if self.audit is not None and (any(res.deleted.values()) or res.files_deleted):
                self.audit.append(AuditEntry(self.actor, "retention", res.kind, {
                    "cut": res.cut.isoformat(timespec="seconds"), "deleted": dict(res.deleted),
                    "files_deleted": res.files_deleted, "files_missing": res.files_missing}))
        return result

    def _rows(self, t: TableCut) -> int:
        spec = next(s for s in TABLES if s.table == t.table)
        total = 0
        while not self.stop_requested:
            n = self.repo.delete_batch(spec, t.cut, self.policy.batch)
            total += n
            if self.progress is not None and n:
                self.progress(t.table, n)
            if n < self.policy.batch:
                break
            self.sleep(self.policy.pause_s)
        return total

    def _recordings(self, res: TypeResult, cut: datetime.datetime) -> None:
        total = 0
        while not self.stop_requested:
            batch = self.repo.expired_recordings(cut, self.policy.batch)
            if not batch:
                break
            self._write_journal([p for _, p in batch])
            total += self.repo.delete_recordings([u for u, _ in batch])
            deleted, missing = self._unlink(p for _, p in batch)
            res.files_deleted += deleted
            res.files_missing += missing
            forget_journal(self.recordings_dir, [p for _, p in batch])
            if self.progress is not None:
                self.progress("recordings", len(batch))
            if len(batch) < self.policy.batch:
                break
            self.sleep(self.policy.pause_s)
        res.deleted["recordings"] = total

    def _write_journal(self, paths: list[str]) -> None:
        write_journal(self.recordings_dir, paths)

    @staticmethod
    def _unlink(paths: Any) -> tuple[int, int]:
        return unlink_files(paths)

    def replay_journal(self) -> int:
        """Finish a batch a crash interrupted: unlink the journal's files that no row references; how many."""
        try:
            text = self.journal.read_text(encoding="utf-8")
        except FileNotFoundError:
            return 0
        try:
            paths = [str(p) for p in json.loads(text)]
        except (ValueError, TypeError):
            log.warning("retention: %s is not a journal (left as it is)", self.journal)
            return 0
        still = self.repo.referenced(paths)
        deleted, _ = self._unlink(p for p in paths if p not in still)
        self.journal.unlink(missing_ok=True)
        return deleted


def periods_seconds(policy: RetentionPolicy) -> dict[str, float | None]:
    """The policy's periods in seconds (None: kept forever), every data type present."""
    return {k: policy.periods.get(k) for k in DATA_TYPES}


def describe(period_s: float | None) -> str:
    """``180 days`` or ``forever``."""
    if period_s is None:
        return "forever"
    days = period_s / 86400.0
    return f"{days:g} days" if math.isclose(days, round(days)) else f"{period_s / 3600.0:g} hours"

