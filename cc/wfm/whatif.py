"""What-if: the real ACD engine (cc.acd, pure) run in virtual time over simulated calls, no network.

Calls arrive as a Poisson process, each with an exponential handle time (talk; wrap-up is the queue's
fixed ``wrap_up_s`` on top, part of AHT) and, if a mean patience is given, an exponential patience
after which a caller still waiting hangs up. Agents answer offers at once (or after ``answer_delay_s``).
The ACD decides everything else exactly as it does in production: order, strategy, skills, wrap-up.
The results are measured on calls arriving after a warm-up, so that the empty start does not flatter
them, and are comparable with Erlang C / Erlang A, whose assumptions this reproduces when there are no
skills and no wrap-up beyond the AHT.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from cc.acd import (
    Acd,
    AcdEvent,
    AgentAnswered,
    AgentLogin,
    AgentStateChanged,
    CallEnded,
    Connect,
    Exit,
    MemberJoined,
    MemberLeft,
    Offer,
    Tick,
)
from cc.errors import InvalidValue
from cc.model import Agent, AgentState, ExitReason, QueueConfig, SkillRequirement, SkillStep, Strategy, Tier

__all__ = ["AgentGroup", "CallType", "WhatIfResult", "simulate"]

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
    unanswered_at_end: int


def _check(field_: str, value: float, *, zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or value < 0 or (value == 0 and not zero):
        raise InvalidValue(field_, value, "must be a finite number " + (">= 0" if zero else "> 0"))
    return float(value)


def simulate(groups: Sequence[AgentGroup], *, calls_per_hour: float, aht_s: float, hours: float,
             patience_s: float | None = None, threshold_s: float = 20.0, wrap_up_s: float = 0.0,
             answer_delay_s: float = 0.0, call_types: Sequence[CallType] = (), warmup_h: float = 0.5,
             strategy: Strategy = Strategy.LONGEST_IDLE_AGENT, seed: int = 1) -> WhatIfResult:
    """Run the ACD over ``hours`` of simulated traffic (plus ``warmup_h`` not measured) and measure it.

    AHT = talk + ``wrap_up_s``: talk times are exponential with mean ``aht_s - wrap_up_s``.
    ``call_types`` shares not summing to 1 leave the rest of the calls without requirements.
    """
    lam = _check("calls_per_hour", calls_per_hour) / 3600.0
    aht = _check("aht_s", aht_s)
    total_h = _check("hours", hours)
    warm = _check("warmup_h", warmup_h, zero=True) * 3600.0
    _check("threshold_s", threshold_s, zero=True)
    wrap = _check("wrap_up_s", wrap_up_s, zero=True)
    delay = _check("answer_delay_s", answer_delay_s, zero=True)
    if wrap >= aht:
        raise InvalidValue("wrap_up_s", wrap_up_s, f"must be less than the AHT ({aht_s:g} s)")
    if patience_s is not None:
        _check("patience_s", patience_s)
    if sum(g.count for g in groups) < 1:
        raise InvalidValue("agents", 0, "at least one agent is needed")
    shares = sum(_check("share", c.share, zero=True) for c in call_types)
    if shares > 1.0 + 1e-9:
        raise InvalidValue("call types", shares, "shares add up to more than 1")
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
    acd = Acd([queue], agents, [Tier(a.id, QUEUE) for a in agents], rng_seed=seed, now=0.0)
    end = warm + total_h * 3600.0

    heap: list[tuple[float, int, str, str, str]] = []  # (time, seq, kind, a, b)
    seq = 0
    joined: dict[str, float] = {}  # waiting or being offered -> arrival time
    measured: set[str] = set()
    busy_since: dict[str, float] = {}
    stats = {"offered": 0, "answered": 0, "abandoned": 0, "in_sl": 0}
    wait_sum = 0.0
    waits_all = 0.0
    waits_n = 0
    max_wait = 0.0
    busy_time = 0.0
    events = 0

    heappush, heappop = heapq.heappush, heapq.heappop
    expo = rng.expovariate
    talk_inv = 1.0 / talk_mean
    acd_handle = acd.handle
    in_busy = (AgentState.IN_CALL, AgentState.WRAP_UP)
    answers: list[tuple[str, str]] = []

    def busy(start: float, stop: float) -> None:
        nonlocal busy_time
        lo, hi = max(start, warm), min(stop, end)
        if hi > lo:
            busy_time += hi - lo

    def run(cmds: Sequence[object], now: float) -> None:
        nonlocal wait_sum, waits_all, waits_n, max_wait, seq
        for c in cmds:
            kind = type(c)
            if kind is AgentStateChanged:
                if c.state in in_busy:  # type: ignore[attr-defined]
                    busy_since.setdefault(c.agent_id, now)  # type: ignore[attr-defined]
                else:
                    since = busy_since.pop(c.agent_id, None)  # type: ignore[attr-defined]
                    if since is not None:
                        busy(since, now)
            elif kind is Offer:
                if delay:
                    seq += 1
                    heappush(heap, (now + delay, seq, "answer", c.offer_id, c.agent_id))  # type: ignore[attr-defined]
                else:  # answered at once: handled right after this batch, no trip through the heap
                    answers.append((c.offer_id, c.agent_id))  # type: ignore[attr-defined]
            elif kind is Connect:
                assert isinstance(c, Connect)
                joined.pop(c.member_uuid, None)
                if c.member_uuid in measured:
                    stats["answered"] += 1
                    wait_sum += c.wait_s
                    waits_all += c.wait_s
                    waits_n += 1
                    max_wait = max(max_wait, c.wait_s)
                    if c.wait_s <= threshold_s:
                        stats["in_sl"] += 1
                    measured.discard(c.member_uuid)
                seq += 1
                heappush(heap, (now + expo(talk_inv), seq, "end", c.agent_id, ""))
            elif kind is Exit:
                assert isinstance(c, Exit)
                joined.pop(c.member_uuid, None)
                if c.member_uuid in measured:
                    measured.discard(c.member_uuid)
                    if c.reason is ExitReason.CALLER_ABANDON:
                        stats["abandoned"] += 1
                    waits_all += c.wait_s
                    waits_n += 1
                    max_wait = max(max_wait, c.wait_s)

    def handle(event: AcdEvent, now: float) -> None:
        nonlocal events
        run(acd_handle(event, now), now)
        events += 1
        while answers:
            offer_id, agent_id = answers.pop()
            run(acd_handle(AgentAnswered(offer_id, agent_id), now), now)
            events += 1

    for ag in agents:
        handle(AgentLogin(ag.id), 0.0)
    steps = [SkillStep(require=ct.require) for ct in call_types]
    cum: list[float] = []
    acc = 0.0
    for ct in call_types:
        acc += ct.share
        cum.append(acc)
    seq += 1
    heappush(heap, (expo(lam), seq, "arrive", "", ""))
    n_calls = 0
    next_wakeup = acd.next_wakeup
    while heap:
        wake = next_wakeup()
        if wake is not None and wake < heap[0][0]:  # timers first: they may schedule earlier events
            handle(Tick(), wake)
            continue
        at, _, kind, a, b = heappop(heap)
        if kind == "arrive":
            if at > end:
                continue
            n_calls += 1
            uuid = f"m{n_calls}"
            joined[uuid] = at
            if at >= warm:
                measured.add(uuid)
                stats["offered"] += 1
            if patience_s is not None:
                seq += 1
                heappush(heap, (at + expo(1.0 / patience_s), seq, "abandon", uuid, ""))
            member_steps: tuple[SkillStep, ...] = ()
            if steps:
                u = rng.random()
                for i, c in enumerate(cum):
                    if u < c:
                        member_steps = (steps[i],)
                        break
            handle(MemberJoined(uuid, QUEUE, skill_steps=member_steps), at)
            seq += 1
            heappush(heap, (at + expo(lam), seq, "arrive", "", ""))
        elif kind == "end":
            handle(CallEnded(a), at)
        elif kind == "abandon":
            if a in joined:
                handle(MemberLeft(a), at)
        elif kind == "answer":
            handle(AgentAnswered(a, b), at)
        if at > end and not joined:
            break
    for since in busy_since.values():
        busy(since, end)
    unanswered = len(measured)
    offered = stats["offered"]
    staffed_time = len(agents) * (end - warm)
    return WhatIfResult(
        hours=total_h,
        offered=offered,
        answered=stats["answered"],
        abandoned=stats["abandoned"],
        answered_in_sl=stats["in_sl"],
        threshold_s=threshold_s,
        service_level=stats["in_sl"] / offered if offered else None,
        asa_s=wait_sum / stats["answered"] if stats["answered"] else None,
        abandon_rate=stats["abandoned"] / offered if offered else None,
        occupancy=busy_time / staffed_time if staffed_time else None,
        avg_wait_s=waits_all / waits_n if waits_n else None,
        max_wait_s=max_wait if waits_n else None,
        acd_events=events,
        unanswered_at_end=unanswered,
    )
