"""bench/faults.py cannot rot: its ESL-cut fault with tiny durations on cc.sim (the controller in a process of its
own) gives the JSON shape, and no call lost or duplicated, no agent stuck, no channel left."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_faults", ROOT / "bench" / "faults.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["bench_faults"] = mod   # its dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_esl_cut_under_load_loses_nothing_and_reports_every_figure() -> None:
    faults = _bench()
    url = os.environ.get("CC_TEST_DATABASE_URL")
    kind = "postgresql" if url and faults.pg_reachable(url) else "sqlite"
    timing = faults.Timing(warm_s=3.0, outage_s=3.0, esl_s=3.0, down_s=2.0, tail_s=3.0, patience_s=60.0)
    out = faults.run_fault("esl_cut", timing, kind, url or faults.DEFAULT_PG, agents=8, rate=2.0)
    json.dumps(out)   # one JSON object
    assert set(faults.SHAPE) <= set(out), out
    assert out["fault"] == "esl_cut" and out["database"] == kind
    assert out["calls"] >= 5 and out["completed"] == out["calls"], out
    assert (out["lost"], out["duplicated"], out["stuck_agents"], out["orphan_channels"]) == (0, 0, 0, 0), out
    assert out["recovery_s"] is not None and out["recovery_s"] >= 0, "a caller was bridged after the restore"
    assert out["dispositions"] == {"answered": out["calls"]}


def test_figures_from_metrics_and_the_lag_histogram() -> None:
    faults = _bench()
    m = {'cc_agents{state="idle",status="available"}': 7.0, 'cc_agents{state="in_call",status="available"}': 1.0,
         'cc_agents{state="idle",status="logged_out"}': 3.0, 'cc_agents{state="idle",status="on_break"}': 1.0}
    assert faults.stuck_from_metrics(m) == 2
    assert faults.stuck_from_metrics({}) is None
    start = [(0.001, 10.0), (0.01, 10.0), (float("inf"), 10.0)]
    end = [(0.001, 60.0), (0.01, 109.0), (float("inf"), 110.0)]   # 100 turns: 50 <= 1 ms, 49 <= 10 ms, 1 longer
    assert faults.quantile(start, end, 0.5) == 0.001
    assert faults.quantile(start, end, 0.99) == 0.01
    assert faults.quantile(end, end, 0.5) is None
    assert faults.slope_per_hour([(0.0, 100.0), (1800.0, 101.0), (3600.0, 102.0)]) == 2.0


def test_bad_arguments_are_one_line_and_exit_2() -> None:
    r = subprocess.run([sys.executable, str(ROOT / "bench" / "faults.py"), "--only", "nope"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 2 and "kill9" in r.stderr and not r.stdout
