"""Manual click-to-dial on cc.sim: a customer who is no campaign's lead is called from the agent's phone (his leg
first), bridged, written to history (an outbound calls row) and the CRM; the agent wraps up after the hang-up and
is refused a second dial while in the call."""

from __future__ import annotations

from pathlib import Path

import pytest

from cc.errors import Conflict
from cc.esl.inbound import Switch
from cc.model import AgentState, CallDirection, Customer, PhoneNumber, QueueConfig
from cc.sim.parties import PartySpec
from cc.store.repos import CustomerRepo, InteractionRepo
from tests.wire.harness import Harness
from tests.wire.outbound_fixtures import agents, parties, wait_until

NUMBER = "+8613800138000"


def test_manual_click_to_dial_rings_the_agent_first_and_wraps_up(tmp_path: Path) -> None:
    h = Harness(tmp_path, [QueueConfig("in")], agents(1), [], scale=0.01,
                callback_dial="sofia/gateway/carrier/{number}")
    with h:
        parties(h, {NUMBER: PartySpec(outcome="answer", ring=3.0, talk=30.0, patience=20.0)})
        customer = CustomerRepo(h.db).create(Customer("", name="Wang", phones=(PhoneNumber("+861088880000"),
                                                                             PhoneNumber(NUMBER))))
        camps = h.service.campaigns
        assert camps is not None
        ended: list = []
        h.service.hooks.on("call_ended", ended.append)
        watcher = Switch(*h.sims[0].inbound_address, "ClueCon")
        watcher.connect()
        watcher.subscribe(["CHANNEL_CREATE", "CHANNEL_BRIDGE"])
        assert wait_until(lambda: h.ctl.acd.world.agents["1001"].state is AgentState.IDLE)
        uuid = camps.manual_dial("1001", customer.id, NUMBER)
        # in the call (held from the ACD at once): a second dial is refused
        assert h.ctl.acd.world.agents["1001"].state is not AgentState.IDLE or "1001" in h.ctl.outbound_holds
        with pytest.raises(Conflict):
            camps.manual_dial("1001", customer.id, NUMBER)
        assert wait_until(lambda: h.ctl.acd.world.agents["1001"].state is AgentState.WRAP_UP, timeout=30)
        assert ended and ended[0].call_uuid == uuid and ended[0].agent_id == "1001"
        events = []
        while not watcher.events.empty():
            events.append(watcher.events.get())
        watcher.close()
        created = [e for e in events if e.name == "CHANNEL_CREATE" and e.variable("cc_lead") == customer.id]
        # the agent's leg came first, then the customer's
        assert [e.variable("cc_agent") for e in created] == ["1001", None]
        assert created[1].uuid == uuid
        agent_leg = created[0].uuid
        bridges = [e for e in events if e.name == "CHANNEL_BRIDGE"]
        assert any({e.uuid, e.header("Other-Leg-Unique-ID")} == {uuid, agent_leg} for e in bridges)
        assert not h.sims[0].channels   # every leg is down
        # history: one outbound calls row; the CRM: the call on the customer
        assert wait_until(lambda: any(c.uuid == uuid for c in h.calls()), timeout=10)
        row = next(c for c in h.calls() if c.uuid == uuid)
        assert row.direction is CallDirection.OUTBOUND and row.callee == NUMBER and row.answered_at is not None
        assert wait_until(lambda: camps.writes.flush(1) and bool(InteractionRepo(h.db).for_customer(customer.id)))
        inter = InteractionRepo(h.db).for_customer(customer.id)
        assert [(i.id, i.agent_id, i.call_uuid) for i in inter] == [(f"call-{uuid}", "1001", uuid)]
        # the wrap-up ends (the result form's WrapUpDone): the agent is his own again, and may dial
        h.ctl.wrap_up_done("1001")
        assert wait_until(lambda: h.ctl.acd.world.agents["1001"].state is AgentState.IDLE
                          and "1001" not in h.ctl.outbound_holds)
