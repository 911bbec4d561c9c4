"""A standby pair on PostgreSQL: two controller processes (tests/wire/ha_controller.py) on one store and cc.sim.

The simulator's dialplan is ``socket <leader>``, ``socket <standby>``, ``park`` (as freeswitch-conf/ ships it
for a pair): a call the leader's socket lets go reaches the standby, which closes it while it does not lead,
so it parks and is taken over from its ``cc_*`` variables. Killed with SIGKILL, the leader's lock is freed; the
standby leads ``takeover_after`` (3 s) after it got it, runs the start-up recovery, and answers the waiting
callers. With its lock's backend terminated, the leader is fenced (exits) before the other one leads: the
originates and bridges each process sent lie in intervals that do not overlap.
"""

from __future__ import annotations

import json
import random
import signal
import sys
import time
from pathlib import Path
from typing import Any

import gevent
import gevent.queue
import pytest
from gevent import subprocess

from cc.model import AgentState, QueueEventType
from cc.sim.endpoints import AgentSpec, CallerSpec
from cc.sim.simulator import CallHandle, Simulator
from cc.store.db import Database
from cc.store.repos import CallRepo, QueueEventRepo
from tests.wire.harness import TERMINAL
from tests.wire.test_restart_recovery import ROOT, live, seed

pytestmark = [pytest.mark.slow, pytest.mark.timeout(150), pytest.mark.postgres]


SCALE = 0.05
AGENTS = 30
CALLS = 100
TALK_S = 200.0        # simulated: 10 real seconds, so that the first agents are still talking at the kill
CALLER_TALK_S = 60.0
TAKEOVER_LIMIT_S = 5.0


class Proc:
    """A controller process and the lines it prints."""

    def __init__(self, tmp: Path, name: str, sim: Simulator, url: str, lock_id: int) -> None:
        host, port = sim.inbound_address
        self.name = name
        self.err = open(tmp / f"controller-{name}.log", "w")
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.wire.ha_controller", str(tmp), name,
                                      f"{host}:{port}", str(SCALE), url, str(lock_id)], cwd=ROOT,
                                     stdout=subprocess.PIPE, stderr=self.err)
        self.lines: gevent.queue.Queue[str] = gevent.queue.Queue()
        self.seen: dict[str, float] = {}
        self.reader = gevent.spawn(self._read)
        self.port = int(self.expect("READY", 30))

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = raw.decode().strip()
            word, _, rest = line.partition(" ")
            if word in ("LEADING", "FENCED"):
                self.seen[word] = float(rest)
            self.lines.put(line)

    def expect(self, word: str, timeout: float) -> str:
        """The rest of the next line that starts with ``word``."""
        with gevent.Timeout(timeout, AssertionError(f"{self.name}: no {word} line")):
            while True:
                line = self.lines.get()
                if line.startswith(word):
                    return line.partition(" ")[2]

    def acts(self, tmp: Path) -> list[float]:
        """When this process sent originates and bridges (time.time())."""
        path = tmp / f"acts-{self.name}.jsonl"
        if not path.exists():
            return []
        return [json.loads(ln)["t"] for ln in path.read_text().splitlines() if ln.strip()]

    def close(self) -> None:
        """Kill it if still running."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.err.close()


def prepare(tmp: Path, url: str) -> tuple[Simulator, int]:
    """Seed the store, share the simulated clock, start the simulator; a lock id of this test's own."""
    seed(tmp, url)
    real0 = time.time()
    (tmp / "clock.json").write_text(json.dumps({"real0": real0, "sim0": real0}))
    agents = [AgentSpec(str(1000 + i), answer_after=1.0, talk_time=TALK_S) for i in range(AGENTS)]
    sim = Simulator(time_scale=SCALE, agents=agents, hostname="sim1")
    sim.start()
    return sim, random.randint(1, 2**31 - 1)


def route(sim: Simulator, first: Proc, second: Proc) -> None:
    """The dialplan of a pair: the leader's socket, then the standby's, then park."""
    sim.routes["7000"] = [("set", "cc_service_number=7000"), ("socket", f"127.0.0.1:{first.port} async full"),
                          ("socket", f"127.0.0.1:{second.port} async full"), ("park", "")]


def place(sim: Simulator, n: int, offset: int = 0) -> list[CallHandle]:
    """``n`` callers, 15 ms apart."""
    handles = []
    for i in range(offset, offset + n):
        handles.append(sim.place_call(CallerSpec("7000", caller_id_number=f"1555{i:07d}", patience=4000.0,
                                                 talk_time=CALLER_TALK_S if i >= AGENTS else None)))
        gevent.sleep(0.015)
    return handles


