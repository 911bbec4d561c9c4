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
        assert wait_until(lambda: _wrapped_up(h, "1001"), timeout=30)
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


def test_the_apis_click_to_dial_of_a_customer_needs_view_customers_and_places_a_manual_call(tmp_path: Path) -> None:
    """POST /api/v1/agents/{id}/outbound/dial with customer_id + phone: an agent without view_customers gets 403;
    one who holds it places the call (his leg first) through the same runtime path as the web page; a bad
    position is 404, neither lead nor customer is 400."""
    import json

    from cc.api.app import ApiApp
    from cc.store.org import RoleRepo
    from cc.store.tokens import TokenRepo
    from cc.store.users import UserRepo

    h = Harness(tmp_path, [QueueConfig("in")], agents(1), [], scale=0.01,
                callback_dial="sofia/gateway/carrier/{number}")
    with h:
        parties(h, {NUMBER: PartySpec(outcome="answer", ring=3.0, talk=30.0, patience=20.0)})
        customer = CustomerRepo(h.db).create(Customer("", name="Wang", phones=(PhoneNumber(NUMBER),)))
        users, tokens = UserRepo(h.db), TokenRepo(h.db)
        users.add("li", agent_id="1001")
        users.grant("li", "agent")
        secret = tokens.create("tok-li", user="li")[1]
        RoleRepo(h.db).add("crm", ["view_customers"])
        app = ApiApp(h.service)
        app.watch.check()

        def post(secret: str, body: dict[str, object]) -> tuple[str, dict[str, object]]:
            raw = json.dumps(body).encode()
            env = {"REQUEST_METHOD": "POST", "PATH_INFO": "/api/v1/agents/1001/outbound/dial", "QUERY_STRING": "",
                   "HTTP_AUTHORIZATION": f"Bearer {secret}", "CONTENT_TYPE": "application/json",
                   "CONTENT_LENGTH": str(len(raw)), "wsgi.input": __import__("io").BytesIO(raw)}
            got: list[str] = []
            out = b"".join(app(env, lambda status, headers: got.append(status)))
            return got[0], json.loads(out or b"{}")

        assert wait_until(lambda: h.ctl.acd.world.agents["1001"].state is AgentState.IDLE)
        assert post(secret, {})[0].startswith("400")
        assert post(secret, {"customer_id": customer.id, "phone": 0})[0].startswith("403")   # a plain agent
        users.grant("li", "crm", "*")
        app.watch.check()
        assert post(secret, {"customer_id": customer.id, "phone": 5})[0].startswith("404")
        status, answer = post(secret, {"customer_id": customer.id, "phone": 0})
        assert status.startswith("200"), (status, answer)
        uuid = str(answer["uuid"])
        assert wait_until(lambda: _wrapped_up(h, "1001"), timeout=30)
        assert wait_until(lambda: any(c.uuid == uuid for c in h.calls()), timeout=10)
        app.close()


def _wrapped_up(h: Harness, agent: str) -> bool:
    """The agent's log has a wrap-up (it lasts 5 simulated s, 50 ms at scale 0.01: too short to catch by polling
    the ACD under load)."""
    return any(e.agent_id == agent and e.state is AgentState.WRAP_UP for e in h.agent_states())
