"""The write-behind writer: batching, idempotency, outages (PostgreSQL via a cut TCP path, SQLite),
spill to the journal, replay after a restart, rejected records, concurrent producers."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from cc.errors import InvalidValue, StoreError
from cc.model import (
    AgentState,
    AgentStateEvent,
    AgentStatus,
    CallDirection,
    CallRecord,
    CallSegment,
    Interaction,
    InteractionKind,
    QueueEvent,
    QueueEventType,
    RecordingRecord,
    SurveyResult,
)
from cc.store.codec import KINDS, encode_line
from cc.store.db import Database, upgrade
from cc.store.repos import Repos
from cc.store.writer import Writer
from tests.netproxy import CuttableProxy

from .conftest import BACKENDS

T0 = 1_767_225_600.0


def make_records(n: int, prefix: str = "r") -> list[Any]:
    """``n`` history records of every kind, with unique ids."""
    out: list[Any] = []
    for i in range(n):
        rid = f"{prefix}{i:06d}"
        match i % 6:
            case 0:
                out.append(QueueEvent(rid, T0 + i, "sales", f"m{i}", QueueEventType.ENTER))
            case 1:
                out.append(AgentStateEvent(rid, T0 + i, "1001", AgentStatus.AVAILABLE, AgentState.IDLE))
            case 2:
                out.append(CallRecord(rid, CallDirection.INBOUND, "+4930901820", "100", T0 + i, ended_at=T0 + i + 30))
            case 3:
                out.append(SurveyResult(rid, T0 + i, "c1", "csat", "q1", 4))
            case 4:
                out.append(RecordingRecord(rid, "c1", f"/r/{rid}.wav", T0 + i, paused_spans=((T0, T0 + 1),)))
            case _:
                out.append(Interaction(rid, T0 + i, InteractionKind.CALL, customer_id="k1"))
    return out


def ids_in(db: Database) -> list[str]:
    """Every history id in the database (duplicates would show twice)."""
    found: list[str] = []
    with db.sessions() as s:
        for kind in KINDS.values():
            found.extend(s.scalars(select(getattr(kind.row, kind.key))))
    return found


def wait_for(cond: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


@pytest.fixture
def journal(tmp_path: Path) -> Path:
    return tmp_path / "spool" / "writer.journal"


@pytest.mark.timeout(60)
def test_batches_and_idempotency(db: Database, journal: Path) -> None:
    records = make_records(600)
    with Writer(db, journal, batch_size=64) as w:
        for r in records:
            w.submit(r)
        for r in records[:100]:  # the same records again: stored once
            w.submit(r)
        assert w.flush(30)
        assert w.backlog == 0
        assert w.stats().written == 700 and w.stats().database_available
        health = w.stats().as_dict()
        assert health["backlog"] == 0 and health["written"] == 700 and json.dumps(health)
    assert sorted(ids_in(db)) == sorted(r_id(r) for r in records)
    assert journal.stat().st_size == 0


def r_id(record: Any) -> str:
    return str(getattr(record, "id", None) or record.uuid)


@pytest.mark.timeout(60)
def test_calls_legs_recordings_are_updated_by_later_records(db: Database, journal: Path) -> None:
    start = CallRecord("call-1", CallDirection.INBOUND, "+4930901820", "100", T0)
    answered = dataclasses.replace(start, answered_at=T0 + 3)
    ended = dataclasses.replace(answered, ended_at=T0 + 60, hangup_cause="NORMAL_CLEARING", disposition="ok")
    rec = RecordingRecord("rec-1", "call-1", "/r/1.wav", T0 + 3)
    rec_done = dataclasses.replace(rec, stopped_at=T0 + 60, duration_s=57.0, size_bytes=912_000)
    ev = QueueEvent("qe-1", T0, "sales", "call-1", QueueEventType.ENTER)
    with Writer(db, journal, start=False) as w:
        for r in (start, answered, rec, ev, ended, rec_done, dataclasses.replace(ev, queue="other")):
            w.submit(r)  # all in one batch: one row per id, the last version wins for calls/recordings
        w.start()
        assert w.flush(30)
        w.submit(start)  # an old version arriving late still replaces (last submitted wins) ...
        w.submit(ended)  # ... and the final one puts it right
        assert w.flush(30)
    repos = Repos(db)
    assert repos.calls.get("call-1") == ended
    assert repos.recordings.get("rec-1") == rec_done
    assert repos.queue_events.get("qe-1") == ev  # log lines: the first one stays
    assert sorted(ids_in(db)) == ["call-1", "qe-1", "rec-1"]


@pytest.mark.timeout(60)
def test_a_calls_interaction_is_replaced_by_the_one_with_its_result(db: Database, journal: Path) -> None:
    """The desk writes a call's interaction at its end, then again with the agent's result and the customer he
    linked: one row, the last one submitted, in one batch or in two."""
    ended = Interaction("call-u1", T0, InteractionKind.CALL, agent_id="1001", call_uuid="u1", queue="sales")
    result = dataclasses.replace(ended, disposition="resolved", note="refund sent")
    with Writer(db, journal, start=False) as w:
        w.submit(ended)
        w.submit(result)
        w.start()
        assert w.flush(30)
        assert Repos(db).interactions.get("call-u1") == result
        w.submit(dataclasses.replace(result, note="refund sent; called back"))
        assert w.flush(30)
    assert Repos(db).interactions.get("call-u1").note == "refund sent; called back"
    assert ids_in(db) == ["call-u1"]


@pytest.mark.timeout(60)
def test_values_json_cannot_hold_are_kept_aside_on_every_path(db: Database, journal: Path) -> None:
    nan = QueueEvent("nan", T0, "q", "m", QueueEventType.ENTER, wait_s=float("nan"))
    obj = QueueEvent("obj", T0, "q", "m", QueueEventType.ENTER, detail=object())  # type: ignore[arg-type]
    ok = make_records(3)
    w = Writer(db, journal, max_queue=1, start=False)
    w.submit(ok[0])  # fills the queue
    w.submit(nan)  # spill path: cannot be journaled -> rejected file, submit does not raise
    w.submit(ok[1])
    assert w.stats().rejected == 1
    w.start()
    assert w.flush(30)
    w.submit(obj)  # queue path: refused when written -> rejected file
    w.submit(ok[2])
    assert w.flush(30)
    assert w.stats().rejected == 2
    assert w.close() == 0
    assert sorted(ids_in(db)) == sorted(r_id(r) for r in ok)
    assert len(journal.with_name("writer.journal.rejected").read_text().splitlines()) == 2


@pytest.mark.timeout(60)
def test_written_records_read_back_identically(db: Database, journal: Path) -> None:
    """The bulk path writes exactly what the ORM would: repositories get every field back, and time-window
    scans (string-compared timestamps on SQLite) find the rows."""
    full = [
        CallRecord(
            "c1",
            CallDirection.OUTBOUND,
            "+4930901820",
            "+4930100",
            T0 + 0.123456,
            "fs1",
            T0 + 2.5,
            T0 + 99.75,
            "NORMAL_CLEARING",
            "flows/main.yaml",
            "sale",
        ),
        QueueEvent("q1", T0 + 1.5, "sales", "c1", QueueEventType.CONNECT, "1001", 12.25, None, "d"),
        AgentStateEvent("a1", T0 + 1.5, "1001", AgentStatus.ON_BREAK, AgentState.WRAP_UP, "lunch"),
        RecordingRecord(
            "r1",
            "c1",
            "/r/c1.wav",
            T0 + 3,
            T0 + 99,
            90.5,
            ((T0 + 10, T0 + 12.5), (T0 + 20, T0 + 21)),
            1_234_567_890_123,
            "f" * 64,
        ),
        SurveyResult("s1", T0 + 100, "c1", "csat", "q1", 5, "1001", "sales"),
        Interaction("i1", T0 + 100, InteractionKind.CALL, "k1", "1001", "c1", "sales", "sale", "note"),
    ]
    with Writer(db, journal) as w:
        for r in full:
            w.submit(r)
        assert w.flush(30)
    repos = Repos(db)
    assert repos.calls.get("c1") == full[0]
    assert list(repos.calls.scan(T0, T0 + 1)) == [full[0]]
    assert list(repos.calls.scan(T0 + 0.2, T0 + 1)) == []
    assert list(repos.queue_events.scan(T0 + 1.5, T0 + 1.6, queue="sales")) == [full[1]]
    assert repos.agent_state_events.latest("1001") == full[2]
    assert repos.recordings.for_call("c1") == [full[3]]
    assert list(repos.surveys.scan(T0 + 100, T0 + 101)) == [full[4]]
    assert repos.interactions.for_customer("k1") == [full[5]]


@pytest.mark.timeout(60)
def test_close_with_a_backlog_it_cannot_finish_journals_the_rest(db: Database, journal: Path) -> None:
    records = make_records(3000)
    w = Writer(db, journal, batch_size=10, start=False)
    for r in records:
        w.submit(r)
    w.start()
    left = w.close(timeout=0.0)  # no time to drain: the drainer stops after its batch
    written = ids_in(db)
    assert left == len(records) - len(written) > 0
    with Writer(db, journal) as again:
        assert again.flush(30)
    got = ids_in(db)
    assert len(got) == len(set(got)) == len(records)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("backend", BACKENDS)
def test_unmigrated_database_keeps_records_until_migrated(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, journal: Path
) -> None:
    """A missing table is the deployment's problem, not the records': they wait, none is rejected."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'empty.db'}"
    else:
        url = request.getfixturevalue("pg_databases").create()
    records = make_records(60)
    w = Writer(Database(url), journal, max_queue=20, batch_size=10, backoff_initial_s=0.01, backoff_max_s=0.05)
    for r in records:
        w.submit(r)
    wait_for(lambda: w.stats().retries >= 2)
    assert w.stats().rejected == 0 and not w.stats().database_available
    upgrade(url)
    assert w.flush(30)
    assert w.stats().rejected == 0
    assert w.close() == 0
    db = Database(url)
    assert sorted(ids_in(db)) == sorted(r_id(r) for r in records)
    db.dispose()


