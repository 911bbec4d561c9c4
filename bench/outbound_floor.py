"""The outbound floor over ESL: the controller's campaign runtime dialing against cc.sim in its own process.

``ccctl sim`` runs in a subprocess with ``agents`` agent phones (auto-answer) and a called-party population
(answer rate 0.25, ring 4-20 s, talk exponential with mean 120 s, 8 % busy, 5 % invalid, 7 % off, the rest
ringing out), time-scaled; this process runs the controller (a Service on SQLite) with one predictive
campaign (abandon target 3 %, dial timeout 25 s, wrap-up 15 s by its timeout), its agents logged in, until
``dials`` originates have their result. Measured:

- ``failed_originates``: originates that failed for the system's reasons (ESL link, timeout, no node, a cause
  of ours) plus attempts the dialer's watchdog or the reconciler had to settle (no word from the switch);
- ``cpu_ms_per_dial``: this process's CPU time (time.process_time: the controller, its store writes, and the
  small ESL watcher below) over the run / dials;
- ``overflow_msg_p99_s``: p99 over the overflowed calls of PLAYBACK_START - CHANNEL_ANSWER of the same
  channel, the switch's own Event-Date-Timestamp (simulated seconds), read by a separate ESL connection.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import gevent

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _p99(xs: list[float]) -> float | None:
    if not xs:
        return None
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(0.99 * len(xs)))]


def run_floor(agents: int = 100, dials: int = 8000, time_scale: float = 0.05, seed: int = 1,
              max_wall_s: float = 900.0, progress: Any = None) -> dict[str, Any]:
    """One floor run; returns its figures (see the module docstring)."""
    from cc.clock import ScaledClock
    from cc.config import NodeConfig, OverloadConfig, ServiceConfig
    from cc.dialer import CampaignEvent, CampaignMode, CampaignSettings
    from cc.esl.inbound import Switch
    from cc.leadfile import LeadInput
    from cc.model import Agent, QueueConfig
    from cc.runtime.campaigns import OutboundConfig
    from cc.service import Service
    from cc.store.campaigns import Campaign, CampaignRepos
    from cc.store.db import Database, upgrade
    from cc.store.repos import AgentRepo, QueueRepo

    tmp = Path(tempfile.mkdtemp(prefix="cc-bench-floor-"))
    ids = [str(2001 + i) for i in range(agents)]
    (tmp / "roster.yaml").write_text("agents:\n" + "".join(
        f"  - {{id: '{a}', answer_after: 0.2, talk_time: null}}\n" for a in ids))
    (tmp / "parties.yaml").write_text(
        f"seed: {seed}\nanswer_rate: 0.25\nring: [4, 20]\ntalk_mean: 120\npatience: 10\n"
        "mix: {busy: 0.08, invalid: 0.05, 'off': 0.07}\ngateways: {carrier: up}\n")
    port = _free_port()
    sim = subprocess.Popen([sys.executable, "-m", "cli", "sim", "--listen", f"127.0.0.1:{port}",
                            "--roster", str(tmp / "roster.yaml"), "--parties", str(tmp / "parties.yaml"),
                            "--time-scale", repr(time_scale), "--json"],
                           cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    svc: Service | None = None
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or sim.poll() is not None:
                    raise RuntimeError("ccctl sim did not start") from None
                time.sleep(0.1)
        url = f"sqlite:///{tmp}/cc.db"
        db = Database(url)
        upgrade(engine=db.engine)
        QueueRepo(db).create(QueueConfig("outbound"))
        for a in ids:
            AgentRepo(db).create(Agent(a, contact=f"user/{a}", wrap_up_s=15.0))
        repos = CampaignRepos(db)
        settings = CampaignSettings("floor", mode=CampaignMode.PREDICTIVE, caller_ids=("+861088880000",),
                                    dial_string="sofia/gateway/{gw}/{number}", gateway="carrier",
                                    dial_timeout_s=25.0, wrap_up_timeout_s=15.0, overflow_message="ivr/overflow.wav")
        repos.campaigns.create(Campaign(settings, agents=tuple(ids)))
        n_leads = int(dials * 1.3)
        rows = [LeadInput(row=i + 1, numbers=[(f"+86139{i:08d}", "mobile")], tz="Asia/Shanghai")
                for i in range(n_leads)]
        repos.leads.import_rows("floor", "floor.csv", rows, [], total_rows=n_leads, partial=True)
        (tmp / "flows").mkdir(exist_ok=True)
        cfg = ServiceConfig(nodes=(NodeConfig("sim1", "127.0.0.1", port, hostname=None),), outbound_port=0,
                            database_url=url, base_dir=str(tmp), flows_dir="flows", drain_timeout_s=2,
                            overload=OverloadConfig(max_lag_s=5.0, max_busy=1.0))
        svc = Service(cfg, clock=ScaledClock(time_scale), database=db, journal_path=str(tmp / "journal.jsonl"),
                      outbound=OutboundConfig(cps=50.0, max_legs_per_node=2000))
        svc.start(wait_nodes=10)
        assert svc.controller is not None and svc.campaigns is not None
        for a in ids:
            svc.controller.login(a)
        watcher = Switch("127.0.0.1", port, "ClueCon")
        watcher.connect()
        watcher.subscribe(["CHANNEL_ANSWER", "PLAYBACK_START"])
        answered: dict[str, float] = {}
        waits: list[float] = []

        def watch() -> None:
            while True:
                ev = watcher.events.get()
                stamp = ev.header("Event-Date-Timestamp")
                if not stamp or not ev.uuid:
                    continue
                if ev.name == "CHANNEL_ANSWER":
                    answered[ev.uuid] = int(stamp) / 1e6
                elif ev.name == "PLAYBACK_START" and ev.uuid in answered:
                    waits.append(int(stamp) / 1e6 - answered.pop(ev.uuid))

        g = gevent.spawn(watch)
        camps = svc.campaigns
        cpu0, t0 = time.process_time(), time.monotonic()
        sim0 = svc.controller.clock.now()
        camps.control("floor", CampaignEvent.START)
        rc = camps.running["floor"]
        busy = samples = 0
        world = svc.controller.acd.world.agents
        while sum(rc.results.values()) < dials and time.monotonic() - t0 < max_wall_s:
            gevent.sleep(0.5)
            samples += len(world)
            busy += sum(1 for x in world.values() if x.id in camps.holds or x.state.value != "idle")
            if progress is not None:
                progress(sum(rc.results.values()), dials)
        camps.control("floor", CampaignEvent.PAUSE)
        end = time.monotonic() + 60
        while rc.dialer.open_attempts() and time.monotonic() < end:
            gevent.sleep(0.2)
        cpu, wall = time.process_time() - cpu0, time.monotonic() - t0
        on_break = sum(1 for x in svc.controller.acd.world.agents.values() if x.status.value != "available")
        sim_s = svc.controller.clock.now() - sim0
        g.kill()
        watcher.close()
        settled = rc.results
        by = {"watchdog": 0, "reconciler": 0}
        done = sum(settled.values())
        camps.writes.flush(30)
        for att in repos.attempts.scan(0, 4e9, campaign="floor"):
            if att.result_by in by:
                by[att.result_by] += 1
        human = sum(n for code, n in settled.items() if settings.result(code).human_reached)
        abandons = sum(n for code, n in settled.items() if settings.result(code).abandon)
        return {"agents": agents, "dials": rc.dials, "settled": done, "time_scale": time_scale,
                "simulated_s": round(sim_s, 1), "wall_s": round(wall, 1),
                "failed_originates": camps.calls.failed_originates + by["watchdog"] + by["reconciler"],
                "failed_by": {"originate": camps.calls.failed_originates, **by},
                "cpu_ms_per_dial": round(1000 * cpu / max(1, rc.dials), 3), "cpu_s": round(cpu, 1),
                "dialer_cpu_s": round(rc.driver.cpu_s, 1), "dialer_events": rc.driver.events,
                "contacts": human, "abandon_pct": round(100 * abandons / human, 2) if human else None,
                "results": dict(sorted(settled.items(), key=lambda kv: -kv[1])),
                "busy_pct": round(100 * busy / samples, 1) if samples else None,
                "overflow_msg_p99_s": None if not waits else round(_p99(waits) or 0.0, 3),
                "overflow_msgs": len(waits), "agents_not_available_at_end": on_break,
                "overflow_asked_p99_s": None if not camps.calls.overflows else round(
                    _p99([o - a for a, o in camps.calls.overflows]) or 0.0, 3),
                "lost_races": camps.lost_races}
    finally:
        if svc is not None:
            logging.disable(logging.WARNING)
            svc.stop(drain_timeout=1)
            logging.disable(logging.NOTSET)
        sim.terminate()
        try:
            sim.wait(10)
        except subprocess.TimeoutExpired:
            sim.kill()
        if not os.environ.get("CC_BENCH_KEEP"):
            import shutil
            shutil.rmtree(tmp, ignore_errors=True)
