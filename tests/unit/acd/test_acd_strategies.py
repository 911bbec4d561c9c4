"""One test per strategy: which free agent a waiting member is offered to."""

from __future__ import annotations

import pytest

from cc.acd import (
    AgentAnswered,
    AgentLogin,
    AgentNoAnswer,
    AgentRejected,
    CallbackRequested,
    CallEnded,
    CancelOffer,
    Connect,
    MemberJoined,
    OfferCallback,
)
from cc.model import Agent, AgentState, QueueConfig, Strategy, Tier

from .helpers import Rig, offers, simple, step

ROUTERS = ["indexed", "reference"]


def talk(rig: Rig, member: str, seconds: float = 10.0) -> str:
    """Join a member, answer its offer, talk, hang up; return the agent that took it."""
    out = rig.join(member)
    (o,) = offers(out)
    rig.send(AgentAnswered(o.offer_id, o.agent_id))
    rig.clock.advance(seconds)
    rig.send(CallEnded(o.agent_id))
    return o.agent_id


@pytest.mark.parametrize("router", ROUTERS)
def test_longest_idle_agent(router: str) -> None:
    rig = Rig(*simple(3), router=router)
    for a in ("a2", "a0", "a1"):                 # become free in this order, one second apart
        rig.send(AgentLogin(a))
        rig.clock.advance(1)
    assert talk(rig, "m1") == "a2"
    assert talk(rig, "m2") == "a0"
    assert talk(rig, "m3") == "a1"
    assert talk(rig, "m4") == "a2"                 # a2 became free first after its call


@pytest.mark.parametrize("router", ROUTERS)
def test_round_robin_remembers_its_place(router: str) -> None:
    rig = Rig(*simple(3, Strategy.ROUND_ROBIN), router=router, login=True)
    assert [talk(rig, f"m{i}") for i in range(5)] == ["a0", "a1", "a2", "a0", "a1"]


@pytest.mark.parametrize("router", ROUTERS)
def test_top_down_always_starts_at_the_top(router: str) -> None:
    rig = Rig(*simple(3, Strategy.TOP_DOWN), router=router, login=True)
    assert [talk(rig, f"m{i}") for i in range(3)] == ["a0", "a0", "a0"]
    out = rig.join("x1")
    assert offers(out)[0].agent_id == "a0"
    assert offers(rig.join("x2"))[0].agent_id == "a1"   # a0 is reserved now


@pytest.mark.parametrize("router", ROUTERS)
def test_sequentially_by_agent_order(router: str) -> None:
    q, agents, _ = simple(3, Strategy.SEQUENTIALLY_BY_AGENT_ORDER)
    tiers = [Tier("a0", "q", position=3), Tier("a1", "q", position=1), Tier("a2", "q", position=2)]
    rig = Rig(q, agents, tiers, router=router, login=True)
    assert [offers(rig.join(f"m{i}"))[0].agent_id for i in range(3)] == ["a1", "a2", "a0"]


@pytest.mark.parametrize("router", ROUTERS)
def test_agent_with_fewest_calls(router: str) -> None:
    rig = Rig(*simple(3, Strategy.AGENT_WITH_FEWEST_CALLS), router=router, login=True)
    # everyone takes a call in position order, then a0 takes a second one: a1 and a2 have fewer
    assert [talk(rig, f"m{i}") for i in range(3)] == ["a0", "a1", "a2"]
    assert talk(rig, "m3") == "a0"
    assert talk(rig, "m4") == "a1"


@pytest.mark.parametrize("router", ROUTERS)
def test_agent_with_least_talk_time(router: str) -> None:
    rig = Rig(*simple(3, Strategy.AGENT_WITH_LEAST_TALK_TIME), router=router, login=True)
    assert talk(rig, "m0", 100) == "a0"
    assert talk(rig, "m1", 50) == "a1"
    assert talk(rig, "m2", 10) == "a2"
    assert talk(rig, "m3", 1) == "a2"               # 10 s talked, the least
    assert talk(rig, "m4", 1) == "a2"               # 11 s, still the least


@pytest.mark.parametrize("router", ROUTERS)
def test_random_is_seeded_and_spreads(router: str) -> None:
    picks = []
    for seed in range(12):
        rig = Rig(*simple(4, Strategy.RANDOM), router=router, seed=seed, login=True)
        picks.append(offers(rig.join("m"))[0].agent_id)
    again = [offers(Rig(*simple(4, Strategy.RANDOM), router=router, seed=s, login=True).join("m"))[0].agent_id
             for s in range(12)]
    assert picks == again
    assert len(set(picks)) >= 3


