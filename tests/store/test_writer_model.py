"""Property: whatever the schedule of outages and restarts, every submitted record ends up stored exactly
once, and for calls the last version submitted wins (SQLite, outages injected at connect time)."""

from __future__ import annotations

import dataclasses
import shutil
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, event
from sqlalchemy.pool import NullPool

from cc.model import CallDirection, CallRecord, QueueEvent, QueueEventType
from cc.store.db import Database
from cc.store.repos import Repos
from cc.store.writer import Writer

from .test_writer import ids_in

T0 = 1_767_225_600.0

ops = st.lists(
    st.one_of(
        st.tuples(st.just("submit"), st.integers(1, 40)),
        st.tuples(st.just("call"), st.integers(0, 4)),
        st.tuples(st.sampled_from(["down", "up", "restart", "flush"]), st.just(0)),
    ),
    min_size=1,
    max_size=25,
)


class Flaky:
    """A SQLite database whose connections fail (OperationalError) while ``down`` is set."""

    def __init__(self, path: Path) -> None:
        self.down = False
        self.engine = create_engine(f"sqlite:///{path}", poolclass=NullPool)

        @event.listens_for(self.engine, "do_connect")
        def refuse(dialect: Any, conn_rec: Any, cargs: Any, cparams: Any) -> None:
            if self.down:
                raise sqlite3.OperationalError("simulated outage")


@pytest.mark.timeout(120)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(schedule=ops)
def test_any_outage_schedule_stores_everything_once(
    schedule: list[tuple[str, int]], sqlite_template: Path, tmp_path: Path
) -> None:
    run = tmp_path / uuid.uuid4().hex[:8]
    run.mkdir()
    shutil.copy(sqlite_template, run / "cc.db")
    flaky = Flaky(run / "cc.db")
    db = Database(engine=flaky.engine)
    journal = run / "j"

    def new_writer() -> Writer:
        return Writer(
            db, journal, max_queue=7, batch_size=5, backoff_initial_s=0.001, backoff_max_s=0.01, fsync="never"
        )

    w = new_writer()
    expected: set[str] = set()
    last_call: dict[str, CallRecord] = {}
    n = 0
    for op, arg in schedule:
        if op == "submit":
            for _ in range(arg):
                n += 1
                rec = QueueEvent(f"e{n}", T0 + n, "q", "m", QueueEventType.ENTER)
                w.submit(rec)
                w.submit(rec)  # duplicates are harmless
                expected.add(rec.id)
        elif op == "call":
            n += 1
            key = f"call{arg}"
            base = last_call.get(key) or CallRecord(key, CallDirection.INBOUND, "1", "2", T0)
            version = dataclasses.replace(base, disposition=f"v{n}", ended_at=T0 + n)
            w.submit(version)
            last_call[key] = version
            expected.add(key)
        elif op == "down":
            flaky.down = True
        elif op == "up":
            flaky.down = False
        elif op == "restart":
            w.close(timeout=0.0)
            w = new_writer()
        elif op == "flush":
            w.flush(0.05)
    flaky.down = False
    assert w.flush(30), w.stats()
    assert w.close() == 0
    got = ids_in(db)
    assert len(got) == len(set(got))
    assert set(got) == expected
    repos = Repos(db)
    for key, version in last_call.items():
        assert repos.calls.get(key) == version
    db.dispose()
