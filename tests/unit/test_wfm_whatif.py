"""What-if: the real ACD in virtual time agrees with Erlang C / A where their assumptions hold."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from cc.errors import InvalidValue
from cc.model import SkillRequirement
from cc.wfm import erlang_a, erlang_c_result
from cc.wfm.whatif import AgentGroup, CallType, simulate


@pytest.mark.timeout(60)
def test_simulation_agrees_with_erlang_c() -> None:
    sims = [simulate([AgentGroup(14)], calls_per_hour=200, aht_s=180, hours=150, seed=s) for s in (1, 2)]
    model = erlang_c_result(14, 200 / 3600, 180, 20)
    sl = sum(s.service_level or 0 for s in sims) / 2
    occ = sum(s.occupancy or 0 for s in sims) / 2
    assert sl == pytest.approx(model.service_level, abs=0.03)
    assert occ == pytest.approx(model.occupancy, abs=0.02)
    assert all(s.abandoned == 0 and s.unanswered_at_end == 0 for s in sims)


@pytest.mark.timeout(60)
def test_simulation_agrees_with_erlang_a_when_callers_abandon() -> None:
    sim = simulate([AgentGroup(12)], calls_per_hour=220, aht_s=180, hours=150, patience_s=60, seed=5)
    model = erlang_a(12, 220 / 3600, 180, 60, 20)
    assert sim.abandon_rate == pytest.approx(model.abandon_rate, abs=0.015)
    assert sim.service_level == pytest.approx(model.service_level, abs=0.03)


def test_two_more_agents_and_skills_change_the_result() -> None:
    base = simulate([AgentGroup(11)], calls_per_hour=200, aht_s=180, hours=20, seed=3)
    more = simulate([AgentGroup(11), AgentGroup(2)], calls_per_hour=200, aht_s=180, hours=20, seed=3)
    assert (more.service_level or 0) > (base.service_level or 0) + 0.1
    # 30 % of calls need spanish, which only 2 of 13 agents speak: worse than 13 interchangeable agents
    split = simulate([AgentGroup(11), AgentGroup(2, {"spanish": 8})], calls_per_hour=200, aht_s=180, hours=20,
                     call_types=[CallType(0.3, (SkillRequirement("spanish", ">=", 5),))], seed=3)
    assert (split.service_level or 0) < (more.service_level or 0)


def test_wrap_up_counts_in_aht_and_bad_values() -> None:
    sim = simulate([AgentGroup(14)], calls_per_hour=200, aht_s=180, wrap_up_s=30, hours=20, seed=4)
    assert sim.occupancy == pytest.approx(10 / 14, abs=0.04)
    with pytest.raises(InvalidValue):
        simulate([AgentGroup(0)], calls_per_hour=10, aht_s=100, hours=1)
    with pytest.raises(InvalidValue):
        simulate([AgentGroup(3)], calls_per_hour=10, aht_s=100, hours=1, wrap_up_s=100)


def test_whatif_and_staff_commands() -> None:
    from cli import cc

    res = CliRunner().invoke(cc, ["whatif", "--agents", "12", "--add-agents", "2", "--calls-per-hour", "200",
                                  "--aht", "3m", "--hours", "10", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["agents"] == 14 and out["model"]["model"] == "erlang-c" and out["simulated"]["offered"] > 1500
    res = CliRunner().invoke(cc, ["staff", "--calls-per-interval", "300", "--interval", "30m", "--aht", "240s",
                                  "--sl", "80/20", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["intervals"][0]["agents"] == 48
    for bad in (["staff", "--calls-per-interval", "x"], ["staff", "--calls-per-interval", "3", "--sl", "80"],
                ["whatif", "--agents", "3", "--calls-per-hour", "10", "--require", "spanish:30"]):
        res = CliRunner().invoke(cc, bad)
        assert res.exit_code == 2 and res.output.startswith("ccctl: ") and len(res.output.strip().splitlines()) == 1


def test_replications_in_processes_equal_the_same_runs_in_turn_and_agree_with_erlang_c() -> None:
    from cc.wfm.erlang import erlang_c_result
    from cc.wfm.whatif import merge, simulate_replicated

    kw = {"calls_per_hour": 200, "aht_s": 180, "hours": 120, "seed": 7}
    parallel = simulate_replicated([AgentGroup(14)], replications=4, workers=2, **kw)
    in_turn = simulate_replicated([AgentGroup(14)], replications=4, workers=1, **kw)
    assert parallel == in_turn   # the result depends on the replications and the seed, not on the processes
    assert parallel.replications == 4 and len(parallel.service_level_runs) == 4 and parallel.hours == 120
    # the merge is the runs' own figures, summed and weighted
    runs = [simulate([AgentGroup(14)], calls_per_hour=200, aht_s=180, hours=30, seed=7000 + i) for i in range(4)]
    assert merge(runs) == parallel
    assert parallel.offered == sum(r.offered for r in runs)
    assert parallel.asa_s == pytest.approx(sum((r.asa_s or 0) * r.answered for r in runs) / parallel.answered)
    assert parallel.max_wait_s == max(r.max_wait_s or 0 for r in runs)
    model = erlang_c_result(14, 200 / 3600, 180, 20)
    assert parallel.service_level == pytest.approx(model.service_level, abs=0.04)
    assert parallel.asa_s == pytest.approx(model.asa_s, rel=0.25)
    with pytest.raises(InvalidValue):
        simulate_replicated([AgentGroup(14)], replications=0, **kw)
