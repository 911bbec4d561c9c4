"""kill -9 of the controller while callers are in their flow (a prompt before the queue), then a restart.

Where inside a node a call was cannot be rebuilt from its channel, so the restarted controller sends each such
caller through the dialplan again: it reaches the controller's socket as a later visit of the same call, runs
its flow from the start, queues and is answered. Its first ``calls`` row is ended ``flow-restarted``, the
visit that reached the agent is its ``call_segments`` row, and its stay has one ENTER and one final line.
Before this, these callers were hung up at the restart.
"""

from __future__ import annotations

import signal
from pathlib import Path

import gevent
import pytest

from cc.model import Agent, QueueConfig, QueueEventType, Tier
from cc.sim.endpoints import AgentSpec, CallerSpec
from cc.sim.simulator import CallHandle, Simulator
from cc.store.db import Database, upgrade
from cc.store.repos import AgentRepo, CallRepo, QueueEventRepo, QueueRepo, TierRepo
from tests.wire.harness import TERMINAL
from tests.wire.test_restart_recovery import SCALE, drain, reap, recovery_lines, start, stop

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

CALLERS = 4
#: a greeting of 100 simulated seconds (5 real) before the queue: the kill lands in it
FLOW = """
flow: support
start: greet
nodes:
  greet: {play: "silence_stream://100000", next: q}
  q: {enqueue: {queue: support}, next: bye}
  bye: {hangup: NORMAL_CLEARING}
"""


def seed(tmp: Path, url: str) -> None:
    """One queue with CALLERS agents, the flow above."""
    (tmp / "flows").mkdir()
    (tmp / "flows" / "support.yaml").write_text(FLOW)
    db = Database(url)
    upgrade(engine=db.engine)
    QueueRepo(db).create(QueueConfig("support", moh="local_stream://moh", announce_position=False))
    for i in range(CALLERS):
        aid = str(1000 + i)
        AgentRepo(db).create(Agent(aid, name=f"Agent {aid}", contact=f"user/{aid}@sim", wrap_up_s=1.0))
        TierRepo(db).add(Tier(aid, "support"))
    db.engine.dispose()


def test_callers_in_their_flow_at_a_kill_run_it_again_under_the_restarted_controller(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/cc.db"
    seed(tmp_path, url)
    agents = [AgentSpec(str(1000 + i), answer_after=1.0, talk_time=10.0) for i in range(CALLERS)]
    sim = Simulator(time_scale=SCALE, agents=agents, hostname="sim1")
    sim.start()
    procs = []
    try:
        first = start(tmp_path, sim, url, 1)
        procs.append(first)
        handles: list[CallHandle] = [sim.place_call(CallerSpec("7000", caller_id_number=f"1555000{i:04d}",
                                                               patience=1e6))
                                     for i in range(CALLERS)]
        with gevent.Timeout(30):   # every caller hears the greeting (its flow's first node)
            while any(h.channel.current_app != "playback" for h in handles):
                gevent.sleep(0.05)
        first.send_signal(signal.SIGKILL)
        first.wait()
        with gevent.Timeout(10):   # the socket ended without a hang-up: the dialplan parks them
            while any(h.channel.current_app != "park" for h in handles):
                gevent.sleep(0.05)
        second = start(tmp_path, sim, url, 2, first.outbound_port)
        procs.append(second)
        results = [h.wait(90) for h in handles]
        left = drain(sim)
        stop(second)
    finally:
        reap(procs, sim)
    recovered = recovery_lines(tmp_path / "controller2.log")
    assert recovered and recovered[0]["restarted"] == CALLERS and recovered[0]["settled"] == 0, recovered
    assert not left, left
    assert all(r.bridged_to for r in results), "every caller reached an agent"
    db = Database(url)
    try:
        calls = {c.uuid: c for c in CallRepo(db).scan(0, 4e9)}
        segments = {u: CallRepo(db).segments(u) for u in calls}
        events = sorted(QueueEventRepo(db).scan(0, 4e9), key=lambda e: e.at)
    finally:
        db.engine.dispose()
    assert set(calls) == {h.uuid for h in handles}
    for u, c in calls.items():
        assert (c.disposition, c.hangup_cause, c.flow) == ("flow-restarted", None, "support"), c
        assert c.ended_at is not None and c.answered_at is not None and c.started_at < c.answered_at, c
        [seg] = segments[u]
        assert (seg.segment, seg.disposition, seg.flow) == (2, "answered", "support"), seg
        assert seg.ended_at is not None and seg.hangup_cause, seg
        types = [e.type for e in events if e.member_uuid == u]
        assert types.count(QueueEventType.ENTER) == 1 and types[0] is QueueEventType.ENTER, types
        assert [t for t in types if t in TERMINAL] == [types[-1]], types
        assert types[-1] in (QueueEventType.COMPLETE_AGENT, QueueEventType.COMPLETE_CALLER), types
