"""ACD routing cost at four sizes, indexed router vs the scan-everything reference; prints one JSON object.

Workload per case: ``agents`` agents over ``queues`` queues (each agent in 1-3 queues, tier levels 1-2,
4 random skills out of ``skills`` with proficiency 1-10), strategies mixed across queues (longest-idle,
skills-based, fewest-calls, round-robin, top-down). Every agent is in a call and ``waiting`` members wait;
half of them ask for one skill at >=3/5/7 for 5-60 s, then relax to anyone. Each iteration one random
agent hangs up (wrap-up 0): the engine frees it and picks the best member it may serve (a routing
decision); the controller answers, and a new member joins to keep ``waiting`` constant.

``p50_us`` / ``p99_us``: time of the whole ``Acd.handle`` call that made the decision (validation, state
table, timers, indexes, commands). ``pick_*``: the indexed router's choice alone for the freed agent;
``reference_*``: the reference router's choice for the same agent on the same state (sampled, and checked
to be the same member), so ``speedup_*`` = reference / pick comes from one run. ``decisions_per_s``:
decisions / total time in ``handle`` over the loop (hang-up, answer, join and timer ticks included).
Before the loop, one member per (queue, requirement) pair joins and leaves, so that the one-off index
registration of a new requirement (one scan of the queue's agents) is not in the steady-state figures.

After setup the bench calls ``gc.collect(); gc.freeze()``, as a long-running controller should once
its configuration is loaded: without it CPython's cyclic collector re-scans the ~10^6 long-lived engine
objects of the big case and the p99 grows about 5x (``--no-freeze`` shows it).

Usage: ``python bench/acd.py [--quick] [--no-freeze]`` (``--quick``: the three small sizes only).
"""

from __future__ import annotations

import gc
import itertools
import json
import math
import random
import sys
import time
from typing import Any

from cc.acd import Acd, AgentAnswered, AgentLogin, CallEnded, MemberJoined, MemberLeft, Offer, Tick
from cc.acd.reference import ReferenceRouter
from cc.model import Agent, AgentState, QueueConfig, SkillRequirement, SkillStep, Strategy, Tier

T0 = 1_767_225_600.0
PROFILE: Any = None
SIZES = [(100, 5, 50), (1_000, 20, 500), (10_000, 50, 5_000), (100_000, 50, 50_000)]
STRATEGIES = [Strategy.LONGEST_IDLE_AGENT, Strategy.SKILLS_BASED, Strategy.AGENT_WITH_FEWEST_CALLS,
              Strategy.ROUND_ROBIN, Strategy.TOP_DOWN]


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(p / 100.0 * len(s)))]


