"""What-if: the real ACD engine (cc.acd, pure) run in virtual time over simulated calls, no network.

Calls arrive as a Poisson process, each with an exponential handle time (talk; wrap-up is the queue's
fixed ``wrap_up_s`` on top, part of AHT) and, if a mean patience is given, an exponential patience
after which a caller still waiting hangs up. Agents answer offers at once (the engine's
``answer_at_once``: Offer and Connect in one step) or after ``answer_delay_s`` (an AgentAnswered event).
The ACD decides everything else exactly as it does in production: order, strategy, skills, wrap-up.
Occupancy counts each agent busy from the Connect to the end of its wrap-up (the engine's timer).
The results are measured on calls arriving after a warm-up, so that the empty start does not flatter
them, and are comparable with Erlang C / Erlang A, whose assumptions this reproduces when there are no
skills and no wrap-up beyond the AHT.
"""

from __future__ import annotations

import heapq
import math
import multiprocessing
import os
import random
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from cc.acd import (
    Acd,
    AcdEvent,
    AgentAnswered,
    AgentLogin,
    CallEnded,
    Connect,
    Exit,
    MemberJoined,
    MemberLeft,
    Offer,
    Tick,
)
from cc.errors import InvalidValue
from cc.model import Agent, ExitReason, QueueConfig, SkillRequirement, SkillStep, Strategy, Tier

__all__ = ["AgentGroup", "CallType", "Interval", "WhatIfResult", "merge", "service_level_interval", "simulate",
           "simulate_replicated", "simulate_until_sure", "t95", "validate", "verdict"]

QUEUE = "whatif"


@dataclass(frozen=True)
class AgentGroup:
    """``count`` identical agents with ``skills`` (name -> proficiency 1-10)."""

    count: int
    skills: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class CallType:
    """A share of the calls that requires ``require`` (e.g. billing >= 5) for its whole wait."""

    share: float
    require: tuple[SkillRequirement, ...] = ()


@dataclass(frozen=True)
class WhatIfResult:
    """What the simulated center achieved over the measured calls."""

    hours: float
    offered: int
    answered: int
    abandoned: int
    answered_in_sl: int
    threshold_s: float
    service_level: float | None
    asa_s: float | None
    abandon_rate: float | None
    occupancy: float | None
    avg_wait_s: float | None
    max_wait_s: float | None
    acd_events: int
    """Events the ACD handled (joins, hang-ups, abandons, answers after a delay, timer ticks, logins)."""
    unanswered_at_end: int
    waits: int = 0
    """How many waits ``avg_wait_s`` averages (answered, abandoned and exited measured calls)."""
    replications: int = 1
    """Independent runs merged into this result (see :func:`simulate_replicated`)."""
    service_level_runs: tuple[float | None, ...] = ()
    """Each replication's own service level (their spread shows how sure the figure is)."""


