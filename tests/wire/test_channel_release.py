"""A finished call's channel lets go of its events, handlers and session at once (cc.sim, TCP): a channel and
its session refer to each other, so without the release every event of every finished call stays in memory
until the cyclic collector runs (the soak's RSS growth, issue 15)."""

from __future__ import annotations

import gc
from pathlib import Path

import gevent
import pytest

from cc.acd.state import MemberRt, OfferRt
from cc.esl.connection import Link
from cc.esl.outbound import HANGUP_GRACE_S, CallChannel
from cc.model import Tier
from cc.runtime.call import CallSession
from cc.runtime.call_transfer import CallTransfer
from cc.runtime.recorder import CallRecorder
from cc.sim.channel import Channel as SimChannel
from cc.sim.endpoints import AgentSpec
from tests.wire.harness import Harness
from tests.wire.test_controller import agent, queue

pytestmark = pytest.mark.timeout(60)


def test_finished_calls_are_freed_without_the_cyclic_collector(tmp_path: Path) -> None:
    """Every object of a finished call goes when its last reference does: before, the session and its recorder and
    transfers (and the ACD's offer and its timer) referred to each other, so each finished call with its channel,
    link, greenlets and sockets waited for a full collection, which CPython runs rarely (the soak's sawtooth)."""
    agents = [agent(i) for i in range(1, 4)]
    gc.collect()
    gc.disable()   # what reference counting alone frees: the cyclic collector would hide the retention
    try:
        with Harness(tmp_path, [queue("support")],
                     [(a, AgentSpec(a.id, answer_after=0.2, talk_time=0.5)) for a in agents],
                     [Tier(a.id, "support") for a in agents]) as h:
            for batch in range(3):
                h.wait([h.call("7000", caller_id_number=f"1555000{batch}{i:03d}") for i in range(3)])
            h.settle(1.0)
            assert not h.ctl.sessions
            assert [c.disposition for c in h.calls()] == ["answered"] * 9
            gevent.sleep(HANGUP_GRACE_S + 0.2)   # a channel that hung up itself is kept that long (real seconds)
            # reference counting alone freed them: no cycle keeps a finished call (its session, recorder,
            # transfers, channel, link, greenlets, the ACD's offer and its timer) for the cyclic collector
            left = [type(o).__name__ for o in gc.get_objects()
                    if isinstance(o, (CallChannel, CallSession, CallRecorder, CallTransfer, Link, OfferRt, MemberRt,
                                      SimChannel))]
            assert left == []
    finally:
        gc.enable()
        gc.collect()


def test_the_controllers_live_channels_queue_no_events(tmp_path: Path) -> None:
    """The controller reads a channel's events through handlers: nothing piles up in ``events`` for a live call
    (500 calls in progress kept ~18 MB of them before)."""
    agents = [agent(i) for i in range(1, 3)]
    with Harness(tmp_path, [queue("support")],
                 [(a, AgentSpec(a.id, answer_after=0.2, talk_time=120.0)) for a in agents],
                 [Tier(a.id, "support") for a in agents]) as h:
        handles = [h.call("7000", caller_id_number=f"15550001{i:03d}") for i in range(2)]
        server = h.service.server
        for _ in range(300):   # both calls bridged: each channel has had its share of events
            live = list(server.calls.values())
            sim = h.sims[0]
            if len(live) == 2 and all(sim.channels.get(ch.uuid) is not None and sim.channels[ch.uuid].bridged_to
                                      and ch.last_event is not None for ch in live):
                break
            h.settle(0.05)
        else:
            pytest.fail(f"the calls were not bridged: {[(ch.uuid, ch.last_event) for ch in live]} "
                        f"{[(u, c.bridged_to) for u, c in h.sims[0].channels.items()]}")
        assert all(not ch.keep_events and ch.events.qsize() == 0 for ch in live)
        h.wait(handles)
