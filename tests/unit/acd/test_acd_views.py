"""Queries for the CLI and dashboards (snapshot, positions, EWT) and the router's building blocks."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from cc.acd import AgentAnswered, AgentLogin, AgentStatusChanged, CallbackRequested, CallEnded
from cc.acd.router import MemberHeap
from cc.acd.skills import match_score, satisfies, signature, step_at
from cc.model import AgentState, AgentStatus, SkillRequirement, SkillStep, Strategy

from .helpers import T0, Rig, offers, simple, step


def test_snapshot_members_agents_queues() -> None:
    rig = Rig(*simple(2, Strategy.TOP_DOWN, announce_interval_s=0))
    rig.send(AgentLogin("a0"))
    o = offers(rig.join("m0"))[0]
    rig.send(AgentAnswered(o.offer_id, "a0"))
    rig.clock.advance(10)
    rig.join("m1", priority=1)
    rig.clock.advance(5)
    rig.join("m2")
    rig.send(CallbackRequested("m2", "+15550001"))
    rig.send(AgentStatusChanged("a1", AgentStatus.ON_BREAK, "training"))
    rig.clock.advance(5)
    snap = rig.acd.snapshot(rig.clock.now())
    assert snap.at == T0 + 20 and (snap.joined, snap.connected, snap.exited) == (3, 1, 0)
    (q,) = snap.queues
    assert (q.name, q.waiting, q.offering, q.callbacks, q.staffed, q.free_agents) == ("q", 2, 0, 1, 1, 0)
    assert q.longest_wait_s == 10 and q.aht_s == 180 and q.ewt_new_s == 3 * 180
    m1, m2 = snap.members
    assert (m1.uuid, m1.position, m1.waited_s, m1.score, m1.ewt_s) == ("m1", 1, 10, 70, 180)
    assert (m2.uuid, m2.position, m2.callback_number) == ("m2", 2, "+15550001")
    a0, a1 = snap.agents
    assert (a0.state, a0.member_uuid, a0.in_state_s, a0.free) == (AgentState.IN_CALL, "m0", 20, False)
    assert (a1.status, a1.reason, a1.in_status_s) == (AgentStatus.ON_BREAK, "training", 5)
    assert rig.acd.ewt("m2") == 2 * 180
    rig.send(CallEnded("a0"))
    assert [m.state for m in rig.acd.members()] == ["waiting", "offering"]
    assert rig.acd.position("m1") is None


@given(ops=st.lists(st.tuples(st.booleans(), st.integers(0, 30)), max_size=200))
def test_member_heap_behaves_like_a_sorted_set(ops: list[tuple[bool, int]]) -> None:
    heap, model = MemberHeap(), set()
    for add, n in ops:
        entry = (float(n % 7), n, f"m{n}")
        if add and entry not in model:
            heap.add(entry)
            model.add(entry)
        elif not add and entry in model:
            heap.discard(entry)
            model.remove(entry)
        assert len(heap) == len(model)
        assert heap.head() == (min(model) if model else None)
        assert list(heap.ordered()) == sorted(model)


def test_member_heap_compacts_dead_entries() -> None:
    heap = MemberHeap()
    entries = [(float(i), i, f"m{i}") for i in range(1000)]
    for e in entries:
        heap.add(e)
    for e in entries[1:]:                      # the head stays alive: nothing would ever pop the rest
        heap.discard(e)
    assert len(heap) == 1 and len(heap._heap) < 200
    assert list(heap.ordered()) == [entries[0]]


def test_skill_helpers() -> None:
    sig = signature([SkillRequirement("b", ">=", 5), SkillRequirement("a", "<", 3), SkillRequirement("b", ">=", 5)])
    assert sig == (("a", "<", 3), ("b", ">=", 5))
    assert satisfies({"a": 2, "b": 5}, sig) and not satisfies({"a": 3, "b": 9}, sig)
    assert not satisfies({"b": 9}, sig)                       # missing skill
    assert match_score({"a": 2, "b": 7}, sig) == 9
    steps = (step(30, a=">=7"), step(60, a=">=3"), SkillStep())
    assert step_at(steps, 100.0, 100.0) == (0, 130.0)
    assert step_at(steps, 100.0, 130.0) == (1, 190.0)
    assert step_at(steps, 100.0, 10_000.0) == (2, None)
    assert step_at((), 0.0, 5.0) == (0, None)
    assert step_at((step(5, a=">=1"),), 0.0, 50.0) == (0, None)    # the last step never relaxes


def test_random_strategy_decisions_are_reproducible_end_to_end() -> None:
    def run(seed: int) -> list[str]:
        rig = Rig(*simple(6, Strategy.RANDOM, announce_interval_s=0), seed=seed, login=True)
        picks = []
        rng = random.Random(1)
        for i in range(30):
            o = offers(rig.join(f"m{i}"))[0]
            picks.append(o.agent_id)
            rig.send(AgentAnswered(o.offer_id, o.agent_id))
            rig.clock.advance(rng.random())
            rig.send(CallEnded(o.agent_id))
        return picks
    assert run(3) == run(3)
    assert run(3) != run(4)


def test_lookups() -> None:
    rig = Rig(*simple(1))
    rig.join("m")
    assert rig.acd.has_queue("q") and not rig.acd.has_queue("x")
    assert rig.acd.has_agent("a0") and not rig.acd.has_agent("zz")
    assert rig.acd.queue_config("q").name == "q" and rig.acd.agent_config("a0").id == "a0"
    assert rig.acd.member_queue("m") == "q" and rig.acd.member_queue("nope") is None
