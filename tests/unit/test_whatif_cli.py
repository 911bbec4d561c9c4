"""`ccctl whatif`: bad input is one line and exit 2, checked before any worker process is forked; the verdict
comes from a 95 % interval of the replications' service levels, with more replications while it is unsure."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest
from click.testing import CliRunner

from cc.errors import InvalidValue
from cc.wfm.whatif import (
    AgentGroup,
    WhatIfResult,
    service_level_interval,
    simulate,
    simulate_replicated,
    simulate_until_sure,
    t95,
    verdict,
)


def test_no_agents_is_one_line_exit_2() -> None:
    from cli import cc

    for args in (["--agents", "0"], ["--agents", "0", "--add-agents", "0"]):
        res = CliRunner().invoke(cc, ["whatif", *args, "--calls-per-hour", "100", "--workers", "2",
                                      "--replications", "2", "--hours", "1"])
        assert res.exit_code == 2, res.output
        assert res.output.strip().splitlines() == ["ccctl: agents=0: at least one agent is needed"]


def test_replicated_validates_before_forking() -> None:
    with pytest.raises(InvalidValue):
        simulate_replicated([AgentGroup(3)], calls_per_hour=10, aht_s=100, wrap_up_s=100, hours=1, replications=2,
                            workers=2)


def _with_runs(runs: tuple[float, ...]) -> WhatIfResult:
    base = simulate([AgentGroup(3)], calls_per_hour=30, aht_s=100, hours=1)
    return dataclasses.replace(base, service_level_runs=runs, replications=len(runs))


def test_confidence_interval_and_verdict() -> None:
    assert t95(1) == 12.706 and t95(9) == 2.262 and t95(11) == 2.228 and t95(5000) == 1.96
    assert service_level_interval(_with_runs((0.8,))) is None
    ci = service_level_interval(_with_runs((0.78, 0.80, 0.82, 0.80)))
    assert ci is not None and ci.n == 4 and ci.mean == pytest.approx(0.80)
    half = 3.182 * math.sqrt(((0.02 ** 2) * 2) / 3) / 2
    assert (ci.low, ci.high) == (pytest.approx(0.80 - half), pytest.approx(0.80 + half))
    assert verdict(_with_runs((0.78, 0.80, 0.82, 0.80)), 0.8) == "inconclusive"   # 79.5-80.9 % is not a verdict
    assert verdict(_with_runs((0.85, 0.86, 0.84)), 0.8) == "meets"
    assert verdict(_with_runs((0.70, 0.72, 0.71)), 0.8) == "misses"


def test_more_replications_until_sure() -> None:
    kw = {"calls_per_hour": 200, "aht_s": 180, "hours": 4, "replications": 4, "workers": 1, "seed": 3}
    one = simulate_until_sure([AgentGroup(12)], target=0.5, max_hours=None, **kw)
    assert one.replications == 4
    # a target inside the interval: batches are added up to max_hours, numbered on (no seed used twice)
    sure = simulate_until_sure([AgentGroup(12)], target=one.service_level or 0.0, max_hours=12, **kw)
    assert sure.replications == 12 and sure.hours == pytest.approx(12)
    assert sure.service_level_runs[:4] == one.service_level_runs
    assert len(set(sure.service_level_runs)) == 12


def test_whatif_json_has_interval_and_verdict() -> None:
    from cli import cc

    res = CliRunner().invoke(cc, ["whatif", "--agents", "14", "--calls-per-hour", "200", "--aht", "3m", "--hours",
                                  "20", "--workers", "1", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    ci = out["service_level_interval"]
    assert ci["replications"] >= 10 and ci["low"] <= ci["mean"] <= ci["high"]
    assert out["verdict"] in ("meets", "misses", "inconclusive")
    assert out["verdict"] == ("meets" if ci["low"] >= 0.8 else "misses" if ci["high"] < 0.8 else "inconclusive")
