"""The agent state table, tested for every (state, event) pair."""

from __future__ import annotations

import itertools

import pytest

from cc.acd.agent_state import TABLE, AgentEvent, transition
from cc.errors import AcdError, InvalidTransition
from cc.model import AgentState as S

E = AgentEvent

EXPECTED = {
    (S.IDLE, E.RESERVE): S.RESERVED,
    (S.RESERVED, E.RING): S.RINGING,
    (S.RESERVED, E.ANSWER): S.IN_CALL,
    (S.RINGING, E.ANSWER): S.IN_CALL,
    (S.IN_CALL, E.HANGUP): S.WRAP_UP,
    (S.IDLE, E.ADOPT): S.IN_CALL,
    (S.WRAP_UP, E.WRAP_DONE): S.IDLE,
    **{(s, e): S.IDLE for s in (S.RESERVED, S.RINGING) for e in (E.NO_ANSWER, E.BUSY, E.REJECT, E.CANCEL)},
}


@pytest.mark.parametrize(("state", "event"), list(itertools.product(S, E)))
def test_every_pair(state: S, event: AgentEvent) -> None:
    if (state, event) in EXPECTED:
        assert transition(state, event) is EXPECTED[(state, event)]
    else:
        with pytest.raises(InvalidTransition) as info:
            transition(state, event, "a1")
        assert isinstance(info.value, AcdError)
        assert info.value.state is state and info.value.event is event and info.value.agent == "a1"


def test_table_is_exactly_the_expected_rows() -> None:
    assert TABLE == EXPECTED


def test_every_state_is_reachable_and_can_return_to_idle() -> None:
    reachable = {S.IDLE}
    frontier = [S.IDLE]
    while frontier:
        s = frontier.pop()
        for (src, _e), dst in TABLE.items():
            if src is s and dst not in reachable:
                reachable.add(dst)
                frontier.append(dst)
    assert reachable == set(S)
    for s in S:
        seen, todo = {s}, [s]
        while todo:
            cur = todo.pop()
            for (src, _e), dst in TABLE.items():
                if src is cur and dst not in seen:
                    seen.add(dst)
                    todo.append(dst)
        assert S.IDLE in seen, s
