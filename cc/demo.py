"""The demo call center: cc.sim and the controller in one process on loopback, with SQLite and flows/.

A business hour (by default) of Poisson arrivals to the main number runs through the example flows
(menu, business hours, queues with skills, announcements, callbacks, a post-call survey) against twenty
simulated agents, at a time scale that makes the hour last about a minute. The history is dated on the
latest past office morning (today's when it is over already), so that ``ccctl report`` shows it; the
figures at the end are the queue report's, read back from the database the controller wrote.

The demo also plays the agents' desktop, which the controller is not: each answered call gets a
disposition (an interaction), for ``ccctl report fcr``.

Reproducibility: the seed fixes the roster and the callers (arrival times in simulated time, numbers,
menu keys, patience, talk time, survey score, disposition, repeat calls, callback wish): the simulator
places each call at its exact simulated time. It does not fix the outcomes: the controller and the
simulator run in real time at the time scale, so a CPU stall of 10 ms is 0.6 simulated seconds at 1/60,
and which agent is free when a call arrives (hence waits, abandons, service level) varies from run to
run.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
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
from cc.config import CallbackConfig, NodeConfig, OverloadConfig, ServiceConfig
from cc.errors import CCError, ConfigError
from cc.ivr_dsl.calendars import is_open
from cc.ivr_dsl.flow import load_calendars
from cc.model import (
    Agent,
    AgentState,
    AgentStatus,
    BusinessCalendar,
    Interaction,
    InteractionKind,
    QueueConfig,
    RecordPolicy,
    Skill,
    Strategy,
    Tier,
)
from cc.reports.source import ReportOptions, run_reports
from cc.runtime.hooks import HookEvent, Hooks
from cc.service import Service
from cc.sim.endpoints import AgentSpec, CallerSpec, DigitPress
from cc.sim.simulator import CallHandle, Simulator
from cc.store.db import Database, upgrade
from cc.store.repos import AgentRepo, InteractionRepo, QueueRepo, Repos, SkillRepo, TierRepo

__all__ = ["TAIL_S", "Demo", "DemoOptions", "History", "QueueSummary", "default_flows_dir", "history_start",
           "plural"]

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
    """The figures of one queue after the demo: the queue report's (``ccctl report queues``), from the database.

    Every offered call is counted once: offered = answered + abandoned + callbacks (asked for one; the
    callback's own answer is not counted again) + other exits (timeout, no agent, queue full, exit key).
    """

    queue: str
    offered: int
    answered: int
    abandoned: int
    callbacks: int
    other_exits: int
    service_level: float | None
    asa_s: float | None
    aht_s: float | None
    surveys: int = 0
    survey_avg: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return dict(self.__dict__)


@dataclass
class _Live:
    offered: Counter[str] = field(default_factory=Counter)
    answered: Counter[str] = field(default_factory=Counter)
    left: Counter[str] = field(default_factory=Counter)
    within_sl: Counter[str] = field(default_factory=Counter)
    callbacks: Counter[str] = field(default_factory=Counter)
    calls_started: int = 0
    calls_ended: int = 0


#: Simulated seconds after the last arrival that the demo allows for the calls to finish (then it stops).
TAIL_S = 1800.0


def plural(n: int, word: str, words: str | None = None) -> str:
    """``1 call``, ``2 calls``."""
    return f"{n} {word if n == 1 else (words or word + 's')}"


def history_start(now: float, duration_s: float, calendar: BusinessCalendar | None,
                  zone: str = "Europe/Paris", *, tail_s: float = TAIL_S + 600.0) -> float:
    """When the demo's simulated history begins: the latest office morning whose demo is over before ``now``.

    Candidates are 10:00, 09:30 ... 06:00 local to the calendar on today, then yesterday and back (two
    weeks at most); a candidate fits when the calendar is open at its start and at the last arrival (or
    at least at its start, for a demo longer than the office day), and the demo with ``tail_s`` for the
    calls to finish ends before ``now``. Today comes first, so that the reports' default window (today)
    shows the history whenever the office day allows it.
    """
    tz = zoneinfo.ZoneInfo(calendar.timezone if calendar is not None else zone)
    today = dt.datetime.fromtimestamp(now, tz).date()
    times = [dt.time(h, m) for h in range(10, 5, -1) for m in (30, 0)][1:]   # 10:00, 09:30 ... 06:00

    def fits(start: float, whole_day: bool) -> bool:
        if start + duration_s + tail_s > now:
            return False
        if calendar is None:
            return True
        return is_open(calendar, start) and (not whole_day or is_open(calendar, start + duration_s - 1))

    for whole_day in (True, False):
        for back in range(15):
            day = today - dt.timedelta(days=back)
            for t in times:
                start = dt.datetime.combine(day, t, tzinfo=tz).timestamp()
                if fits(start, whole_day):
                    return start
    return now - duration_s - tail_s


@dataclass(frozen=True)
class History:
    """Where the demo's history lies: its day (local to ``tz``), start (the agents' login) and end."""

    day: str
    tz: str
    start: float
    end: float

    @property
    def until(self) -> str:
        """The day after the history's last day (the reports' exclusive ``--to``), local to ``tz``."""
        last = dt.datetime.fromtimestamp(self.end, zoneinfo.ZoneInfo(self.tz)).date()
        return (max(last, dt.date.fromisoformat(self.day)) + dt.timedelta(days=1)).isoformat()

    def describe(self) -> str:
        """``Saturday 2026-12-05, 10:00-11:00 Europe/Paris``."""
        z = zoneinfo.ZoneInfo(self.tz)
        a, b = dt.datetime.fromtimestamp(self.start, z), dt.datetime.fromtimestamp(self.end, z)
        if b.date() != a.date():
            return f"{a:%A} {self.day} {a:%H:%M} to {b:%A %Y-%m-%d %H:%M} {self.tz}"
        return f"{a:%A} {self.day}, {a:%H:%M}-{b:%H:%M} {self.tz}"

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (times as ISO strings with their offset)."""
        z = zoneinfo.ZoneInfo(self.tz)
        return {"day": self.day, "until": self.until, "tz": self.tz,
                "from": dt.datetime.fromtimestamp(self.start, z).isoformat(),
                "to": dt.datetime.fromtimestamp(self.end, z).isoformat()}