def finish(tmp: Path, sim: Simulator, survivor: Proc, handles: list[CallHandle]) -> dict[str, Any]:
    """Wait for every call to end, stop the survivor; its snapshot."""
    results = [h.wait(90) for h in handles]
    assert all(r is not None for r in results)
    with gevent.Timeout(20, False):
        while live(sim):
            gevent.sleep(0.2)
    left = live(sim)
    assert not left, f"channels left in the simulator: {left[:5]}"
    gevent.sleep(SCALE * 3)   # the last wrap-ups end
    survivor.proc.send_signal(signal.SIGTERM)
    with gevent.Timeout(30):
        survivor.proc.wait()
    snap: dict[str, Any] = json.loads((tmp / f"snapshot-{survivor.name}.json").read_text())
    assert snap["sessions"] == [] and snap["members"] == [] and snap["offers"] == 0, snap
    stuck = {a: s for a, s in snap["agents"].items() if s["state"] not in (AgentState.IDLE, AgentState.WRAP_UP)}
    assert not stuck, f"agents stuck: {stuck}"
    return snap


def check_store(url: str, calls_placed: int) -> dict[str, int]:
    """Every call has its ended row, one ENTER and one final queue event; the dispositions."""
    db = Database(url)
    try:
        calls = {c.uuid: c for c in CallRepo(db).scan(0, 4e9)}
        events = sorted(QueueEventRepo(db).scan(0, 4e9), key=lambda e: e.at)
    finally:
        db.engine.dispose()
    assert len(calls) == calls_placed, f"{len(calls)} calls rows for {calls_placed} calls placed"
    dispositions: dict[str, int] = {}
    for c in calls.values():
        assert c.ended_at is not None and c.disposition, c
        dispositions[c.disposition or ""] = dispositions.get(c.disposition or "", 0) + 1
    members: dict[str, list[QueueEventType]] = {}
    for e in events:
        members.setdefault(e.member_uuid, []).append(e.type)
    for member, types in members.items():
        assert types.count(QueueEventType.ENTER) == 1, (member, types)
        assert len([t for t in types if t in TERMINAL]) == 1, (member, types)
    return dispositions


def test_leader_kill_9_standby_takes_over_within_5_s(tmp_path: Path, pg_url: str) -> None:
    """kill -9 of the leader under 100 calls (30 bridged): the standby leads within 5 s, answers every waiting
    caller; no agent stuck, no channel left, every call with its records."""
    url = pg_url
    sim, lock_id = prepare(tmp_path, url)
    a = b = None
    try:
        a = Proc(tmp_path, "a", sim, url, lock_id)
        a.expect("LEADING", 15)
        b = Proc(tmp_path, "b", sim, url, lock_id)
        route(sim, a, b)
        handles = place(sim, CALLS)
        gevent.sleep(1.0)
        bridged = sum(1 for u in live(sim) if sim.channels[u].bridged_to is not None) // 2
        waiting = len(live(sim)) - 2 * bridged
        killed_at = time.time()
        a.proc.send_signal(signal.SIGKILL)
        a.proc.wait()
        led_at = float(b.expect("LEADING", 15))
        takeover = led_at - killed_at
        more = place(sim, 10, offset=CALLS)   # new calls after the takeover: the dead leader's socket is refused
        snap = finish(tmp_path, sim, b, handles + more)
    finally:
        for p in (a, b):
            if p is not None:
                p.close()
        sim.stop()
    assert bridged >= 25 and waiting >= 40, (bridged, waiting)
    assert takeover <= TAKEOVER_LIMIT_S, f"takeover took {takeover:.2f} s"
    dispositions = check_store(url, CALLS + 10)
    assert dispositions.get("answered", 0) == CALLS + 10, dispositions
    print(json.dumps({"takeover_s": round(takeover, 3), "bridged_at_kill": bridged, "waiting_at_kill": waiting,
                      "dispositions": dispositions, "agents": len(snap["agents"])}))


