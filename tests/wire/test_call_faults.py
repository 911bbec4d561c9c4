"""Faults in the middle of calls over real ESL against cc.sim: races with the ACD, ESL errors, link loss."""

from __future__ import annotations

import logging
import random
from pathlib import Path

import gevent
import pytest

from cc.errors import ESLTimeout
from cc.esl.outbound import CallChannel
from cc.esl.protocol import Event
from cc.model import QueueEventType, Tier
from cc.sim.endpoints import AgentSpec
from tests.wire.harness import TERMINAL, Harness
from tests.wire.test_controller import agent, queue

pytestmark = pytest.mark.timeout(120)

ANNOUNCING_FLOW = """
flow: support
start: q
nodes:
  q: {enqueue: {queue: support, announce_every: 10s}, next: bye}
  bye: {hangup: NORMAL_CLEARING}
"""


def _wait_idle(h: Harness, timeout: float = 10.0) -> dict[str, str]:
    """Wait (real seconds) until every agent is idle; the agents' states at the end."""
    deadline = gevent.get_hub().loop.now() + timeout
    while True:
        states = {a: rt.state.value for a, rt in h.ctl.acd.world.agents.items()}
        if all(s == "idle" for s in states.values()) or gevent.get_hub().loop.now() > deadline:
            return states
        gevent.sleep(0.05)


@pytest.mark.slow
def test_position_announcements_racing_connects_fail_no_call(tmp_path: Path,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    rng = random.Random(15)
    # the flow's announcement timer (its shortest period, 10 s) reads the caller's place from the Acd when it
    # fires: at this scale a Connect often overtakes it. The queue's prompt is played, so the caller's greenlet
    # is often busy when the agent answers (the simulator's mod_say stalls under this load: not tested here).
    q = queue("support", announce_position=False, announce_prompt="ivr/ivr-you_are_number.wav", max_wait_s=3600,
              offer_timeout_s=3600)
    agents = []
    for i in range(10):
        a = agent(i, wrap_up_s=1.0, max_no_answer=0)   # a slow host is no reason for a break here
        agents.append((a, AgentSpec(a.id, answer_after=rng.uniform(0.5, 2), talk_time=rng.uniform(3, 15))))
    tiers = [Tier(a.id, "support") for a, _ in agents]
    caplog.set_level(logging.WARNING, logger="cc.runtime")
    with Harness(tmp_path, [q], agents, tiers, flows={"support.yaml": ANNOUNCING_FLOW},
                 routes={"7000": "support.yaml"}, scale=0.01) as h:
        handles = []
        for n in range(300):
            handles.append(h.call("7000", caller_id_number=f"1555{n:07d}"))
            gevent.sleep(0.01)   # about one caller per simulated second: a line forms, 10 agents serve it
        results = h.wait(handles, timeout=90)
        assert all(r is not None for r in results)
        h.settle(0.5)
        failures = [r for r in caplog.records if "controller failure" in r.getMessage()]
        assert not failures, failures[0].getMessage()
        calls = h.calls()
        assert len(calls) == 300
        assert not [c for c in calls if c.disposition in ("error", "esl-error")]
        states = _wait_idle(h)
        assert set(states.values()) == {"idle"}, states
        members = h.by_member()
        for events in members.values():
            assert len([e for e in events if e.type in TERMINAL]) == 1
        assert not h.ctl.sessions and not h.ctl.members and not h.ctl.acd.world.queues["support"].members


def test_an_esl_failure_in_the_queue_leaves_no_ghost_member_and_the_kill_is_retried(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    q = queue("support", moh="ivr/hold-music.wav", offer_timeout_s=6000)
    a = agent(1)
    with Harness(tmp_path, [q], [(a, AgentSpec(a.id, answer_after=3000, talk_time=10))],
                 [Tier(a.id, "support")]) as h:
        real_playback = CallChannel.playback

        def playback(self: CallChannel, path: str, timeout: float | None = None) -> Event:
            if path == "ivr/hold-music.wav" and h.ctl.dispatcher.offers:
                raise ESLTimeout("no reply to the sendmsg")   # while agent 1001 rings for this caller
            return real_playback(self, path, timeout)

        monkeypatch.setattr(CallChannel, "playback", playback)
        node = h.ctl.nodes.nodes[0]
        real_api = node.api
        cancels: list[str] = []

        def api(cmd: str, timeout: float | None = None) -> str:
            if cmd.startswith("uuid_kill") and cmd.endswith("ORIGINATOR_CANCEL"):
                cancels.append(cmd)
                if len(cancels) <= 2:
                    raise ESLTimeout("no reply to uuid_kill")
            return str(real_api(cmd, timeout))

        monkeypatch.setattr(node, "api", api)
        [res] = h.wait([h.call("7000")], timeout=20)
        h.settle(0.5)
        assert not res.bridged_to
        assert not h.ctl.acd.world.queues["support"].members, "no ghost member"
        assert h.ctl.acd.world.agents[a.id].state.value in ("idle", "wrap_up")
        assert len(cancels) == 3, cancels   # two timeouts, then the switch confirmed
        assert not [ch for ch in h.sims[0].channels.values() if ch.direction == "outbound"], "agent leg killed"
        types = [e.type for e in h.queue_events()]
        assert types[0] is QueueEventType.ENTER and types[-1] is QueueEventType.ABANDON, types
