"""The wallboard's board (cc.web.wallboard.board_of) from a controller's live views and the store's figures, and a
page that falls behind keeping only the latest boards."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from cc.acd.views import AgentView, QueueView
from cc.model import AgentState, AgentStatus, Strategy
from cc.store.repos import QueueStats
from cc.web.wallboard import _Page, agent_bucket, board_of


def _agent(aid: str, status: AgentStatus, state: AgentState, queues: tuple[str, ...] = ("support",)) -> AgentView:
    return AgentView(aid, status, state, None, 1.0, 1.0, False, 0.0, 0, 0.0, 0, None, queues)


def _ctl(agents: list[AgentView], waiting: int = 2, longest: float = 42.0) -> Any:
    queue = QueueView("support", Strategy.LONGEST_IDLE_AGENT, waiting, 0, 0, 3, 1, longest, 0.0, None)
    acd = SimpleNamespace(agents=lambda now: agents, queues=lambda now: [queue])
    return SimpleNamespace(acd=acd, clock=SimpleNamespace(now=lambda: 1000.0))


def test_agents_by_state_and_todays_figures() -> None:
    a, s = AgentStatus, AgentState
    agents = [_agent("1", a.AVAILABLE, s.IDLE), _agent("2", a.AVAILABLE, s.IN_CALL), _agent("3", a.ON_BREAK, s.IDLE),
              _agent("4", a.AVAILABLE, s.WRAP_UP), _agent("5", a.AVAILABLE, s.RINGING),
              _agent("6", a.LOGGED_OUT, s.IDLE), _agent("7", a.AVAILABLE, s.IDLE, ("sales",))]
    stats = {"support": QueueStats("support", offered=10, answered=8, abandoned=2, answered_within_sl=6)}
    board = board_of(_ctl(agents), stats, (), seq=3, event_at=99.5)
    (line,) = board.queues
    assert (line.waiting, line.longest_wait_s, line.offered, line.answered, line.abandoned) == (2, 42.0, 10, 8, 2)
    assert line.service_level == 0.6
    assert (line.agents.ready, line.agents.in_call, line.agents.not_ready, line.agents.wrap_up,
            line.agents.ringing) == (1, 1, 1, 1, 1)
    assert (board.seq, board.at, board.event_at) == (3, 1000.0, 99.5)


def test_unknown_figures_until_the_store_answers_then_zero_for_a_quiet_queue() -> None:
    ctl = _ctl([], waiting=0, longest=17.0)
    before = board_of(ctl, None, (), seq=1).queues[0]
    assert (before.offered, before.abandoned, before.service_level, before.longest_wait_s) == (None, None, None, 0.0)
    after = board_of(ctl, {}, (), seq=2).queues[0]
    assert (after.offered, after.answered, after.abandoned, after.service_level) == (0, 0, 0, None)


def test_logged_out_agents_are_not_counted() -> None:
    assert agent_bucket(AgentStatus.LOGGED_OUT, AgentState.IN_CALL) is None
    assert agent_bucket(AgentStatus.ON_BREAK, AgentState.IN_CALL) == "in_call"


def test_a_slow_page_keeps_the_latest_boards_only() -> None:
    page = _Page("en")
    for i in range(10):
        page.offer(f"board {i}".encode())
    got = [page.queue.get_nowait() for _ in range(page.queue.qsize())]
    assert got == [b"board 6", b"board 7", b"board 8", b"board 9"]
