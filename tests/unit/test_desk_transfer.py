"""The workbench desk and an agent's transfer: the first agent's part ends, the one who takes it sees the note."""

from __future__ import annotations

from cc.model import AgentStatus, Interaction
from cc.runtime.hooks import HookEvent, Hooks
from cc.web.desk import ACW_REASON, Desk
from tests.unit.test_web_units import _Ctl


def test_a_transfer_ends_the_first_agents_card_and_pops_the_note_for_the_next() -> None:
    hooks, ctl = Hooks(), _Ctl()
    written: list[Interaction] = []
    desk = Desk(hooks, lambda: ctl, result_required=["support"], write=written.append, offload=lambda fn, what: fn())
    desk.spawn = lambda fn, *a: fn(*a)
    hooks.emit(HookEvent("offered", 11.0, call_uuid="u1", agent_id="1001", queue="support"))
    hooks.emit(HookEvent("bridged", 12.0, call_uuid="u1", agent_id="1001", queue="support"))
    hooks.emit(HookEvent("call_transferred", 30.0, call_uuid="u1", agent_id="1001", queue="support",
                         data={"kind": "agent", "target": "1002", "note": "refund"}))
    first = desk.card("1001")
    assert first is not None and first.ended_at == 30.0
    assert desk.owes_result("1001") is first and ctl.statuses == [("1001", AgentStatus.ON_BREAK, ACW_REASON)]
    hooks.emit(HookEvent("offered", 31.0, call_uuid="u1", agent_id="1002", queue="support",
                         data={"offer_id": "xfer-1", "transfer": "blind", "from_agent": "1001", "note": "refund"}))
    second = desk.card("1002")
    assert second is not None and (second.transfer_from, second.transfer_note) == ("1001", "refund")
    hooks.emit(HookEvent("bridged", 33.0, call_uuid="u1", agent_id="1002", queue="support"))
    hooks.emit(HookEvent("call_ended", 90.0, call_uuid="u1", agent_id="1002", queue="support"))
    assert first.ended_at == 30.0 and second.ended_at == 90.0
    # one interaction per agent who took the call: the second does not overwrite the first
    assert sorted({w.id for w in written}) == ["call-u1", "call-u1-1002"]
