"""No call left in limbo, over real ESL against cc.sim: give-ups, refusals, orphans, lost legs, the bridge race."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gevent
import pytest

from cc.errors import ESLTimeout
from cc.esl.outbound import CallChannel
from cc.model import Agent, QueueConfig, QueueEventType, Tier
from cc.runtime.call import CallSession
from cc.sim.endpoints import AgentSpec
from tests.wire.harness import Harness

pytestmark = pytest.mark.timeout(60)


def one_agent(talk: float = 30.0, answer: float = 1.0) -> tuple[list[QueueConfig], list[tuple[Agent, AgentSpec]],
                                                                  list[Tier]]:
    """A queue ``support`` with agent 1001."""
    a = Agent("1001", name="Agent 1001", contact="user/1001@sim", wrap_up_s=1.0)
    return ([QueueConfig("support", moh="", announce_position=False)],
            [(a, AgentSpec(a.id, answer_after=answer, talk_time=talk))], [Tier(a.id, "support")])


def only_call(h: Harness) -> Any:
    """The one calls row."""
    [call] = h.calls()
    return call


def test_a_session_given_up_at_set_up_is_hung_up_over_the_inbound_link_and_recorded(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def slow_setup(self: CallChannel) -> None:
        raise ESLTimeout(f"call {self.uuid}: no reply to 'myevents'")

    with Harness(tmp_path, *one_agent()) as h:
        monkeypatch.setattr(CallChannel, "setup", slow_setup)
        [res] = h.wait([h.call("7000")])
        h.settle()
        assert res.hangup_cause == "NORMAL_TEMPORARY_FAILURE" and not res.answered
        call = only_call(h)
        assert call.disposition == "gave-up:esl-timeout" and call.hangup_cause == "NORMAL_TEMPORARY_FAILURE"
        assert h.service is not None and h.service.server is not None and h.service.server.gave_up == 1
        assert not h.sims[0].channels or all(c.gone.is_set() for c in h.sims[0].channels.values())


def test_a_controller_failure_in_the_call_hangs_it_up_over_the_inbound_link(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: CallSession) -> None:
        raise RuntimeError("a bug")

    with Harness(tmp_path, *one_agent()) as h:
        monkeypatch.setattr(CallSession, "_answer", broken)
        [res] = h.wait([h.call("7000")])
        h.settle()
        assert res.hangup_cause == "NORMAL_TEMPORARY_FAILURE"
        assert only_call(h).disposition == "error"
        assert h.ctl.settler.ended == 1 and not h.ctl.sessions


def test_the_door_refuses_new_calls_while_cc_is_behind(tmp_path: Path) -> None:
    with Harness(tmp_path, *one_agent()) as h:
        h.ctl.admission.decide(0.0, 99.0, 0, 0)           # a stall was just seen
        h.ctl.admission._over_until = float("inf")         # ... and cc stays behind
        [res] = h.wait([h.call("7000")])
        h.settle()
        assert res.hangup_cause == "NORMAL_TEMPORARY_FAILURE" and not res.answered
        call = only_call(h)
        assert call.disposition == "refused:lag" and call.hangup_cause == "NORMAL_TEMPORARY_FAILURE"
        assert h.queue_events() == []


def test_a_channel_in_the_socket_app_that_no_session_owns_is_found_and_hung_up(tmp_path: Path) -> None:
    with Harness(tmp_path, *one_agent()) as h:
        rec = h.ctl.reconciler
        for book in rec.books.values():
            book.grace_s = 0.3
        stuck = gevent.event.Event()

        def forgetful(ch: CallChannel) -> bool:
            stuck.wait()      # cc accepted the connection and then lost track of it
            return False

        h.ctl.open_channels = set          # ... as if its socket had been dropped
        assert h.service is not None and h.service.server is not None
        h.service.server.screen = forgetful
        handle = h.call("7000")
        gevent.sleep(0.2)
        rec.kick()
        res = handle.wait(10)
        stuck.set()
        assert res.hangup_cause == "NORMAL_TEMPORARY_FAILURE"
        assert rec.orphans == 1


def test_a_bridged_agent_leg_the_switch_lost_ends_the_talk(tmp_path: Path) -> None:
    with Harness(tmp_path, *one_agent(talk=1000.0)) as h:
        rec = h.ctl.reconciler
        handle = h.call("7000")
        deadline = gevent.get_hub().loop.now() + 10
        while gevent.get_hub().loop.now() < deadline:
            s = next(iter(h.ctl.sessions.values()), None)
            if s is not None and s.stay is not None and s.stay.bridged_at is not None:
                break
            gevent.sleep(0.05)
        leg = s.stay.ringing.leg_uuid
        h.ctl.nodes.nodes[0].unwatch(leg)       # its hang-up event is lost, and the caller's unbridge too
        original_put = s._put
        s._put = lambda msg: None if (isinstance(msg, tuple) and msg[0] == "unbridged" and msg[1] is not None) \
            else original_put(msg)
        h.sims[0].channels[leg].hangup("NORMAL_CLEARING")
        rec.kick()                              # a pass sees it missing; the next one, 1 s later, settles it
        [res] = h.wait([handle])
        h.settle()
        assert rec.gone_legs == 1
        types = [e.type for e in h.queue_events()]
        assert types[-1] is QueueEventType.COMPLETE_AGENT, types
        assert only_call(h).disposition == "answered"
        assert res.bridged_to


def test_a_caller_hanging_up_while_bridged_gets_a_disposition(tmp_path: Path) -> None:
    with Harness(tmp_path, *one_agent(talk=1000.0)) as h:
        [res] = h.wait([h.call("7000", talk_time=5.0)])
        h.settle()
        assert res.bridged_to
        types = [e.type for e in h.queue_events()]
        assert types[-1] is QueueEventType.COMPLETE_CALLER
        assert only_call(h).disposition == "answered"


def test_uuid_bridge_after_the_caller_left_is_an_abandon_and_frees_the_agent(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Harness(tmp_path, *one_agent()) as h:
        d = h.ctl.dispatcher
        real_bridge = d.bridge

        def late_bridge(r: Any, caller_uuid: str) -> bool:
            h.ctl.nodes.nodes[0].api(f"uuid_kill {caller_uuid} NORMAL_CLEARING")   # the caller goes right now
            return bool(real_bridge(r, caller_uuid))

        monkeypatch.setattr(d, "bridge", late_bridge)
        left: list[Any] = []
        h.service.hooks.on("left_queue", left.append)
        call = h.call("7000")
        h.wait([call])
        h.settle()
        types = [e.type for e in h.queue_events()]
        assert types == [QueueEventType.ENTER, QueueEventType.OFFER, QueueEventType.ABANDON], types
        assert h.ctl.bridge_races == 1
        # the pages and the event stream see the caller leave the queue (the demo's dashboard lost such callers)
        assert [(e.call_uuid, e.queue, e.data["reason"]) for e in left] == [(call.uuid, "support", "CALLER_ABANDON")]
        assert only_call(h).disposition == "abandoned"
        [view] = h.ctl.acd.agents()
        assert str(view.state) in ("idle", "wrap_up")


def test_a_reconnected_inbound_link_is_followed_by_a_reconciliation_pass(tmp_path: Path) -> None:
    with Harness(tmp_path, *one_agent()) as h:
        rec = h.ctl.reconciler
        node = h.ctl.nodes.nodes[0]
        gevent.sleep(0.2)
        before = rec.passes
        link = node.switch._link
        link.close()                      # the link drops; the Switch reconnects on its own
        deadline = gevent.get_hub().loop.now() + 10
        while rec.passes == before and gevent.get_hub().loop.now() < deadline:
            gevent.sleep(0.05)
        assert node.switch.reconnects == 1 and rec.passes > before


def test_a_stall_of_the_process_does_not_fire_a_command_timeout(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from cc.esl.connection import Link

    real_send = Link.send
    stalled: list[bytes] = []

    def send_then_stall(self: Link, raw: bytes, on_reply: Any = None) -> Any:
        ar = real_send(self, raw, on_reply)
        if not stalled and b"execute-app-name: answer" in raw:
            stalled.append(raw)
            # as soon as the call waits for the reply, the whole process (the simulator too) stalls
            gevent.spawn(time.sleep, 1.5)
        return ar

    with Harness(tmp_path, *one_agent()) as h:
        assert h.service is not None and h.service.server is not None
        h.service.server.command_timeout = 1.0        # shorter than the stall
        monkeypatch.setattr(Link, "send", send_then_stall)
        [res] = h.wait([h.call("7000", talk_time=5.0)])
        h.settle()
        assert stalled and res.answered and res.bridged_to
        assert only_call(h).disposition == "answered"
