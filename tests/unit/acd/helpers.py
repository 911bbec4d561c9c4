"""Builders shared by the ACD tests."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from cc.acd import Acd, AgentLogin, MemberJoined
from cc.acd.commands import AcdCommand, Offer
from cc.clock import FakeClock
from cc.model import Agent, QueueConfig, SkillRequirement, SkillStep, Strategy, Tier

T0 = 1_767_225_600.0


def step(for_s: float | None = None, **require: str) -> SkillStep:
    reqs = []
    for skill, text in require.items():
        op = next(o for o in (">=", "<=", "==", ">", "<") if text.startswith(o))
        reqs.append(SkillRequirement(skill, op, int(text[len(op):])))
    return SkillStep(require=tuple(reqs), for_s=for_s)


class Rig:
    """An Acd plus a FakeClock, with short-hands for the common events."""

    def __init__(self, queues: Iterable[QueueConfig], agents: Iterable[Agent], tiers: Iterable[Tier],
                 *, router: str = "indexed", seed: int = 0, login: bool = False, answer_at_once: bool = False,
                 agent_state_commands: bool = True) -> None:
        self.clock = FakeClock(T0)
        self.acd = Acd(queues, agents, tiers, rng_seed=seed, now=T0, router=router,  # type: ignore[arg-type]
                       answer_at_once=answer_at_once, agent_state_commands=agent_state_commands)
        self.log: list[AcdCommand] = []
        self.check = False
        if login:
            for a in list(self.acd.world.agents):
                self.send(AgentLogin(a))

    def send(self, event: Any) -> list[AcdCommand]:
        out = self.acd.handle(event, self.clock.now())
        self.log.extend(out)
        if self.check:
            check_invariants(self.acd, self.clock.now(), out)
        return out

    def advance(self, seconds: float) -> list[AcdCommand]:
        from cc.acd import Tick
        self.clock.advance(seconds)
        return self.send(Tick())

    def run_until(self, t: float) -> list[AcdCommand]:
        """Fire every timer up to time t, one wake-up at a time, like the runtime does."""
        from cc.acd import Tick
        out: list[AcdCommand] = []
        while True:
            nxt = self.acd.next_wakeup()
            if nxt is None or nxt > t:
                break
            self.clock.set(max(nxt, self.clock.now()))
            out += self.send(Tick())
        self.clock.set(t)
        out += self.send(Tick())
        return out

    def join(self, uuid: str, queue: str = "q", **kw: Any) -> list[AcdCommand]:
        return self.send(MemberJoined(uuid, queue, **kw))


def offers(cmds: Iterable[AcdCommand]) -> list[Offer]:
    return [c for c in cmds if isinstance(c, Offer)]


def of_type(cmds: Iterable[AcdCommand], cls: type) -> list[Any]:
    return [c for c in cmds if isinstance(c, cls)]


Config = tuple[list[QueueConfig], list[Agent], list[Tier]]


def simple(n_agents: int = 3, strategy: Strategy = Strategy.LONGEST_IDLE_AGENT, *,
           levels: list[int] | None = None, skills: list[dict[str, int]] | None = None, **qkw: Any) -> Config:
    q = QueueConfig("q", strategy=strategy, **qkw)
    agents = [Agent(f"a{i}", contact=f"user/a{i}", skills=(skills[i] if skills else {}),
                    wrap_up_s=0.0, no_answer_delay_s=0.0, busy_delay_s=0.0, reject_delay_s=0.0)
              for i in range(n_agents)]
    tiers = [Tier(f"a{i}", "q", level=(levels[i] if levels else 1), position=i + 1) for i in range(n_agents)]
    return [q], agents, tiers


# -- invariants (the list), checked against the engine's live state -------------------------

def check_invariants(acd: Acd, now: float, out: list[AcdCommand]) -> None:
    from cc.acd.reference import eligible
    from cc.acd.state import STAFFED, MemberState
    from cc.model import AgentState

    w = acd.world
    offers_by_agent: dict[str, int] = {}
    for offer in acd._offers.values():
        offers_by_agent[offer.agent.id] = offers_by_agent.get(offer.agent.id, 0) + 1
        # no reservation outlives its offer timeout
        timeout = w.queues[offer.queue].cfg.offer_timeout_s if offer.queue in w.queues else 0.0
        assert offer.at + timeout > now, f"offer {offer.offer_id} outlived its timeout"
    for a in w.agents.values():
        # an agent never holds two calls
        assert offers_by_agent.get(a.id, 0) <= 1, f"agent {a.id} has two offers"
        assert not (a.offer is not None and a.call is not None), f"agent {a.id} has an offer and a call"
        if a.state in (AgentState.RESERVED, AgentState.RINGING):
            assert a.offer is not None, a.id
        elif a.state in (AgentState.IN_CALL, AgentState.WRAP_UP):
            assert a.call is not None and a.offer is None, a.id
        else:
            assert a.offer is None and a.call is None, a.id
        should = (a.status in STAFFED and a.state is AgentState.IDLE and a.ready_at <= now and bool(a.tiers))
        assert a.free == should, f"agent {a.id} free={a.free} but should be {should}"
    # no member waits while an eligible free agent exists
    for q in w.queues.values():
        assert len(q.waiting) == sum(1 for m in q.members.values() if m.state is MemberState.WAITING)
        for m in q.members.values():
            if m.state is MemberState.OFFERING:
                assert m.offers, m.uuid
                continue
            for agent_id in q.tiers:
                a = w.agents[agent_id]
                assert not (a.free and eligible(q, a, m, now)), \
                    f"member {m.uuid} waits in {q.name} while agent {a.id} is free and eligible"
    # a member is never passed over by a lower-scored member for the same eligible agent
    for c in out:
        if isinstance(c, Offer) and c.offer_id in acd._offers:
            offer = acd._offers[c.offer_id]
            a = offer.agent
            for qname in a.tiers:
                q = w.queues[qname]
                for m in q.members.values():
                    if m.state is MemberState.WAITING and m.entry < offer.member.entry:
                        assert not eligible(q, a, m, now), \
                            f"member {m.uuid} passed over by {offer.member.uuid} for agent {a.id}"
    # counts are conserved
    members = sum(len(q.members) for q in w.queues.values())
    assert members == len(acd._members)
    assert acd.joined == acd.connected + acd.exited + members, (acd.joined, acd.connected, acd.exited)


# -- random workloads (stateful tests, reference cross-check) -----------------------------------------

SKILLS = ("en", "fr", "billing")


def random_config(rng: Any) -> tuple[list[QueueConfig], list[Agent], list[Tier]]:
    strategies = list(Strategy)
    queues = []
    for i in range(rng.randint(1, 3)):
        queues.append(QueueConfig(
            f"q{i}", strategy=rng.choice(strategies),
            max_wait_s=rng.choice([None, None, 60.0, 200.0]),
            max_wait_no_agent_s=rng.choice([None, None, 30.0]),
            max_len=rng.choice([None, None, 4]),
            offer_timeout_s=rng.choice([10.0, 20.0]),
            announce_interval_s=rng.choice([0.0, 25.0]),
            priority_weight=rng.choice([0.0, 30.0, 60.0]),
            tier_rules_apply=rng.random() < 0.4,
            tier_rule_wait_s=rng.choice([0.0, 10.0, 20.0]),
            tier_rule_wait_multiply_level=rng.random() < 0.5,
            tier_rule_no_agent_no_wait=rng.random() < 0.5,
            wrap_up_s=rng.choice([None, 0.0, 5.0]),
        ))
    agents = []
    for i in range(rng.randint(1, 7)):
        skills = {s: rng.randint(1, 10) for s in SKILLS if rng.random() < 0.6}
        agents.append(Agent(f"a{i}", contact=f"user/a{i}", skills=skills, max_no_answer=rng.choice([0, 2, 3]),
                            wrap_up_s=rng.choice([0.0, 3.0]), reject_delay_s=rng.choice([0.0, 5.0]),
                            busy_delay_s=rng.choice([0.0, 7.0]), no_answer_delay_s=rng.choice([0.0, 4.0])))
    tiers = []
    for a in agents:
        for q in queues:
            if rng.random() < 0.7:
                tiers.append(Tier(a.id, q.name, level=rng.randint(1, 3), position=rng.randint(1, 5)))
    return queues, agents, tiers


def random_steps(rng: Any) -> tuple[SkillStep, ...]:
    n = rng.choice([0, 0, 1, 2, 3])
    steps = []
    for i in range(n):
        reqs = tuple(SkillRequirement(s, rng.choice([">=", ">=", ">", "<=", "=="]), rng.randint(1, 9))
                     for s in rng.sample(SKILLS, rng.randint(0, 2)))
        steps.append(SkillStep(require=reqs, for_s=rng.choice([5.0, 15.0, None]) if i < n - 1 else None))
    return tuple(steps)


def random_event(rng: Any, acd: Acd, counter: list[int]) -> tuple[str, Any]:
    """Pick an event that makes sense in the engine's current state: ("event", e) or ("advance", dt)."""
    from cc.acd import events as ev
    from cc.model import AgentState, AgentStatus, ExitReason

    w = acd.world
    roll = rng.random()
    members = sorted(acd._members)
    offers = sorted(acd._offers.values(), key=lambda o: o.offer_id)
    agents = sorted(w.agents.values(), key=lambda a: a.id)
    if roll < 0.25:
        counter[0] += 1
        return "event", ev.MemberJoined(f"m{counter[0]}", rng.choice(sorted(w.queues)),
                                        priority=rng.choice([0, 0, 0, 1, 2]), skill_steps=random_steps(rng))
    if roll < 0.32 and members:
        return "event", ev.MemberLeft(rng.choice(members), rng.choice([ExitReason.CALLER_ABANDON,
                                                                       ExitReason.EXIT_KEY]))
    if roll < 0.42:
        a = rng.choice(agents)
        status = rng.choice([AgentStatus.AVAILABLE, AgentStatus.AVAILABLE, AgentStatus.AVAILABLE_ON_DEMAND,
                             AgentStatus.ON_BREAK, AgentStatus.LOGGED_OUT])
        reason = "lunch" if status is AgentStatus.ON_BREAK else None
        return "event", ev.AgentStatusChanged(a.id, status, reason)
    if roll < 0.62 and offers:
        o = rng.choice(offers)
        cls = rng.choice([ev.AgentAnswered, ev.AgentAnswered, ev.AgentRinging, ev.AgentNoAnswer, ev.AgentBusy,
                          ev.AgentRejected])
        return "event", cls(o.offer_id, o.agent.id)
    in_call = [a for a in agents if a.state is AgentState.IN_CALL]
    if roll < 0.72 and in_call:
        return "event", ev.CallEnded(rng.choice(in_call).id, by=rng.choice(["agent", "caller"]))
    wrapping = [a for a in agents if a.state is AgentState.WRAP_UP]
    if roll < 0.75 and wrapping:
        return "event", ev.WrapUpDone(rng.choice(wrapping).id)
    if roll < 0.78 and members:
        return "event", ev.CallbackRequested(rng.choice(members), "+15551234567")
    if roll < 0.785:
        a = rng.choice(agents)
        if a.tiers and rng.random() < 0.5:
            return "untier", (a.id, rng.choice(sorted(a.tiers)))
        skills = {s: rng.randint(1, 10) for s in SKILLS if rng.random() < 0.6}
        return "agent", replace(a.cfg, skills=skills)
    if roll < 0.80:
        return "tier", Tier(rng.choice(agents).id, rng.choice(sorted(w.queues)), level=rng.randint(1, 3),
                            position=rng.randint(1, 5))
    if roll < 0.81:
        return "event", ev.CountersReset()
    return "advance", rng.choice([0.5, 1.0, 3.0, 5.0, 12.0, 30.0])


def apply_random(rig: Rig, kind: str, payload: Any) -> list[AcdCommand]:
    if kind == "event":
        return rig.send(payload)
    if kind in ("tier", "agent", "untier"):
        now = rig.clock.now()
        if kind == "tier":
            out = rig.acd.set_tier(payload, now)
        elif kind == "agent":
            out = rig.acd.set_agent(payload, now)
        else:
            out = rig.acd.remove_tier(payload[0], payload[1], now)
        rig.log.extend(out)
        if rig.check:
            check_invariants(rig.acd, rig.clock.now(), out)
        return out
    return rig.run_until(rig.clock.now() + payload)
