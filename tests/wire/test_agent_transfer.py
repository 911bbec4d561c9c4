"""An agent's blind and attended transfers of his call, end to end over real ESL against cc.sim."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import gevent
import pytest

from cc.errors import Conflict
from cc.model import AgentState, QueueEventType, Tier
from cc.reports.summary import causal_rank
from cc.runtime.agent_call import act, agent_call
from cc.sim.endpoints import AgentSpec
from tests.wire.harness import Harness
from tests.wire.test_controller import agent, check_queue_calls, queue

pytestmark = pytest.mark.timeout(90)
Q = QueueEventType


def _until(what: Callable[[], Any], timeout: float = 20.0) -> Any:
    """Wait (real seconds) until ``what()`` is truthy; its value."""
    deadline = gevent.get_hub().loop.now() + timeout
    while True:
        value = what()
        if value:
            return value
        assert gevent.get_hub().loop.now() < deadline, "timed out"
        gevent.sleep(0.02)


def _state(h: Harness, agent_id: str) -> AgentState:
    state: AgentState = h.ctl.acd.world.agents[agent_id].state
    return state


def _talking(h: Harness, agent_id: str) -> Any:
    return _until(lambda: agent_call(h.ctl, agent_id))


def _peer(handle: Any) -> str | None:
    """The channel the simulated caller is bridged to now."""
    peer = handle.channel.bridged_to
    return None if peer is None else str(peer.uuid)


def _types(h: Harness, uuid: str) -> list[tuple[QueueEventType, str | None, str, str]]:
    """The call's queue-log lines in time order (lines of one instant in causal order: TRANSFER before COMPLETE)."""
    lines = sorted(h.by_member()[uuid], key=lambda e: (e.at, causal_rank(e)))
    return [(e.type, e.agent_id, e.queue, e.detail) for e in lines]


def test_blind_transfer_to_an_agent_bridges_his_leg_and_puts_the_first_in_wrap_up(tmp_path: Path) -> None:
    q = queue("support", wrap_up_s=600)
    a, b = agent(1), agent(2)
    specs = [(a, AgentSpec(a.id, answer_after=1, talk_time=3000)), (b, AgentSpec(b.id, answer_after=2, talk_time=40))]
    with Harness(tmp_path, [q], specs, [Tier(a.id, "support")]) as h:
        call = h.call("7000", caller_id_number="15551230001")
        first = _talking(h, a.id)
        assert _peer(call) == first.leg
        act(h.ctl, a.id, "transfer", kind="agent", target=b.id, note="wants a refund, card ends 42")
        assert _state(h, a.id) is AgentState.WRAP_UP        # A's part is over at once
        second = _talking(h, b.id)
        assert second.uuid == call.uuid and second.leg != first.leg
        assert _peer(call) == second.leg                     # the switch bridged the caller to B's leg
        [res] = h.wait([call])
        h.settle()
        assert res.answered
        assert _types(h, call.uuid) == [
            (Q.ENTER, None, "support", "priority=0"), (Q.OFFER, a.id, "support", ""),
            (Q.CONNECT, a.id, "support", ""), (Q.TRANSFER, a.id, "support", f"agent {b.id}"),
            (Q.COMPLETE_AGENT, a.id, "support", "transfer"), (Q.ENTER, None, "support", "transfer"),
            (Q.OFFER, b.id, "support", "transfer"), (Q.CONNECT, b.id, "support", "transfer"),
            (Q.COMPLETE_AGENT, b.id, "support", "")]
        offered = [e for e in h.hook_events if e.kind == "offered" and e.agent_id == b.id]
        bridged = [e for e in h.hook_events if e.kind == "bridged" and e.agent_id == b.id]
        assert offered[0].data["note"] == bridged[0].data["note"] == "wants a refund, card ends 42"
        assert bridged[0].data["from_agent"] == a.id and offered[0].call_uuid == call.uuid
        assert [e.agent_id for e in h.hook_events if e.kind == "call_transferred"] == [a.id]
        legs = {(leg.role, leg.agent_id) for leg in h.legs()}
        assert legs == {("caller", None), ("agent", a.id), ("agent", b.id)}
        [c] = h.calls()
        assert c.disposition == "answered"
        h.stop()
        stays = sorted(check_queue_calls(h), key=lambda s: s.entered_at)
        assert [(s.outcome, s.agent_id, s.handled) for s in stays] == [("answered", a.id, 1), ("answered", b.id, 1)]
        assert stays[0].transfers == 1 and not any(s.outcome == "abandoned" for s in stays)


