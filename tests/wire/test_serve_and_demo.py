"""`ccctl serve` as a process (SIGTERM drains, nothing lost), bad configuration, and `ccctl demo`."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import gevent
import pytest
from click.testing import CliRunner

from cc.model import Agent, AgentState, AgentStateEvent, AgentStatus, QueueConfig, Tier
from cc.sim.endpoints import AgentSpec, CallerSpec
from cc.sim.simulator import Simulator
from cc.store.db import Database, upgrade
from cc.store.repos import AgentRepo, AgentStateEventRepo, CallRepo, QueueRepo, TierRepo
from cli import cc
from tests.calm_admission import TEST_OVERLOAD_YAML

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            gevent.sleep(0.1)
    return False


@pytest.mark.timeout(90)
def test_serve_drains_on_sigterm_and_loses_no_call_record(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path}/cc.db")
    upgrade(engine=db.engine)
    QueueRepo(db).create(QueueConfig("support", moh="", announce_position=False))
    specs = []
    for i in range(3):
        aid = f"100{i}"
        AgentRepo(db).create(Agent(aid, contact=f"user/{aid}@sim"))
        TierRepo(db).add(Tier(aid, "support"))
        # logged in when the last controller stopped: the new one restores them
        AgentStateEventRepo(db).add(AgentStateEvent(f"e{i}", 1.0, aid, AgentStatus.AVAILABLE, AgentState.IDLE))
        specs.append(AgentSpec(aid, answer_after=1, talk_time=600))
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "q.yaml").write_text(
        "flow: q\nstart: q\nnodes:\n  q: {enqueue: {queue: support}, next: bye}\n  bye: {hangup: NORMAL_CLEARING}\n")
    sim = Simulator(time_scale=0.01, agents=specs).start()
    port = _free_port()
    host, sim_port = sim.inbound_address
    (tmp_path / "cc.yaml").write_text(
        f"nodes: [{{name: sim, host: {host}, port: {sim_port}, password: ClueCon}}]\n"
        f"outbound: {{listen: '127.0.0.1:{port}'}}\ndatabase: sqlite:///{tmp_path}/cc.db\n"
        "flows: {dir: flows, routes: {'7000': q.yaml}}\ndrain_timeout: 1s\n" + TEST_OVERLOAD_YAML)
    sim.socket_address = ("127.0.0.1", port)
    proc = subprocess.Popen([sys.executable, "-c", "import cli; cli.main()", "serve", "-c", str(tmp_path / "cc.yaml"),
                             "--time-scale", "0.01", "--log-level", "WARNING"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert _wait_port(port, 30), "ccctl serve did not start listening"
        handles = [sim.place_call(CallerSpec("7000", caller_id_number=f"155500000{i:02d}")) for i in range(8)]
        gevent.sleep(1.0)   # 100 simulated seconds: three calls talking, five waiting
        proc.send_signal(signal.SIGTERM)
        while proc.poll() is None:
            gevent.sleep(0.1)
        _out, err = proc.communicate(timeout=5)
        assert proc.returncode == 0, err.decode()
        assert b"drain" in err
        for h in handles:
            h.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
        sim.stop()
    calls = list(CallRepo(db).scan(0, 4e9))
    assert len(calls) == 8, "every call has its record after the drain"
    assert all(c.ended_at is not None for c in calls)
    assert sum(1 for c in calls if c.disposition == "abandoned") <= 5


def test_serve_bad_config_is_one_clear_error(tmp_path: Path) -> None:
    cfg = tmp_path / "cc.yaml"
    cfg.write_text("nodes:\n  - {name: a, port: 99999}\nbogus: 1\n")
    r = CliRunner().invoke(cc, ["serve", "-c", str(cfg)])
    assert r.exit_code == 2
    assert "cc.yaml:2:" in r.output and "nodes[0].port" in r.output and "bogus" in r.output
    r = CliRunner().invoke(cc, ["serve", "-c", str(tmp_path / "missing.yaml")])
    assert r.exit_code == 2 and "does not exist" in r.output


@pytest.mark.timeout(120)
def test_demo_runs_a_call_center_and_reports_from_the_database() -> None:
    r = CliRunner().invoke(cc, ["demo", "--json", "--duration", "15m", "--time-scale", "0.005", "--agents", "10",
                                "--calls-per-hour", "240"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    queues = {q["queue"]: q for q in out["queues"]}
    assert set(queues) == {"sales", "support", "billing"}
    offered = sum(q["offered"] for q in queues.values())
    answered = sum(q["answered"] for q in queues.values())
    assert offered > 20 and answered > 10
    for q in queues.values():   # every offered call counted once
        assert q["answered"] + q["abandoned"] + q["callbacks"] + q["other_exits"] == q["offered"], q
    assert out["calls"] >= offered


def test_demo_bad_arguments() -> None:
    r = CliRunner().invoke(cc, ["demo", "--agents", "0"])
    assert r.exit_code == 2 and "--agents" in r.output
    r = CliRunner().invoke(cc, ["demo", "--duration", "soon"])
    assert r.exit_code == 2 and "duration" in r.output
    r = CliRunner().invoke(cc, ["demo", "--help"])
    assert r.exit_code == 0 and "Example:" in r.output