@pytest.mark.timeout(60)
def test_over_long_values_are_never_truncated(db: Database, journal: Path, backend: str) -> None:
    long_id = "x" * 64 + "-but-longer"  # ids are VARCHAR(64)
    clash = QueueEvent("x" * 64, T0, "q", "m", QueueEventType.ENTER)  # what a truncation would collide with
    long = QueueEvent(long_id, T0, "q", "m", QueueEventType.ABANDON)
    with Writer(db, journal) as w:
        w.submit(clash)
        w.submit(long)
        assert w.flush(30)
        rejected = w.stats().rejected
    got = sorted(ids_in(db))
    if backend == "postgresql":  # refused as too long, kept in the rejected file
        assert rejected == 1 and got == ["x" * 64]
    else:  # SQLite keeps strings whole
        assert rejected == 0 and got == sorted(["x" * 64, long_id])


def test_in_memory_sqlite_is_refused(journal: Path) -> None:
    with pytest.raises(InvalidValue) as err:
        Writer("sqlite://", journal)
    assert err.value.field == "database url"


def test_submit_refuses_non_records_and_after_close(db: Database, journal: Path) -> None:
    w = Writer(db, journal)
    with pytest.raises(InvalidValue) as err:
        w.submit({"id": 1})  # type: ignore[arg-type]
    assert err.value.field == "record" and err.value.value == "dict"
    assert w.close() == 0
    with pytest.raises(StoreError):
        w.submit(make_records(1)[0])


