"""``ccctl demo --outbound``: a predictive campaign with simulated agents and called parties for a morning.

cc.sim (``ccctl sim`` in its own process) plays the switch, the agents' phones and the called parties (answer
rate, ring times, busy, invalid numbers, phones off, no answer) over real ESL on loopback; the controller (a
Service on SQLite in a temporary folder) runs the campaign through its Dialer and the campaign runtime, and
the figures at the end are read from the store's dial attempts: dials, human contacts, contact rate, results,
abandon rate, agent busy share.
"""

from __future__ import annotations

import logging
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gevent

from cc.clock import ScaledClock
from cc.config import NodeConfig, OverloadConfig, ServiceConfig
from cc.dialer import CampaignEvent, CampaignMode, CampaignSettings
from cc.errors import ConfigError, InvalidValue
from cc.leadfile import LeadInput
from cc.model import Agent, AgentState, QueueConfig
from cc.runtime.campaigns import OutboundConfig
from cc.service import Service
from cc.sim.endpoints import AgentSpec
from cc.store.campaigns import Campaign, CampaignRepos
from cc.store.db import Database, upgrade
from cc.store.repos import AgentRepo, QueueRepo

__all__ = ["OutboundDemo", "OutboundDemoOptions", "OutboundFigures"]

log = logging.getLogger(__name__)

CAMPAIGN = "morning"


@dataclass(frozen=True)
class OutboundDemoOptions:
    """What the outbound demo runs: agents, simulated time, time scale, seed, how the parties answer."""

    agents: int = 20
    duration_s: float = 3 * 3600.0
    time_scale: float = 1 / 90
    seed: int = 1
    answer_rate: float = 0.3
    mode: CampaignMode = CampaignMode.PREDICTIVE
    talk_mean_s: float = 120.0
    leads: int | None = None

    def check(self) -> None:
        """InvalidValue for options out of range."""
        if self.agents < 1:
            raise InvalidValue("agents", self.agents, "must be >= 1")
        if not self.duration_s > 0:
            raise InvalidValue("duration", self.duration_s, "must be > 0")
        if not 0 < self.answer_rate <= 1:
            raise InvalidValue("answer_rate", self.answer_rate, "must be within (0, 1]")


