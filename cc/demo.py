"""The demo call center: cc.sim and the controller in one process on loopback, with SQLite and flows/.

A business hour (by default) of Poisson arrivals to the main number runs through the example flows
(menu, business hours, queues with skills, announcements, callbacks, a survey) against twenty simulated
agents, at a time scale that makes the hour last about a minute. The figures at the end are read back
from the database the controller wrote.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import math
import os
import random
import tempfile
import time
import wave
import zoneinfo
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gevent

from cc.clock import ScaledClock
from cc.config import CallbackConfig, NodeConfig, ServiceConfig
from cc.errors import ConfigError
from cc.model import Agent, AgentState, QueueConfig, RecordPolicy, Skill, Strategy, Tier
from cc.runtime.hooks import HookEvent, Hooks
from cc.service import Service
from cc.sim.endpoints import AgentSpec, CallerSpec, DigitPress
from cc.sim.simulator import CallHandle, Simulator
from cc.store.db import Database, upgrade
from cc.store.repos import AgentRepo, AgentStateEventRepo, QueueEventRepo, QueueRepo, SkillRepo, TierRepo

__all__ = ["Demo", "DemoOptions", "QueueSummary", "default_flows_dir"]

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent


def default_flows_dir() -> Path:
    """The example flows shipped with cc (``flows/`` next to the package)."""
    return ROOT / "flows"


@dataclass(frozen=True)
class DemoOptions:
    """What the demo runs: arrivals, staff, simulated duration and how fast time goes."""

    calls_per_hour: float = 300.0
    agents: int = 20
    duration_s: float = 3600.0
    time_scale: float = 1 / 60
    seed: int = 1
    workdir: str | None = None
    flows_dir: str | None = None

    def check(self) -> None:
        """ConfigError for values the demo cannot run with."""
        if not 1 <= self.agents <= 500:
            raise ConfigError(f"--agents must be 1-500, not {self.agents}", path="agents")
        if not 0 < self.calls_per_hour <= 100_000:
            raise ConfigError(f"--rate must be > 0 and <= 100000 calls per hour, not {self.calls_per_hour}",
                              path="rate")
        if not 60 <= self.duration_s <= 86_400:
            raise ConfigError(f"--duration must be 1m-24h, not {self.duration_s:g}s", path="duration")
        if not 0 < self.time_scale <= 1:
            raise ConfigError(f"--time-scale must be > 0 and <= 1, not {self.time_scale}", path="time_scale")


@dataclass
class QueueSummary:
    """The figures of one queue after the demo, from the database."""

    queue: str
    offered: int
    answered: int
    abandoned: int
    other_exits: int
    callbacks: int
    service_level: float | None
    asa_s: float | None
    aht_s: float | None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return dict(self.__dict__)


@dataclass
class _Live:
    offered: Counter[str] = field(default_factory=Counter)
    answered: Counter[str] = field(default_factory=Counter)
    left: Counter[str] = field(default_factory=Counter)
    within_sl: Counter[str] = field(default_factory=Counter)
    calls_started: int = 0
    calls_ended: int = 0


def _weekday_morning(tz: str = "Europe/Paris") -> float:
    """The next Tuesday 10:00 in ``tz`` (inside the example calendar's office hours, not a holiday)."""
    zone = zoneinfo.ZoneInfo(tz)
    day = dt.datetime.now(zone).date() + dt.timedelta(days=1)
    while day.weekday() != 1:
        day += dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(10, 0), tzinfo=zone).timestamp()


def _write_hold_music(path: Path, seconds: float = 30.0) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x00" * int(8000 * seconds))


