"""A customer's request: export finds his data by any of his numbers; erasure leaves no trace of them or his name.

On SQLite and PostgreSQL. The scan after the erasure reads every text and JSON column of every table in
the database (the audit log included) and the recordings folder.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from cc.dialer.model import LeadState
from cc.model import (
    CallDirection,
    CallLeg,
    CallRecord,
    Customer,
    Interaction,
    InteractionKind,
    PhoneNumber,
    QueueEvent,
    RecordingRecord,
    SurveyResult,
)
from cc.model import QueueEventType as Q
from cc.privacy.audit import ListAudit
from cc.privacy.customer import erase_customer, export_customer
from cc.privacy.mask import mask_number
from cc.store import Database, Repos, upgrade
from cc.store.audit_adapter import StoreAudit
from cc.store.customer_data import CustomerDataRepo, spellings, text_columns
from tests.reports.test_sql_path import insert
from tests.store.campaign_seed import SeedLead, seed_campaign

T0 = 1_780_000_000.0
HIS = ("+8613812341234", "+8613912345678")
HERS = "+8615012345678"
NAME = "张伟"


@pytest.fixture
def db(backend: str, make_url_for: Any, request: pytest.FixtureRequest) -> Iterator[Database]:
    """A migrated, empty database of the backend: on PostgreSQL a fresh schema (whatever tables exist)."""
    url = make_url_for("sqlite") if backend == "sqlite" else request.getfixturevalue("pg_databases").create()
    if backend != "sqlite":
        upgrade(url)
    database = Database(url)
    try:
        yield database
    finally:
        database.dispose()


def seed(db: Database, rec_dir: Path) -> Repos:
    repos = Repos(db)
    repos.customers.create(Customer("c-zw", NAME, "zw@example.com", f"VIP; also reachable on {HIS[1]}",
                                    (PhoneNumber(HIS[0], "mobile"), PhoneNumber(HIS[1], "work"))), now=T0)
    repos.customers.create(Customer("c-ln", "李娜", None, "", (PhoneNumber(HERS),)), now=T0)
    records: list[Any] = []
    # his calls, written the ways a switch writes numbers; hers; and an outbound callback to him
    calls = [("u1", "13812341234", "7000"), ("u2", "+8613912345678", "7000"), ("u3", "008613812341234", "7001"),
             ("u4", "15012345678", "7000"), ("u5", "7000", "13812341234")]
    for i, (u, caller, callee) in enumerate(calls):
        t = T0 + i * 600
        direction = CallDirection.OUTBOUND if u == "u5" else CallDirection.INBOUND
        records.append(CallRecord(u, direction, caller, callee, t, ended_at=t + 200))
        records.append(QueueEvent(f"e{u}1", t + 1, "sales", u, Q.ENTER, detail="priority=0"))
        records.append(QueueEvent(f"e{u}2", t + 5, "sales", u, Q.CALLBACK_REQUESTED, wait_s=4.0,
                                  detail=mask_number(caller)))
        records.append(CallLeg(f"l{u}", u, "agent", "user/1001", t + 6, ended_at=t + 100, agent_id="1001"))
        records.append(SurveyResult(f"s{u}", t + 150, u, "csat", "q1", 4, "1001", "sales"))
        path = rec_dir / f"{u}.wav"
        path.write_bytes(b"RIFF....WAVE")
        records.append(RecordingRecord(f"r{u}", u, str(path), t + 6, t + 100))
        who = "c-ln" if u == "u4" else "c-zw"
        records.append(Interaction(f"i{u}", t + 200, InteractionKind.CALL, who, "1001", u, "sales", "resolved",
                                   f"{'李娜' if who == 'c-ln' else NAME} called about an order"))
    records.append(CallLeg("lcb", "u9", "customer", "{origination_caller_id_number=7000}sofia/gateway/gw/13812341234",
                           T0 + 5000, ended_at=T0 + 5100))
    insert(repos, records)
    # a campaign: his lead (his CRM row), a lead with his second number and no CRM link, hers; callbacks with
    # notes naming them; dial attempts to each number; both on the do-not-call list
    seed_campaign(db, [SeedLead(1, (HIS[0],), NAME, LeadState.DONE, T0, T0 + 100, "c-zw", f"call {NAME} back"),
                       SeedLead(2, (HIS[1],), "", LeadState.RETRY, T0, T0 + 200),
                       SeedLead(3, (HERS,), "李娜", LeadState.DONE, T0, T0 + 300, "c-ln", "call 李娜 back")],
                  [(HIS[0], T0), (HERS, T0)], created=T0 - 3600)
    return repos


def traces(db: Database, needles: set[str]) -> list[tuple[str, str, str]]:
    """(table, column, needle) for every text/JSON cell of the database that contains a needle."""
    found = []
    with db.engine.connect() as conn:
        for table, cols in text_columns(db):
            for col in cols:
                for (value,) in conn.execute(text(f'SELECT "{col}" FROM "{table}"')):
                    cell = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
                    found += [(table, col, n) for n in needles if value is not None and n in cell]
    return found


def audit_for(db: Database) -> Any:
    from sqlalchemy import inspect
    return StoreAudit(db) if inspect(db.engine).has_table("audit_log") else ListAudit()


@pytest.mark.timeout(120)
def test_export_finds_everything_by_any_of_his_numbers(db: Database, tmp_path: Path) -> None:
    rec_dir = tmp_path / "recordings"
    rec_dir.mkdir()
    seed(db, rec_dir)
    repo = CustomerDataRepo(db)
    subject = repo.resolve(number=HIS[1])                                                 # his second number
    assert subject.customer_ids == ("c-zw",) and subject.numbers == HIS and subject.names == (NAME,)
    result = export_customer(repo, subject, tmp_path / "out", audit=audit_for(db), actor="os:test",
                             reason="access request #12")
    doc = json.loads(result.path.read_text(encoding="utf-8"))
    tables = doc["tables"]
    assert sorted(c["uuid"] for c in tables["calls"]) == ["u1", "u2", "u3", "u5"]          # not hers (u4)
    assert {r["uuid"] for r in tables["recordings"]} == {"ru1", "ru2", "ru3", "ru5"}
    assert sorted(p.name for p in (tmp_path / "out" / "recordings").iterdir()) == ["ru1.wav", "ru2.wav", "ru3.wav",
                                                                                  "ru5.wav"]
    assert {r["id"] for r in tables["interactions"]} == {"iu1", "iu2", "iu3", "iu5"}
    assert len(tables["queue_events"]) == 8 and len(tables["survey_results"]) == 4
    assert {r["uuid"] for r in tables["call_legs"]} == {"lu1", "lu2", "lu3", "lu5", "lcb"}  # the callback leg too
    assert tables["customers"][0]["name"] == NAME and len(tables["customer_phones"]) == 2
    # a number with no CRM row still finds its history
    alone = repo.resolve(number="+8613700001111")
    assert alone.customer_ids == () and repo.collect(alone)["calls"] == []


@pytest.mark.timeout(120)
def test_erasure_leaves_no_trace_in_any_table_or_file(db: Database, tmp_path: Path) -> None:
    rec_dir = tmp_path / "recordings"
    rec_dir.mkdir()
    seed(db, rec_dir)
    needles = {NAME} | {s for n in HIS for s in spellings(n)} | {mask_number(n) for n in HIS}
    assert {t for t, _, _ in traces(db, needles)} >= {"calls", "customers", "customer_phones", "interactions",
                                                      "call_legs", "leads", "lead_numbers", "dial_attempts",
                                                      "callbacks", "dnc"}
    repo = CustomerDataRepo(db)
    audit = audit_for(db)
    result = erase_customer(repo, repo.resolve(customer_id="c-zw"), rec_dir, audit=audit, actor="os:test",
                            reason="erasure request #13")
    assert traces(db, needles) == []
    assert sorted(p.name for p in rec_dir.iterdir()) == ["u4.wav"]                     # hers only, no journal
    assert result.counts["calls"] == 4 and result.counts["recordings"] == 4 and result.files_deleted == 4
    # hers is untouched; his calls are still counted, under one pseudonym
    assert {t for t, _, _ in traces(db, {"李娜", "15012345678", HERS})} >= {
        "calls", "customers", "leads", "lead_numbers", "dial_attempts", "callbacks", "dnc"}
    repos = Repos(db)
    callers = {c.uuid: (c.caller, c.callee) for c in repos.calls.scan(T0 - 1, T0 + 10_000)}
    assert callers["u4"] == ("15012345678", "7000")
    assert {callers[u][0] for u in ("u1", "u2", "u3")} == {result.pseudonym} and callers["u5"][1] == result.pseudonym
    assert len(list(repos.queue_events.scan(T0 - 1, T0 + 10_000))) == 10                # history rows stay
    if isinstance(audit, ListAudit):
        actions = [e.action for e in audit.entries]
        assert actions == ["customer_erase", "customer_erased"]
    else:
        with db.engine.connect() as conn:
            actions = [a for (a,) in conn.execute(text("SELECT action FROM audit_log ORDER BY id"))]
        assert actions == ["customer_erase", "customer_erased"]


def test_an_erasure_keeps_the_files_a_crashed_retention_run_left_in_its_journal(db: Database,
                                                                                 tmp_path: Path) -> None:
    """A retention run that crashed between rows and files leaves a journal the next run replays; an erasure
    in between must not drop those files from it (their rows are gone: nothing else would ever delete them)."""
    from cc.privacy.policy import RetentionPolicy
    from cc.privacy.retention import JOURNAL, RetentionJob, write_journal
    from cc.store.retention import RetentionRepo

    rec_dir = tmp_path / "recordings"
    rec_dir.mkdir()
    seed(db, rec_dir)
    orphan = rec_dir / "expired-row-already-deleted.wav"
    orphan.write_bytes(b"RIFF")
    write_journal(rec_dir, [str(orphan)])          # the crashed run: rows deleted, file not yet
    repo = CustomerDataRepo(db)
    result = erase_customer(repo, repo.resolve(customer_id="c-zw"), rec_dir, audit=ListAudit(), actor="os:test",
                            reason="erasure request #14")
    assert result.files_deleted == 4
    assert json.loads((rec_dir / JOURNAL).read_text(encoding="utf-8")) == [str(orphan)]
    job = RetentionJob(RetentionRepo(db), RetentionPolicy(periods={"recordings": 10 * 365 * 86400.0}), rec_dir,
                       clock=lambda: T0 + 10_000)
    assert job.run().journal_replayed == 1
    assert not orphan.exists() and not (rec_dir / JOURNAL).exists()
    assert sorted(p.name for p in rec_dir.iterdir()) == ["u4.wav"]
