"""Overload: the controller's process is stopped for 12 s (SIGSTOP/SIGCONT) under ~200 calls; nothing is left in limbo.

The controller runs in a process of its own (tests/wire/overload_controller.py), the simulator in this one,
so stopping the controller starves it alone, as FreeSWITCH at real-time priority starves a `cc` beside it.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import gevent
import pytest
from gevent import subprocess

from cc.model import Agent, AgentState, QueueConfig, QueueEventType, Tier
from cc.sim.endpoints import AgentSpec, CallerSpec
from cc.sim.simulator import CallHandle, Simulator
from cc.store.db import Database, upgrade
from cc.store.repos import AgentRepo, CallRepo, QueueEventRepo, QueueRepo, TierRepo
from tests.wire.harness import QUEUE_FLOW, TERMINAL

pytestmark = [pytest.mark.slow, pytest.mark.timeout(150)]

ROOT = Path(__file__).resolve().parents[2]
SCALE = 0.05          # 20 simulated seconds per real second
AGENTS = 20
CALLS = 200           # placed before the stall: 160 in about 3 real seconds, then a burst of BURST
BURST = 40            # in 0.16 s, stopped half way
DURING = 20           # placed while the controller is stopped
STALL_S = 12.0        # real seconds the controller is stopped


def seed(tmp: Path) -> None:
    """One queue, AGENTS agents on it, its flow."""
    (tmp / "flows").mkdir()
    (tmp / "flows" / "support.yaml").write_text(QUEUE_FLOW.format(name="support", queue="support"))
    db = Database(f"sqlite:///{tmp}/cc.db")
    upgrade(engine=db.engine)
    QueueRepo(db).create(QueueConfig("support", moh="", announce_position=False))
    for i in range(AGENTS):
        aid = str(1000 + i)
        AgentRepo(db).create(Agent(aid, name=f"Agent {aid}", contact=f"user/{aid}@sim", wrap_up_s=2.0,
                                   no_answer_delay_s=2.0, busy_delay_s=2.0, reject_delay_s=2.0))
        TierRepo(db).add(Tier(aid, "support"))
    db.engine.dispose()


def live(sim: Simulator) -> list[str]:
    """The channels the simulator still has."""
    return [u for u, c in sim.channels.items() if not c.gone.is_set()]


def test_a_12_s_stall_under_200_calls_leaves_nothing_in_limbo(tmp_path: Path) -> None:
    seed(tmp_path)
    agents = [AgentSpec(str(1000 + i), answer_after=2.0, talk_time=60.0) for i in range(AGENTS)]
    sim = Simulator(time_scale=SCALE, agents=agents, hostname="sim1")
    sim.start()
    host, port = sim.inbound_address
    err = open(tmp_path / "controller.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "tests.wire.overload_controller", str(tmp_path),
                             f"{host}:{port}", str(SCALE)], cwd=ROOT, stdout=subprocess.PIPE, stderr=err)
    try:
        assert proc.stdout is not None
        with gevent.Timeout(30):
            line = proc.stdout.readline().decode()
        assert line.startswith("READY"), (line, (tmp_path / "controller.log").read_text()[-2000:])
        sim.socket_address = ("127.0.0.1", int(line.split()[1]))
        handles: list[CallHandle] = []

        def place(n: int, every: float, patience: float) -> None:
            for _ in range(n):
                handles.append(sim.place_call(CallerSpec("7000", caller_id_number=f"1555{len(handles):07d}",
                                                         patience=patience)))
                gevent.sleep(every)

        place(CALLS - BURST, 0.02, 400.0)            # ~3 s; simulated patience 400 s = 20 real s
        burst = gevent.spawn(place, BURST, 0.004, 400.0)
        gevent.sleep(0.08)                           # half the burst is being set up (commands in flight) ...
        busy = len(live(sim))
        os.kill(proc.pid, signal.SIGSTOP)            # ... when cc stops
        try:
            burst.join()
            place(DURING, 0.1, 400.0)               # new calls knock while cc is stopped
            gevent.sleep(STALL_S - DURING * 0.1)
        finally:
            os.kill(proc.pid, signal.SIGCONT)
        results = [h.wait(60) for h in handles]
        with gevent.Timeout(20, False):
            while live(sim):
                gevent.sleep(0.2)
        left = live(sim)
        proc.send_signal(signal.SIGTERM)
        with gevent.Timeout(30):
            proc.wait()
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGCONT)
            proc.kill()
        err.close()
        sim.stop()
    log_tail = (tmp_path / "controller.log").read_text()[-3000:]
    assert busy >= 160, f"only {busy} channels up before the stall"
    assert all(r is not None for r in results)
    assert not left, f"channels left in the simulator: {left[:5]}\n{log_tail}"
    snap = json.loads((tmp_path / "snapshot.json").read_text())
    assert snap["sessions"] == [] and snap["members"] == [] and snap["offers"] == 0, snap
    stuck = {a: s for a, s in snap["agents"].items() if s["state"] not in (AgentState.IDLE, AgentState.WRAP_UP)}
    assert not stuck, f"agents stuck: {stuck}"
    assert snap["stalls"] >= 1 and snap["max_lag_s"] >= STALL_S - 1
    assert snap["refused"] >= 1, snap

    db = Database(f"sqlite:///{tmp_path}/cc.db")
    calls = list(CallRepo(db).scan(0, 4e9))
    placed = len(handles)
    assert len(calls) == placed, f"{len(calls)} calls rows for {placed} calls placed"
    by_disposition: dict[str, int] = {}
    for c in calls:
        assert c.ended_at is not None and c.disposition, c
        by_disposition[c.disposition] = by_disposition.get(c.disposition, 0) + 1
    dropped = {d: n for d, n in by_disposition.items() if d in ("esl-error", "error") or d.startswith("gave-up")}
    assert not dropped, f"calls dropped in the middle: {by_disposition}"
    refused = sum(n for d, n in by_disposition.items() if d.startswith("refused:"))
    assert refused == snap["refused"]
    events = sorted(QueueEventRepo(db).scan(0, 4e9), key=lambda e: e.at)
    members: dict[str, list[QueueEventType]] = {}
    for e in events:
        members.setdefault(e.member_uuid, []).append(e.type)
    for member, types in members.items():
        assert types.count(QueueEventType.ENTER) == 1, (member, types)
        assert len([t for t in types if t in TERMINAL]) == 1, (member, types)
    assert len(members) == placed - refused
    print(json.dumps({"placed": placed, "busy_before_stall": busy, "dispositions": by_disposition,
                      "snapshot": {k: v for k, v in snap.items() if k != "agents"}}))
    db.engine.dispose()
