"""The engine's fast paths keep its state exact: a new member offered at once never enters the indexes,
one that waits is in them (and in the queue's line); the hand-filled frozen commands and events behave
like any frozen dataclass."""

from __future__ import annotations

import dataclasses
import random
from typing import Any

import pytest

from cc.acd import (
    Acd,
    AgentAnswered,
    AgentStateChanged,
    CallEnded,
    CancelOffer,
    Connect,
    Exit,
    MemberJoined,
    Offer,
    OfferCallback,
)
from cc.acd.commands import AcdCommand
from cc.acd.router import IndexedRouter
from cc.acd.state import MemberState
from cc.model import AgentState, AgentStatus, ExitReason, Strategy

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
    j = MemberJoined("m1", "q")
    assert j == MemberJoined(member_uuid="m1", queue="q", priority=0, skill_steps=(), caller={}, joined_at=None)
    assert j.caller == {} and j.caller is not MemberJoined("m2", "q").caller
    assert dataclasses.replace(j, priority=2) == MemberJoined("m1", "q", 2)
    assert repr(j) == "MemberJoined(member_uuid='m1', queue='q', priority=0, skill_steps=(), caller={}, joined_at=None)"
    with pytest.raises(dataclasses.FrozenInstanceError):
        j.queue = "x"  # type: ignore[misc]
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


class AnsweringRig(Rig):
    """A controller whose agents answer at once: after each step it sends AgentAnswered, at the same time,
    for the first offer each member got (a ring-all member's other offers are then cancelled)."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        self.seen: set[str] = set()
        super().__init__(*args, **kw)

    def send(self, event: Any) -> list[AcdCommand]:
        out = super().send(event)
        return out + self.answer(out)

    def answer(self, out: list[AcdCommand]) -> list[AcdCommand]:
        """Answer the offers in ``out`` not answered yet (the first of each member)."""
        members: set[str] = set()
        extra: list[AcdCommand] = []
        for c in out:
            if isinstance(c, Offer | OfferCallback) and c.offer_id not in self.seen:
                self.seen.add(c.offer_id)
                if c.member_uuid not in members:
                    members.add(c.member_uuid)
                    extra += self.send(AgentAnswered(c.offer_id, c.agent_id))
        return extra


def test_answer_at_once_connects_in_the_step_that_offers() -> None:
    rig = Rig(*simple(2), login=True, answer_at_once=True)
    out = rig.join("m1")
    assert [type(c) for c in out] == [AgentStateChanged, Offer, AgentStateChanged, Connect]
    offer, connect = out[1], out[3]
    assert isinstance(offer, Offer) and isinstance(connect, Connect)
    assert (connect.offer_id, connect.member_uuid, connect.agent_id, connect.wait_s) == (offer.offer_id, "m1",
                                                                                        "a0", 0.0)
    assert rig.acd.world.agents["a0"].state is AgentState.IN_CALL and rig.acd.member_queue("m1") is None
    assert rig.acd.next_wakeup() is None  # no offer timer was left behind
    # a member who waits is connected as soon as an agent is free
    rig.join("m2")
    assert offers(rig.join("m3")) == [] and rig.acd.position("m3") == 1
    out = rig.send(CallEnded("a0"))
    assert [c.member_uuid for c in of_type(out, Connect)] == ["m3"]
    # an answer sent anyway is stale: the offer was answered already
    assert of_type(rig.send(AgentAnswered(offer.offer_id, "a0")), CancelOffer)[0].reason == "too-late"


def test_answer_at_once_ring_all_first_agent_takes_the_call() -> None:
    rig = Rig(*simple(3, Strategy.RING_ALL), login=True, answer_at_once=True)
    out = rig.join("m1")
    assert [o.agent_id for o in offers(out)] == ["a0", "a1", "a2"]
    assert [c.agent_id for c in of_type(out, Connect)] == ["a0"]
    assert sorted(c.agent_id for c in of_type(out, CancelOffer)) == ["a1", "a2"]
    assert [a.free for a in rig.acd.world.agents.values()] == [False, True, True]


def _at_once_vs_answering(seed: int) -> int:
    rng = random.Random(seed)
    cfg = random_config(rng)
    fast = Rig(*cfg, seed=seed, answer_at_once=True)
    plain = AnsweringRig(*cfg, seed=seed)
    fast.check = True
    counter = [0]
    connects = 0
    for _ in range(250):
        kind, payload = random_event(rng, fast.acd, counter)
        got = apply_random(fast, kind, payload)
        want = apply_random(plain, kind, payload)
        want += plain.answer(want)  # configuration changes do not go through ``send``
        assert sorted(map(repr, got)) == sorted(map(repr, want)), (seed, kind, payload)
        assert fast.acd.snapshot() == plain.acd.snapshot()
        assert not fast.acd._offers
        connects += len(of_type(got, Connect))
    check_indexes(fast.acd)
    return connects


@pytest.mark.parametrize("block", range(3))
def test_answer_at_once_equals_answering_every_first_offer_at_once(block: int) -> None:
    assert sum(_at_once_vs_answering(seed) for seed in range(block * 10, block * 10 + 10)) > 100


@pytest.mark.parametrize("at_once", [False, True])
def test_without_agent_state_commands_everything_else_is_the_same(at_once: bool) -> None:
    states = 0
    for seed in range(12):
        rng = random.Random(seed)
        cfg = random_config(rng)
        quiet = Rig(*cfg, seed=seed, answer_at_once=at_once, agent_state_commands=False)
        full = Rig(*cfg, seed=seed, answer_at_once=at_once)
        counter = [0]
        for _ in range(250):
            kind, payload = random_event(rng, full.acd, counter)
            got = apply_random(quiet, kind, payload)
            want = apply_random(full, kind, payload)
            states += len(of_type(want, AgentStateChanged))
            assert got == [c for c in want if not isinstance(c, AgentStateChanged)], (seed, kind, payload)
            assert quiet.acd.snapshot() == full.acd.snapshot()
    assert states > 500
