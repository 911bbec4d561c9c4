"""The engine's fast paths keep its state exact: a new member offered at once never enters the indexes,
one that waits is in them (and in the queue's line); the hand-filled frozen commands and events behave
like any frozen dataclass."""

from __future__ import annotations

import dataclasses
import random

import pytest

from cc.acd import (
    Acd,
    AgentAnswered,
    AgentStateChanged,
    CallEnded,
    Connect,
    Exit,
    MemberJoined,
    Offer,
)
from cc.acd.router import IndexedRouter
from cc.acd.state import MemberState
from cc.model import AgentState, AgentStatus, ExitReason

from .helpers import T0, Rig, apply_random, check_invariants, of_type, offers, random_config, random_event, simple


def check_indexes(acd: Acd) -> None:
    """The router's member groups and each queue's line hold exactly the waiting members."""
    router = acd.router
    assert isinstance(router, IndexedRouter)
    for q in acd.world.queues.values():
        waiting = {m.entry for m in q.members.values() if m.state is MemberState.WAITING}
        assert set(q.waiting) == waiting, q.name
        grouped: set[tuple[float, int, str]] = set()
        for group in router.groups.get(q.name, {}).values():
            live = list(group.ordered())
            assert len(live) == len(group) > 0
            grouped.update(live)
        assert grouped == waiting, q.name


def test_member_offered_at_once_never_enters_the_line() -> None:
    rig = Rig(*simple(2), login=True)
    out = rig.join("m1")
    assert [o.agent_id for o in offers(out)] == ["a0"]
    q = rig.acd.world.queues["q"]
    assert len(q.waiting) == 0 and rig.acd.position("m1") is None
    check_indexes(rig.acd)
    out = rig.send(AgentAnswered(offers(out)[0].offer_id, "a0"))
    assert of_type(out, Connect)[0].member_uuid == "m1"
    check_indexes(rig.acd)


def test_member_without_a_free_agent_waits_in_line_and_in_the_indexes() -> None:
    rig = Rig(*simple(1), login=True)
    rig.join("m1")
    assert offers(rig.join("m2")) == []
    assert rig.acd.position("m2") == 1
    check_indexes(rig.acd)
    rig.send(AgentAnswered(offers(rig.log)[0].offer_id, "a0"))
    out = rig.send(CallEnded("a0"))  # the freed agent takes m2 from the indexes
    assert [o.member_uuid for o in offers(out)] == ["m2"]
    check_indexes(rig.acd)


def test_member_whose_timer_is_due_at_once_takes_the_ordinary_path() -> None:
    rig = Rig(*simple(1, max_wait_s=0.0), login=False)
    out = rig.join("m1")
    assert [(e.member_uuid, e.reason) for e in of_type(out, Exit)] == [("m1", ExitReason.TIMEOUT)]
    assert rig.acd.member_queue("m1") is None
    check_indexes(rig.acd)


def test_member_joined_in_the_past_with_a_due_timer_and_a_free_agent() -> None:
    rig = Rig(*simple(1, max_wait_s=10.0), login=True)
    rig.clock.advance(60)
    out = rig.send(MemberJoined("m1", "q", joined_at=T0))  # its max wait fell due before it joined
    assert of_type(out, Exit) and not offers(out)
    check_indexes(rig.acd)


@pytest.mark.parametrize("seed", range(12))
def test_random_workloads_keep_the_indexes_exact_and_match_the_reference(seed: int) -> None:
    rng = random.Random(seed)
    cfg = random_config(rng)
    fast, ref = Rig(*cfg, seed=seed), Rig(*cfg, seed=seed, router="reference")
    fast.check = True
    counter = [0]
    for _ in range(250):
        kind, payload = random_event(rng, fast.acd, counter)
        got = apply_random(fast, kind, payload)
        want = apply_random(ref, kind, payload)
        assert got == want
        check_indexes(fast.acd)
    check_invariants(fast.acd, fast.clock.now(), [])


def test_hand_filled_commands_and_events_are_ordinary_frozen_dataclasses() -> None:
    s = AgentStateChanged("a1", AgentStatus.AVAILABLE, AgentState.IDLE, None, 5.0)
    assert s == AgentStateChanged(agent_id="a1", status=AgentStatus.AVAILABLE, state=AgentState.IDLE,
                                  reason=None, at=5.0)
    assert hash(s) == hash(dataclasses.replace(s))
    assert dataclasses.replace(s, at=6.0).at == 6.0
    assert repr(s).startswith("AgentStateChanged(agent_id='a1'")
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.at = 1.0  # type: ignore[misc]
    c = Connect("o1", "m1", "q", "a1", 2.5)
    assert c.number is None and dataclasses.asdict(c)["wait_s"] == 2.5
    assert Connect("o1", "m1", "q", "a1", 2.5, number="+1555") != c
    o = Offer("o1", "m1", "q", "a1", "user/a1", 30.0)
    assert dataclasses.astuple(o) == ("o1", "m1", "q", "a1", "user/a1", 30.0)
    assert CallEnded("a1").by == "caller" and CallEnded("a1", by="agent") != CallEnded("a1")
    assert AgentAnswered(offer_id="o1", agent_id="a1") == AgentAnswered("o1", "a1")
    with pytest.raises(TypeError):
        CallEnded()  # type: ignore[call-arg]


def test_queue_config_change_keeps_entries_in_step_with_keys() -> None:
    rig = Rig(*simple(1), login=True)
    rig.join("m0")  # takes the only agent
    rig.join("m1")
    rig.join("m2", priority=1)
    acd = rig.acd
    acd.set_queue(dataclasses.replace(acd.queue_config("q"), priority_weight=100.0), rig.clock.now())
    for m in acd.world.queues["q"].members.values():
        assert m.entry == (m.key, m.seq, m.uuid)
    assert acd.position("m2") == 1 and acd.position("m1") == 2
    check_indexes(acd)