@pytest.mark.parametrize("router", ROUTERS)
def test_ring_all_rings_everyone_and_cancels_the_rest(router: str) -> None:
    rig = Rig(*simple(3, Strategy.RING_ALL), router=router, login=True)
    out = rig.join("m1")
    rung = offers(out)
    assert [o.agent_id for o in rung] == ["a0", "a1", "a2"]
    winner = rung[1]
    out = rig.send(AgentAnswered(winner.offer_id, winner.agent_id))
    cancels = [c for c in out if isinstance(c, CancelOffer)]
    assert sorted(c.agent_id for c in cancels) == ["a0", "a2"]
    assert all(c.reason == "answered-elsewhere" for c in cancels)
    assert [c.agent_id for c in out if isinstance(c, Connect)] == ["a1"]
    states = {a.id: a.state for a in rig.acd.agents()}
    assert states == {"a0": AgentState.IDLE, "a1": AgentState.IN_CALL, "a2": AgentState.IDLE}
    # the losers are free again with no penalty: the next member rings them at once
    assert [o.agent_id for o in offers(rig.join("m2"))] == ["a0", "a2"]


@pytest.mark.parametrize("router", ROUTERS)
def test_skills_based_best_match_then_longest_idle(router: str) -> None:
    skills = [{"mandarin": 5, "billing": 5}, {"mandarin": 9, "billing": 7}, {"mandarin": 9, "billing": 7},
              {"billing": 10}]
    q, agents, tiers = simple(4, Strategy.SKILLS_BASED, skills=skills)
    rig = Rig(q, agents, tiers, router=router)
    for a in ("a2", "a0", "a1", "a3"):
        rig.send(AgentLogin(a))
        rig.clock.advance(1)
    need = (step(None, mandarin=">=3", billing=">=5"),)
    # a1 and a2 tie on mandarin+billing = 16; a2 has been idle longer
    assert offers(rig.join("m1", skill_steps=need))[0].agent_id == "a2"
    assert offers(rig.join("m2", skill_steps=need))[0].agent_id == "a1"
    assert offers(rig.join("m3", skill_steps=need))[0].agent_id == "a0"
    assert offers(rig.join("m4", skill_steps=need)) == []          # a3 has no mandarin at all
    assert rig.acd.position("m4") == 1


def test_strategies_are_named_like_mod_callcenter() -> None:
    names = {s.value for s in Strategy}
    assert {"longest-idle-agent", "round-robin", "ring-all", "top-down", "agent-with-fewest-calls",
            "agent-with-least-talk-time", "random", "sequentially-by-agent-order"} <= names


def test_skills_filter_applies_to_every_strategy() -> None:
    q = [QueueConfig("q", strategy=Strategy.TOP_DOWN)]
    agents = [Agent("a0", skills={"en": 9}), Agent("a1", skills={"fr": 9})]
    tiers = [Tier("a0", "q", position=1), Tier("a1", "q", position=2)]
    rig = Rig(q, agents, tiers, login=True)
    out = rig.send(MemberJoined("m", "q", skill_steps=(step(None, fr=">=5"),)))
    assert offers(out)[0].agent_id == "a1"


def test_ring_all_member_goes_back_when_every_agent_misses() -> None:
    rig = Rig(*simple(2, Strategy.RING_ALL, announce_interval_s=0), login=True)
    rig.join("m0")
    rig.join("m1")                                   # m0 rings both; m1 waits at position 1
    rung = offers(rig.log)
    assert [o.member_uuid for o in rung] == ["m0", "m0"]
    rig.send(AgentNoAnswer(rung[0].offer_id, rung[0].agent_id))
    assert rig.acd.position("m0") is None            # still ringing the other agent
    rig.send(AgentRejected(rung[1].offer_id, rung[1].agent_id))
    assert [m.uuid for m in rig.acd.members()] == ["m0", "m1"]


def test_ring_all_offers_a_callback_to_one_agent() -> None:
    rig = Rig(*simple(3, Strategy.RING_ALL, announce_interval_s=0))
    rig.join("m")
    rig.send(CallbackRequested("m", "+15550002"))
    out = rig.send(AgentLogin("a0")) + rig.send(AgentLogin("a1"))
    assert [(c.agent_id, c.number) for c in out if isinstance(c, OfferCallback)] == [("a0", "+15550002")]
