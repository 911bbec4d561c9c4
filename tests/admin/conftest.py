"""Fixtures for the admin CLI and HTTP API tests: a migrated SQLite store, a CliRunner bound to it, and a
real Service on cc.sim (ScaledClock) with its API on a free port and one token per role."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gevent
import pytest
from click.testing import CliRunner, Result

from cc.clock import ScaledClock
from cc.config import NodeConfig, ServiceConfig
from cc.model import Agent, QueueConfig, Strategy, Tier
from cc.store.db import Database, upgrade
from cc.store.repos import AgentRepo, QueueRepo, SkillRepo, TierRepo
from cc.store.tokens import TokenRepo
from cli import cc
from tests.calm_admission import TEST_OVERLOAD

FLOW = """
flow: admin-test
start: q
nodes:
  q: {enqueue: {queue: support}, next: bye}
  bye: {hangup: NORMAL_CLEARING}
"""


def closed_port() -> int:
    """A local port nobody listens on (bound then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cc.db'}"
    upgrade(url)
    return url


@dataclass
class Cli:
    """Runs `cc ...` against one database (and a controller URL)."""

    db_url: str
    controller_url: str
    token: str | None = None
    runner: CliRunner = field(default_factory=CliRunner)

    def __call__(self, *args: str, input: str | None = None) -> Result:
        env = {"CC_DATABASE_URL": self.db_url, "CC_URL": self.controller_url, "CC_TOKEN": self.token or "",
               "COLUMNS": "200"}
        return self.runner.invoke(cc, list(args), env=env, input=input, catch_exceptions=False)


@pytest.fixture
def cli(db_url: str) -> Cli:
    return Cli(db_url, f"http://127.0.0.1:{closed_port()}")


def off_hub(fn: Callable[..., Any], *args: Any, timeout: float = 20.0, **kw: Any) -> Any:
    """Run blocking ``fn`` in a native thread while the gevent hub keeps serving (the API is in this process)."""
    return gevent.get_hub().threadpool.spawn(fn, *args, **kw).get(timeout=timeout)


@dataclass
class Live:
    """A running Service on the simulator, its API URL, and tokens by role."""

    svc: Any
    sim: Any
    url: str
    db_url: str
    tokens: dict[str, str]

    def http(self, method: str, path: str, token: str | None = None, body: Any = None,
             raw: bool = False) -> tuple[int, Any]:
        """One real HTTP request (off the hub); (status, decoded JSON or text)."""

        def run() -> tuple[int, Any]:
            data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
            req = urllib.request.Request(self.url + path, data=data, method=method)
            if data is not None:
                req.add_header("Content-Type", "application/json")
            if token:
                req.add_header("Authorization", f"Bearer {token}")
            try:
                with urllib.request.urlopen(req, timeout=10) as resp:
                    status, payload = resp.status, resp.read()
            except urllib.error.HTTPError as exc:
                status, payload = exc.code, exc.read()
            if raw:
                return status, payload.decode()
            return status, json.loads(payload) if payload else None

        result: tuple[int, Any] = off_hub(run)
        return result

    def cli(self, *args: str, role: str | None = "admin") -> Result:
        """`cc ...` run off the hub against this controller and database."""
        runner = Cli(self.db_url, self.url, self.tokens[role] if role else None)
        result: Result = off_hub(runner, *args)
        return result


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    from cc.service import Service
    from cc.sim.endpoints import AgentSpec
    from cc.sim.simulator import Simulator

    d = tmp_path_factory.mktemp("live")
    (d / "flow.yaml").write_text(FLOW)
    url = f"sqlite:///{d / 'cc.db'}"
    db = Database(url)
    upgrade(engine=db.engine)
    QueueRepo(db).create(QueueConfig("support", strategy=Strategy.LONGEST_IDLE_AGENT, moh="", wrap_up_s=1))
    QueueRepo(db).create(QueueConfig("sales", moh=""))
    SkillRepo(db).create(__import__("cc.model", fromlist=["Skill"]).Skill("billing"))
    for i in range(3):
        AgentRepo(db).create(Agent(f"10{i:02d}", contact=f"user/10{i:02d}@sim", wrap_up_s=1))
        TierRepo(db).add(Tier(f"10{i:02d}", "support"))
    tokens = {}
    repo = TokenRepo(db)
    for role, agent in (("admin", None), ("supervisor", None), ("agent", "1000")):
        tokens[role] = repo.create(f"t-{role}", role, agent)[1]
    tokens["other_agent"] = repo.create("t-agent-1001", "agent", "1001")[1]
    scale = 0.05
    sim = Simulator(time_scale=scale, agents=[AgentSpec(f"10{i:02d}", answer_after=1, talk_time=5) for i in range(3)])
    sim.start()
    cfg = ServiceConfig(nodes=(NodeConfig("sim", *sim.inbound_address),), outbound_port=0, database_url=url,
                        flows_dir=str(d), routes={"7000": "flow.yaml"}, recordings_dir=str(d / "rec"),
                        base_dir=str(d), http_listen="127.0.0.1:0", overload=TEST_OVERLOAD)
    svc = Service(cfg, clock=ScaledClock(scale), database=db, journal_path=str(d / "journal.jsonl"))
    svc.start()
    sim.socket_address = svc.outbound_address
    assert svc.api is not None
    try:
        yield Live(svc, sim, svc.api.url, url, tokens)
    finally:
        svc.stop(drain_timeout=1)
        sim.stop()
        db.dispose()