def _office_calendar(flows_dir: Path) -> BusinessCalendar | None:
    """The ``office`` calendar of the flows' ``calendars.yaml`` (the main menu's hours), None without one."""
    try:
        return load_calendars(str(flows_dir / "calendars.yaml")).get("office")
    except (CCError, OSError):
        return None


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
        self.calendar = _office_calendar(self.flows_dir)
        self.history_at = history_start(time.time(), opts.duration_s, self.calendar)
        self.tz = self.calendar.timezone if self.calendar is not None else "Europe/Paris"
        self.clock = ScaledClock(opts.time_scale, start=self.history_at)
        self.live = _Live()
        self.sim: Simulator | None = None
        self.service: Service | None = None
        self.handles: list[CallHandle] = []
        self.started_at = 0.0
        self.logged_in_at: float | None = None
        self.db = Database(f"sqlite:///{self.workdir / 'cc-demo.db'}")
        self.sl_threshold: dict[str, float] = {}
        self.agent_specs: dict[str, AgentSpec] = {}
        self.ended_at: float | None = None
        self.customers: dict[str, tuple[str, str]] = {}   # call uuid -> (caller number, its disposition)
        self.contacts: list[Interaction] = []        # what the agents' desktop writes (see _on_hook)

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
            # the agent ends each call after the caller's talk time (CallerSpec.peer_talk_time)
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
                            drain_timeout_s=5,
                            # the simulator shares this process's hub: its work is not cc falling behind
                            overload=OverloadConfig(max_lag_s=5.0, max_busy=1.0))
        hooks = Hooks()
        hooks.on("*", self._on_hook)
        self.service = Service(cfg, clock=self.clock, hooks=hooks, database=self.db,
                               journal_path=str(self.workdir / "journal.jsonl"))
        self.service.start(wait_nodes=5)
        self.sim.socket_address = self.service.outbound_address
        assert self.service.controller is not None
        self.logged_in_at = self.clock.now()   # the history starts here: set-up already took simulated time
        for agent, _ in agents:
            self.service.controller.login(agent.id)
        self.agent_specs = {a.id: s for a, s in agents}

    def _on_hook(self, e: HookEvent) -> None:
        live = self.live
        if e.kind == "call_started":
            live.calls_started += 1
        elif e.kind == "call_ended":
            live.calls_ended += 1
            if e.queue and e.data.get("disposition") == "callback":
                live.callbacks[e.queue] += 1
        elif e.kind == "entered_queue" and e.queue:
            live.offered[e.queue] += 1
        elif e.kind == "bridged" and e.queue:
            self._contact(e)
            if "callback" in e.data:   # counted when it was asked for
                return
            live.answered[e.queue] += 1
            if float(e.data.get("wait_s") or 0.0) <= self.sl_threshold.get(e.queue, 20.0):
                live.within_sl[e.queue] += 1
        elif e.kind == "left_queue" and e.queue:
            live.left[e.queue] += 1

    def _contact(self, e: HookEvent) -> None:
        """The simulated agent's desktop: a call interaction with the disposition the caller's issue gets.

        The controller writes no dispositions (a CRM or agent desktop does); the demo plays that part so
        that ``ccctl report fcr`` has data. They are written to the database at the end of the run.
        """
        if e.call_uuid not in self.customers:
            return
        number, disposition = self.customers[e.call_uuid]
        self.contacts.append(Interaction(f"{e.call_uuid}-{len(self.contacts)}", e.at, InteractionKind.CALL,
                                         customer_id=number, agent_id=e.agent_id, call_uuid=e.call_uuid,
                                         queue=e.queue, disposition=disposition))

    # ------------------------------------------------------------------ callers
    def _arrivals(self) -> list[tuple[float, CallerSpec, float, bool, str]]:
        """Every call of the run, drawn from the seed up front: (simulated offset, caller, their phone's
        answer delay for a callback, whether they press 1 for a callback at 100 s, the disposition the
        agent gives the call if answered)."""
        rng = self.rng
        rate = self.opts.calls_per_hour / 3600.0
        out: list[tuple[float, CallerSpec, float, bool, str]] = []
        at = rng.expovariate(rate)
        while at < self.opts.duration_s:
            spec = self._caller(len(out) + 1)
            if out and rng.random() < 0.15:   # calls again about the same issue
                spec = dataclasses.replace(spec, caller_id_number=rng.choice(out)[1].caller_id_number)
            disposition = "resolved" if rng.random() < 0.8 else "follow-up"
            out.append((at, spec, rng.uniform(2, 8), rng.random() < 0.25, disposition))
            at += rng.expovariate(rate)
        return out

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
        # the agent ends the call after the talk; the caller stays on the line for the support line's survey
        return CallerSpec("7000", caller_id_number=number, caller_id_name=f"Caller {n}", digits=tuple(presses),
                          patience=patience, peer_talk_time=talk)

    def _place(self, spec: CallerSpec, phone_answer_after: float, wants_callback: bool, disposition: str) -> None:
        """Runs on the simulator's timer at the call's simulated time."""
        assert self.sim is not None
        # the caller's phone, should they ask for a callback: they talk as long as they would have
        self.sim.add_agent(AgentSpec(spec.caller_id_number, answer_after=phone_answer_after,
                                     talk_time=spec.peer_talk_time))
        handle = self.sim.place_call(spec)
        self.handles.append(handle)
        self.customers[handle.uuid] = (spec.caller_id_number, disposition)
        if wants_callback:   # asks to be called back if still waiting 100 s after dialling
            self.sim.scheduler.call_later(100, lambda: gevent.spawn(self._maybe_callback, handle))

    def _maybe_callback(self, handle: CallHandle) -> None:
        assert self.service is not None and self.sim is not None
        ctl = self.service.controller
        if ctl is not None and handle.uuid in ctl.members and not handle.done:
            self.sim.api.execute("uuid_recv_dtmf", f"{handle.uuid} 1")

    # ------------------------------------------------------------------ running
    def run(self, tick: Callable[[Demo, float], None] | None = None, tick_every: float = 0.25) -> None:
        """Place the seed's arrivals at their simulated times, let the calls finish (bounded), log agents out."""
        assert self.sim is not None
        opts = self.opts
        arrivals = self._arrivals()
        self.started_at = self.clock.now()
        sim0 = self.sim.scheduler.now()
        for at, *call in arrivals:
            self.sim.scheduler.call_at(sim0 + at, self._place, *call)
        end = self.started_at + opts.duration_s
        while True:
            now = self.clock.now()
            if tick is not None:
                tick(self, min(1.0, (now - self.started_at) / opts.duration_s))
            if now >= end and len(self.handles) >= len(arrivals) and (not self._calls_up() or now >= end + TAIL_S):
                break
            gevent.sleep(tick_every)
        self._log_out()
        if tick is not None:
            tick(self, 1.0)

    def _log_out(self) -> None:
        """Log every agent out at the end of the run, so that the agent report's logged-in time is the run's."""
        ctl = self.service.controller if self.service is not None else None
        if ctl is None:
            return
        for aid in self.agent_specs:
            ctl.logout(aid)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(
                a.status is not AgentStatus.LOGGED_OUT for a in ctl.acd.agents() if a.id in self.agent_specs):
            gevent.sleep(0.02)
        self.ended_at = self.clock.now()
        repo = InteractionRepo(self.db)
        for c in self.contacts:
            repo.add(c)

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
        """Per queue, now: waiting, longest wait, its agents idle/busy/wrap-up, offered/answered/left so far;
        a last row ``all`` counts each agent once (one in several queues is in each of their rows)."""
        assert self.service is not None and self.service.controller is not None
        acd = self.service.controller.acd
        now = self.clock.now()
        views = {v.name: v for v in acd.queues(now)}
        logged_in = [a for a in acd.agents(now) if a.status is not AgentStatus.LOGGED_OUT]

        def agent_counts(states: Counter[str]) -> dict[str, int]:
            return {"idle": states.get("idle", 0),
                    "busy": states.get("in_call", 0) + states.get("ringing", 0) + states.get("reserved", 0),
                    "wrap_up": states.get("wrap_up", 0)}

        rows = []
        for name in self.QUEUES:
            v = views[name]
            live = self.live
            rows.append({"queue": name, "waiting": v.waiting + v.offering, "callbacks": live.callbacks[name],
                         "callbacks_pending": v.callbacks, "longest_wait_s": v.longest_wait_s,
                         **agent_counts(Counter(a.state.value for a in logged_in if name in a.queues)),
                         "offered": live.offered[name], "answered": live.answered[name], "left": live.left[name],
                         "service_level": (live.within_sl[name] / live.offered[name]
                                           if live.offered[name] else None)})
        total: dict[str, Any] = {k: sum(r[k] for r in rows) for k in ("waiting", "callbacks", "callbacks_pending",
                                                                       "offered", "answered", "left")}
        within = sum(self.live.within_sl.values())
        rows.append({"queue": "all", **total, "longest_wait_s": max(
            (r["longest_wait_s"] for r in rows if r["longest_wait_s"] is not None), default=None),
            **agent_counts(Counter(a.state.value for a in logged_in)),
            "service_level": within / total["offered"] if total["offered"] else None})
        return rows

    def history(self) -> History:
        """The day and time span of the history this run wrote: from the agents' login to their logout."""
        start = self.logged_in_at or self.started_at or self.history_at
        end = self.ended_at or self.clock.now()
        day = dt.datetime.fromtimestamp(start, zoneinfo.ZoneInfo(self.tz)).date().isoformat()
        return History(day, self.tz, start, end)

    def summary(self) -> list[QueueSummary]:
        """Per queue, the queue report's figures for the run's day(s) (``ccctl report queues --interval all``)."""
        h = self.history()
        zone = zoneinfo.ZoneInfo(h.tz)
        day = dt.date.fromisoformat(h.day)
        t0 = dt.datetime.combine(day, dt.time(), tzinfo=zone).timestamp()
        t1 = dt.datetime.combine(dt.date.fromisoformat(h.until), dt.time(), tzinfo=zone).timestamp()
        opts = ReportOptions(t0, t1, interval="all", tz=h.tz, now=time.time())
        rows = {r["queue"]: r for r in run_reports(Repos(self.db), ["queues"], opts)[0].iter_rows()}
        out = []
        for name in self.QUEUES:
            r = rows.get(name)
            if r is None:
                out.append(QueueSummary(name, 0, 0, 0, 0, 0, None, None, None))
                continue
            exits = r["timeouts"] + r["no_agent"] + r["full"] + r["exit_key"] + r["other_exits"]
            out.append(QueueSummary(name, r["offered"], r["answered"], r["abandoned"], r["callbacks_requested"],
                                    exits, r["service_level"],
                                    r["asa_s"], r["aht_s"], r.get("survey_count") or 0, r.get("survey_avg")))
        return out

    def totals(self) -> dict[str, Any]:
        """Whole-run figures for the summary line."""
        sim = self.sim
        return {"calls": len(self.handles), "simulated_s": self.opts.duration_s, "seed": self.opts.seed,
                "history": self.history().as_dict(), "workdir": str(self.workdir), "database": self.db.url,
                "peak_calls": sim.peak_sessions if sim is not None else 0}


def env_flag(name: str) -> bool:
    """True when the environment variable ``name`` is set to something other than 0/false/empty."""
    return os.environ.get(name, "").lower() not in ("", "0", "false", "no")
