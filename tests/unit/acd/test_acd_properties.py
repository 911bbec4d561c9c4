"""Hypothesis state-machine tests over random event sequences, and the cross-check against the slow
reference router: the indexed engine must make exactly the same decisions on random workloads."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from cc.acd import events as ev
from cc.model import AgentState, AgentStatus, ExitReason, SkillRequirement, SkillStep, Tier

from .helpers import SKILLS, Rig, apply_random, check_invariants, random_config, random_event

requirement = st.builds(SkillRequirement, st.sampled_from(SKILLS), st.sampled_from([">=", ">", "<=", "=="]),
                        st.integers(1, 9))
steps = st.lists(st.builds(SkillStep, st.lists(requirement, max_size=2).map(tuple),
                           st.sampled_from([None, 5.0, 20.0])), max_size=3).map(tuple)


class AcdMachine(RuleBasedStateMachine):
    """Random events against the engine; every invariant of the issue checked after every step."""

    @initialize(seed=st.integers(0, 10_000))
    def setup(self, seed: int) -> None:
        cfg = random_config(random.Random(seed))
        self.rig = Rig(*cfg, seed=seed)
        self.rig.check = True                      # check_invariants after every handle()
        self.n = 0
        self.agents = sorted(a.id for a in cfg[1])
        self.queues = sorted(q.name for q in cfg[0])
        self.agents_count = len(self.agents)

    @rule(queue=st.integers(0, 2), priority=st.integers(0, 3), skill_steps=steps)
    def join(self, queue: int, priority: int, skill_steps: tuple[SkillStep, ...]) -> None:
        self.n += 1
        self.rig.send(ev.MemberJoined(f"m{self.n}", self.queues[queue % len(self.queues)], priority=priority,
                                      skill_steps=skill_steps))

    @rule(pick=st.integers(0, 100), key=st.booleans())
    def leave(self, pick: int, key: bool) -> None:
        members = sorted(self.rig.acd._members)
        if members:
            self.rig.send(ev.MemberLeft(members[pick % len(members)],
                                        ExitReason.EXIT_KEY if key else ExitReason.CALLER_ABANDON))

    @rule(pick=st.integers(0, 100), status=st.sampled_from(list(AgentStatus)))
    def status(self, pick: int, status: AgentStatus) -> None:
        self.rig.send(ev.AgentStatusChanged(self.agents[pick % len(self.agents)], status, None))

    @rule(pick=st.integers(0, 100), outcome=st.sampled_from([ev.AgentAnswered, ev.AgentNoAnswer, ev.AgentBusy,
                                                             ev.AgentRejected, ev.AgentRinging]))
    def offer_outcome(self, pick: int, outcome: type) -> None:
        offers = sorted(self.rig.acd._offers.values(), key=lambda o: o.offer_id)
        if offers:
            o = offers[pick % len(offers)]
            self.rig.send(outcome(o.offer_id, o.agent.id))

    @rule(pick=st.integers(0, 100))
    def hang_up(self, pick: int) -> None:
        busy = sorted(a.id for a in self.rig.acd.world.agents.values() if a.state is AgentState.IN_CALL)
        if busy:
            self.rig.send(ev.CallEnded(busy[pick % len(busy)]))

    @rule(pick=st.integers(0, 100))
    def callback(self, pick: int) -> None:
        members = sorted(self.rig.acd._members)
        if members:
            self.rig.send(ev.CallbackRequested(members[pick % len(members)], "+15550000000"))

    @rule(pick=st.integers(0, 100), queue=st.integers(0, 2), level=st.integers(1, 3),
          position=st.integers(1, 4))
    def move_tier(self, pick: int, queue: int, level: int, position: int) -> None:
        agent, qname = self.agents[pick % len(self.agents)], self.queues[queue % len(self.queues)]
        tier = Tier(agent, qname, level, position)
        out = self.rig.acd.set_tier(tier, self.rig.clock.now())
        check_invariants(self.rig.acd, self.rig.clock.now(), out)

    @rule(dt=st.sampled_from([0.0, 0.5, 2.0, 5.0, 10.0, 20.0, 45.0]))
    def wait(self, dt: float) -> None:
        self.rig.run_until(self.rig.clock.now() + dt)

    @invariant()
    def agents_are_conserved(self) -> None:
        if hasattr(self, "rig"):
            assert len(self.rig.acd.world.agents) == self.agents_count
            snap = self.rig.acd.snapshot()
            assert snap.joined == snap.connected + snap.exited + len(snap.members)


TestAcdMachine = AcdMachine.TestCase
TestAcdMachine.settings = settings(max_examples=120, stateful_step_count=50, deadline=None,
                                   suppress_health_check=[HealthCheck.too_slow])


def _cross_check(seed: int, steps: int) -> int:
    rng = random.Random(seed)
    cfg = random_config(rng)
    fast = Rig(*cfg, router="indexed", seed=seed)
    slow = Rig(*cfg, router="reference", seed=seed)
    fast.check = True
    counter = [0]
    decisions = 0
    for _ in range(steps):
        kind, payload = random_event(rng, fast.acd, counter)
        a = apply_random(fast, kind, payload)
        b = apply_random(slow, kind, payload)
        assert a == b, (seed, kind, payload)
        decisions += sum(1 for c in a if type(c).__name__ in ("Offer", "OfferCallback"))
    return decisions


@pytest.mark.parametrize("block", range(4))
def test_indexed_router_makes_the_reference_decisions(block: int) -> None:
    decisions = sum(_cross_check(seed, 250) for seed in range(block * 25, block * 25 + 25))
    assert decisions > 200          # the workloads really route


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(10_000, 10**9))
def test_cross_check_hypothesis_seeds(seed: int) -> None:
    _cross_check(seed, 120)
