"""Record <-> row <-> journal-line conversions, and the journal file on its own."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cc.errors import Conflict, InvalidValue
from cc.model import (
    AgentState,
    AgentStateEvent,
    AgentStatus,
    QueueEvent,
    QueueEventType,
    RecordingRecord,
)
from cc.store.codec import KINDS, decode_line, encode_line, kind_of
from cc.store.journal import Journal

texts = st.text(max_size=40)
times = st.floats(min_value=0, max_value=4e9, allow_nan=False)
opt_floats = st.none() | st.floats(min_value=0, max_value=1e6, allow_nan=False)

queue_events = st.builds(
    QueueEvent,
    id=texts,
    at=times,
    queue=texts,
    member_uuid=texts,
    type=st.sampled_from(QueueEventType),
    agent_id=st.none() | texts,
    wait_s=opt_floats,
    talk_s=opt_floats,
    detail=texts,
)
recordings = st.builds(
    RecordingRecord,
    uuid=texts,
    call_uuid=texts,
    path=texts,
    started_at=times,
    stopped_at=st.none() | times,
    duration_s=opt_floats,
    paused_spans=st.lists(st.tuples(times, times), max_size=3).map(tuple),
    size_bytes=st.none() | st.integers(0, 2**40),
    sha256=st.none() | st.text("0123456789abcdef", min_size=64, max_size=64),
)


@settings(max_examples=200, deadline=None)
@given(st.one_of(queue_events, recordings))
def test_journal_line_round_trip(record: object) -> None:
    line = encode_line(record)
    assert line.endswith("\n") and "\n" not in line[:-1]
    assert decode_line(line) == record


@settings(max_examples=100, deadline=None)
@given(queue_events)
def test_row_values_are_aware_utc_and_enums(record: QueueEvent) -> None:
    row = KINDS[QueueEvent].to_row(record)
    assert row["at"].tzinfo is datetime.UTC
    assert abs(row["at"].timestamp() - record.at) < 1e-5
    assert row["type"] is record.type


def test_bad_records_and_lines_name_the_problem() -> None:
    with pytest.raises(InvalidValue) as err:
        kind_of("not a record")
    assert err.value.field == "record" and err.value.value == "str"
    bad = AgentStateEvent("x", "yesterday", "a", AgentStatus.AVAILABLE, AgentState.IDLE)  # type: ignore[arg-type]
    with pytest.raises(InvalidValue) as err:
        KINDS[AgentStateEvent].to_row(bad)
    assert err.value.field == "agent_state_events.at" and err.value.value == "yesterday"
    for field, value in (("queue", 5), ("wait_s", "12"), ("detail", b"x"), ("id", True)):
        kwargs = {"id": "x", "at": 1.0, "queue": "q", "member_uuid": "m", "type": QueueEventType.ENTER, field: value}
        with pytest.raises(InvalidValue) as err:
            KINDS[QueueEvent].to_row(QueueEvent(**kwargs))  # type: ignore[arg-type]
        assert err.value.field == f"queue_events.{field}" and err.value.value == value
    for line in (
        "",
        "[]",
        '{"k":"nope","r":{}}',
        '{"k":"calls","r":[]}',
        '{"k":"queue_events","r":{"zz":1}}',
        '{"k":"agent_state_events","r":{"id":"x","at":1,"agent_id":"a","status":"dancing",'
        '"state":"idle","reason":null}}',
    ):
        with pytest.raises(InvalidValue):
            decode_line(line)


def _line(i: int) -> str:
    return encode_line(QueueEvent(f"e{i}", float(i), "q", "m", QueueEventType.ENTER))


def test_journal_append_replay_cursor_and_reset(tmp_path: Path) -> None:
    path = tmp_path / "j"
    j = Journal(path)
    for i in range(10):
        j.append(_line(i))
    assert j.pending == 10
    lines, end = j.read_batch(4)
    assert lines == [_line(i) for i in range(4)]
    j.commit(end, 4)
    assert j.pending == 6 and not j.exhausted()
    j.close()
    # a restart continues after the committed cursor
    j = Journal(path)
    assert j.pending == 6
    lines, end = j.read_batch(100)
    assert lines == [_line(i) for i in range(4, 10)]
    j.commit(end, len(lines))
    assert j.exhausted() and j.pending == 0
    j.reset()
    assert path.stat().st_size == 0 and not path.with_name("j.pos").exists()
    j.close()


def test_journal_prepend_puts_older_records_first(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j")
    for i in (5, 6, 7):
        j.append(_line(i))
    _, end = j.read_batch(1)
    j.commit(end, 1)  # e5 is in the database already
    j.prepend([_line(1), _line(2)])
    assert j.pending == 4
    assert j.read_batch(10)[0] == [_line(1), _line(2), _line(6), _line(7)]
    j.close()


def test_journal_is_exclusive_and_checks_its_policy(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j")
    with pytest.raises(Conflict):
        Journal(tmp_path / "j")
    j.close()
    Journal(tmp_path / "j").close()
    with pytest.raises(InvalidValue) as err:
        Journal(tmp_path / "k", fsync="sometimes")
    assert err.value.field == "fsync"


@pytest.mark.parametrize("policy", ["always", "interval", "never"])
def test_journal_fsync_policies_keep_lines(tmp_path: Path, policy: str) -> None:
    j = Journal(tmp_path / "j", fsync=policy)
    j.append(_line(1))
    j.sync()
    j.close()
    assert (tmp_path / "j").read_text() == _line(1)


def test_torn_tail_is_cut_and_kept_aside(tmp_path: Path) -> None:
    path = tmp_path / "j"
    path.write_text(_line(1) + _line(2)[:15])
    j = Journal(path)
    assert j.pending == 1 and j.rejected == 1
    assert path.read_text() == _line(1)
    assert "torn" in (tmp_path / "j.rejected").read_text()
    j.append(_line(3))
    assert j.read_batch(10)[0] == [_line(1), _line(3)]
    j.close()
