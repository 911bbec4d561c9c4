"""A seeded discrete-event simulation of one campaign on the pure Dialer, in simulated time (no I/O, no clock).

Called parties answer with probability ``answer_rate`` after a ring time uniform in ``ring_s``; the others
ring out at ``no_answer_s`` (NO_ANSWER). Talk is exponential with mean ``talk_mean_s``; every agent
takes ``wrap_s`` of wrap-up and then sets the result. An overflow message lasts ``overflow_s``. Agents are
ready all along. bench/dialer.py runs it for its figures; tests run it short so that the bench cannot rot.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from cc.dialer import commands as cmd
from cc.dialer import events as ev
from cc.dialer.campaign_state import CampaignEvent
from cc.dialer.engine import Dialer, PacingConfig
from cc.dialer.model import CampaignMode, CampaignSettings, CampaignStatus, Lead, ResultCode, RetryRule

__all__ = ["SimConfig", "SimReport", "simulate"]


@dataclass(frozen=True)
class SimConfig:
    """One simulated run: mode, agents, seed, length and the called parties' behaviour."""

    mode: CampaignMode
    agents: int
    seed: int
    hours: float = 8.0
    answer_rate: float = 0.25
    talk_mean_s: float = 120.0
    wrap_s: float = 15.0
    ring_s: tuple[float, float] = (4.0, 20.0)
    no_answer_s: float = 25.0
    overflow_s: float = 8.0
    tick_s: float = 1.0
    abandon_target: float = 0.03
    pacing: PacingConfig = field(default_factory=PacingConfig)


@dataclass
class SimReport:
    """What a run measured: agents' busy share (talk + wrap-up), abandons over answered calls, dials."""

    busy_pct: float
    abandon_pct: float
    abandons: int
    answered: int
    dials: int
    results: int
    decision_ns: list[int]


def simulate(cfg: SimConfig, timer: Callable[[], int] | None = None,
             observe: Callable[[float, Dialer], None] | None = None) -> SimReport:
    """Run ``cfg``; ``timer`` (a monotonic ns counter, passed by the bench) times each Dialer.handle call of the
    running campaign (not the calls that load its leads and agents before the start); ``observe`` (tests) is
    called with the simulated time and the Dialer after each event of the running campaign."""
    rng = random.Random(cfg.seed)
    end = cfg.hours * 3600.0
    settings = CampaignSettings(
        "sim", mode=cfg.mode, caller_ids=("+861000000000",), dial_timeout_s=max(15.0, cfg.no_answer_s),
        max_attempts=5, abandon_target=cfg.abandon_target, overflow_message="sorry.wav",
        retry_rules={ResultCode.NO_ANSWER: RetryRule(3600.0, 4), ResultCode.ABANDONED: RetryRule(900.0, 2),
                     ResultCode.OVERFLOW: RetryRule(900.0, 2), ResultCode.SYSTEM_ERROR: RetryRule(300.0, 3)},
        wrap_up_timeout_s=cfg.wrap_s * 10)
    d = Dialer(settings, status=CampaignStatus.DRAFT, now=0.0, rng_seed=cfg.seed, pacing=cfg.pacing)
    q: list[tuple[float, int, ev.DialerEvent]] = []
    seq = 0

    def at(t: float, e: ev.DialerEvent) -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(q, (t, seq, e))

    dead: set[str] = set()
    busy_from: dict[str, float] = {}
    busy = 0.0
    answered = abandons = dials = results = 0
    decision_ns: list[int] = []

    def run(e: ev.DialerEvent, now: float) -> None:
        nonlocal busy, answered, abandons, dials, results
        # only the running campaign's calls are timed (each one paces); loading the leads before the start is not
        timed = timer is not None and d.status is CampaignStatus.RUNNING
        t0 = timer() if timer is not None and timed else 0
        out = d.handle(e, now)
        if timer is not None and timed:
            decision_ns.append(timer() - t0)
        if observe is not None and d.status is CampaignStatus.RUNNING:
            observe(now, d)
        for c in out:
            if isinstance(c, cmd.Originate):
                dials += 1
                if rng.random() < cfg.answer_rate:
                    at(now + rng.uniform(*cfg.ring_s), ev.OriginateAnswered(c.uuid))
                else:
                    at(now + cfg.no_answer_s, ev.OriginateFailed(c.uuid, "NO_ANSWER"))
            elif isinstance(c, cmd.Bridge):
                at(now, ev.Bridged(c.uuid, c.agent_id))
                busy_from[c.agent_id] = now
                talk = rng.expovariate(1.0 / cfg.talk_mean_s)
                at(now + talk, ev.CallHungUp(c.uuid))
                at(now + talk + cfg.wrap_s, ev.ResultSet(c.uuid, c.agent_id, ResultCode.CONNECTED))
            elif isinstance(c, cmd.PlayOverflow):
                at(now + cfg.overflow_s, ev.CallHungUp(c.uuid))
            elif isinstance(c, cmd.HangupCall):
                dead.add(c.uuid)
            elif isinstance(c, cmd.SetResult):
                results += 1
                r = settings.result(c.attempt.result or "")
                if c.attempt.answered_at is not None:
                    answered += 1
                    abandons += r.abandon
                agent = c.attempt.agent_id
                if agent is not None and agent in busy_from and c.attempt.bridged_at is not None:
                    busy += min(now, end) - busy_from.pop(agent)

    n_leads = int(cfg.agents * cfg.hours * 150) + 500   # more than the run can dial: it never runs dry
    for i in range(n_leads):
        run(ev.LeadAdded(Lead(f"L{i}", "sim", (f"+8613{i:09d}",), created_at=float(i))), 0.0)
    for i in range(cfg.agents):
        run(ev.AgentReady(f"A{i}"), 0.0)
    run(ev.CampaignControl(CampaignEvent.START), 0.0)
    t = 0.0
    next_tick = cfg.tick_s
    while t < end:
        if q and q[0][0] <= next_tick:
            t, _, e = heapq.heappop(q)
            if getattr(e, "uuid", None) in dead:
                continue
            run(e, t)
        else:
            t = next_tick
            next_tick += cfg.tick_s
            run(ev.Tick(), t)
    for agent, since in busy_from.items():
        busy += max(0.0, end - since)
        del agent
    return SimReport(
        busy_pct=100.0 * busy / (cfg.agents * end),
        abandon_pct=100.0 * abandons / answered if answered else 0.0,
        abandons=abandons, answered=answered, dials=dials, results=results, decision_ns=decision_ns)
