"""A whole call center on loopback for tests: cc.sim switch(es), the controller (Service) and SQLite."""

from __future__ import annotations

import textwrap
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gevent

from cc.clock import ScaledClock
from cc.config import CallbackConfig, NodeConfig, ServiceConfig
from cc.model import Agent, QueueConfig, QueueEvent, QueueEventType, Skill, Tier
from cc.runtime.hooks import HookEvent, Hooks
from cc.service import Service
from cc.sim.endpoints import AgentSpec, CallerSpec
from cc.sim.simulator import CallHandle, CallResult, Simulator
from cc.store.db import Database, upgrade
from cc.store.repos import (
    AgentRepo,
    AgentStateEventRepo,
    CallLegRepo,
    CallRepo,
    QueueEventRepo,
    QueueRepo,
    RecordingRepo,
    SkillRepo,
    SurveyRepo,
    TierRepo,
)
from tests.calm_admission import TEST_OVERLOAD

TERMINAL = {QueueEventType.ABANDON, QueueEventType.COMPLETE_AGENT, QueueEventType.COMPLETE_CALLER,
            QueueEventType.EXIT_TIMEOUT, QueueEventType.EXIT_NO_AGENT, QueueEventType.EXIT_FULL,
            QueueEventType.EXIT_KEY, QueueEventType.EXIT_OTHER, QueueEventType.CALLBACK_REQUESTED}

QUEUE_FLOW = """
flow: {name}
start: q
nodes:
  q: {{enqueue: {{queue: {queue}}}, next: bye}}
  bye: {{hangup: NORMAL_CLEARING}}
"""


@dataclass
class Harness:
    """Builds, starts and inspects one simulated call center; use as a context manager."""

    tmp: Path
    queues: list[QueueConfig]
    agents: list[tuple[Agent, AgentSpec]]
    tiers: list[Tier]
    flows: dict[str, str] = field(default_factory=dict)
    routes: dict[str, str] = field(default_factory=dict)
    scale: float = 0.01
    nodes: int = 1
    login: bool = True
    callback_dial: str = "user/{number}"
    sims: list[Simulator] = field(default_factory=list)
    service: Service | None = None
    hook_events: list[HookEvent] = field(default_factory=list)

    def __enter__(self) -> Harness:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Seed the store, start the simulators and the controller, log the agents in."""
        (self.tmp / "flows").mkdir(exist_ok=True)
        if not self.flows:
            self.flows = {f"{q.name}.yaml": QUEUE_FLOW.format(name=q.name, queue=q.name) for q in self.queues}
            self.routes = {str(7000 + i): f"{q.name}.yaml" for i, q in enumerate(self.queues)}
        for name, text in self.flows.items():
            (self.tmp / "flows" / name).write_text(textwrap.dedent(text))
        url = f"sqlite:///{self.tmp}/cc.db"
        self.db = Database(url)
        upgrade(engine=self.db.engine)
        for q in self.queues:
            QueueRepo(self.db).create(q)
        for skill in sorted({name for agent, _ in self.agents for name in agent.skills}):
            SkillRepo(self.db).create(Skill(skill))
        for agent, _ in self.agents:
            AgentRepo(self.db).create(agent)
        for t in self.tiers:
            TierRepo(self.db).add(t)
        specs = [spec for _, spec in self.agents]
        for i in range(self.nodes):
            sim = Simulator(time_scale=self.scale, agents=specs, hostname=f"sim{i + 1}",
                            recordings_dir=self.tmp / "sim-rec")
            sim.start()
            self.sims.append(sim)
        nodes = tuple(NodeConfig(f"sim{i + 1}", *sim.inbound_address, hostname=f"sim{i + 1}")
                      for i, sim in enumerate(self.sims))
        cfg = ServiceConfig(nodes=nodes, outbound_port=0, database_url=url, flows_dir="flows",
                            routes=dict(self.routes), recordings_dir="recordings", base_dir=str(self.tmp),
                            callback=CallbackConfig(dial=self.callback_dial, timeout_s=30), drain_timeout_s=5,
                            # the simulator shares this hub: its own load is not cc falling behind
                            overload=TEST_OVERLOAD)
        hooks = Hooks()
        hooks.on("*", self.hook_events.append)
        self.service = Service(cfg, clock=ScaledClock(self.scale), hooks=hooks, database=self.db,
                               journal_path=str(self.tmp / "journal.jsonl"))
        self.service.start(wait_nodes=5)
        for sim in self.sims:
            sim.socket_address = self.service.outbound_address
        if self.login:
            for agent, _ in self.agents:
                self.ctl.login(agent.id)

    @property
    def ctl(self) -> Any:
        """The running controller."""
        assert self.service is not None and self.service.controller is not None
        return self.service.controller

    def call(self, destination: str, *, node: int = 0, **kw: Any) -> CallHandle:
        """A simulated caller dials ``destination`` on node ``node``."""
        return self.sims[node].place_call(CallerSpec(destination, **kw))

    def wait(self, handles: Iterable[CallHandle], timeout: float = 30.0) -> list[CallResult]:
        """Wait (real seconds, overall) until every call has ended."""
        deadline = gevent.get_hub().loop.now() + timeout
        out = []
        for h in handles:
            left = max(0.1, deadline - gevent.get_hub().loop.now())
            out.append(h.wait(left))
        return out

    def settle(self, seconds: float = 0.3) -> None:
        """Let the controller finish writing, then flush the store writer."""
        gevent.sleep(seconds)
        deadline = gevent.get_hub().loop.now() + 10
        while self.ctl.dispatcher.tasks and gevent.get_hub().loop.now() < deadline:
            gevent.sleep(0.05)   # originates, kills and recordings still finishing
        assert self.service is not None and self.service.writer is not None
        assert self.service.writer.flush(10)

    def stop(self) -> None:
        """Stop the controller (draining) and the simulators."""
        if self.service is not None:
            self.service.stop(drain_timeout=2)
            self.service = None
        for sim in self.sims:
            sim.stop()

    # ------------------------------------------------------------------ what the store holds
    def queue_events(self) -> list[QueueEvent]:
        """Every queue-log line, oldest first."""
        return sorted(QueueEventRepo(self.db).scan(0, 4e9), key=lambda e: e.at)

    def by_member(self) -> dict[str, list[QueueEvent]]:
        """Queue-log lines per member."""
        out: dict[str, list[QueueEvent]] = defaultdict(list)
        for e in self.queue_events():
            out[e.member_uuid].append(e)
        return out

    def calls(self) -> list[Any]:
        """Every calls row."""
        return list(CallRepo(self.db).scan(0, 4e9))

    def legs(self) -> list[Any]:
        """Every call leg row."""
        return list(CallLegRepo(self.db).scan(0, 4e9))

    def agent_states(self) -> list[Any]:
        """Every agent state event, oldest first."""
        return sorted(AgentStateEventRepo(self.db).scan(0, 4e9), key=lambda e: e.at)

    def recordings(self) -> list[Any]:
        """Every recordings row."""
        return list(RecordingRepo(self.db).scan(0, 4e9))

    def surveys(self) -> list[Any]:
        """Every survey result."""
        return list(SurveyRepo(self.db).scan(0, 4e9))
