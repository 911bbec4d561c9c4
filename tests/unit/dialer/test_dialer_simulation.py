"""The bench's simulation, short: progressive never abandons, predictive keeps its target (bench cannot rot)."""

from __future__ import annotations

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