def run_case(n_agents: int, n_skills: int, n_waiting: int, iterations: int, ref_samples: int,
             seed: int = 1, freeze: bool = True) -> dict[str, Any]:
    rng = random.Random(seed)
    n_queues = 5 if n_agents <= 100 else 10
    skills = [f"s{i}" for i in range(n_skills)]
    queues = [QueueConfig(f"q{i}", strategy=STRATEGIES[i % len(STRATEGIES)], announce_interval_s=0,
                          offer_timeout_s=30) for i in range(n_queues)]
    agents = [Agent(f"a{i}", contact=f"user/a{i}", wrap_up_s=0,
                    skills={s: rng.randint(1, 10) for s in rng.sample(skills, min(4, n_skills))})
              for i in range(n_agents)]
    tiers = [Tier(a.id, q.name, level=rng.randint(1, 2), position=rng.randint(1, 100))
             for a in agents for q in rng.sample(queues, rng.randint(1, 3))]
    build_t = time.perf_counter()
    acd = Acd(queues, agents, tiers, now=T0, rng_seed=seed)
    now = T0
    seq = 0

    def member_event() -> MemberJoined:
        nonlocal seq
        seq += 1
        steps: tuple[SkillStep, ...] = ()
        if rng.random() < 0.5:
            req = SkillRequirement(rng.choice(skills), ">=", rng.choice([3, 5, 7]))
            steps = (SkillStep((req,), for_s=rng.uniform(5, 60)), SkillStep(()))
        return MemberJoined(f"m{seq}", rng.choice(queues).name, priority=rng.choice([0, 0, 0, 1]),
                            skill_steps=steps)

    for a in agents:
        acd.handle(AgentLogin(a.id), now)
    # fill: every agent takes a call
    for q in queues:
        while any(acd.world.agents[aid].free for aid in acd.world.queues[q.name].tiers):
            seq += 1
            for c in acd.handle(MemberJoined(f"f{seq}", q.name), now):
                if isinstance(c, Offer):
                    acd.handle(AgentAnswered(c.offer_id, c.agent_id), now)
    # warm-up: the first member needing a (queue, requirement) pair registers it (one scan of the queue's
    # agents); register every pair the workload can produce so the loop measures the steady state
    for q in queues:
        for sk in skills:
            for level in (3, 5, 7):
                seq += 1
                steps = (SkillStep((SkillRequirement(sk, ">=", level),), for_s=1.0), SkillStep(()))
                acd.handle(MemberJoined(f"w{seq}", q.name, skill_steps=steps), now)
                acd.handle(MemberLeft(f"w{seq}"), now)
    for _ in range(n_waiting):
        acd.handle(member_event(), now)
    build_s = time.perf_counter() - build_t
    if freeze:  # what a long-running controller does after loading its configuration (see docs/acd.md)
        gc.collect()
        gc.freeze()
    in_call = [a.id for a in acd.world.agents.values() if a.state is AgentState.IN_CALL]

    ref = ReferenceRouter(acd.world)
    idx = acd.router
    if PROFILE is not None:
        PROFILE.enable()
    sample_every = max(1, iterations // ref_samples)
    lat: list[float] = []
    pick_lat: list[float] = []
    ref_lat: list[float] = []
    agree = disagree = 0
    engine_s = 0.0
    decisions = 0
    pc = time.perf_counter
    for i in range(iterations):
        now += 0.005
        wake = acd.next_wakeup()
        if wake is not None and wake <= now:
            t = pc()
            out = acd.handle(Tick(), now)
            engine_s += pc() - t
            decisions += sum(1 for c in out if isinstance(c, Offer))
        k = rng.randrange(len(in_call))
        agent_id = in_call[k]
        expected = None
        t = pc()
        idx.pick_member(acd.world.agents[agent_id], now)
        pick_lat.append(pc() - t)
        if i % sample_every == 0:
            t = pc()
            pick = ref.pick_member(acd.world.agents[agent_id], now)
            ref_lat.append(pc() - t)
            expected = pick.uuid if pick is not None else None
        t = pc()
        out = acd.handle(CallEnded(agent_id), now)
        dt = pc() - t
        engine_s += dt
        offers = [c for c in out if isinstance(c, Offer)]
        if offers:
            lat.append(dt)
            decisions += 1
        if i % sample_every == 0:
            got = offers[0].member_uuid if offers else None
            if got == expected:
                agree += 1
            else:
                disagree += 1
        in_call[k] = in_call[-1]
        in_call.pop()
        for o in offers:
            t = pc()
            acd.handle(AgentAnswered(o.offer_id, o.agent_id), now)
            engine_s += pc() - t
            in_call.append(o.agent_id)
        t = pc()
        out = acd.handle(member_event(), now)
        dt = pc() - t
        engine_s += dt
        for o in (c for c in out if isinstance(c, Offer)):
            lat.append(dt)
            decisions += 1
            acd.handle(AgentAnswered(o.offer_id, o.agent_id), now)
            in_call.append(o.agent_id)
    if PROFILE is not None:
        PROFILE.disable()
    if freeze:
        gc.unfreeze()
    p50, p99 = pct(lat, 50) * 1e6, pct(lat, 99) * 1e6
    r50, r99 = pct(ref_lat, 50) * 1e6, pct(ref_lat, 99) * 1e6
    k50, k99 = pct(pick_lat, 50) * 1e6, pct(pick_lat, 99) * 1e6
    return {
        "agents": n_agents, "skills": n_skills, "waiting": n_waiting, "queues": n_queues,
        "p50_us": round(p50, 1), "p99_us": round(p99, 1),
        "pick_p50_us": round(k50, 1), "pick_p99_us": round(k99, 1),
        "decisions_per_s": round(decisions / engine_s) if engine_s else None,
        "decisions": decisions,
        "reference_p50_us": round(r50, 1), "reference_p99_us": round(r99, 1),
        "reference_samples": len(ref_lat), "reference_agrees": agree, "reference_disagrees": disagree,
        "speedup_p50": round(r50 / k50, 1) if k50 else None, "speedup_p99": round(r99 / k99, 1) if k99 else None,
        "setup_s": round(build_s, 1), "gc_frozen": freeze,
    }


def main() -> None:
    quick = "--quick" in sys.argv
    freeze = "--no-freeze" not in sys.argv
    cases = []
    for n, s, w in SIZES[:3] if quick else SIZES:
        iterations = 3000 if n <= 10_000 else 4000
        ref_samples = 300 if n <= 10_000 else 150
        cases.append(run_case(n, s, w, iterations, ref_samples, freeze=freeze))
    growth = []
    for a, b in itertools.pairwise(cases):
        growth.append({
            "from_agents": a["agents"], "to_agents": b["agents"],
            "n_ratio": b["agents"] / a["agents"],
            "log_n_ratio": round(math.log(b["agents"]) / math.log(a["agents"]), 2),
            "p50_ratio": round(b["p50_us"] / a["p50_us"], 2), "p99_ratio": round(b["p99_us"] / a["p99_us"], 2),
            "pick_p50_ratio": round(b["pick_p50_us"] / a["pick_p50_us"], 2),
            "reference_p50_ratio": round(b["reference_p50_us"] / a["reference_p50_us"], 2),
        })
    print(json.dumps({"bench": "acd", "python": sys.version.split()[0], "cases": cases, "growth": growth}))


if __name__ == "__main__":
    main()
