"""kill -9 of the controller under ~200 calls with ~30 bridged, then a restart on the same store and switch.

The controller runs in a process of its own (tests/wire/restart_controller.py), the simulator in this one.
The simulator's dialplan parks a call whose socket ended without a hangup (as freeswitch-conf/ does), so
the restarted controller finds on the switch every call in progress (waiting callers still in the queue's
music), with the ``cc_*`` variables the first one kept there, and takes them over: bridged calls end
normally, waiting callers are answered in their original order, nothing is left on the switch, no agent is
stuck, every call has its row and final event; those who hung up while no controller ran are ended too.
"""

from __future__ import annotations

import ast
import json
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gevent
import pytest
from gevent import subprocess

from cc.model import Agent, AgentState, QueueConfig, QueueEventType, RecordPolicy, Tier
from cc.sim.endpoints import AgentSpec, CallerSpec
from cc.sim.simulator import CallHandle, Simulator
from cc.store.db import Database, upgrade
from cc.store.queue_calls import QueueCallRepo
from cc.store.repos import AgentRepo, CallRepo, QueueEventRepo, QueueRepo, RecordingRepo, TierRepo
from tests.pg import pg_schema_url
from tests.wire.harness import QUEUE_FLOW, TERMINAL

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

ROOT = Path(__file__).resolve().parents[2]
SCALE = 0.05          # 20 simulated seconds per real second
AGENTS = 30
CALLS = 200           # placed in about 3 real seconds
CALLER_TALK_S = 60.0  # simulated, the callers after the first AGENTS: they hang up 3 real seconds into the talk
GONE = range(100, 110)  # these callers give up while no controller runs (the test hangs them up after the kill)
# Nothing here depends on how fast this machine is: the first AGENTS callers talk until the test ends their
# talk once the restarted controller has recovered them, and GONE hang up between the kill and the restart.
FOREVER = 1e6         # simulated seconds: a talk or a patience that never runs out within the test


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty, migrated store on SQLite, or on PostgreSQL when CC_TEST_DATABASE_URL is set."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/cc.db"
        return
    with pg_schema_url() as pg:
        yield pg


def seed(tmp: Path, url: str) -> None:
    """One queue, AGENTS agents on it, its flow."""
    (tmp / "flows").mkdir()
    (tmp / "flows" / "support.yaml").write_text(QUEUE_FLOW.format(name="support", queue="support"))
    db = Database(url)
    upgrade(engine=db.engine)
    QueueRepo(db).create(QueueConfig("support", moh="local_stream://moh", announce_position=False,
                                     record_policy=RecordPolicy.ALWAYS))
    for i in range(AGENTS):
        aid = str(1000 + i)
        AgentRepo(db).create(Agent(aid, name=f"Agent {aid}", contact=f"user/{aid}@sim", wrap_up_s=2.0,
                                   no_answer_delay_s=2.0, busy_delay_s=2.0, reject_delay_s=2.0))
        TierRepo(db).add(Tier(aid, "support"))
    db.engine.dispose()


def live(sim: Simulator) -> list[str]:
    """The channels the simulator still has."""
    return [u for u, c in sim.channels.items() if not c.gone.is_set()]


def start(tmp: Path, sim: Simulator, url: str, n: int, outbound_port: int = 0) -> Any:
    """A controller process; its socket becomes the simulator's route (then ``park``, as freeswitch-conf/).

    A restart is given the port of the controller it replaces (``outbound_port``): the dialplan's address does
    not change, and what the start-up recovery sends through the dialplan must reach the new one."""
    host, port = sim.inbound_address
    err = open(tmp / f"controller{n}.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "tests.wire.restart_controller", str(tmp), f"{host}:{port}",
                             str(SCALE), url, str(outbound_port)], cwd=ROOT, stdout=subprocess.PIPE, stderr=err)
    assert proc.stdout is not None
    with gevent.Timeout(30):
        line = proc.stdout.readline().decode()
    assert line.startswith("READY"), (line, (tmp / f"controller{n}.log").read_text()[-2000:])
    out = int(line.split()[1])
    sim.routes["7000"] = [("set", "cc_service_number=7000"), ("socket", f"127.0.0.1:{out} async full"),
                          ("park", "")]
    proc.err = err
    proc.outbound_port = out
    return proc