@pytest.mark.timeout(60)
def test_records_the_database_refuses_are_kept_aside(db: Database, journal: Path) -> None:
    good = make_records(50)
    bad = RecordingRecord("bad-size", "c1", "/x.wav", T0, size_bytes=-5)  # violates a CHECK constraint
    with Writer(db, journal, batch_size=100, start=False) as w:
        for r in good[:25]:
            w.submit(r)
        w.submit(bad)
        for r in good[25:]:
            w.submit(r)
        w.start()
        assert w.flush(30)
        assert w.stats().rejected == 1 and w.stats().written == 50
    assert sorted(ids_in(db)) == sorted(r_id(r) for r in good)
    rejected = [json.loads(line) for line in journal.with_name("writer.journal.rejected").read_text().splitlines()]
    assert len(rejected) == 1 and "bad-size" in rejected[0]["line"] and rejected[0]["error"]


@pytest.mark.timeout(60)
def test_concurrent_producers_with_spilling(db: Database, journal: Path) -> None:
    per_thread = 1500
    batches = [make_records(per_thread, prefix=f"t{n}-") for n in range(4)]
    with Writer(db, journal, max_queue=50, batch_size=100) as w:
        threads = [threading.Thread(target=lambda rs=rs: [w.submit(r) for r in rs]) for rs in batches]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert w.flush(60)
    got = ids_in(db)
    assert len(got) == len(set(got)) == 4 * per_thread


# ------------------------------------------------------------------ SQLite outages


