"""Control API and roster import costs; prints one JSON object.

A real Service on cc.sim (ScaledClock) with ``--agents`` agents over ``--queues`` queues, its API on a
free port. From a native thread (the hub keeps serving), over one keep-alive HTTP connection:

- ``status_ms``: GET /api/v1/status (every queue with today's service level from the queue log, every
  agent, every member) p50/p99;
- ``agent_status_ms``: POST /api/v1/agents/{id}/status (token check in the database, ACD event, view);
- ``metrics_ms``: GET /metrics; ``whoami_ms``: the token check alone plus HTTP overhead;
- ``import_rows_per_s``: ``ccctl import agents`` core (RosterRepo) for ``--rows`` new agents with skills
  and two tiers each, into SQLite, one transaction.

Usage: ``python bench/api.py [--agents 500] [--queues 20] [--n 300] [--rows 5000]``
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import gevent

from cc.clock import ScaledClock
from cc.config import NodeConfig, ServiceConfig
from cc.model import Agent, QueueConfig, Skill, Tier
from cc.service import Service
from cc.sim.simulator import Simulator
from cc.store.db import Database, upgrade
from cc.store.repos import AgentRepo, QueueRepo, SkillRepo, TierRepo
from cc.store.roster import RosterEntry, RosterRepo
from cc.store.tokens import TokenRepo


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return round(values[min(len(values) - 1, int(q * len(values)))] * 1000, 3)


def timed(conn: http.client.HTTPConnection, method: str, path: str, token: str, body: Any, n: int) -> dict[str, Any]:
    times = []
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    for i in range(n):
        payload = None if body is None else json.dumps(body(i) if callable(body) else body)
        p = path(i) if callable(path) else path
        t0 = time.perf_counter()
        conn.request(method, p, body=payload, headers=headers)
        resp = conn.getresponse()
        resp.read()
        times.append(time.perf_counter() - t0)
        assert resp.status == 200, (p, resp.status)
    return {"p50": pct(times, 0.5), "p99": pct(times, 0.99), "mean": round(statistics.fmean(times) * 1000, 3)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--agents", type=int, default=500)
    ap.add_argument("--queues", type=int, default=20)
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--rows", type=int, default=5000)
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    d = Path(tempfile.mkdtemp())
    (d / "flow.yaml").write_text("flow: b\nstart: q\nnodes:\n  q: {enqueue: {queue: q0}, next: bye}\n"
                                 "  bye: {hangup: NORMAL_CLEARING}\n")
    url = f"sqlite:///{d / 'cc.db'}"
    db = Database(url)
    upgrade(engine=db.engine)
    SkillRepo(db).create(Skill("s1"))
    for q in range(args.queues):
        QueueRepo(db).create(QueueConfig(f"q{q}", moh=""))
    for i in range(args.agents):
        AgentRepo(db).create(Agent(f"a{i}", contact=f"user/a{i}@sim"))
        TierRepo(db).add(Tier(f"a{i}", f"q{i % args.queues}"))
    token = TokenRepo(db).create("bench", "admin")[1]
    sim = Simulator(time_scale=0.05).start()
    cfg = ServiceConfig(nodes=(NodeConfig("sim", *sim.inbound_address),), outbound_port=0, database_url=url,
                        flows_dir=str(d), routes={"7000": "flow.yaml"}, recordings_dir=str(d / "rec"),
                        base_dir=str(d), http_listen="127.0.0.1:0")
    svc = Service(cfg, clock=ScaledClock(0.05), database=db, journal_path=str(d / "j.jsonl"))
    svc.start()
    assert svc.api is not None
    host, port = svc.api.address
    for i in range(args.agents):
        svc.controller.login(f"a{i}")  # type: ignore[union-attr]

    def run() -> dict[str, Any]:
        conn = http.client.HTTPConnection(host, port, timeout=30)
        out = {
            "whoami_ms": timed(conn, "GET", "/api/v1/whoami", token, None, args.n),
            "status_ms": timed(conn, "GET", "/api/v1/status", token, None, args.n),
            "agent_status_ms": timed(conn, "POST", lambda i: f"/api/v1/agents/a{i % args.agents}/status", token,
                                     lambda i: {"status": "on_break" if (i // args.agents) % 2 == 0 else "available"},
                                     args.n),
            "metrics_ms": timed(conn, "GET", "/metrics", token, None, args.n),
        }
        conn.close()
        return out

    result: dict[str, Any] = gevent.get_hub().threadpool.spawn(run).get()
    svc.stop(drain_timeout=0.5)
    sim.stop()

    entries = [(i + 2, RosterEntry(Agent(f"r{i}", name=f"R {i}", skills={"s1": 1 + i % 10}),
                                   tiers=(Tier(f"r{i}", "q0"), Tier(f"r{i}", "q1", 2))))
               for i in range(args.rows)]
    t0 = time.perf_counter()
    res = RosterRepo(db).import_entries(entries)
    took = time.perf_counter() - t0
    assert len(res.created) == args.rows
    result["import_rows_per_s"] = round(args.rows / took)
    result.update(agents=args.agents, queues=args.queues, n=args.n, rows=args.rows)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