@dataclass
class OutboundFigures:
    """The campaign's figures at the end of the demo (from the store's dial attempts)."""

    dials: int = 0
    contacts: int = 0
    abandons: int = 0
    results: dict[str, int] = field(default_factory=dict)
    agent_busy_pct: float = 0.0
    agents: int = 0
    simulated_s: float = 0.0
    wall_s: float = 0.0
    failed_originates: int = 0

    @property
    def contact_rate(self) -> float | None:
        """Human contacts per dial."""
        return self.contacts / self.dials if self.dials else None

    @property
    def abandon_rate(self) -> float | None:
        """Abandoned (overflow message or hung up before the bridge) per human contact."""
        return self.abandons / self.contacts if self.contacts else None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready figures."""
        return {"campaign": CAMPAIGN, "agents": self.agents, "simulated_s": self.simulated_s,
                "wall_s": round(self.wall_s, 1), "dials": self.dials, "contacts": self.contacts,
                "contact_rate": self.contact_rate, "abandons": self.abandons, "abandon_rate": self.abandon_rate,
                "results": dict(sorted(self.results.items(), key=lambda kv: -kv[1])),
                "agent_busy_pct": round(self.agent_busy_pct, 1), "failed_originates": self.failed_originates}


class OutboundDemo:
    """Builds, runs and measures one simulated outbound morning."""

    def __init__(self, opts: OutboundDemoOptions, workdir: str | None = None) -> None:
        opts.check()
        self.opts = opts
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="cc-demo-outbound-"))
        self.sim_proc: subprocess.Popen[bytes] | None = None
        self.service: Service | None = None
        self.db: Database | None = None
        self._busy = 0
        self._samples = 0
        self.wall_s = 0.0
        self.failed_originates = 0
        self.controller_cpu_s = 0.0

    def start(self) -> None:
        """Store, simulator with agents and parties, controller, campaign with its leads."""
        o = self.opts
        url = f"sqlite:///{self.workdir}/cc.db"
        self.db = Database(url)
        upgrade(engine=self.db.engine)
        QueueRepo(self.db).create(QueueConfig("outbound"))
        rng = random.Random(o.seed)
        ids = [str(1001 + i) for i in range(o.agents)]
        specs = []
        for agent_id in ids:
            AgentRepo(self.db).create(Agent(agent_id, contact=f"user/{agent_id}", wrap_up_s=15.0))
            # headsets on auto-answer, as on a dialing floor: the agent's leg answers at once
            specs.append(AgentSpec(agent_id, answer_after=0.2, talk_time=None))
        # the switch in its own process (``ccctl sim``), as a real one would be: the controller gets a core
        (self.workdir / "roster.yaml").write_text("agents:\n" + "".join(
            f"  - {{id: '{sp.id}', answer_after: {sp.answer_after}, talk_time: null}}\n" for sp in specs))
        (self.workdir / "parties.yaml").write_text(
            f"seed: {o.seed}\nanswer_rate: {o.answer_rate}\nring: [4, 20]\ntalk_mean: {o.talk_mean_s}\n"
            "patience: 8\nmix: {busy: 0.08, invalid: 0.05, 'off': 0.07}\ngateways: {carrier: up}\n")
        port = _free_port()
        self.sim_proc = subprocess.Popen(
            [sys.executable, "-m", "cli", "sim", "--listen", f"127.0.0.1:{port}", "--roster",
             str(self.workdir / "roster.yaml"), "--parties", str(self.workdir / "parties.yaml"), "--time-scale",
             repr(o.time_scale)], cwd=str(Path(__file__).resolve().parent.parent), stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        _wait_port(port, self.sim_proc)
        cfg = ServiceConfig(nodes=(NodeConfig("sim1", "127.0.0.1", port),),
                            outbound_port=0, database_url=url, base_dir=str(self.workdir), flows_dir="flows",
                            drain_timeout_s=2, overload=OverloadConfig(max_lag_s=5.0, max_busy=1.0))
        (self.workdir / "flows").mkdir(exist_ok=True)
        self.service = Service(cfg, clock=ScaledClock(o.time_scale), database=self.db,
                               journal_path=str(self.workdir / "journal.jsonl"),
                               outbound=OutboundConfig(cps=30.0))
        self.service.start(wait_nodes=5)
        ctl = self.service.controller
        assert ctl is not None
        for agent_id in ids:
            ctl.login(agent_id)
        repos = CampaignRepos(self.db)
        settings = CampaignSettings(CAMPAIGN, mode=o.mode, caller_ids=("+861088880000", "+861088880001"),
                                    dial_string="sofia/gateway/{gw}/{number}", gateway="carrier",
                                    dial_timeout_s=25.0, wrap_up_timeout_s=15.0, min_agents_predictive=8,
                                    overflow_message="ivr/overflow.wav")
        repos.campaigns.create(Campaign(settings, agents=tuple(ids), description="ccctl demo --outbound"))
        n = o.leads or int(o.agents * o.duration_s / 3600 * 60)   # more than a morning can dial
        rows = [LeadInput(row=i + 1, numbers=[(f"+8613{rng.randrange(10**8, 10**9):09d}", "mobile")],
                          name=f"客户 {i + 1}", tz="Asia/Shanghai") for i in range(n)]
        repos.leads.import_rows(CAMPAIGN, "demo.csv", rows, [], total_rows=len(rows), partial=True)
        self.repos = repos

    def run(self, tick: Callable[[OutboundDemo, float], None] | None = None, tick_every: float = 0.25) -> None:
        """Run the campaign for the simulated duration, then pause it and let the calls end."""
        svc = self.service
        assert svc is not None and svc.campaigns is not None and svc.controller is not None
        camps = svc.campaigns
        t0 = time.monotonic()
        camps.control(CAMPAIGN, CampaignEvent.START)
        wall = self.opts.duration_s * self.opts.time_scale
        agents = svc.controller.acd.world.agents
        while (elapsed := time.monotonic() - t0) < wall:
            gevent.sleep(tick_every)
            for a in agents.values():
                self._samples += 1
                if a.state is not AgentState.IDLE or a.id in camps.holds:
                    self._busy += 1
            if tick is not None:
                tick(self, min(1.0, elapsed / wall))
        camps.control(CAMPAIGN, CampaignEvent.PAUSE)
        rc = camps.running[CAMPAIGN]
        # the morning is over: calls still up are ended (their results follow), wrap-ups run out
        camps.hang_up(CAMPAIGN)
        deadline = time.monotonic() + max(10.0, 300 * self.opts.time_scale)
        while rc.dialer.open_attempts() and time.monotonic() < deadline:
            gevent.sleep(0.1)
        camps.writes.flush(30)
        self.wall_s = time.monotonic() - t0
        self.failed_originates = camps.calls.failed_originates
        self.controller_cpu_s = sum(r.driver.cpu_s for r in camps.running.values())

    def live(self) -> dict[str, Any]:
        """The running campaign's live figures."""
        svc = self.service
        if svc is None or svc.campaigns is None or CAMPAIGN not in svc.campaigns.running:
            return {}
        return svc.campaigns.running[CAMPAIGN].status()

    def figures(self) -> OutboundFigures:
        """The campaign's figures, from the store's dial attempts (call it after :meth:`stop`: it reads the
        database in the calling greenlet)."""
        f = OutboundFigures(agents=self.opts.agents, simulated_s=self.opts.duration_s, wall_s=self.wall_s)
        results: Counter[str] = Counter()
        settings = self.repos.campaigns.get(CAMPAIGN).settings
        for d in self.repos.leads.list(CAMPAIGN, limit=1_000_000):
            for a in self.repos.attempts.for_lead(d.lead.lead_id):
                f.dials += 1
                code = a.result or "(open)"
                results[code] += 1
                if a.result is not None:
                    r = settings.result(a.result)
                    f.contacts += r.human_reached
                    f.abandons += r.abandon
        f.results = dict(results)
        f.agent_busy_pct = 100.0 * self._busy / self._samples if self._samples else 0.0
        f.failed_originates = self.failed_originates
        return f

    def stop(self) -> None:
        """Stop the controller and the simulator."""
        if self.service is not None:
            self.service.stop(drain_timeout=2)
            self.service = None
        if self.sim_proc is not None:
            self.sim_proc.terminate()
            try:
                self.sim_proc.wait(10)
            except subprocess.TimeoutExpired:
                self.sim_proc.kill()
            self.sim_proc = None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """Wait until the simulator listens (ConfigError when it exits or does not within ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise ConfigError("ccctl sim did not start for the outbound demo") from None
            time.sleep(0.1)
