"""The bench's simulation, short: progressive never abandons, predictive keeps its target (bench cannot rot)."""

from __future__ import annotations

from typing import Any

import pytest

from cc.dialer.model import CampaignMode
from cc.dialer.simulation import SimConfig, simulate


def test_progressive_has_no_abandon() -> None:
    r = simulate(SimConfig(CampaignMode.PROGRESSIVE, 10, seed=1, hours=1.0))
    assert r.answered > 100
    assert r.abandons == 0
    assert r.results <= r.dials


def test_predictive_keeps_the_abandon_target_and_beats_progressive() -> None:
    pred = simulate(SimConfig(CampaignMode.PREDICTIVE, 20, seed=1, hours=2.0))
    prog = simulate(SimConfig(CampaignMode.PROGRESSIVE, 20, seed=1, hours=2.0))
    assert pred.answered > 500
    assert pred.abandon_pct <= 3.0
    assert pred.busy_pct >= prog.busy_pct + 15.0


def test_few_agents_fall_back_to_progressive() -> None:
    r = simulate(SimConfig(CampaignMode.PREDICTIVE, 5, seed=2, hours=1.0))
    assert r.answered > 30
    assert r.abandons == 0


def test_the_bench_times_the_running_campaigns_decisions_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """bench/dialer.py's pacing_p99_us is the pacing decision's time: the handle calls of the running campaign,
    not the thousands of LeadAdded/AgentReady calls that load it first (cheap, they pulled the p99 down)."""
    import cc.dialer.simulation as simulation
    from cc.dialer.engine import Dialer
    from cc.dialer.model import CampaignStatus

    running: list[int] = []

    class Counting(Dialer):
        def handle(self, event: Any, now: float) -> Any:
            if self.status is CampaignStatus.RUNNING:
                running.append(1)
            return super().handle(event, now)

    monkeypatch.setattr(simulation, "Dialer", Counting)
    ticks = iter(range(10**9))
    r = simulate(SimConfig(CampaignMode.PREDICTIVE, 10, 1, hours=0.05), timer=lambda: next(ticks))
    assert r.dials > 0 and len(running) > 0
    assert len(r.decision_ns) == len(running)
