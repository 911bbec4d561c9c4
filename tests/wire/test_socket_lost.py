"""An outbound socket that drops while the controller runs (no CHANNEL_HANGUP, no disconnect notice): the call
ends as ``socket-lost`` (never the caller's abandon), its channel is settled over the inbound link and its history
is complete (cc.sim over TCP, SQLite)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import gevent
import pytest

from cc.model import Agent, AgentState, QueueConfig, QueueEventType, Tier
from cc.sim.endpoints import AgentSpec
from tests.wire.harness import Harness
from tests.wire.test_journal_cap import metrics

pytestmark = pytest.mark.timeout(60)


def one_agent() -> tuple[list[QueueConfig], list[tuple[Agent, AgentSpec]], list[Tier]]:
    """A queue ``support`` with agent 1001 (who talks long)."""
    a = Agent("1001", name="Agent 1001", contact="user/1001@sim", wrap_up_s=1.0)
    return ([QueueConfig("support", moh="", announce_position=False)],
            [(a, AgentSpec(a.id, answer_after=1.0, talk_time=1000.0))], [Tier(a.id, "support")])


def socket_then_park(h: Harness) -> None:
    """The dialplan of freeswitch-conf/: cc's socket, then park when the socket app returns."""
    assert h.service is not None
    host, port = h.service.outbound_address
    h.sims[0].routes["7000"] = [("set", "cc_service_number=7000"), ("socket", f"{host}:{port} async full"),
                                ("park", "")]


def session(h: Harness, bridged: bool) -> Any:
    """The one session once it waits in the queue (or talks)."""
    deadline = gevent.get_hub().loop.now() + 10
    while gevent.get_hub().loop.now() < deadline:
        s = next(iter(h.ctl.sessions.values()), None)
        if s is not None and s.stay is not None and (s.stay.bridged_at is not None) == bridged:
            return s
        gevent.sleep(0.05)
    raise AssertionError("no session in that state")


def drop_socket(h: Harness, uuid: str) -> None:
    """The TCP connection of the call's socket ends (a network failure): no hang-up, no disconnect notice."""
    h.sims[0].channels[uuid].socket_conn.close()


def test_a_waiting_caller_whose_socket_drops_ends_as_socket_lost_not_abandoned(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with Harness(tmp_path, *one_agent(), login=False) as h:
        socket_then_park(h)
        caplog.set_level(logging.WARNING, logger="cc.esl.outbound")
        handle = h.call("7000")
        s = session(h, bridged=False)
        uuid = s.uuid
        drop_socket(h, uuid)
        [res] = h.wait([handle], timeout=15)
        h.settle()
        assert res.hangup_cause == "NORMAL_TEMPORARY_FAILURE"   # cc settled the parked channel
        [call] = h.calls()
        assert call.disposition == "socket-lost" and call.hangup_cause == "NORMAL_TEMPORARY_FAILURE"
        assert call.ended_at is not None
        events = h.queue_events()
        assert [e.type for e in events] == [QueueEventType.ENTER, QueueEventType.EXIT_OTHER]
        assert events[-1].detail == "socket-lost"
        assert [r.getMessage() for r in caplog.records if "socket lost" in r.getMessage()] == [
            f"call {uuid}: outbound socket lost (closed with the channel still up: no hang-up event, no "
            "disconnect notice)"]
        m = metrics(h)
        assert m["cc_sockets_lost_total"] == 1.0 and m['cc_settle_actions_total{kind="killed"}'] == 1.0
        assert not h.ctl.sessions and h.ctl.acd.member_queue(uuid) is None


def test_a_talking_callers_socket_drop_completes_the_talk_as_socket_lost_and_frees_the_agent(
        tmp_path: Path) -> None:
    with Harness(tmp_path, *one_agent()) as h:
        socket_then_park(h)
        handle = h.call("7000")
        s = session(h, bridged=True)
        drop_socket(h, s.uuid)
        [res] = h.wait([handle], timeout=15)
        h.settle()
        assert res.bridged_to
        [call] = h.calls()
        assert call.disposition == "answered" and call.hangup_cause == "NORMAL_TEMPORARY_FAILURE"
        events = h.queue_events()
        assert events[-1].type is QueueEventType.COMPLETE_CALLER and events[-1].detail == "socket-lost"
        assert not [e for e in events if e.type is QueueEventType.ABANDON]
        assert h.ctl.acd.world.agents["1001"].state in (AgentState.WRAP_UP, AgentState.IDLE)
        assert not [c for c in h.sims[0].channels.values() if not c.gone.is_set()], "no channel left"
