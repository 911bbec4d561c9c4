"""QueueCallSummarizer: when a stay's QueueCall is written (live) and what it holds."""

from __future__ import annotations

import datetime
import itertools
import random

import pytest

from cc.model import AgentState, AgentStateEvent, AgentStatus, QueueEvent
from cc.model import QueueEventType as Q
from cc.reports import Bucketer, QueueReport
from cc.reports.summary import DONE_KEEP_S, WRAP_MATCH_S, QueueCallSummarizer

T0 = datetime.datetime(2026, 11, 23, 10, 0, tzinfo=datetime.UTC).timestamp()
_ids = itertools.count()
A = AgentStatus.AVAILABLE


def qe(at: float, member: str, typ: Q, *, agent: str | None = None, wait: float | None = None,
       talk: float | None = None, detail: str = "", queue: str = "sales") -> QueueEvent:
    return QueueEvent(f"q{next(_ids):05d}", at, queue, member, typ, agent, wait, talk, detail)


def ae(at: float, agent: str, state: AgentState, status: AgentStatus = A) -> AgentStateEvent:
    return AgentStateEvent(f"a{next(_ids):05d}", at, agent, status, state)


def run(s: QueueCallSummarizer, events: list[QueueEvent | AgentStateEvent]) -> list[list[str]]:
    """What each fed line made the summarizer write: one list of member ids per line."""
    return [[c.member_uuid for c in s.feed(ev)] for ev in events]


def test_abandon_and_exit_are_written_at_once_and_forgotten() -> None:
    s = QueueCallSummarizer()
    out = run(s, [qe(T0, "c1", Q.ENTER), qe(T0 + 1, "c2", Q.ENTER),
                  qe(T0 + 9, "c1", Q.ABANDON, wait=9), qe(T0 + 301, "c2", Q.EXIT_TIMEOUT, wait=300)])
    assert out == [[], [], ["c1"], ["c2"]]
    assert len(s) == 0
    assert s.flush() == []


def test_answered_call_waits_for_its_wrap_up_then_carries_it() -> None:
    s = QueueCallSummarizer()
    evs = [qe(T0, "c1", Q.ENTER), ae(T0 + 5, "1001", AgentState.RINGING),
           qe(T0 + 8, "c1", Q.CONNECT, agent="1001", wait=8),
           ae(T0 + 8, "1001", AgentState.IN_CALL),
           qe(T0 + 108, "c1", Q.COMPLETE_AGENT, agent="1001", wait=8, talk=100),
           ae(T0 + 108, "1001", AgentState.WRAP_UP)]
    assert run(s, evs) == [[]] * 6   # ended, but its wrap-up is still running
    (c,) = s.feed(ae(T0 + 138, "1001", AgentState.IDLE))
    assert (c.outcome, c.agent_id, c.answered, c.answer_wait_s, c.handled, c.talk_s, c.wrap_s) == (
        "answered", "1001", 1, 8, 1, 100, 30)
    assert c.ended_at == T0 + 108 and c.waits == 1 and c.max_wait_s == 8 and c.abandon_wait_s is None
    # a TRANSFER logged after the call (the flow went on) rewrites the row; the call's end makes it final
    (c2,) = s.feed(qe(T0 + 140, "c1", Q.TRANSFER, agent="1001"))
    assert c2.transfers == 1 and c2.id == c.id and c2.wrap_s == 30
    assert s.call_ended("c1") == []   # nothing changed since
    assert len(s) == 0


def test_without_wrap_up_the_call_is_written_once_the_match_window_passed() -> None:
    s = QueueCallSummarizer()
    run(s, [qe(T0, "c1", Q.ENTER), qe(T0 + 2, "c1", Q.CONNECT, agent="1001", wait=2),
            qe(T0 + 50, "c1", Q.COMPLETE_CALLER, agent="1001", wait=2, talk=48), ae(T0 + 50, "1001", AgentState.IDLE)])
    assert s.feed(qe(T0 + 50 + WRAP_MATCH_S, "x", Q.ENTER)) == []   # a wrap-up could still begin
    (c,) = s.feed(qe(T0 + 51 + WRAP_MATCH_S, "y", Q.ENTER))
    assert c.member_uuid == "c1" and c.wrap_s == 0 and c.talk_s == 48


