"""A standby controller serves the HTTP API (PostgreSQL, cc.sim, real TCP): /healthz says it stands by and who
leads, /metrics and read-only views answer, a change answers 503 with a JSON error naming the leader."""

from __future__ import annotations

import json
import random
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import gevent
import pytest

from cc.clock import ScaledClock
from cc.config import HaConfig, NodeConfig, ServiceConfig
from cc.model import Agent, QueueConfig, Tier
from cc.service import Service
from cc.sim.endpoints import AgentSpec
from cc.sim.simulator import Simulator
from cc.store.db import Database, upgrade
from cc.store.repos import AgentRepo, QueueRepo, TierRepo
from cc.store.tokens import TokenRepo
from tests.calm_admission import TEST_OVERLOAD

pytestmark = [pytest.mark.timeout(90), pytest.mark.postgres]

def ha_pair() -> HaConfig:
    """One test's pair of controllers: a lock id of its own (tests run side by side never share a lock)."""
    return HaConfig(role="auto", lock_id=random.randint(1, 2**31 - 1), check_interval_s=0.5, fence_s=2.0,
                    takeover_after_s=3.0)


def http(url: str, method: str = "GET", token: str | None = None) -> tuple[int, dict[str, str], bytes]:
    """One request; (status, headers, body) whatever the status."""
    req = urllib.request.Request(url, method=method, data=b"{}" if method == "POST" else None)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    if method == "POST":
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def get(url: str, token: str | None = None) -> Any:
    """GET in a worker thread (the API runs in this process's hub)."""
    return gevent.get_hub().threadpool.apply(http, (url,), {"token": token})


def post(url: str, token: str) -> Any:
    """POST in a worker thread."""
    return gevent.get_hub().threadpool.apply(http, (url, "POST", token))


@contextmanager
def standby_pair(tmp_path: Path, pg_url: str) -> Iterator[tuple[Service, Service, str]]:
    """A leader and its standby (started in that order, in this process) on a fresh store with one agent of
    queue ``support`` on cc.sim; yields (leader, standby, a supervisor's token) and stops them all (a service
    one the test stopped itself is not stopped again)."""
    db = Database(pg_url)
    upgrade(engine=db.engine)
    QueueRepo(db).create(QueueConfig("support", moh=""))
    AgentRepo(db).create(Agent("1001", name="Agent 1001", contact="user/1001@sim"))
    TierRepo(db).add(Tier("1001", "support"))
    token = TokenRepo(db).create("t-sup", "supervisor")[1]
    sim = Simulator(time_scale=0.05, agents=[AgentSpec("1001")], hostname="sim1")
    sim.start()
    services: list[Service] = []
    try:
        (tmp_path / "flows").mkdir()
        ha = ha_pair()
        for name in ("a", "b"):
            cfg = ServiceConfig(nodes=(NodeConfig("sim1", *sim.inbound_address, hostname="sim1"),), outbound_port=0,
                                database_url=pg_url, base_dir=str(tmp_path), http_listen="127.0.0.1:0", ha=ha,
                                overload=TEST_OVERLOAD)
            svc = Service(cfg, clock=ScaledClock(0.05), journal_path=str(tmp_path / f"journal-{name}.jsonl"))
            svc.start(wait_nodes=5)
            services.append(svc)
            if name == "a":
                assert svc.leadership is not None and svc.leadership.wait_leading(10)
        yield services[0], services[1], token
    finally:
        for svc in reversed(services):
            if not svc.stopped:
                svc.stop(drain_timeout=1)
        sim.stop()
        db.dispose()


def test_a_standby_serves_health_metrics_and_views_and_refuses_changes_naming_the_leader(
        tmp_path: Path, pg_url: str) -> None:
    with standby_pair(tmp_path, pg_url) as (leader, standby, token):
        assert standby.api is not None and leader.api is not None, "a standby serves the API too"
        url = standby.api.url
        deadline = gevent.get_hub().loop.now() + 10
        while standby.leader() is None and gevent.get_hub().loop.now() < deadline:
            gevent.sleep(0.1)
        code, _, body = get(f"{url}/healthz")
        doc = json.loads(body)
        assert code == 200 and doc["status"] == "standby" and doc["role"] == "standby", doc
        assert doc["leader"]["name"] == leader.identity and doc["leader"]["self"] is False
        assert doc["leader"]["api"] is not None and leader.api is not None
        assert leader.api.url.endswith(doc["leader"]["api"].rpartition(":")[2])
        code, _, body = get(f"{leader.api.url}/healthz")
        assert code == 200 and json.loads(body)["role"] == "leader"
        code, _, body = get(f"{url}/metrics")
        text = body.decode()
        assert code == 200 and "cc_leader 0.0" in text and 'cc_leadership_role{role="standby"} 1.0' in text
        code, _, body = get(f"{url}/api/v1/agents", token)
        assert code == 200 and [a["id"] for a in json.loads(body)] == ["1001"]
        code, headers, body = post(f"{url}/api/v1/agents/1001/login", token)
        err = json.loads(body)
        assert code == 503 and err["error"]["kind"] == "standby" and headers.get("Retry-After") == "1"
        assert leader.identity in err["error"]["message"] and err["leader"]["name"] == leader.identity
        code, _, body = post(f"{leader.api.url}/api/v1/agents/1001/login", token)
        assert code == 200, body

