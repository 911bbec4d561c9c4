"""Outbound pacing on the pure dialer core: a seeded simulation in simulated time; prints one JSON object.

Each run (cc.dialer.simulation): ``agents`` agents ready for 8 simulated hours, called parties answering
with probability 0.25 after a ring time uniform in 4-20 s, the others ringing out at 25 s (NO_ANSWER), talk
exponential with mean 120 s, wrap-up 15 s; 5 seeds per agent count (5, 20, 50), predictive (abandon target
3 %, progressive fallback below 8 agents) and progressive.

``busy_pct``: the agents' time talking or in wrap-up over their ready time; ``abandon_pct``: answered calls
that found no agent (overflow message) or hung up before the bridge, over answered calls; ``abandons``
(progressive): their count. ``pacing_p99_us``: p99 of the time of one ``Dialer.handle`` call of the running
campaign in the predictive runs with 20 and 50 agents (event, timers and the pacing decision; the calls that
load the leads before the start are not timed), from one run; ``pacing_p50_us`` its median.

``floor`` and ``overflow_msg_p99_s`` come from the runtime over ESL (bench/outbound_floor.py): ``ccctl sim`` in
its own process with the agents' phones and the called parties, this process running the controller's
campaign runtime (predictive) until ``dials`` originates have their result; ``failed_originates`` (the system's
failures, watchdogs and reconciler settlements), ``cpu_ms_per_dial`` (this process's CPU time / dials) and the
p99 of PLAYBACK_START - CHANNEL_ANSWER of the overflowed calls (the switch's event times, simulated seconds).

Usage: ``python bench/dialer.py [--quick] [--floor-agents N] [--floor-dials N] [--floor-time-scale S]
[--no-floor]`` (``--quick``: 1 simulated hour, seeds 1-2, a small floor; the full floor of the plans is
``--floor-agents 100 --floor-dials 8000``).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cc.dialer.model import CampaignMode
from cc.dialer.simulation import SimConfig, simulate

FLOOR = {"agents": 100, "dials": 8000, "time_scale": 0.1}   # the plans' floor (a few minutes here)


def _arg(name: str, default: float) -> float:
    """The value after ``name`` on the command line, else ``default``."""
    if name in sys.argv:
        return float(sys.argv[sys.argv.index(name) + 1])
    return default


def floor(quick: bool) -> dict[str, object] | None:
    """The floor over ESL against cc.sim (bench/outbound_floor.py), or None with --no-floor."""
    if "--no-floor" in sys.argv:
        return None
    import logging

    from outbound_floor import run_floor

    logging.basicConfig(level=logging.ERROR)
    agents = int(_arg("--floor-agents", 20 if quick else FLOOR["agents"]))
    dials = int(_arg("--floor-dials", 500 if quick else FLOOR["dials"]))
    scale = _arg("--floor-time-scale", FLOOR["time_scale"])

    def progress(done: int, total: int) -> None:
        if done // 500 != getattr(progress, "last", -1):
            progress.last = done // 500   # type: ignore[attr-defined]
            print(f"floor: {done}/{total} dials settled", file=sys.stderr, flush=True)

    return run_floor(agents=agents, dials=dials, time_scale=scale, progress=progress)


def main() -> None:
    """Run every case and print the JSON object."""
    quick = "--quick" in sys.argv
    hours = 1.0 if quick else 8.0
    seeds = (1, 2) if quick else (1, 2, 3, 4, 5)
    predictive = []
    progressive = []
    timings: list[int] = []
    for agents in (5, 20, 50):
        for seed in seeds:
            r = simulate(SimConfig(CampaignMode.PREDICTIVE, agents, seed, hours=hours), timer=time.perf_counter_ns)
            if agents >= 20:
                timings.extend(r.decision_ns)
            predictive.append({"agents": agents, "seed": seed, "busy_pct": round(r.busy_pct, 2),
                               "abandon_pct": round(r.abandon_pct, 2), "answered": r.answered, "dials": r.dials})
            print(f"predictive agents={agents} seed={seed} busy={r.busy_pct:.1f}% abandon={r.abandon_pct:.2f}%",
                  file=sys.stderr, flush=True)
            r = simulate(SimConfig(CampaignMode.PROGRESSIVE, agents, seed, hours=hours))
            progressive.append({"agents": agents, "seed": seed, "busy_pct": round(r.busy_pct, 2),
                                "abandons": r.abandons, "answered": r.answered, "dials": r.dials})
            print(f"progressive agents={agents} seed={seed} busy={r.busy_pct:.1f}% abandons={r.abandons}",
                  file=sys.stderr, flush=True)
    timings.sort()
    p99 = timings[min(len(timings) - 1, int(0.99 * len(timings)))] / 1000.0 if timings else None
    p50 = timings[len(timings) // 2] / 1000.0 if timings else None
    fl = floor(quick)
    print(json.dumps({"predictive": predictive, "progressive": progressive,
                      "pacing_p99_us": None if p99 is None else round(p99, 1),
                      "pacing_p50_us": None if p50 is None else round(p50, 1),
                      "overflow_msg_p99_s": fl.pop("overflow_msg_p99_s") if fl else None,
                      "floor": fl}))


if __name__ == "__main__":
    main()
