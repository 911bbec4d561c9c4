"""Faults in the middle of calls over real ESL against cc.sim: races with the ACD, ESL errors, link loss."""

from __future__ import annotations

import gc
import logging
import random
from pathlib import Path
from typing import Any

import gevent
import gevent.socket
import greenlet
import pytest

from cc.errors import ESLTimeout
from cc.esl.outbound import CallChannel
from cc.esl.protocol import Event
from cc.model import AgentStatus, QueueEventType, Tier
from cc.sim.endpoints import AgentSpec
from cc.store.repos import CallRepo
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
    # the flow's announcement timer (every 10 s) reads the caller's place from the Acd when it fires: at this
    # scale a Connect often overtakes it. The queue's prompt is played, so the caller's greenlet is often busy
    # when the agent answers (positions spoken every second, over 1,000 calls: tests/wire/test_announcements.py).
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
        left: list[Any] = []
        h.service.hooks.on("left_queue", left.append)
        [res] = h.wait([h.call("7000")], timeout=20)
        h.settle(0.5)
        assert not res.bridged_to
        assert not h.ctl.acd.world.queues["support"].members, "no ghost member"
        assert h.ctl.acd.world.agents[a.id].state.value in ("idle", "wrap_up")
        assert len(cancels) == 3, cancels   # two timeouts, then the switch confirmed
        assert not [ch for ch in h.sims[0].channels.values() if ch.direction == "outbound"], "agent leg killed"
        lines = h.queue_events()
        types = [e.type for e in lines]
        # cc failed the caller: an other exit with its cause, not an abandon (issue 16)
        assert types[0] is QueueEventType.ENTER and types[-1] is QueueEventType.EXIT_OTHER, types
        assert lines[-1].detail == "controller-error" and QueueEventType.ABANDON not in types
        assert [e.data["reason"] for e in left] == ["CONTROLLER_ERROR"]   # the pages see the stay end too


def _live_greenlets() -> int:
    """Greenlets alive now (the service freezes what it made at start: unfrozen to be seen)."""
    gc.unfreeze()
    return sum(1 for o in gc.get_objects() if isinstance(o, greenlet.greenlet) and not o.dead)


@pytest.mark.slow
def test_a_cut_inbound_link_puts_no_agent_on_break_and_routing_resumes(tmp_path: Path) -> None:
    agents = []
    for i in range(10):
        a = agent(i, wrap_up_s=2.0, max_no_answer=3)
        agents.append((a, AgentSpec(a.id, answer_after=1.0, talk_time=15.0)))
    tiers = [Tier(a.id, "support") for a, _ in agents]
    with Harness(tmp_path, [queue("support", offer_timeout_s=20)], agents, tiers, scale=0.05) as h:
        gevent.sleep(0.3)
        node = h.ctl.nodes.nodes[0]
        idle_greenlets = _live_greenlets()
        handles = [h.call("7000", caller_id_number=f"1555{n:07d}") for n in range(15)]
        gevent.sleep(0.5)                      # ten talking, five waiting
        h.sims[0].cut_inbound()
        cut_at = h.ctl.clock.now()
        for n in range(15, 30):                # callers keep coming in over the outbound sockets
            handles.append(h.call("7000", caller_id_number=f"1555{n:07d}"))
            gevent.sleep(0.05)
        gevent.sleep(max(0.0, h.scale * 30 - 0.75))   # 30 simulated seconds without the inbound link
        assert not node.up
        h.sims[0].cut_inbound(False)
        restored_at = h.ctl.clock.now()
        results = h.wait(handles, timeout=60)
        h.settle(0.5)
        assert restored_at - cut_at >= 30
        assert all(r.bridged_to for r in results), "every caller reached an agent after the restore"
        assert not [e for e in h.agent_states() if e.status is AgentStatus.ON_BREAK], "no agent on break"
        assert not [e for e in h.queue_events() if e.type is QueueEventType.RING_NO_ANSWER]
        assert h.ctl.dispatcher.withdrawn > 0, "offers were made while the link was down, and withdrawn"
        connects = [e.at for e in h.queue_events() if e.type is QueueEventType.CONNECT and e.at > restored_at]
        assert connects, "calls were bridged after the restore"
        assert set(_wait_idle(h).values()) == {"idle"}
        assert not node._watchers, "the watchers of legs that ended during the cut are released"
        assert not h.ctl.dispatcher.tasks and not h.ctl.dispatcher.offers
        deadline = gevent.get_hub().loop.now() + 10
        while _live_greenlets() > idle_greenlets and gevent.get_hub().loop.now() < deadline:
            gevent.sleep(0.1)
        assert _live_greenlets() <= idle_greenlets, "greenlets back to their idle count"


def _fake_switch_session(address: tuple[str, int], headers: dict[str, str], timeout: float = 10.0) -> list[str]:
    """Play FreeSWITCH's side of one outbound socket session: the connect reply, then +OK to each command until
    cc hangs up (or closes). Returns the commands cc sent."""
    sock = gevent.socket.create_connection(address)
    seen: list[str] = []
    buf = b""
    try:
        with gevent.Timeout(timeout):
            while True:
                while b"\n\n" not in buf:
                    data = sock.recv(65536)
                    if not data:
                        return seen
                    buf += data
                head, _, buf = buf.partition(b"\n\n")
                text = head.decode()
                length = next((int(x.split(":")[1]) for x in text.split("\n") if x.lower().startswith(
                    "content-length:")), 0)
                while len(buf) < length:
                    buf += sock.recv(65536)
                buf = buf[length:]
                seen.append(text)
                if text.startswith("connect"):
                    extra = "".join(f"{k}: {v}\n" for k, v in headers.items())
                    sock.sendall(f"Content-Type: command/reply\nReply-Text: +OK\n{extra}\n".encode())
                elif "hangup" in text or text.startswith("exit"):
                    return seen
                else:
                    sock.sendall(b"Content-Type: command/reply\nReply-Text: +OK\n\n")
    finally:
        sock.close()


def test_a_call_back_under_its_uuid_is_a_new_segment_and_no_uuid_is_refused(tmp_path: Path) -> None:
    a = agent(1)
    with Harness(tmp_path, [queue("support")], [(a, AgentSpec(a.id, answer_after=1, talk_time=5))],
                 [Tier(a.id, "support")]) as h:
        h.wait([h.call("7000", caller_id_number="15550001111")])
        h.settle()
        [first] = h.calls()
        assert first.disposition == "answered"
        address = h.service.outbound_address
        base = {"Event-Name": "CHANNEL_DATA", "Caller-Caller-ID-Number": "15550001111",
                "Caller-Destination-Number": "9999", "Channel-Name": "sofia/internal/15550001111"}
        # the same channel comes back (a dialplan transfer out of the socket and into it again)
        _fake_switch_session(address, {**base, "Unique-ID": first.uuid})
        # and a connect reply without any Unique-ID
        before = h.ctl.calls_total
        sent = _fake_switch_session(address, base)
        assert [s.split("\n")[0] for s in sent][:1] == ["connect"] and not any("sendmsg" in s for s in sent)
        h.settle()
        assert h.ctl.calls_total == before, "no call ran without a Unique-ID"
        rows = h.calls()
        assert rows == [first], "the first row is kept as it was; no row with an empty key"
        [seg] = CallRepo(h.db).segments(first.uuid)
        assert (seg.segment, seg.disposition, seg.callee) == (2, "no-route", "9999")
        assert seg.started_at >= first.ended_at
        legs = [leg for leg in h.legs() if leg.role == "caller"]
        assert sorted(leg.uuid for leg in legs) == sorted([first.uuid, f"{first.uuid}/2"])