@pytest.mark.timeout(60)
def test_sqlite_unavailable_file_then_recovery(tmp_path: Path, journal: Path) -> None:
    path = tmp_path / "not-yet" / "cc.db"
    url = f"sqlite:///{path}"
    records = make_records(400)
    w = Writer(Database(url), journal, max_queue=40, batch_size=25, backoff_initial_s=0.01, backoff_max_s=0.1)
    for r in records[:300]:
        w.submit(r)
    wait_for(lambda: not w.stats().database_available)
    s = w.stats()
    assert s.journaled > 0 and s.backlog == 300 and s.last_error
    assert not w.flush(0.2)
    path.parent.mkdir()
    upgrade(url)  # the database comes (back) up
    for r in records[300:]:
        w.submit(r)
    assert w.flush(30)
    assert w.close() == 0
    db = Database(url)
    got = ids_in(db)
    db.dispose()
    assert sorted(got) == sorted(r_id(r) for r in records)


@pytest.mark.timeout(60)
def test_sqlite_locked_database_waits_and_loses_nothing(make_url_for: Callable[[str], str], journal: Path) -> None:
    url = make_url_for("sqlite")
    db = Database(url)
    records = make_records(200)
    locker = db.engine.connect()
    locker.exec_driver_sql("BEGIN EXCLUSIVE")
    with Writer(Database(url), journal, max_queue=30, batch_size=20, backoff_initial_s=0.01, backoff_max_s=0.1) as w:
        for r in records:
            w.submit(r)
        time.sleep(0.3)
        assert w.backlog > 0
        locker.rollback()
        locker.close()
        assert w.flush(30)
    assert sorted(ids_in(db)) == sorted(r_id(r) for r in records)
    db.dispose()


# ------------------------------------------------------------------ journal replay across restarts


@pytest.mark.timeout(60)
def test_close_while_down_journals_everything_in_order_and_next_writer_replays(
    tmp_path: Path, journal: Path, make_url_for: Callable[[str], str]
) -> None:
    down = Database(f"sqlite:///{tmp_path / 'nowhere' / 'x.db'}")
    records = make_records(120)
    w = Writer(down, journal, max_queue=30, batch_size=10, backoff_initial_s=0.01, backoff_max_s=0.05)
    for r in records:
        w.submit(r)
    wait_for(lambda: not w.stats().database_available)
    assert w.close(timeout=0.2) == 120
    lines = journal.read_text().splitlines(keepends=True)
    assert lines == [encode_line(r) for r in records]  # oldest first, nothing twice

    url = make_url_for("sqlite")
    db = Database(url)
    with Writer(db, journal, start=False) as w2:   # not started: its drainer would replay while we look
        assert w2.stats().journaled == 120
        late = make_records(5, prefix="late")
        for r in late:
            w2.submit(r)  # goes behind the old journal
        w2.start()
        assert w2.flush(30)
    assert sorted(ids_in(db)) == sorted(r_id(r) for r in records + late)
    assert journal.stat().st_size == 0
    db.dispose()


@pytest.mark.timeout(60)
def test_corrupt_and_torn_journal_lines_are_rejected_not_lost(db: Database, journal: Path) -> None:
    records = make_records(3)
    journal.parent.mkdir(parents=True)
    journal.write_text(
        encode_line(records[0])
        + "{not json\n"
        + encode_line(records[1])
        + '{"k":"calls","r":{"bogus":1}}\n'
        + encode_line(records[2])[:20]
    )
    with Writer(db, journal) as w:
        assert w.flush(30)
        assert w.stats().rejected == 3
    assert sorted(ids_in(db)) == sorted(r_id(r) for r in records[:2])
    rejected = journal.with_name("writer.journal.rejected").read_text().splitlines()
    assert len(rejected) == 3
    assert any("torn" in json.loads(x)["error"] for x in rejected)


# ---------------------------------------------------------- PostgreSQL outage through a TCP path we cut


@pytest.fixture
def proxy_and_db(make_url_for: Callable[[str], str]) -> Iterator[tuple[CuttableProxy, str, Database]]:
    real_url = make_url_for("postgresql")
    parsed = make_url(real_url)
    proxy = CuttableProxy((parsed.host or "127.0.0.1", parsed.port or 5432))
    via_proxy = parsed.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    real = Database(real_url)
    try:
        yield proxy, via_proxy, real
    finally:
        proxy.down()
        real.dispose()


