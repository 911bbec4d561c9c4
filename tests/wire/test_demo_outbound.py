"""`ccctl demo --outbound`: a short simulated morning ends with the campaign's figures, read from the store."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_demo_outbound_prints_the_campaigns_figures() -> None:
    out = subprocess.run([sys.executable, "-m", "cli", "demo", "--outbound", "--agents", "10", "--duration", "20m",
                          "--time-scale", "0.02", "--json"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    f = json.loads(out.stdout)
    assert f["agents"] == 10 and f["simulated_s"] == 1200
    assert f["dials"] > 50
    assert sum(f["results"].values()) == f["dials"]           # every originate has its one result
    assert "(open)" not in f["results"]
    assert 0 < f["contacts"] < f["dials"]
    assert f["contact_rate"] == f["contacts"] / f["dials"]
    assert f["abandon_rate"] == f["abandons"] / f["contacts"]
    assert {"no_answer", "busy", "invalid_number"} <= set(f["results"])   # the parties' mix, by real causes
    assert 0 < f["agent_busy_pct"] <= 100


def test_demo_outbound_bad_option_is_one_line_exit_2() -> None:
    out = subprocess.run([sys.executable, "-m", "cli", "demo", "--outbound", "--agents", "0"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2, (out.returncode, out.stderr)
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr
