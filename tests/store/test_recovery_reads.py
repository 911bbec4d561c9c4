"""The start-up recovery reads the calls left open only after the writer replayed the old journal."""

from __future__ import annotations

import types
from pathlib import Path

import pytest

import cc.service
from cc.model import CallDirection, CallRecord
from cc.service import Service
from cc.store.codec import encode_line
from cc.store.db import Database
from cc.store.writer import Writer


def _open_calls(db: Database, writer: Writer) -> list[str]:
    stub = types.SimpleNamespace(db=db, writer=writer)
    return [c.uuid for c, _ in Service._open_calls(stub, ["sim1"], 0.0, 4e9)]   # type: ignore[arg-type]


def test_an_end_waiting_in_the_journal_is_not_taken_for_an_open_call(db: Database, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    start = CallRecord("c1", CallDirection.INBOUND, "15550000001", "7000", 100.0, node="sim1", answered_at=101.0)
    first = Writer(db, tmp_path / "first.jsonl")
    first.start()
    first.submit(start)
    assert first.flush(10)
    first.close()
    # the killed process had the call's end in its journal only
    journal = tmp_path / "journal.jsonl"
    end = CallRecord("c1", CallDirection.INBOUND, "15550000001", "7000", 100.0, node="sim1", answered_at=101.0,
                     ended_at=160.0, hangup_cause="NORMAL_CLEARING", disposition="answered")
    journal.write_text(encode_line(end) + "\n", encoding="utf-8")

    monkeypatch.setattr(cc.service, "OPEN_CALLS_FLUSH_S", 0.2)   # short for the writer that never drains
    stuck = Writer(db, journal)            # not started: like a database that does not answer yet
    assert _open_calls(db, stuck) == [], "rows are not trusted while the old journal is not replayed"
    stuck.close(timeout=0.1)
    monkeypatch.undo()
    replaying = Writer(db, journal)
    replaying.start()
    try:
        assert _open_calls(db, replaying) == [], "the journal's end was replayed before the rows were read"
    finally:
        replaying.close()