def drain(sim: Simulator, timeout: float = 20.0) -> list[str]:
    """Wait (``timeout`` real seconds at most) until the simulator has no channel; those still up."""
    with gevent.Timeout(timeout, False):
        while live(sim):
            gevent.sleep(0.2)
    return live(sim)


def stop(proc: Any) -> None:
    """SIGTERM a controller process and wait for it (it writes its snapshot)."""
    proc.send_signal(signal.SIGTERM)
    with gevent.Timeout(30):
        proc.wait()


def reap(procs: list[Any], sim: Simulator) -> None:
    """The end of a test, passed or not: no controller process left, the simulator stopped."""
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.err.close()
    sim.stop()


def recovery_lines(log: Path) -> list[dict[str, int]]:
    """The ``recovery: {...}`` results a controller logged."""
    return [ast.literal_eval(ln.partition("recovery: ")[2]) for ln in log.read_text().splitlines()
            if "recovery: {" in ln]


def test_kill_9_under_200_calls_and_restart_takes_every_call_over(tmp_path: Path, url: str) -> None:
    seed(tmp_path, url)
    agents = [AgentSpec(str(1000 + i), answer_after=1.0, talk_time=FOREVER) for i in range(AGENTS)]
    sim = Simulator(time_scale=SCALE, agents=agents, hostname="sim1")
    sim.start()
    procs = []
    try:
        first = start(tmp_path, sim, url, 1)
        procs.append(first)
        handles: list[CallHandle] = []
        for i in range(CALLS):
            handles.append(sim.place_call(CallerSpec("7000", caller_id_number=f"1555{i:07d}",
                                                     patience=FOREVER,
                                                     talk_time=CALLER_TALK_S if i >= AGENTS else None)))
            gevent.sleep(0.015)
        with gevent.Timeout(60):   # the first AGENTS callers talk, the rest wait in the queue's music
            # every caller has reached its queue (the controller marked it on the switch): a call still in its
            # flow at the kill is a case of its own (test_recover_flow.py), not this test's
            while sum(1 for u in live(sim) if sim.channels[u].bridged_to is not None) // 2 < AGENTS \
                    or any(h.channel.variables.get("cc_state") not in ("queued", "bridged") for h in handles):
                gevent.sleep(0.1)
        bridged = sum(1 for u in live(sim) if sim.channels[u].bridged_to is not None) // 2
        up = len(live(sim))
        in_moh = sum(1 for u in live(sim) if sim.channels[u].current_app == "playback")
        first.send_signal(signal.SIGKILL)
        clock = json.loads((tmp_path / "clock.json").read_text())
        kill_at = clock["sim0"] + (time.time() - clock["real0"]) / SCALE
        first.wait()
        for i in GONE:   # they give up while no controller runs
            handles[i].hangup()
        gevent.sleep(0.5)
        second = start(tmp_path, sim, url, 2, first.outbound_port)
        procs.append(second)
        with gevent.Timeout(60):   # the restarted controller has taken the calls over
            while "recovery: {" not in (tmp_path / "controller2.log").read_text():
                gevent.sleep(0.1)
        for h in handles[:AGENTS]:   # the talks in progress at the kill end now, under the new controller
            h.hangup()
        results = [h.wait(90) for h in handles]
        left = drain(sim)
        gevent.sleep(SCALE * 3)   # the last wrap-ups (2 simulated s) end
        stop(second)
    finally:
        reap(procs, sim)
    log2 = (tmp_path / "controller2.log").read_text()
    recovered = recovery_lines(tmp_path / "controller2.log")
    assert recovered and recovered[0]["bridged"] >= 25 and recovered[0]["waiting"] >= 150, recovered
    assert recovered[0]["ended_unseen"] == len(GONE), recovered
    assert up >= 180 and bridged >= 25, f"{up} channels, {bridged} bridges up at the kill"
    assert in_moh >= 100, f"only {in_moh} callers in the queue's music at the kill"
    assert all(r is not None for r in results)
    assert not left, f"channels left in the simulator: {left[:5]}\n{log2[-3000:]}"
    snap = json.loads((tmp_path / "snapshot.json").read_text())
    assert snap["sessions"] == [] and snap["members"] == [] and snap["offers"] == 0, snap
    stuck = {a: s for a, s in snap["agents"].items() if s["state"] not in (AgentState.IDLE, AgentState.WRAP_UP)}
    assert not stuck, f"agents stuck: {stuck}"

    db = Database(url)
    try:
        calls = {c.uuid: c for c in CallRepo(db).scan(0, 4e9)}
        events = sorted(QueueEventRepo(db).scan(0, 4e9), key=lambda e: e.at)
        stays = {m: QueueCallRepo(db).for_member(m) for m in calls}
        slots = QueueCallRepo(db).slot_totals(0, 4e9)
        recordings = list(RecordingRepo(db).scan(0, 4e9))
    finally:
        db.engine.dispose()
    assert len(calls) == CALLS, f"{len(calls)} calls rows for {CALLS} calls placed"
    dispositions: dict[str, int] = {}
    for c in calls.values():
        assert c.ended_at is not None and c.disposition, c
        dispositions[c.disposition or ""] = dispositions.get(c.disposition or "", 0) + 1
    members: dict[str, list[QueueEventType]] = {}
    for e in events:
        members.setdefault(e.member_uuid, []).append(e.type)
    assert len(members) == CALLS
    for member, types in members.items():
        assert types.count(QueueEventType.ENTER) == 1, (member, types)
        assert len([t for t in types if t in TERMINAL]) == 1, (member, types)
        # a talk the first controller connected has its CONNECT once, stored by it or by the recovery
        talked = QueueEventType.COMPLETE_AGENT in types or QueueEventType.COMPLETE_CALLER in types
        assert types.count(QueueEventType.CONNECT) == (1 if talked else 0), (member, types)
    answered = sum(1 for types in members.values()
                   if QueueEventType.COMPLETE_AGENT in types or QueueEventType.COMPLETE_CALLER in types)
    assert answered == CALLS - len(GONE), dispositions
    gone = {f"1555{i:07d}" for i in GONE}
    for c in calls.values():   # those who gave up while no controller ran: their row ended, their stay too
        assert (c.caller in gone) == (c.disposition == "ended-unobserved"), c
        if c.caller in gone:
            assert members[c.uuid][-1] is QueueEventType.ABANDON, members[c.uuid]
    # the queue report: one QueueCall per stay (its ENTER's id), each answered, none counted twice
    enters = {e.member_uuid: e.id for e in events if e.type is QueueEventType.ENTER}
    for m, rows in stays.items():
        assert [r.id for r in rows] == [enters[m]], (m, rows)
        assert rows[0].outcome == ("abandoned" if calls[m].caller in gone else "answered"), rows
    assert sum(s.offered for s in slots) == CALLS, slots
    assert sum(s.answered for s in slots) == CALLS - len(GONE) and sum(s.abandoned for s in slots) == len(GONE)
    # every answered call was recorded (the queue records always): one recordings row each, also for the
    # 30 whose recording the first controller started
    by_call: dict[str, int] = {}
    for r in recordings:
        by_call[r.call_uuid] = by_call.get(r.call_uuid, 0) + 1
    answered_calls = {u for u, c in calls.items() if c.disposition == "answered"}
    assert set(by_call) == answered_calls and set(by_call.values()) == {1}, (len(by_call), len(answered_calls))
    # waiting callers were answered by the restarted controller in the order they joined
    joined = {e.member_uuid: e.at for e in events if e.type is QueueEventType.ENTER}
    talking = {e.member_uuid for e in events if e.type is QueueEventType.CONNECT and e.at <= kill_at}
    first_offer: dict[str, float] = {}
    for e in events:
        if e.type is QueueEventType.OFFER and e.at > kill_at and e.member_uuid not in talking:
            first_offer.setdefault(e.member_uuid, e.at)
    assert len(first_offer) >= CALLS - AGENTS * 2, len(first_offer)
    order = sorted(first_offer, key=lambda m: (first_offer[m], joined[m]))
    latest_before = float("-inf")   # the latest join among members offered strictly earlier
    group_max = float("-inf")
    for prev, m in zip([None, *order], order, strict=False):
        if prev is not None and first_offer[m] > first_offer[prev]:
            latest_before = max(latest_before, group_max)
        group_max = max(group_max, joined[m])
        assert joined[m] >= latest_before, f"{m} joined before a caller offered earlier"
    print(json.dumps({"up_at_kill": up, "bridged_at_kill": bridged, "in_moh_at_kill": in_moh,
                      "dispositions": dispositions,
                      "recovered_in_order": len(order), "recovery": recovered[0]}))