def test_lock_connection_cut_old_leader_stops_before_the_new_one_starts(tmp_path: Path, pg_url: str) -> None:
    """The leader's lock session is terminated (pg_terminate_backend) under calls: it is fenced and exits; the
    standby leads after; no originate or bridge of one process falls inside the other's interval."""
    url = pg_url
    import psycopg
    from sqlalchemy.engine import make_url

    sim, lock_id = prepare(tmp_path, url)
    a = b = None
    try:
        a = Proc(tmp_path, "a", sim, url, lock_id)
        a.expect("LEADING", 15)
        b = Proc(tmp_path, "b", sim, url, lock_id)
        route(sim, a, b)
        handles = place(sim, CALLS)
        gevent.sleep(1.0)
        admin = make_url(url).set(drivername="postgresql", query={}).render_as_string(hide_password=False)
        with psycopg.connect(admin, autocommit=True) as conn:
            pids = [r[0] for r in conn.execute(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid = %s", (lock_id,))]
            assert len(pids) == 1, pids
            cut_at = time.time()
            conn.execute("SELECT pg_terminate_backend(%s)", (pids[0],))
        fenced_at = float(a.expect("FENCED", 10))
        led_at = float(b.expect("LEADING", 15))
        with gevent.Timeout(10):
            rc = a.proc.wait()
        snap = finish(tmp_path, sim, b, handles)
        acts_a, acts_b = a.acts(tmp_path), b.acts(tmp_path)
    finally:
        for p in (a, b):
            if p is not None:
                p.close()
        sim.stop()
    assert rc == 75
    assert cut_at <= fenced_at < led_at, (cut_at, fenced_at, led_at)
    assert acts_a and acts_b
    assert max(acts_a) < min(acts_b), (max(acts_a), min(acts_b))   # never two leaders acting
    assert max(acts_a) <= fenced_at
    check_store(url, CALLS)
    print(json.dumps({"fenced_after_cut_s": round(fenced_at - cut_at, 3), "led_after_cut_s": round(led_at - cut_at, 3),
                      "gap_s": round(min(acts_b) - max(acts_a), 3), "agents": len(snap["agents"])}))


class Blackhole:
    """A TCP proxy to PostgreSQL that can stop carrying bytes while keeping both connections open (a partition
    that neither end sees as a reset)."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        import gevent.server

        self.upstream = upstream
        self.cut = False
        self.server = gevent.server.StreamServer(("127.0.0.1", 0), self._serve)
        self.server.start()
        self.port = int(self.server.server_port)

    def _serve(self, client: Any, _addr: Any) -> None:
        import gevent.socket

        up = gevent.socket.create_connection(self.upstream)

        def pump(src: Any, dst: Any) -> None:
            while True:
                data = src.recv(65536)
                if not data:
                    if self.cut:   # the other end closed: a partition does not tell
                        gevent.sleep(3600)
                    dst.close()
                    return
                if not self.cut:
                    dst.sendall(data)

        g = gevent.spawn(pump, up, client)
        try:
            pump(client, up)
        except OSError:
            pass
        finally:
            g.kill()

    def stop(self) -> None:
        """Close the listener (its connections end with the test)."""
        self.server.stop(timeout=0)


def test_blackholed_database_old_leader_stops_before_the_new_one_starts(tmp_path: Path, pg_url: str) -> None:
    """The leader's database traffic (its lock's connection too) goes through a proxy that stops carrying bytes:
    its checks do not answer, it is fenced and exits; the server ends its idle lock session (idle_session_timeout
    = fence), the standby gets the lock and leads; no originate or bridge of the two overlaps."""
    from sqlalchemy.engine import make_url

    url = pg_url
    sim, lock_id = prepare(tmp_path, url)
    parsed = make_url(url)
    proxy = Blackhole((parsed.host or "127.0.0.1", parsed.port or 5432))
    a = b = None
    try:
        a = Proc(tmp_path, "a", sim, parsed.set(host="127.0.0.1", port=proxy.port).render_as_string(
            hide_password=False), lock_id)
        a.expect("LEADING", 15)
        b = Proc(tmp_path, "b", sim, url, lock_id)
        route(sim, a, b)
        handles = place(sim, CALLS)
        gevent.sleep(1.0)
        cut_at = time.time()
        proxy.cut = True
        fenced_at = float(a.expect("FENCED", 10))
        led_at = float(b.expect("LEADING", 20))
        with gevent.Timeout(10):
            rc = a.proc.wait()
        snap = finish(tmp_path, sim, b, handles)
        acts_a, acts_b = a.acts(tmp_path), b.acts(tmp_path)
    finally:
        for p in (a, b):
            if p is not None:
                p.close()
        proxy.stop()
        sim.stop()
    assert rc == 75
    assert cut_at <= fenced_at < led_at, (cut_at, fenced_at, led_at)
    assert acts_a and acts_b
    assert max(acts_a) < min(acts_b), (max(acts_a), min(acts_b))
    assert max(acts_a) <= fenced_at
    print(json.dumps({"fenced_after_cut_s": round(fenced_at - cut_at, 3), "led_after_cut_s": round(led_at - cut_at, 3),
                      "gap_s": round(min(acts_b) - max(acts_a), 3), "agents": len(snap["agents"])}))