def _check(field_: str, value: float, *, zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or value < 0 or (value == 0 and not zero):
        raise InvalidValue(field_, value, "must be a finite number " + (">= 0" if zero else "> 0"))
    return float(value)


def validate(groups: Sequence[AgentGroup], *, calls_per_hour: float, aht_s: float, hours: float,
             patience_s: float | None = None, threshold_s: float = 20.0, wrap_up_s: float = 0.0,
             answer_delay_s: float = 0.0, call_types: Sequence[CallType] = (), warmup_h: float = 0.5,
             **_: Any) -> None:
    """Raise InvalidValue for what :func:`simulate` cannot run (checked before any worker is forked)."""
    _check("calls_per_hour", calls_per_hour)
    aht = _check("aht_s", aht_s)
    _check("hours", hours)
    _check("warmup_h", warmup_h, zero=True)
    _check("threshold_s", threshold_s, zero=True)
    wrap = _check("wrap_up_s", wrap_up_s, zero=True)
    _check("answer_delay_s", answer_delay_s, zero=True)
    if wrap >= aht:
        raise InvalidValue("wrap_up_s", wrap_up_s, f"must be less than the AHT ({aht_s:g} s)")
    if patience_s is not None:
        _check("patience_s", patience_s)
    for g in groups:
        if g.count < 0:
            raise InvalidValue("agents", g.count, "must be >= 0")
    if sum(g.count for g in groups) < 1:
        raise InvalidValue("agents", 0, "at least one agent is needed")
    shares = sum(_check("share", c.share, zero=True) for c in call_types)
    if shares > 1.0 + 1e-9:
        raise InvalidValue("call types", shares, "shares add up to more than 1")


def simulate(groups: Sequence[AgentGroup], *, calls_per_hour: float, aht_s: float, hours: float,
             patience_s: float | None = None, threshold_s: float = 20.0, wrap_up_s: float = 0.0,
             answer_delay_s: float = 0.0, call_types: Sequence[CallType] = (), warmup_h: float = 0.5,
             strategy: Strategy = Strategy.LONGEST_IDLE_AGENT, seed: int = 1) -> WhatIfResult:
    """Run the ACD over ``hours`` of simulated traffic (plus ``warmup_h`` not measured) and measure it.

    AHT = talk + ``wrap_up_s``: talk times are exponential with mean ``aht_s - wrap_up_s``.
    ``call_types`` shares not summing to 1 leave the rest of the calls without requirements.
    """
    validate(groups, calls_per_hour=calls_per_hour, aht_s=aht_s, hours=hours, patience_s=patience_s,
             threshold_s=threshold_s, wrap_up_s=wrap_up_s, answer_delay_s=answer_delay_s, call_types=call_types,
             warmup_h=warmup_h)
    lam = float(calls_per_hour) / 3600.0
    aht = float(aht_s)
    total_h = float(hours)
    warm = float(warmup_h) * 3600.0
    wrap = float(wrap_up_s)
    delay = float(answer_delay_s)
    talk_mean = aht - wrap
    rng = random.Random(seed)
    agents: list[Agent] = []
    for gi, g in enumerate(groups):
        if g.count < 0:
            raise InvalidValue("agents", g.count, "must be >= 0")
        for i in range(g.count):
            agents.append(Agent(id=f"g{gi}a{i:04d}", contact=f"sim/{gi}/{i}", wrap_up_s=wrap, max_no_answer=0,
                                skills=dict(g.skills)))
    queue = QueueConfig(QUEUE, strategy=strategy, announce_position=False, wrap_up_s=wrap,
                        offer_timeout_s=max(60.0, delay * 4 + 1), sl_threshold_s=threshold_s)
    # agents who answer at once: the engine connects each offer in the step that makes it; busy time is
    # measured from the Connect commands, so the engine need not report agent state changes
    acd = Acd([queue], agents, [Tier(a.id, QUEUE) for a in agents], rng_seed=seed, now=0.0,
              answer_at_once=not delay, agent_state_commands=False)
    end = warm + total_h * 3600.0

    # Calls arrive one after another (``t_arr``, the next arrival); the heap holds what else is due:
    # (time, seq, event): CallEnded (hang-up), MemberLeft (patience ran out), AgentAnswered (answer delay).
    heap: list[tuple[float, int, AcdEvent]] = [(math.inf, 0, Tick())]  # a sentinel: never empty
    seq = 0
    joined: dict[str, float] = {}  # waiting or being offered -> arrival time
    offered = answered = abandoned = in_sl = waits_n = events = n_calls = 0
    wait_sum = waits_all = max_wait = busy_time = 0.0
    inf = math.inf

    heappush, heappop = heapq.heappush, heapq.heappop
    rnd = rng.random
    log = math.log  # rng.expovariate(r) is -log(1 - rng.random()) / r, inlined on the per-call path
    talk_inv = 1.0 / talk_mean
    patience_inv = 1.0 / patience_s if patience_s is not None else 0.0
    acd_handle = acd.handle
    next_wakeup = acd.next_wakeup
    joined_pop = joined.pop
    caller_abandon = ExitReason.CALLER_ABANDON
    tick = Tick()
    hang_ups = {a.id: CallEnded(a.id) for a in agents}  # events are values: one per agent serves every call

    for ag in agents:
        acd_handle(AgentLogin(ag.id), 0.0)
        events += 1
    steps = [SkillStep(require=ct.require) for ct in call_types]
    cum: list[float] = []
    acc = 0.0
    for ct in call_types:
        acc += ct.share
        cum.append(acc)
    t_arr = -log(1.0 - rnd()) / lam
    cmd: Any  # commands are told apart by exact type (cheaper than isinstance on this path)
    while True:
        top = heap[0][0]
        nxt = t_arr if t_arr <= top else top
        if nxt == inf:
            break
        wake = next_wakeup()
        arrival = False
        if wake is not None and wake < nxt:  # timers first: they may schedule earlier events
            at = wake
            cmds = acd_handle(tick, at)
        elif t_arr <= top:
            at = t_arr
            if at > end:  # no more calls: what is in the heap still runs
                t_arr = inf
                continue
            arrival = True
            n_calls += 1
            uuid = f"m{n_calls}"
            joined[uuid] = at
            if at >= warm:
                offered += 1
            if patience_s is not None:
                seq += 1
                heappush(heap, (at - log(1.0 - rnd()) / patience_inv, seq, MemberLeft(uuid)))
            member_steps: tuple[SkillStep, ...] = ()
            if steps:
                u = rnd()
                for i, c in enumerate(cum):
                    if u < c:
                        member_steps = (steps[i],)
                        break
            cmds = acd_handle(MemberJoined(uuid, QUEUE, 0, member_steps), at)
        else:
            at, _, event = heappop(heap)
            if patience_s is not None and isinstance(event, MemberLeft) and event.member_uuid not in joined:
                if at > end and not joined:  # connected (or gone) before its patience ran out
                    break
                continue
            cmds = acd_handle(event, at)
        events += 1
        for cmd in cmds:
            kind = type(cmd)
            if kind is Connect:
                if joined_pop(cmd.member_uuid) >= warm:
                    wait = cmd.wait_s
                    answered += 1
                    wait_sum += wait
                    waits_all += wait
                    waits_n += 1
                    if wait > max_wait:
                        max_wait = wait
                    if wait <= threshold_s:
                        in_sl += 1
                hang_up = at - log(1.0 - rnd()) / talk_inv
                seq += 1
                heappush(heap, (hang_up, seq, hang_ups[cmd.agent_id]))
                # the agent is busy from the answer to the end of wrap-up (the engine's wrap-up timer)
                lo = at if at > warm else warm
                hi = hang_up + wrap
                if hi > end:
                    hi = end
                if hi > lo:
                    busy_time += hi - lo
            elif kind is Exit:
                if joined_pop(cmd.member_uuid) >= warm:
                    if cmd.reason is caller_abandon:
                        abandoned += 1
                    waits_all += cmd.wait_s
                    waits_n += 1
                    if cmd.wait_s > max_wait:
                        max_wait = cmd.wait_s
            elif kind is Offer and delay:
                seq += 1
                heappush(heap, (at + delay, seq, AgentAnswered(cmd.offer_id, cmd.agent_id)))
        if arrival:
            t_arr = at - log(1.0 - rnd()) / lam
        elif at > end and not joined:
            break
    unanswered = sum(1 for t in joined.values() if t >= warm)
    staffed_time = len(agents) * (end - warm)
    return WhatIfResult(
        hours=total_h,
        offered=offered,
        answered=answered,
        abandoned=abandoned,
        answered_in_sl=in_sl,
        threshold_s=threshold_s,
        service_level=in_sl / offered if offered else None,
        asa_s=wait_sum / answered if answered else None,
        abandon_rate=abandoned / offered if offered else None,
        occupancy=busy_time / staffed_time if staffed_time else None,
        avg_wait_s=waits_all / waits_n if waits_n else None,
        max_wait_s=max_wait if waits_n else None,
        acd_events=events,
        unanswered_at_end=unanswered,
        waits=waits_n,
        service_level_runs=(in_sl / offered if offered else None,),
    )


def merge(runs: Sequence[WhatIfResult]) -> WhatIfResult:
    """Independent runs of the same center as one result: counts summed, means weighted, the worst wait."""
    if not runs:
        raise InvalidValue("runs", 0, "at least one run is needed")
    offered = sum(r.offered for r in runs)
    answered = sum(r.answered for r in runs)
    abandoned = sum(r.abandoned for r in runs)
    in_sl = sum(r.answered_in_sl for r in runs)
    waits = sum(r.waits for r in runs)
    hours = sum(r.hours for r in runs)
    answered_wait = sum((r.asa_s or 0.0) * r.answered for r in runs)
    all_waits = sum((r.avg_wait_s or 0.0) * r.waits for r in runs)
    maxima = [r.max_wait_s for r in runs if r.max_wait_s is not None]
    busy = [(r.occupancy, r.hours) for r in runs if r.occupancy is not None]
    return WhatIfResult(
        hours=hours, offered=offered, answered=answered, abandoned=abandoned, answered_in_sl=in_sl,
        threshold_s=runs[0].threshold_s,
        service_level=in_sl / offered if offered else None,
        asa_s=answered_wait / answered if answered else None,
        abandon_rate=abandoned / offered if offered else None,
        occupancy=sum(o * h for o, h in busy) / sum(h for _, h in busy) if busy else None,
        avg_wait_s=all_waits / waits if waits else None,
        max_wait_s=max(maxima) if maxima else None,
        acd_events=sum(r.acd_events for r in runs),
        unanswered_at_end=sum(r.unanswered_at_end for r in runs),
        waits=waits,
        replications=sum(r.replications for r in runs),
        service_level_runs=tuple(x for r in runs for x in r.service_level_runs),
    )


def _one(args: tuple[Sequence[AgentGroup], dict[str, Any]]) -> WhatIfResult:
    groups, kw = args
    return simulate(groups, **kw)


def simulate_replicated(groups: Sequence[AgentGroup], *, hours: float, replications: int = 4,
                        workers: int | None = None, seed: int = 1, first: int = 0, **kw: Any) -> WhatIfResult:
    """:func:`simulate` as ``replications`` independent runs of ``hours / replications`` each, merged.

    Each run has its own seed (``seed * 1000 + i``) and its own warm-up, so the runs are independent
    replications (the textbook way to put a spread on a simulated figure: ``service_level_runs``); the
    result depends on ``replications`` and ``seed`` only, not on ``workers``, the number of processes
    running them side by side (default: one per CPU, at most ``replications``; 1 runs them here, in turn).
    ``first`` numbers the replications from there (seeds ``seed * 1000 + first + i``): more of the same study.
    """
    if replications < 1:
        raise InvalidValue("replications", replications, "must be >= 1")
    total_h = _check("hours", hours)
    validate(groups, hours=total_h / replications, **kw)  # here, not in a worker process
    jobs = [(list(groups), dict(kw, hours=total_h / replications, seed=seed * 1000 + first + i))
            for i in range(replications)]
    n = min(replications, workers if workers is not None else (os.cpu_count() or 1))
    if n < 1:
        raise InvalidValue("workers", workers, "must be >= 1")
    if n == 1 or "fork" not in multiprocessing.get_all_start_methods():
        return merge([_one(j) for j in jobs])
    # fork: the workers start at once with cc already imported (the engine is pure: nothing to re-open)
    with ProcessPoolExecutor(max_workers=n, mp_context=multiprocessing.get_context("fork")) as pool:
        return merge(list(pool.map(_one, jobs)))


#: Student's t, two-sided 95 %, by degrees of freedom (a df between two rows takes the smaller df's value).
_T95 = ((1, 12.706), (2, 4.303), (3, 3.182), (4, 2.776), (5, 2.571), (6, 2.447), (7, 2.365), (8, 2.306),
        (9, 2.262), (10, 2.228), (12, 2.179), (15, 2.131), (20, 2.086), (25, 2.060), (30, 2.042), (40, 2.021),
        (60, 2.000), (120, 1.980))


def t95(df: int) -> float:
    """The two-sided 95 % Student t quantile for ``df`` degrees of freedom (conservative between table rows)."""
    if df < 1:
        return math.inf
    if df >= 1000:
        return 1.96
    best = _T95[0][1]
    for d, t in _T95:
        if df >= d:
            best = t
    return best


@dataclass(frozen=True)
class Interval:
    """A 95 % confidence interval of the service level from ``n`` independent replications."""

    mean: float
    low: float
    high: float
    n: int


def service_level_interval(result: WhatIfResult) -> Interval | None:
    """The 95 % t-interval of the replications' service levels; None with fewer than 2 replications."""
    runs = [x for x in result.service_level_runs if x is not None]
    n = len(runs)
    if n < 2:
        return None
    mean = sum(runs) / n
    sd = math.sqrt(sum((x - mean) ** 2 for x in runs) / (n - 1))
    half = t95(n - 1) * sd / math.sqrt(n)
    return Interval(mean, max(0.0, mean - half), min(1.0, mean + half), n)


def verdict(result: WhatIfResult, target: float) -> str:
    """``meets`` or ``misses`` when the 95 % interval is wholly above or below ``target``, else ``inconclusive``."""
    ci = service_level_interval(result)
    if ci is None:
        return "inconclusive"
    if ci.low >= target:
        return "meets"
    if ci.high < target:
        return "misses"
    return "inconclusive"


def simulate_until_sure(groups: Sequence[AgentGroup], *, target: float, hours: float, replications: int = 10,
                        max_hours: float | None = None, workers: int | None = None, seed: int = 1,
                        **kw: Any) -> WhatIfResult:
    """:func:`simulate_replicated`, then more batches like it while the verdict on ``target`` is inconclusive,
    up to ``max_hours`` simulated hours in all (None or <= ``hours``: one batch)."""
    result = simulate_replicated(groups, hours=hours, replications=replications, workers=workers, seed=seed, **kw)
    total = hours
    while max_hours is not None and total + hours <= max_hours + 1e-9 and verdict(result, target) == "inconclusive":
        more = simulate_replicated(groups, hours=hours, replications=replications, workers=workers, seed=seed,
                                   first=result.replications, **kw)
        result = merge([result, more])
        total += hours
    return result