def test_a_newer_call_of_the_agent_takes_the_wrap_up() -> None:
    s = QueueCallSummarizer()
    out = run(s, [qe(T0, "c1", Q.ENTER), qe(T0 + 1, "c1", Q.CONNECT, agent="1001", wait=1),
                  qe(T0 + 10, "c1", Q.COMPLETE_AGENT, agent="1001", talk=9),
                  qe(T0 + 11, "c2", Q.ENTER), qe(T0 + 12, "c2", Q.CONNECT, agent="1001", wait=1),
                  qe(T0 + 20, "c2", Q.COMPLETE_AGENT, agent="1001", talk=8),
                  ae(T0 + 20, "1001", AgentState.WRAP_UP), ae(T0 + 25, "1001", AgentState.IDLE)])
    assert out[5] == ["c1"] and out[7] == ["c2"]


def test_callback_is_written_when_completed_and_its_wrap_up_known() -> None:
    s = QueueCallSummarizer()
    out = run(s, [qe(T0, "c1", Q.ENTER), qe(T0 + 60, "c1", Q.CALLBACK_REQUESTED, wait=60),
                  qe(T0 + 400, "c1", Q.CONNECT, agent="1002", wait=300, detail="callback"),
                  qe(T0 + 500, "c1", Q.COMPLETE_AGENT, agent="1002", talk=100, detail="callback"),
                  qe(T0 + 500, "c1", Q.CALLBACK_COMPLETED, agent="1002", talk=100),
                  ae(T0 + 500, "1002", AgentState.WRAP_UP), ae(T0 + 510, "1002", AgentState.IDLE)])
    assert out == [[]] * 6 + [["c1"]]
    assert len(s) == 0


def test_failed_callback_is_written_at_once() -> None:
    s = QueueCallSummarizer()
    out = run(s, [qe(T0, "c1", Q.ENTER), qe(T0 + 60, "c1", Q.CALLBACK_REQUESTED, wait=60),
                  qe(T0 + 400, "c1", Q.CALLBACK_FAILED, agent="1002", detail="-ERR USER_BUSY")])
    assert out[2] == ["c1"]


def test_flush_writes_waiting_calls_as_they_stand() -> None:
    s = QueueCallSummarizer()
    run(s, [qe(T0, "c1", Q.ENTER), qe(T0 + 3, "c2", Q.ENTER), qe(T0 + 5, "c2", Q.CONNECT, agent="1", wait=2)])
    got = {c.member_uuid: c for c in s.flush()}
    assert got["c1"].outcome == "" and got["c1"].ended_at is None
    assert got["c2"].outcome == "answered" and got["c2"].handled == 0
    assert len(s) == 0


def test_completed_calls_are_forgotten_after_the_late_transfer_window() -> None:
    s = QueueCallSummarizer(live=False)
    run(s, [qe(T0, "c1", Q.ENTER), qe(T0 + 1, "c1", Q.CONNECT, agent="1", wait=1),
            qe(T0 + 2, "c1", Q.COMPLETE_AGENT, agent="1", talk=1)])
    assert "c1" in s.done
    later = T0 + 3 + DONE_KEEP_S
    out = run(s, [qe(later, "d1", Q.ENTER), qe(later + 1, "d1", Q.CONNECT, agent="2", wait=1),
                  qe(later + 2, "d1", Q.COMPLETE_AGENT, agent="2", talk=1)])
    assert out[2] == ["c1"]   # final: written once, in the non-live mode
    assert "c1" not in s.done


@pytest.mark.parametrize("seed", range(5))
def test_live_rows_upserted_by_id_equal_the_final_ones(seed: int) -> None:
    """Random histories: the last row written live for each stay = the row written once, at the end."""
    rng = random.Random(seed)
    evs: list[QueueEvent | AgentStateEvent] = []
    free_at = {f"{i}": T0 for i in range(4)}
    for n in range(300):
        t = T0 + n * 7 + rng.random()
        m = f"c{n}"
        evs.append(qe(t, m, Q.ENTER))
        u = rng.random()
        wait = rng.uniform(0, 60)
        if u < 0.2:
            evs.append(qe(t + wait, m, Q.ABANDON, wait=wait))
            continue
        agent = min(free_at, key=lambda a: free_at[a])
        start = max(t + wait, free_at[agent])
        talk = rng.uniform(5, 40)
        wrap = rng.choice([0, 0, 5, 20])
        evs += [qe(start, m, Q.CONNECT, agent=agent, wait=start - t), ae(start, agent, AgentState.IN_CALL),
                qe(start + talk, m, Q.COMPLETE_AGENT, agent=agent, talk=talk)]
        if wrap:
            evs += [ae(start + talk, agent, AgentState.WRAP_UP), ae(start + talk + wrap, agent, AgentState.IDLE)]
        else:
            evs.append(ae(start + talk, agent, AgentState.IDLE))
        if rng.random() < 0.1:
            evs.append(qe(start + talk + wrap + 1, m, Q.TRANSFER, agent=agent))
        free_at[agent] = start + talk + wrap + 0.5
    evs.sort(key=lambda e: e.at)
    live = QueueCallSummarizer(live=True)
    rows = {}
    for ev in evs:
        for c in live.feed(ev):
            rows[c.id] = c
    for c in live.flush():
        rows[c.id] = c
    final = {c.id: c for c in QueueCallSummarizer(live=False).feed_all(evs)}
    assert rows == final and len(final) == 300
    # and QueueReport (which sums the same records) sees every call
    r = QueueReport(Bucketer("all", datetime.UTC), T0, T0 + 86400).feed_all(evs)
    (row,) = r.rows()
    assert row["offered"] == 300 and row["wrap_s"] == pytest.approx(sum(c.wrap_s for c in final.values()))