def test_blind_transfer_to_a_queue_is_a_new_stay_routed_there(tmp_path: Path) -> None:
    support, sales = queue("support"), queue("sales")
    a, b = agent(1), agent(2)
    specs = [(a, AgentSpec(a.id, answer_after=1, talk_time=3000)), (b, AgentSpec(b.id, answer_after=1, talk_time=30))]
    with Harness(tmp_path, [support, sales], specs, [Tier(a.id, "support"), Tier(b.id, "sales")]) as h:
        call = h.call("7000", caller_id_number="15551230002")
        _talking(h, a.id)
        act(h.ctl, a.id, "transfer", kind="queue", target="sales", note="billing")
        second = _talking(h, b.id)
        assert _peer(call) == second.leg
        h.wait([call])
        h.settle()
        assert _types(h, call.uuid) == [
            (Q.ENTER, None, "support", "priority=0"), (Q.OFFER, a.id, "support", ""),
            (Q.CONNECT, a.id, "support", ""), (Q.TRANSFER, a.id, "support", "queue sales"),
            (Q.COMPLETE_AGENT, a.id, "support", "transfer"), (Q.ENTER, None, "sales", "transfer"),
            (Q.OFFER, b.id, "sales", ""), (Q.CONNECT, b.id, "sales", ""), (Q.COMPLETE_AGENT, b.id, "sales", "")]
        h.stop()
        stays = sorted(check_queue_calls(h), key=lambda s: s.entered_at)
        assert [(s.queue, s.outcome) for s in stays] == [("support", "answered"), ("sales", "answered")]


def test_a_transfer_to_an_agent_who_is_not_ready_is_refused_and_the_talk_goes_on(tmp_path: Path) -> None:
    q = queue("support")
    a, b = agent(1), agent(2)
    specs = [(a, AgentSpec(a.id, answer_after=1, talk_time=300)), (b, AgentSpec(b.id, answer_after=1, talk_time=30))]
    with Harness(tmp_path, [q], specs, [Tier(a.id, "support")], login=False) as h:
        h.ctl.login(a.id)
        call = h.call("7000", caller_id_number="15551230003")
        first = _talking(h, a.id)
        with pytest.raises(Conflict):
            act(h.ctl, a.id, "transfer", kind="agent", target=b.id)   # B is logged out
        assert _peer(call) == first.leg and _state(h, a.id) is AgentState.IN_CALL
        h.wait([call])
        h.settle()
        assert [t for t, *_ in _types(h, call.uuid)] == [Q.ENTER, Q.OFFER, Q.CONNECT, Q.COMPLETE_AGENT]


def _consulting(h: Harness, uuid: str) -> Any:
    session = h.ctl.sessions[uuid]
    _until(lambda: session.transfers.phase == "talking")
    return session.transfers.consulting


