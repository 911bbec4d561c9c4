"""A stay taken over after kill -9: its ENTER line is in the queue log once, whether the killed process's writer
had stored it or not (tests/wire/test_restart_recovery.py lost one under load: OFFER, CONNECT, COMPLETE and no
ENTER); so is the CONNECT of a caller taken over while bridged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cc.clock import FakeClock
from cc.model import QueueEventType
from cc.runtime.history import History, connect_id
from cc.store.db import Database
from cc.store.repos import QueueCallRepo, QueueEventRepo
from cc.store.writer import Writer


class _Killed:
    """The killed process's writer: what it was handed had not reached the database."""

    def submit(self, record: Any) -> None:
        pass


class _Clock(FakeClock):
    scale = 1.0

    def real(self, seconds: float) -> float:
        return seconds


@pytest.mark.parametrize("stored", [False, True], ids=["lost", "stored"])
def test_a_resumed_stay_has_its_enter_once(db: Database, tmp_path: Path, stored: bool) -> None:
    clock = _Clock()
    joined = clock.now()
    with Writer(db, tmp_path / "first.journal") as first_writer:
        first = History(first_writer if stored else _Killed(), clock)
        enter_id = first.queue_event(QueueEventType.ENTER, "support", "m1", at=joined, detail="priority=5")
        assert first_writer.flush(30)
    clock.advance(30)
    with Writer(db, tmp_path / "second.journal") as writer:
        second = History(writer, clock)
        second.resume_stay(enter_id, "support", "m1", joined, detail="priority=5")
        second.queue_event(QueueEventType.OFFER, "support", "m1", agent_id="1001")
        clock.advance(1)
        second.queue_event(QueueEventType.CONNECT, "support", "m1", agent_id="1001", wait_s=31.0)
        clock.advance(59)
        second.queue_event(QueueEventType.COMPLETE_CALLER, "support", "m1", agent_id="1001", wait_s=31.0,
                           talk_s=60.0)
        assert second.flush() == 1   # the stay's QueueCall (a call's end would write it too)
        assert writer.flush(30)
    events = sorted(QueueEventRepo(db).scan(0, 4e9), key=lambda e: e.at)
    assert [e.type for e in events] == [QueueEventType.ENTER, QueueEventType.OFFER, QueueEventType.CONNECT,
                                        QueueEventType.COMPLETE_CALLER]
    assert (events[0].id, events[0].at, events[0].detail) == (enter_id, joined, "priority=5")
    rows = QueueCallRepo(db).for_member("m1")
    assert [(r.id, r.outcome) for r in rows] == [(enter_id, "answered")]


def test_a_stay_closed_from_the_store_does_not_write_its_enter_again() -> None:
    """``logged=True``: the ENTER came from the store; nothing is submitted for it."""
    submitted: list[Any] = []

    class _Sink:
        def submit(self, record: Any) -> None:
            submitted.append(record)

    clock = _Clock()
    History(_Sink(), clock).resume_stay("e1", "support", "m1", clock.now(), logged=True)
    assert submitted == []


@pytest.mark.parametrize("stored", [False, True], ids=["lost", "stored"])
def test_a_stay_taken_over_while_bridged_has_its_connect_once(db: Database, tmp_path: Path, stored: bool) -> None:
    """The killed process logged ENTER and CONNECT (the CONNECT under :func:`connect_id` of its ENTER and the
    bridge time it kept on the channel as ``cc_bridged``); the restarted one resumes the stay from those
    variables and ends it. The CONNECT is in the log once, with the first process's wait, lost or not."""
    clock = _Clock()
    joined = clock.now()
    clock.advance(12)
    bridged = clock.now()
    with Writer(db, tmp_path / "first.journal") as first_writer:
        first = History(first_writer if stored else _Killed(), clock)
        enter_id = first.queue_event(QueueEventType.ENTER, "support", "m1", at=joined, detail="priority=0")
        first.queue_event(QueueEventType.CONNECT, "support", "m1", agent_id="1001", wait_s=bridged - joined,
                          at=bridged, id_=connect_id(enter_id, bridged))
        assert first_writer.flush(30)
    clock.advance(40)
    with Writer(db, tmp_path / "second.journal") as writer:
        second = History(writer, clock)
        second.resume_stay(enter_id, "support", "m1", joined, agent_id="1001", connected_at=bridged,
                           detail="priority=0", bridged_mark=float(repr(bridged)))   # as read back from the channel
        second.queue_event(QueueEventType.COMPLETE_AGENT, "support", "m1", agent_id="1001",
                           wait_s=bridged - joined, talk_s=40.0, detail="recovered")
        assert second.flush() == 1
        assert writer.flush(30)
    events = sorted(QueueEventRepo(db).scan(0, 4e9), key=lambda e: e.at)
    assert [e.type for e in events] == [QueueEventType.ENTER, QueueEventType.CONNECT, QueueEventType.COMPLETE_AGENT]
    assert (events[1].id, events[1].at, events[1].agent_id, events[1].wait_s) == (
        connect_id(enter_id, bridged), bridged, "1001", 12.0)
    rows = QueueCallRepo(db).for_member("m1")
    assert [(r.id, r.outcome, r.agent_id) for r in rows] == [(enter_id, "answered", "1001")]