def test_a_call_not_followed_still_takes_the_agents_wrap_up() -> None:
    """A queue filter (or a window start) hides a call; its COMPLETE still ends the earlier call's claim."""
    s = QueueCallSummarizer(live=False, accept=lambda ev: ev.queue == "sales")
    got = list(s.feed_all([
        qe(T0, "c1", Q.ENTER), qe(T0 + 1, "c1", Q.CONNECT, agent="1001", wait=1),
        qe(T0 + 10, "c1", Q.COMPLETE_AGENT, agent="1001", talk=9), ae(T0 + 10, "1001", AgentState.IDLE),
        qe(T0 + 11, "s1", Q.ENTER, queue="support"), qe(T0 + 12, "s1", Q.CONNECT, agent="1001", wait=1,
                                                         queue="support"),
        qe(T0 + 20, "s1", Q.COMPLETE_AGENT, agent="1001", talk=8, queue="support"),
        ae(T0 + 20, "1001", AgentState.WRAP_UP), ae(T0 + 50, "1001", AgentState.IDLE)]))
    assert [(c.member_uuid, c.wrap_s) for c in got] == [("c1", 0.0)]


def test_the_call_ending_before_the_agents_wrap_up_does_not_cut_the_wrap_up_off() -> None:
    s = QueueCallSummarizer()
    run(s, [qe(T0, "c1", Q.ENTER), qe(T0 + 2, "c1", Q.CONNECT, agent="1001", wait=2),
            qe(T0 + 50, "c1", Q.COMPLETE_AGENT, agent="1001", talk=48), ae(T0 + 50, "1001", AgentState.WRAP_UP)])
    assert s.call_ended("c1") == []   # the caller's channel is gone; the agent is still wrapping up
    (c,) = s.feed(ae(T0 + 80, "1001", AgentState.IDLE))
    assert c.wrap_s == 30 and len(s) == 0


def test_a_transferred_call_keeps_both_stays_in_a_backfill() -> None:
    """An agent's transfer ends his stay (COMPLETE_AGENT transfer, TRANSFER) and the call enters again: the
    backfill (not live) writes both stays, the first one with its transfer and its agent's wrap-up."""
    s = QueueCallSummarizer(live=False)
    evs = [qe(T0, "c1", Q.ENTER), qe(T0 + 5, "c1", Q.CONNECT, agent="1001", wait=5),
           ae(T0 + 5, "1001", AgentState.IN_CALL),
           qe(T0 + 65, "c1", Q.TRANSFER, agent="1001", detail="agent 1002"),
           qe(T0 + 65, "c1", Q.COMPLETE_AGENT, agent="1001", wait=5, talk=60, detail="transfer"),
           ae(T0 + 65, "1001", AgentState.WRAP_UP), qe(T0 + 66, "c1", Q.ENTER, detail="transfer"),
           qe(T0 + 70, "c1", Q.CONNECT, agent="1002", wait=4, detail="transfer"),
           ae(T0 + 95, "1001", AgentState.IDLE),
           qe(T0 + 170, "c1", Q.COMPLETE_AGENT, agent="1002", wait=4, talk=100)]
    out = [c for ev in evs for c in s.feed(ev)] + s.flush()
    assert [(c.agent_id, c.outcome, c.talk_s, c.transfers, c.wrap_s) for c in out] == [
        ("1001", "answered", 60, 1, 30), ("1002", "answered", 100, 0, 0)]