def test_attended_transfer_complete_bridges_the_caller_to_the_consulted_agent(tmp_path: Path) -> None:
    q = queue("support", wrap_up_s=600)
    a, b = agent(1), agent(2)
    specs = [(a, AgentSpec(a.id, answer_after=1, talk_time=3000)),
             (b, AgentSpec(b.id, answer_after=2, talk_time=200))]
    with Harness(tmp_path, [q], specs, [Tier(a.id, "support")]) as h:
        call = h.call("7000", caller_id_number="15551230004")
        first = _talking(h, a.id)
        act(h.ctl, a.id, "consult", target=b.id, note="VIP")
        consult = _consulting(h, call.uuid)
        sim = h.sims[0]
        assert _peer(call) is None                                  # the caller waits, parked
        assert str(sim.channels[first.leg].bridged_to.uuid) == consult.leg_uuid   # A talks to B
        assert _state(h, b.id) is AgentState.IN_CALL and _state(h, a.id) is AgentState.IN_CALL
        act(h.ctl, a.id, "complete")
        assert _peer(call) == consult.leg_uuid
        assert _state(h, a.id) is AgentState.WRAP_UP
        _until(lambda: sim.channels.get(first.leg) is None or sim.channels[first.leg].hungup)   # A's leg is gone
        h.wait([call])
        h.settle()
        types = _types(h, call.uuid)

        assert types == [
            (Q.ENTER, None, "support", "priority=0"), (Q.OFFER, a.id, "support", ""),
            (Q.CONNECT, a.id, "support", ""), (Q.OFFER, b.id, "support", "consult"),
            (Q.TRANSFER, a.id, "support", f"agent {b.id}"), (Q.COMPLETE_AGENT, a.id, "support", "transfer"),
            (Q.ENTER, None, "support", "transfer"), (Q.CONNECT, b.id, "support", "transfer"),
            (Q.COMPLETE_AGENT, b.id, "support", "")]
        assert [e.data["note"] for e in h.hook_events if e.kind == "bridged" and e.agent_id == b.id] == ["VIP"]
        # A's page follows the consultation by the call_consult hook on A: rung, talking, ended by completing
        assert [(e.agent_id, e.data["phase"], e.data.get("outcome", "")) for e in h.hook_events
                if e.kind == "call_consult"] == [(a.id, "ringing", ""), (a.id, "talking", ""),
                                                 (a.id, "ended", "completed")]


def test_attended_transfer_cancel_returns_the_caller_to_the_first_agent(tmp_path: Path) -> None:
    q = queue("support")
    a, b = agent(1), agent(2)
    specs = [(a, AgentSpec(a.id, answer_after=1, talk_time=300)),
             (b, AgentSpec(b.id, answer_after=2, talk_time=3000))]
    with Harness(tmp_path, [q], specs, [Tier(a.id, "support")]) as h:
        call = h.call("7000", caller_id_number="15551230005")
        first = _talking(h, a.id)
        act(h.ctl, a.id, "consult", target=b.id)
        consult = _consulting(h, call.uuid)
        act(h.ctl, a.id, "cancel")
        assert _peer(call) == first.leg                             # back with A
        assert _state(h, b.id) is AgentState.IDLE and _state(h, a.id) is AgentState.IN_CALL
        sim = h.sims[0]
        _until(lambda: sim.channels.get(consult.leg_uuid) is None or sim.channels[consult.leg_uuid].hungup)
        h.wait([call])   # A hangs up after his talk time: the talk ends as his
        h.settle()
        assert [(t, ag) for t, ag, *_ in _types(h, call.uuid)] == [
            (Q.ENTER, None), (Q.OFFER, a.id), (Q.CONNECT, a.id), (Q.OFFER, b.id), (Q.COMPLETE_AGENT, a.id)]
        assert [(e.agent_id, e.data["phase"], e.data.get("outcome", "")) for e in h.hook_events
                if e.kind == "call_consult"][-1] == (a.id, "ended", "cancelled")


def test_blind_transfer_to_a_number_hands_the_caller_to_the_dialplan(tmp_path: Path) -> None:
    q = queue("support", wrap_up_s=600)
    a = agent(1)
    with Harness(tmp_path, [q], [(a, AgentSpec(a.id, answer_after=1, talk_time=3000))], [Tier(a.id, "support")]) as h:
        h.sims[0].routes["9196"] = "echo"
        call = h.call("7000", caller_id_number="15551230006", hangup_after=400)
        first = _talking(h, a.id)
        act(h.ctl, a.id, "transfer", kind="number", target="9196")
        assert _state(h, a.id) is AgentState.WRAP_UP
        _until(lambda: call.channel.profile.get("Destination-Number") == "9196")   # the dialplan runs it: echo
        sim = h.sims[0]
        _until(lambda: sim.channels.get(first.leg) is None or sim.channels[first.leg].hungup)
        _until(lambda: call.uuid not in h.ctl.sessions)   # cc's socket let it go
        assert not call.channel.hungup
        h.wait([call])
        h.settle()
        assert _types(h, call.uuid) == [
            (Q.ENTER, None, "support", "priority=0"), (Q.OFFER, a.id, "support", ""),
            (Q.CONNECT, a.id, "support", ""), (Q.TRANSFER, a.id, "support", "number 9196"),
            (Q.COMPLETE_AGENT, a.id, "support", "transfer")]
        [c] = h.calls()
        assert c.disposition == "transfer:number"