class Demo:
    """Builds and runs the demo call center; ``run()`` then ``summary()``."""

    QUEUES = ("sales", "support", "billing")

    def __init__(self, opts: DemoOptions) -> None:
        opts.check()
        self.opts = opts
        self.rng = random.Random(opts.seed)
        self.workdir = Path(opts.workdir or tempfile.mkdtemp(prefix="cc-demo-"))
        self.flows_dir = Path(opts.flows_dir) if opts.flows_dir else default_flows_dir()
        if not (self.flows_dir / "main_menu.yaml").is_file():
            raise ConfigError(f"no example flows in {self.flows_dir} (expected main_menu.yaml; pass --flows)")
        self.clock = ScaledClock(opts.time_scale, start=_weekday_morning())
        self.live = _Live()
        self.sim: Simulator | None = None
        self.service: Service | None = None
        self.handles: list[CallHandle] = []
        self.started_at = 0.0
        self.db = Database(f"sqlite:///{self.workdir / 'cc-demo.db'}")
        self.sl_threshold: dict[str, float] = {}

    # ------------------------------------------------------------------ set-up
    def _roster(self) -> tuple[list[QueueConfig], list[tuple[Agent, AgentSpec]], list[Tier]]:
        rng = self.rng
        moh = str(self.workdir / "hold-music.wav")
        queues = [
            QueueConfig("sales", strategy=Strategy.LONGEST_IDLE_AGENT, moh=moh, announce_interval_s=60,
                        wrap_up_s=15, sl_threshold_s=20),
            QueueConfig("support", strategy=Strategy.LONGEST_IDLE_AGENT, moh=moh, announce_position=False,
                        wrap_up_s=20, sl_threshold_s=30, record_policy=RecordPolicy.ALWAYS),
            QueueConfig("billing", strategy=Strategy.ROUND_ROBIN, moh=moh, announce_interval_s=60, wrap_up_s=10,
                        sl_threshold_s=20),
        ]
        agents: list[tuple[Agent, AgentSpec]] = []
        tiers: list[Tier] = []
        n = self.opts.agents
        for i in range(n):
            aid = str(2001 + i)
            skills = {"support": rng.randint(3, 10), "internet": rng.randint(1, 10), "mobile": rng.randint(1, 10)}
            agent = Agent(aid, name=f"Agent {aid}", contact=f"user/{aid}@sim", max_no_answer=3, wrap_up_s=15,
                          no_answer_delay_s=30, skills=skills)
            script = ("no_answer",) if i % 7 == 3 else ()
            spec = AgentSpec(aid, answer_after=rng.uniform(2, 6), talk_time=None, script=script)
            agents.append((agent, spec))
            third = i * 3 // n
            for q_index, q in enumerate(queues):
                if q_index == third or (q_index == 1 and i % 4 == 0):
                    tiers.append(Tier(aid, q.name, level=1 if q_index == third else 2, position=i + 1))
        return queues, agents, tiers

    def start(self) -> None:
        """Create the database and roster, start cc.sim and the controller, log the agents in."""
        _write_hold_music(self.workdir / "hold-music.wav")
        upgrade(engine=self.db.engine)
        queues, agents, tiers = self._roster()
        self.sl_threshold = {q.name: q.sl_threshold_s for q in queues}
        for q in queues:
            QueueRepo(self.db).create(q)
        for s in ("support", "internet", "mobile"):
            SkillRepo(self.db).create(Skill(s))
        for agent, _ in agents:
            AgentRepo(self.db).create(agent)
        for t in tiers:
            TierRepo(self.db).add(t)
        self.sim = Simulator(time_scale=self.opts.time_scale, agents=[s for _, s in agents], hostname="sim",
                             recordings_dir=self.workdir / "recordings", missing_prompt=2.0)
        self.sim.start()
        cfg = ServiceConfig(nodes=(NodeConfig("sim", *self.sim.inbound_address, hostname="sim"),),
                            outbound_port=0, database_url=self.db.url, flows_dir=str(self.flows_dir),
                            routes={"7000": "main_menu.yaml"}, recordings_dir=str(self.workdir / "recordings"),
                            base_dir=str(self.workdir), callback=CallbackConfig(dial="user/{number}@sim"),
                            drain_timeout_s=5)
        hooks = Hooks()
        hooks.on("*", self._on_hook)
        self.service = Service(cfg, clock=self.clock, hooks=hooks, database=self.db,
                               journal_path=str(self.workdir / "journal.jsonl"))
        self.service.start(wait_nodes=5)
        self.sim.socket_address = self.service.outbound_address
        assert self.service.controller is not None
        for agent, _ in agents:
            self.service.controller.login(agent.id)
        self.agent_specs = {a.id: s for a, s in agents}

    def _on_hook(self, e: HookEvent) -> None:
        live = self.live
        if e.kind == "call_started":
            live.calls_started += 1
        elif e.kind == "call_ended":
            live.calls_ended += 1
        elif e.kind == "entered_queue" and e.queue:
            live.offered[e.queue] += 1
        elif e.kind == "bridged" and e.queue:
            live.answered[e.queue] += 1
            if float(e.data.get("wait_s") or 0.0) <= self.sl_threshold.get(e.queue, 20.0):
                live.within_sl[e.queue] += 1
        elif e.kind == "left_queue" and e.queue:
            live.left[e.queue] += 1

    # ------------------------------------------------------------------ callers
    def _caller(self, n: int) -> CallerSpec:
        rng = self.rng
        number = f"+1555{rng.randint(0, 9_999_999):07d}"
        choice = rng.choices(["1", "2", "3"], weights=[4, 4, 2])[0]
        presses = [DigitPress(choice, delay=rng.uniform(1, 3))]
        if choice == "2":
            presses.append(DigitPress(rng.choice("12"), delay=rng.uniform(1, 2)))
            presses.append(DigitPress(str(rng.choice([3, 4, 4, 5, 5, 5])), delay=1.5))   # the survey
        patience = rng.expovariate(1 / 240.0) + 20
        talk = max(30.0, rng.lognormvariate(math.log(150), 0.5))
        return CallerSpec("7000", caller_id_number=number, caller_id_name=f"Caller {n}", digits=tuple(presses),
                          patience=patience, talk_time=talk)

    def _place(self, n: int) -> None:
        assert self.sim is not None and self.service is not None
        spec = self._caller(n)
        # the caller's phone, should they ask for a callback
        self.sim.add_agent(AgentSpec(spec.caller_id_number, answer_after=self.rng.uniform(2, 8), talk_time=None))
        handle = self.sim.place_call(spec)
        self.handles.append(handle)
        if self.rng.random() < 0.25:   # some callers ask to be called back if they are still waiting at 100 s
            gevent.spawn_later(self.clock.real(100), self._maybe_callback, handle)

    def _maybe_callback(self, handle: CallHandle) -> None:
        assert self.service is not None and self.sim is not None
        ctl = self.service.controller
        if ctl is not None and handle.uuid in ctl.members and not handle.done:
            self.sim.api.execute("uuid_recv_dtmf", f"{handle.uuid} 1")

    # ------------------------------------------------------------------ running
    def run(self, tick: Callable[[Demo, float], None] | None = None, tick_every: float = 0.25) -> None:
        """Place Poisson arrivals for the simulated duration, then let the calls finish (bounded)."""
        assert self.sim is not None
        opts = self.opts
        self.started_at = self.clock.now()
        end = self.started_at + opts.duration_s
        rate = opts.calls_per_hour / 3600.0
        next_at = self.started_at + self.rng.expovariate(rate)
        n = 0
        last_tick = 0.0
        while True:
            now = self.clock.now()
            while next_at <= now and next_at < end:
                n += 1
                self._place(n)
                next_at += self.rng.expovariate(rate)
            if tick is not None and time.monotonic() - last_tick >= tick_every:
                tick(self, min(1.0, (now - self.started_at) / opts.duration_s))
                last_tick = time.monotonic()
            if now >= end and (not self._calls_up() or now >= end + 1800):
                break
            wake = min(next_at if next_at < end else end + 1800, now + 5.0)
            gevent.sleep(min(max(0.0, self.clock.real(wake - now)), tick_every))
        if tick is not None:
            tick(self, 1.0)

    def _calls_up(self) -> bool:
        svc = self.service
        ctl = svc.controller if svc is not None else None
        return bool(ctl is not None and (ctl.sessions or ctl.callback_nodes or any(
            a.state is not AgentState.IDLE for a in ctl.acd.world.agents.values())))

    def stop(self) -> None:
        """Stop the controller (flushing history) and the simulator."""
        if self.service is not None:
            self.service.stop(drain_timeout=2)
        if self.sim is not None:
            self.sim.stop()

    # ------------------------------------------------------------------ results
    def dashboard_rows(self) -> list[dict[str, Any]]:
        """Per queue, now: waiting, longest wait, agents idle/busy/wrap-up, offered/answered/left so far."""
        assert self.service is not None and self.service.controller is not None
        acd = self.service.controller.acd
        now = self.clock.now()
        views = {v.name: v for v in acd.queues(now)}
        agents = acd.agents(now)
        rows = []
        for name in self.QUEUES:
            v = views[name]
            states = Counter(a.state.value for a in agents if name in a.queues)
            rows.append({"queue": name, "waiting": v.waiting + v.offering, "callbacks": v.callbacks,
                         "longest_wait_s": v.longest_wait_s, "idle": states.get("idle", 0),
                         "busy": states.get("in_call", 0) + states.get("ringing", 0) + states.get("reserved", 0),
                         "wrap_up": states.get("wrap_up", 0), "offered": self.live.offered[name],
                         "answered": self.live.answered[name], "left": self.live.left[name],
                         "service_level": (self.live.within_sl[name] / self.live.offered[name]
                                           if self.live.offered[name] else None)})
        return rows

    def summary(self) -> list[QueueSummary]:
        """Offered, answered, abandoned, SL, ASA, AHT and callbacks per queue, from the database."""
        start, end = self.started_at - 1, self.clock.now() + 1
        stats = {s.queue: s for s in QueueEventRepo(self.db).queue_stats(start, end)}
        wrap = self._wrap_up_by_agent_share(start, end)
        out = []
        for name in self.QUEUES:
            s = stats.get(name)
            if s is None:
                out.append(QueueSummary(name, 0, 0, 0, 0, 0, None, None, None))
                continue
            aht = (s.avg_talk_s + wrap) if s.avg_talk_s is not None else None
            out.append(QueueSummary(name, s.offered, s.answered, s.abandoned,
                                    s.timed_out + s.no_agent + s.full + s.exit_key, s.callbacks_requested,
                                    s.service_level, s.avg_wait_answered_s, aht))
        return out

    def _wrap_up_by_agent_share(self, start: float, end: float) -> float:
        """Average wrap-up seconds per completed call, from the agent state log."""
        events = sorted(AgentStateEventRepo(self.db).scan(start, end), key=lambda e: (e.agent_id, e.at))
        total = 0.0
        count = 0
        for prev, cur in itertools.pairwise(events):
            if prev.agent_id == cur.agent_id and prev.state is AgentState.WRAP_UP:
                total += cur.at - prev.at
                count += 1
        return total / count if count else 0.0

    def totals(self) -> dict[str, Any]:
        """Whole-run figures for the summary line."""
        sim = self.sim
        return {"calls": len(self.handles), "simulated_s": self.opts.duration_s,
                "workdir": str(self.workdir), "database": self.db.url,
                "peak_calls": sim.peak_sessions if sim is not None else 0}


def env_flag(name: str) -> bool:
    """True when the environment variable ``name`` is set to something other than 0/false/empty."""
    return os.environ.get(name, "").lower() not in ("", "0", "false", "no")
