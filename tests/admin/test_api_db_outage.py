"""The control API through faults: PostgreSQL behind a TCP proxy that stops passing bytes (a partition:
connections stay open, nothing flows), where /healthz still answers and says so and agents change state;
clients that send their headers slowly, or junk."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from cc.clock import ScaledClock
from cc.config import NodeConfig, ServiceConfig
from cc.model import Agent, QueueConfig, Tier
from cc.sim.endpoints import AgentSpec
from cc.sim.simulator import Simulator
from cc.store.db import Database, upgrade
from cc.store.repos import AgentRepo, QueueRepo, TierRepo
from cc.store.tokens import TokenRepo
from tests.calm_admission import TEST_OVERLOAD

from .conftest import FLOW, Live, off_hub

pytestmark = pytest.mark.timeout(120)

PG_URL = os.environ.get("CC_TEST_DATABASE_URL")


class Blackhole:
    """A TCP proxy in native threads; ``cut()`` stops every byte both ways (connections stay open)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.flowing = threading.Event()
        self.flowing.set()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.socks: list[socket.socket] = []
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            self.socks += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        while not self.closed:
            try:
                data = src.recv(65536)
            except OSError:
                return
            if not data:
                return
            self.flowing.wait()    # cut: the bytes stop here, nothing is closed
            try:
                dst.sendall(data)
            except OSError:
                return

    def cut(self, on: bool = True) -> None:
        """Stop (or let through again) every byte."""
        if on:
            self.flowing.clear()
        else:
            self.flowing.set()

    def close(self) -> None:
        """Close everything."""
        self.closed = True
        self.flowing.set()
        for s in [self.listener, *self.socks]:
            try:
                s.close()
            except OSError:
                pass


@pytest.fixture
def outage(tmp_path: Path) -> Iterator[tuple[Live, Blackhole]]:
    if not PG_URL:
        pytest.skip("CC_TEST_DATABASE_URL not set: PostgreSQL tests skipped")
    from cc.service import Service

    admin = make_url(PG_URL).set(drivername="postgresql").render_as_string(hide_password=False)
    schema = f"cc_t_{os.getpid()}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    direct = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    proxy = Blackhole((direct.host or "127.0.0.1", direct.port or 5432))
    via = direct.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    direct_url = direct.render_as_string(hide_password=False)
    upgrade(direct_url)
    seed = Database(direct_url)
    QueueRepo(seed).create(QueueConfig("support", moh=""))
    AgentRepo(seed).create(Agent("1000", contact="user/1000@sim"))
    TierRepo(seed).add(Tier("1000", "support"))
    tokens = {"agent": TokenRepo(seed).create("t-agent", "agent", "1000")[1]}
    seed.dispose()
    (tmp_path / "flow.yaml").write_text(FLOW)
    sim = Simulator(time_scale=0.05, agents=[AgentSpec("1000")])
    sim.start()
    cfg = ServiceConfig(nodes=(NodeConfig("sim", *sim.inbound_address),), outbound_port=0, database_url=via,
                        flows_dir=str(tmp_path), routes={"7000": "flow.yaml"}, recordings_dir=str(tmp_path / "rec"),
                        base_dir=str(tmp_path), http_listen="127.0.0.1:0", overload=TEST_OVERLOAD)
    db = Database(via)
    svc = Service(cfg, clock=ScaledClock(0.05), database=db, journal_path=str(tmp_path / "journal.jsonl"))
    svc.start()
    assert svc.api is not None
    try:
        yield Live(svc, sim, svc.api.url, via, tokens), proxy
    finally:
        proxy.cut(False)
        svc.stop(drain_timeout=1)
        sim.stop()
        db.dispose()
        proxy.close()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.mark.postgres
def test_healthz_and_agent_control_work_through_a_database_partition(outage: tuple[Live, Blackhole]) -> None:
    live, proxy = outage
    tok = live.tokens["agent"]
    status, health = live.http("GET", "/healthz")
    assert status == 200 and health["database"]["available"] is True, health
    assert live.http("POST", "/api/v1/agents/1000/login", tok, {})[0] == 200
    proxy.cut()
    # /healthz answers (from memory) while the database says nothing; within a few checks it reports it
    deadline = time.monotonic() + 30
    while True:
        status, health = live.http("GET", "/healthz")   # 10 s client timeout: a frozen hub fails here
        if not health["database"]["available"]:
            break
        assert time.monotonic() < deadline, "the outage was never reported"
        time.sleep(0.5)
    assert status == 503 and health["status"] == "degraded" and health["database"]["error"]
    assert all(n["up"] for n in health["nodes"]), "the switch is fine: only the database is reported"
    # the control plane works: the agent's token is checked from memory, its state changes in the ACD
    status, view = live.http("POST", "/api/v1/agents/1000/status", tok, {"status": "on_break", "reason": "lunch"})
    assert status == 200 and (view["status"], view["reason"]) == ("on_break", "lunch")
    status, view = live.http("POST", "/api/v1/agents/1000/status", tok, {"status": "available"})
    assert status == 200 and view["status"] == "available"
    proxy.cut(False)
    deadline = time.monotonic() + 60
    while not live.http("GET", "/healthz")[1]["database"]["available"]:
        assert time.monotonic() < deadline, "the database never came back in /healthz"
        time.sleep(0.5)


def test_slow_headers_are_cut_and_junk_is_one_warning(live: Live, monkeypatch: pytest.MonkeyPatch,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    import cc.api.server

    monkeypatch.setattr(cc.api.server, "HEADER_TIMEOUT_S", 0.5)
    host, port = live.url.rsplit("/", 1)[-1].split(":")

    def slowloris() -> bytes:
        with socket.create_connection((host, int(port)), timeout=20) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")   # and never the rest
            return s.recv(1024)   # a 400 (or nothing) once the server gives up on it

    def junk() -> bytes:
        with socket.create_connection((host, int(port)), timeout=20) as s:
            s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 junk\r\n\r\n")
            return s.recv(1024)

    caplog.set_level(logging.WARNING)
    cut = off_hub(slowloris)
    assert cut == b"" or cut.startswith(b"HTTP/1.1 400")
    assert off_hub(junk).startswith(b"HTTP/1.1 400")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert live.http("GET", "/healthz")[0] == 200