@pytest.mark.postgres
@pytest.mark.timeout(90)
def test_postgresql_outage_every_record_exactly_once(
    proxy_and_db: tuple[CuttableProxy, str, Database], journal: Path
) -> None:
    proxy, via_proxy, real = proxy_and_db
    records = make_records(1500)
    dup = records[:50]
    w = Writer(Database(via_proxy), journal, max_queue=100, batch_size=50, backoff_initial_s=0.01, backoff_max_s=0.2)
    # 1. the port is closed: records keep coming, the queue fills, the rest spills to the journal
    for r in records[:500]:
        w.submit(r)
    wait_for(lambda: not w.stats().database_available)
    assert w.stats().journaled > 0
    assert ids_in(real) == []
    # 2. PostgreSQL reachable: more records (and some duplicates) while it catches up
    proxy.up()
    for r in records[500:900] + dup:
        w.submit(r)
    assert w.flush(60)
    assert w.stats().database_available
    # 3. cut again with pooled connections open, mid-stream; then back
    proxy.down()
    for r in records[900:1300]:
        w.submit(r)
    wait_for(lambda: not w.stats().database_available)
    proxy.up()
    for r in records[1300:]:
        w.submit(r)
    assert w.flush(60)
    assert w.close() == 0
    got = ids_in(real)
    assert len(got) == len(set(got)) == len(records)
    assert set(got) == {r_id(r) for r in records}
    with real.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM queue_events")).scalar() == 250


@pytest.mark.timeout(60)
def test_a_call_back_under_its_uuid_keeps_its_first_row(db: Database, journal: Path) -> None:
    first = CallRecord("c1", CallDirection.INBOUND, "+4930901820", "+4930100", 1_767_225_600.0, node="fs1",
                       ended_at=1_767_225_660.0, disposition="transferred")
    seg = CallSegment("c1/2", "c1", 2, "+4930901820", "9999", 1_767_225_661.0, node="fs1",
                      ended_at=1_767_225_700.0, hangup_cause="NORMAL_CLEARING", disposition="answered")
    with Writer(db, journal) as w:
        w.submit(first)
        w.submit(seg)
        w.submit(dataclasses.replace(seg, disposition="answered", flow="back"))   # rewritten by its own id only
        assert w.flush(30)
    calls = Repos(db).calls
    assert calls.get("c1") == first
    assert calls.segments("c1") == [dataclasses.replace(seg, flow="back")]


@pytest.mark.timeout(60)
def test_a_database_that_fails_and_answers_by_turns_is_one_warning(
        db: Database, journal: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """Old pooled connections work while new ones are refused: each batch fails once, then goes through. The
    outage is logged once, not once per batch (bench/faults.py's db_refuse logged 273 warnings in 60 s); every
    record is stored."""
    from sqlalchemy.exc import SQLAlchemyError

    w = Writer(db, journal, start=False, batch_size=1, backoff_initial_s=0.001, backoff_max_s=0.001)
    real, turns = w._write, [0]

    def by_turns(records: list[Any]) -> None:
        turns[0] += 1
        if turns[0] % 2:
            raise SQLAlchemyError("connection refused")
        real(records)

    monkeypatch.setattr(w, "_write", by_turns)
    records = make_records(12)
    with caplog.at_level("WARNING", logger="cc.store.writer"):
        for r in records:
            w.submit(r)
        w.start()
        assert w.flush(30)
        w.close()
    warnings = [r for r in caplog.records if "database unavailable" in r.getMessage()]
    assert turns[0] == 24 and len(warnings) == 1, (turns, [r.getMessage() for r in warnings])
    assert sorted(ids_in(db)) == sorted(r_id(r) for r in records)


@pytest.mark.timeout(60)
def test_records_submitted_during_an_outage_are_in_the_journal_at_once(
    tmp_path: Path, journal: Path, make_url_for: Callable[[str], str]
) -> None:
    """A kill -9 during a database outage loses at most the batch in hand and what was queued before the first
    failure: everything submitted after it is in the journal file (one write each) before submit returns."""
    down = Database(f"sqlite:///{tmp_path / 'nowhere' / 'x.db'}")
    before, during = make_records(5, prefix="b"), make_records(300, prefix="d")
    w = Writer(down, journal, batch_size=10, backoff_initial_s=0.01, backoff_max_s=0.05)
    for r in before:
        w.submit(r)
    wait_for(lambda: not w.stats().database_available)
    for r in during:
        w.submit(r)
    st = w.stats()
    assert st.queued + st.in_flight <= len(before) and st.journaled == len(during), st
    # kill -9 now: what a new process finds in the journal file, without this writer closing it
    assert journal.read_text().splitlines(keepends=True) == [encode_line(r) for r in during]
    db = Database(make_url_for("sqlite"))
    (tmp_path / "copy.journal").write_text(journal.read_text())   # the new process's replay, from a copy
    with Writer(db, tmp_path / "copy.journal") as w2:
        assert w2.flush(30)
    assert sorted(ids_in(db)) == sorted(r_id(r) for r in during)
    w.close(timeout=0.1)
    down.dispose()
    db.dispose()
