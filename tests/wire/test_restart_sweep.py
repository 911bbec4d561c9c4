"""The recovery's sweep after each reconciliation pass: cc's parked channels that nobody in this process holds.

A caller parked with the ``cc_*`` variables of a previous controller (its node was down when this one
started) is taken over: it waits in its queue again and is bridged when an agent logs in. A call of cc's
that was in its flow before any queue runs it again (a later visit of the call, its first row ended), unless
it did twice already or it was in a queue before (then it is hung up); a call this process ran
whose socket ended without a
hangup (the dialplan parks it) is hung up; a parked channel that is not cc's is left alone; a caller its
queue has no room for any more is told so (EXIT_FULL) and hung up.
"""

from __future__ import annotations

import time
from pathlib import Path

import gevent
import pytest

from cc.model import Agent, QueueConfig, QueueEventType, Tier
from cc.runtime.reconcile import parse_channels
from cc.runtime.recover import Recovery
from cc.sim.endpoints import AgentSpec
from cc.store.repos import CallRepo
from tests.wire.harness import Harness

pytestmark = pytest.mark.timeout(60)


def _until(cond: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        gevent.sleep(0.02)


def test_the_sweep_takes_over_settles_and_leaves_alone(tmp_path: Path) -> None:
    a = Agent("1000", contact="user/1000@sim", wrap_up_s=1.0)
    q = QueueConfig("support", moh="", announce_position=False)
    full = QueueConfig("full", moh="", announce_position=False, max_len=0)
    with Harness(tmp_path, [q, full], [(a, AgentSpec("1000", answer_after=1.0, talk_time=5.0))],
                 [Tier("1000", "support")], login=False) as h:
        ctl, sim = h.ctl, h.sims[0]
        node = ctl.nodes.nodes[0]
        sweep = ctl.reconciler.after_pass
        assert isinstance(sweep.__self__, Recovery)   # the service wires the sweep to every pass
        host, port = h.service.outbound_address
        sim.routes.update({**{f"600{i}": "park" for i in range(7)},
                           "7000": [("set", "cc_service_number=7000"), ("socket", f"{host}:{port} async full"),
                                    ("park", "")]})
        foreign = h.call("6000", caller_id_number="15550000000")
        waiting = h.call("6001", caller_id_number="15550000001")
        in_flow = h.call("6002", caller_id_number="15550000002")
        no_room = h.call("6003", caller_id_number="15550000004")
        no_queue = h.call("6004", caller_id_number="15550000005")   # its queue is not configured any more
        looping = h.call("6005", caller_id_number="15550000006")    # its flow ran again twice already
        after_queue = h.call("6006", caller_id_number="15550000007")   # in its flow after its queue's exit
        ours = h.call("7000", caller_id_number="15550000003")
        _until(lambda: all(c.channel.parked_by == "park" for c in (foreign, waiting, in_flow, no_room, no_queue,
                                                                    looping, after_queue)))
        _until(lambda: ctl.acd.member_queue(ours.uuid) == "support")
        now = ctl.clock.now()
        node.api(f"uuid_setvar_multi {waiting.uuid} cc_service_number=7000;cc_state=queued;cc_queue=support;"
                 f"cc_joined={now - 30};cc_priority=0;cc_started={now - 40};cc_answered={now - 39};cc_flow=support")
        node.api(f"uuid_setvar {in_flow.uuid} cc_service_number 7000")
        node.api(f"uuid_setvar_multi {looping.uuid} cc_service_number=7000;cc_restarts=2")
        node.api(f"uuid_setvar_multi {after_queue.uuid} cc_service_number=7000;cc_state=flow;cc_queue=support")
        node.api(f"uuid_setvar_multi {no_room.uuid} cc_state=queued;cc_queue=full;cc_joined={now - 5}")
        node.api(f"uuid_setvar_multi {no_queue.uuid} cc_state=queued;cc_queue=gone;cc_joined={now - 5};"
                 f"cc_enter=e-gone")
        # the socket ends without a hangup: the dialplan parks the call. The session settles it at once (socket-lost);
        # here that settling is lost on its way (as with a link down), so the call waits parked for the sweep
        settle = ctl.settler.end
        ctl.settler.end = lambda node_, uuid, *a, **kw: None if uuid == ours.uuid else settle(node_, uuid, *a, **kw)
        ours.channel.socket_conn.close()
        _until(lambda: ours.uuid not in ctl.sessions and ours.channel.parked_by == "park")
        ctl.settler.end = settle

        recovery = Recovery(ctl, grace_s=0.0)
        for _ in range(2):   # a channel is judged on the second pass that sees it
            recovery.sweep(node, parse_channels(node.api("show channels as json")))
        assert (recovery.waiting, recovery.settled, recovery.restarted) == (2, 4, 1), vars(recovery)
        assert ours.wait(5).hangup_cause and no_room.wait(5).hangup_cause and looping.wait(5).hangup_cause
        assert after_queue.wait(5).hangup_cause
        assert in_flow.channel.variables.get("cc_restarts") == "1"
        assert ctl.acd.member_queue(waiting.uuid) == "support"
        _until(lambda: ctl.acd.member_queue(in_flow.uuid) == "support")   # through 7000's socket and its flow
        recovery.sweep(node, parse_channels(node.api("show channels as json")))
        assert recovery.settled == 4 and foreign.uuid in recovery.foreign[node.name]

        ctl.login("1000")
        result = waiting.wait(30)
        assert result.bridged_to is not None or result.hangup_cause
        assert in_flow.wait(30).bridged_to is not None
        gevent.sleep(h.scale * 3)
        assert not foreign.done
        foreign.hangup()
        h.settle()
        events = h.by_member()
        assert [e.type for e in events[waiting.uuid]][-2:] == [QueueEventType.CONNECT, QueueEventType.COMPLETE_AGENT]
        calls = {c.uuid: c for c in h.calls()}
        assert calls[waiting.uuid].disposition == "answered" and calls[waiting.uuid].ended_at is not None
        # its first visit ended at the sweep (the channel went on: no cause), the second reached the agent
        assert (calls[in_flow.uuid].disposition, calls[in_flow.uuid].hangup_cause) == ("flow-restarted", None)
        [again] = CallRepo(h.db).segments(in_flow.uuid)
        assert (again.segment, again.disposition) == (2, "answered") and again.hangup_cause
        again_types = [e.type for e in events[in_flow.uuid]]
        assert again_types[0] is QueueEventType.ENTER and again_types.count(QueueEventType.ENTER) == 1
        assert again_types[-1] in (QueueEventType.COMPLETE_AGENT, QueueEventType.COMPLETE_CALLER), again_types
        assert calls[waiting.uuid].hangup_cause == "NORMAL_CLEARING"
        assert calls[no_room.uuid].disposition == "queue-full"
        assert [e.type for e in events[no_room.uuid]] == [QueueEventType.EXIT_FULL]
        # cc could not take this one over: its stay ends as an other exit, never as the caller's abandon
        # its channel names its ENTER (e-gone), which no process stored here (as when a kill -9 lost it): the sweep
        # writes it under that id, and the stay ends
        assert [(e.id, e.type, e.detail) for e in events[no_queue.uuid]] == [
            ("e-gone", QueueEventType.ENTER, "priority=0"), (events[no_queue.uuid][1].id, QueueEventType.EXIT_OTHER,
                                                              "recovered")]
        assert calls[no_queue.uuid].disposition == "recovered"
        assert ours.uuid in calls
        for hung_up in (looping, after_queue):
            assert calls[hung_up.uuid].disposition == "recovered" and CallRepo(h.db).segments(hung_up.uuid) == []
        assert ctl.acd.world.agents["1000"].call is None
