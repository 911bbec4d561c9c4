"""The writer journal's size cap: alarms once at the high-water mark and at the cap, never drops a record,
comes back under the mark when the database takes the backlog (SQLite and PostgreSQL)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from cc.config import load_config, parse_size
from cc.errors import ConfigError, InvalidValue
from cc.store.db import Database
from cc.store.journal import Journal
from cc.store.writer import Writer

from .test_writer import ids_in, make_records, r_id


def wait_for(cond: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


@pytest.mark.timeout(60)
def test_a_full_journal_alarms_once_keeps_every_record_and_recovers(
        db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    down = [True]
    real_insert = Writer._insert

    def insert(self: Writer, grouped: Any) -> None:
        if down[0]:
            raise OperationalError("INSERT", {}, Exception("connection refused"))
        real_insert(self, grouped)

    monkeypatch.setattr(Writer, "_insert", insert)
    caplog.set_level(logging.INFO, logger="cc.store.journal")
    w = Writer(db, tmp_path / "j" / "writer.journal", max_queue=10, batch_size=20, backoff_initial_s=0.01,
               backoff_max_s=0.05, journal_max_bytes=20_000, journal_warn_share=0.5)
    records = make_records(400)
    levels = []
    for r in records:
        w.submit(r)
        levels.append(w.stats().journal_level)
    s = w.stats()
    assert levels[0] == "ok" and "high" in levels and levels[-1] == "full"
    assert w.journal_full and s.journal_bytes >= 20_000 and s.journal_max_bytes == 20_000
    assert s.backlog == 400, "nothing is dropped at the cap"
    alarms = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "cc.store.journal"]
    assert [lvl for lvl, _ in alarms] == ["WARNING", "ERROR"], alarms   # once each, not per record
    assert "past 50 % of its cap" in alarms[0][1] and "new calls are refused" in alarms[1][1]
    down[0] = False   # the database is back: the backlog goes in, the level comes back down
    assert w.flush(30)
    assert w.stats().journal_level == "ok" and not w.journal_full
    assert [r.levelname for r in caplog.records if r.name == "cc.store.journal"] == ["WARNING", "ERROR", "INFO"]
    assert w.close() == 0
    got = ids_in(db)
    assert sorted(got) == sorted(r_id(r) for r in records)


def test_a_journal_reopened_over_its_cap_says_so_at_once(tmp_path: Path) -> None:
    path = tmp_path / "writer.journal"
    path.write_text("x\n" * 1000)   # 2,000 bytes left by an earlier process, none replayed
    j = Journal(path, max_bytes=1_500)
    assert j.level == "full" and j.backlog_bytes == 2_000 and j.alarms == 1
    j.close()
    with pytest.raises(InvalidValue):
        Journal(tmp_path / "other.journal", max_bytes=0)


def test_the_journal_cap_is_read_from_cc_yaml() -> None:
    cfg = load_config(text="journal: {max_size: 256MiB, warn_at: 0.9}\n")
    assert cfg.journal.max_bytes == 256 << 20 and cfg.journal.warn_share == 0.9
    assert load_config(text="moh: x\n").journal.max_bytes == 1 << 30
    assert parse_size("2GB") == 2_000_000_000 and parse_size(4096) == 4096
    with pytest.raises(ConfigError) as e:
        load_config(text="journal: {max_size: lots, warn_at: 2, cap: 1}\n")
    for part in ("journal.max_size", "journal.warn_at", "cap"):
        assert part in str(e.value)
