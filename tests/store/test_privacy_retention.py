"""Retention on a seeded history: exactly the expired rows and files go, reports of the kept window are unchanged.

Ten days of history (queue log, agent log, surveys, per-call rows, calls, legs, interactions,
recordings with files, and a campaign's leads, numbers, dial attempts, callbacks and do-not-call entries) on
SQLite and PostgreSQL; call records, interactions and recordings kept five days (and, in a second test, leads).
Also: the dry run changes nothing and counts what would go; a crash between the rows and the files is finished
by the next run; the audit log's cut goes through its purge mark.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from cc.dialer.model import LeadState
from cc.model import CallDirection, CallLeg, CallRecord, Interaction, InteractionKind, QueueConfig, RecordingRecord
from cc.privacy.audit import AuditEntry, ListAudit
from cc.privacy.policy import RetentionPolicy
from cc.privacy.retention import JOURNAL, RetentionJob
from cc.reports.source import ReportOptions, run_reports, summarize_history
from cc.store import Database, Repos, upgrade
from cc.store.retention import AGENT_STATE_MARGIN_S, TABLES, RetentionRepo
from cc.store.tables import Base
from tests.reports.test_sql_path import history, insert
from tests.store.campaign_seed import SeedLead, seed_campaign

DAY = 86400.0


@pytest.fixture
def db(backend: str, make_url_for: Any, request: pytest.FixtureRequest) -> Iterator[Database]:
    """A migrated, empty database of the backend: on PostgreSQL a fresh schema (whatever tables exist)."""
    if backend == "sqlite":
        url = make_url_for("sqlite")
    else:
        url = request.getfixturevalue("pg_databases").create()
        upgrade(url)
    database = Database(url)
    try:
        yield database
    finally:
        database.dispose()


NOW = datetime.datetime(2026, 6, 30, tzinfo=datetime.UTC).timestamp()
KEEP = 5 * DAY
CUT = NOW - KEEP


def seed(db: Database, rec_dir: Path) -> Repos:
    """Ten days of history, a burst of calls around noon of each day."""
    repos = Repos(db)
    repos.queues.create(QueueConfig("sales", sl_threshold_s=20))
    repos.queues.create(QueueConfig("support", sl_threshold_s=30))
    records: list[Any] = []
    for d in range(10, 0, -1):
        center = NOW - d * DAY + 0.5 * DAY
        day = [dataclasses.replace(r, id=f"d{d}-{r.id}") for r in history(center, 100 + d, calls=40)]
        records += day
        members = sorted({r.member_uuid for r in day if hasattr(r, "member_uuid")})
        for i, m in enumerate(members):
            t0 = min(r.at for r in day if getattr(r, "member_uuid", None) == m)
            records.append(CallRecord(m, CallDirection.INBOUND, f"1381234{d:02d}{i:02d}", "7000", t0,
                                      ended_at=t0 + 300))
            records.append(CallLeg(f"leg-{m}", m, "agent", "user/1001", t0 + 5, ended_at=t0 + 200,
                                   agent_id="1001"))
            records.append(Interaction(f"i-{m}", t0 + 300, InteractionKind.CALL, None, "1001", m, "sales",
                                       "resolved", ""))
            if i % 4 == 0:
                path = rec_dir / f"{m}.wav"
                path.write_bytes(b"RIFF")
                records.append(RecordingRecord(f"r-{m}", m, str(path), t0 + 5, t0 + 200))
    insert(repos, records)
    first = min(getattr(r, "at", NOW) for r in records)
    insert(repos, summarize_history(repos, first, NOW))
    seed_campaign(db, LEADS, DNC, created=NOW - 12 * DAY)
    return repos


#: Leads on both sides of the cut: only final leads created and last dialed before it may go.
LEADS = (
    SeedLead(1, ("+8613800000001",), "old done", LeadState.DONE, NOW - 9 * DAY, NOW - 8 * DAY, callback_note="n1"),
    SeedLead(2, ("+8613800000002", "+8613800000012"), "old exhausted", LeadState.EXHAUSTED, NOW - 9 * DAY,
             NOW - 7 * DAY),
    SeedLead(3, ("+8613800000003",), "old dnc, never dialed", LeadState.DNC, NOW - 9 * DAY),
    SeedLead(4, ("+8613800000004",), "old, still to dial", LeadState.RETRY, NOW - 9 * DAY, NOW - 8 * DAY,
             callback_note="n4"),
    SeedLead(5, ("+8613800000005",), "old, done, dialed lately", LeadState.DONE, NOW - 9 * DAY, NOW - 2 * DAY),
    SeedLead(6, ("+8613800000006",), "new", LeadState.NEW, NOW - 1 * DAY),
    SeedLead(7, ("+8613800000007",), "new, done", LeadState.DONE, NOW - 2 * DAY, NOW - 1 * DAY,
             callback_note="n7"),
)
#: Do-not-call entries are not a retention data type: they stay, however old.
DNC = (("+8613900000001", NOW - 300 * DAY), ("+8613900000002", NOW - 1 * DAY))
#: Leads that go when leads are kept five days.
EXPIRED_LEADS = {"1", "2", "3"}


def campaign_rows(db: Database) -> dict[str, set[str]]:
    """The keys of the campaign tables that retention reaches only through the leads (or not at all)."""
    t = Base.metadata.tables
    with db.transaction() as s:
        return {
            "lead_numbers": {f"{a}.{b}" for a, b in s.execute(select(t["lead_numbers"].c.lead_id,
                                                                     t["lead_numbers"].c.position))},
            "callbacks": {str(x) for x in s.execute(select(t["callbacks"].c.lead_id)).scalars()},
            "dnc": {str(x) for x in s.execute(select(t["dnc"].c.number)).scalars()},
        }


def reports(repos: Repos, start: float, end: float) -> list[Any]:
    """Every report of [start, end) with every engine that computes it differently."""
    out: list[Any] = []
    for engine in ("python", "sql", "events"):
        for rep in run_reports(repos, ["queues", "agents", "calls", "surveys", "fcr"],
                               ReportOptions(start, end, interval="hour", tz="Asia/Shanghai", engine=engine,
                                             now=NOW)):
            out.append((engine, rep.name, [dict(r) for r in rep.rows]))
    return out


def snapshot(db: Database) -> dict[str, dict[str, Any]]:
    """key -> time of every row of every retention table present."""
    repo = RetentionRepo(db)
    out: dict[str, dict[str, Any]] = {}
    with db.transaction() as s:
        for spec in TABLES:
            table = repo.present(spec)
            if table is None:
                continue
            out[spec.table] = {str(k): t for k, t in s.execute(select(table.c[spec.key], table.c[spec.time]))}
    return out


def cut_of(table: str) -> datetime.datetime:
    margin = AGENT_STATE_MARGIN_S if table == "agent_state_events" else 0.0
    return datetime.datetime.fromtimestamp(CUT - margin, datetime.UTC)


POLICY = RetentionPolicy(periods={"recordings": KEEP, "call_records": KEEP, "interactions": KEEP, "leads": None,
                                  "audit": None}, batch=97, pause_s=0.0)


def job_for(db: Database, rec_dir: Path, audit: ListAudit | None = None, **kw: Any) -> RetentionJob:
    return RetentionJob(RetentionRepo(db), kw.pop("policy", POLICY), rec_dir, audit=audit, clock=lambda: NOW,
                        sleep=lambda s: None, **kw)


@pytest.mark.timeout(300)
def test_exactly_the_expired_rows_and_files_go_and_kept_reports_are_unchanged(db: Database, tmp_path: Path) -> None:
    rec_dir = tmp_path / "recordings"
    rec_dir.mkdir()
    repos = seed(db, rec_dir)
    before = snapshot(db)
    assert {"leads", "dial_attempts"} <= set(before) and len(before["dial_attempts"]) == 6
    campaign_before = campaign_rows(db)
    files_before = {p.name for p in rec_dir.iterdir()}
    kept_window = reports(repos, CUT, NOW)
    assert sum(len(rows) for _, _, rows in kept_window) > 100

    plan = job_for(db, rec_dir).plan()
    planned = {t.table: t.rows for r in plan.types for t in r.tables}
    assert snapshot(db) == before          # a dry run changes nothing
    audit = ListAudit()
    result = job_for(db, rec_dir, audit).run()
    after = snapshot(db)

    for table, rows in before.items():
        expired = {k for k, t in rows.items() if t < cut_of(table)}
        if table in ("leads", "dial_attempts", "audit_log"):
            assert after.get(table) == rows, table                     # kept forever by this policy
            continue
        assert expired or not rows, table                              # the history reaches past the cut
        assert set(after[table]) == set(rows) - expired, table         # exactly the expired rows went
        assert planned[table] == len(expired), table                   # and the dry run said so
        assert any(r.deleted.get(table, 0) == len(expired) for r in result.types if r.tables), table
        oldest = next(t for r in plan.types for t in r.tables if t.table == table).oldest
        assert oldest == min((rows[k] for k in expired), default=None)
    kept_files = {Path(p).name for p in db_paths(db)}
    assert {p.name for p in rec_dir.iterdir()} == kept_files           # files went with their rows, no journal
    assert kept_files < files_before and len(kept_files) == len(after["recordings"])
    assert reports(repos, CUT, NOW) == kept_window                     # the kept window reports the same
    assert campaign_rows(db) == campaign_before                        # leads are kept by this policy
    assert {e.target for e in audit.entries} == {"recordings", "call_records", "interactions"}
    assert all(e.action == "retention" and e.detail["deleted"] for e in audit.entries)
    # a second run finds nothing
    again = job_for(db, rec_dir).run()
    assert again.rows == 0


@pytest.mark.timeout(300)
def test_leads_retention_takes_final_leads_with_their_numbers_callbacks_and_attempts(db: Database,
                                                                                    tmp_path: Path) -> None:
    rec_dir = tmp_path / "recordings"
    rec_dir.mkdir()
    seed(db, rec_dir)
    before, campaign_before = snapshot(db), campaign_rows(db)
    policy = RetentionPolicy(periods={"leads": KEEP}, batch=2, pause_s=0.0)
    plan = job_for(db, rec_dir, policy=policy).plan()
    planned = {t.table: t.rows for r in plan.types for t in r.tables}
    old_attempts = {k for k, t in before["dial_attempts"].items() if t < cut_of("dial_attempts")}
    assert old_attempts == {"a1-0", "a2-0", "a2-1", "a4-0"}
    assert planned == {"dial_attempts": 4, "leads": 3} and snapshot(db) == before
    audit = ListAudit()
    result = job_for(db, rec_dir, audit, policy=policy).run()
    after = snapshot(db)
    assert set(after["dial_attempts"]) == set(before["dial_attempts"]) - old_attempts
    assert set(after["leads"]) == set(before["leads"]) - EXPIRED_LEADS
    for table in set(before) - {"leads", "dial_attempts"}:
        assert after[table] == before[table], table                    # other types untouched
    rows = campaign_rows(db)
    assert rows["lead_numbers"] == {k for k in campaign_before["lead_numbers"] if k.split(".")[0] not in EXPIRED_LEADS}
    assert rows["callbacks"] == campaign_before["callbacks"] - EXPIRED_LEADS == {"4", "7"}
    assert rows["dnc"] == campaign_before["dnc"]                       # do-not-call entries stay
    assert result.rows == 7 and [e.target for e in audit.entries] == ["leads"]


def db_paths(db: Database) -> list[str]:
    table = Base.metadata.tables["recordings"]
    with db.transaction() as s:
        return [str(p) for p in s.execute(select(table.c.path)).scalars()]


class Crash(Exception):
    pass


@pytest.mark.timeout(120)
def test_a_crash_between_rows_and_files_is_finished_by_the_next_run(db: Database, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    rec_dir = tmp_path / "recordings"
    rec_dir.mkdir()
    seed(db, rec_dir)
    policy = RetentionPolicy(periods={"recordings": KEEP}, batch=5, pause_s=0.0)
    job = job_for(db, rec_dir, policy=policy)
    # crash before the rows are deleted: the journal lists files whose rows are still there
    monkeypatch.setattr(job.repo, "delete_recordings", lambda uuids: (_ for _ in ()).throw(Crash()))
    with pytest.raises(Crash):
        job.run()
    assert (rec_dir / JOURNAL).exists()
    referenced = set(db_paths(db))
    on_disk = {str(p) for p in rec_dir.iterdir() if p.name != JOURNAL}
    assert referenced <= on_disk and on_disk == referenced             # nothing deleted, nothing dangling
    # crash after the rows went, before the files: rows never point at missing files
    job2 = job_for(db, rec_dir, policy=policy)
    def crash_on_files(paths: Any) -> tuple[int, int]:
        if list(paths):
            raise Crash()
        return 0, 0

    monkeypatch.setattr(job2, "_unlink", crash_on_files)
    with pytest.raises(Crash):
        job2.run()
    referenced = set(db_paths(db))
    assert all(os.path.exists(p) for p in referenced)
    leftover = {str(p) for p in rec_dir.iterdir() if p.name != JOURNAL} - referenced
    assert leftover                                                    # unreferenced files, in the journal
    # the next run replays the journal first, then finishes the job
    result = job_for(db, rec_dir, policy=policy).run()
    assert result.journal_replayed == len(leftover)
    assert {str(p) for p in rec_dir.iterdir()} == set(db_paths(db))
    assert db_paths(db) and all(os.path.exists(p) for p in db_paths(db))


@pytest.mark.timeout(120)
def test_the_audit_log_goes_through_its_purge_mark(db: Database, tmp_path: Path) -> None:
    from cc.store.audit_adapter import StoreAudit

    repo = RetentionRepo(db)
    audit_spec = next(s for s in TABLES if s.table == "audit_log")
    if repo.present(audit_spec) is None:
        pytest.skip("no audit_log table (revision 0006) in this tree")
    at = [NOW - 400 * DAY, NOW - 200 * DAY, NOW - 10 * DAY]
    for i, t in enumerate(at):
        StoreAudit(db, clock=lambda t=t: datetime.datetime.fromtimestamp(t, datetime.UTC)).append(
            AuditEntry("os:test", "export", f"customer:{i}", {"rows": i}))
    policy = RetentionPolicy(periods={"audit": 365 * DAY}, pause_s=0.0)
    result = job_for(db, tmp_path, policy=policy).run()
    assert result.rows == 1
    with db.transaction() as s:
        table = Base.metadata.tables["audit_log"]
        left = sorted(r for r in s.execute(select(table.c.resource)).scalars())
        purges = s.execute(select(func.count()).select_from(Base.metadata.tables["audit_purges"])).scalar_one()
    assert left == ["customer:1", "customer:2"] and purges == 1


#: Time columns without an index of their own: a batch's pick would scan these tables (none since 0010_crm).
UNINDEXED_TIME: dict[str, str] = {}


def test_every_retention_table_is_cut_by_its_real_key_and_time_index() -> None:
    import cc.store.campaign_tables
    import cc.store.org_tables  # noqa: F401

    for spec in TABLES:
        table = Base.metadata.tables[spec.table]
        assert [c.name for c in table.primary_key.columns] == [spec.key], spec.table
        assert spec.time in table.c, spec.table
        indexed = any(next(iter(i.columns)).name == spec.time for i in table.indexes)
        assert indexed != (spec.table in UNINDEXED_TIME), spec.table
