"""AgentInCall: a restarted controller tells the engine which agents the switch shows on a call."""

from __future__ import annotations

import pytest

from cc.acd import AgentInCall, AgentStateChanged, CallEnded, MemberJoined, Tick
from cc.errors import InvalidTransition
from cc.model import AgentState

from .helpers import T0, Rig, of_type, offers, simple


def test_an_agent_in_a_taken_over_call_is_not_offered_until_its_call_ends() -> None:
    rig = Rig(*simple(2, wrap_up_s=5.0), login=True)
    rig.check = True
    out = rig.send(AgentInCall("a0", "caller-1", "q", T0 - 30))
    assert [(c.agent_id, c.state) for c in of_type(out, AgentStateChanged)] == [("a0", AgentState.IN_CALL)]
    out = rig.send(MemberJoined("m1", "q", joined_at=T0 - 60))
    assert [o.agent_id for o in offers(out)] == ["a1"]   # a0 is talking
    rig.clock.advance(10)
    out = rig.send(CallEnded("a0", by="agent"))
    assert [c.state for c in of_type(out, AgentStateChanged)] == [AgentState.WRAP_UP]
    assert rig.acd.world.agents["a0"].talk_time_s == pytest.approx(40.0)   # from the talk's real start
    rig.clock.advance(5)
    rig.send(Tick())
    assert rig.acd.world.agents["a0"].state is AgentState.IDLE


def test_an_agent_not_idle_cannot_be_taken_over_twice() -> None:
    rig = Rig(*simple(1), login=True)
    rig.send(AgentInCall("a0", "caller-1", "q", T0))
    with pytest.raises(InvalidTransition):
        rig.send(AgentInCall("a0", "caller-2", "q", T0))
    assert rig.acd.world.agents["a0"].call is not None and rig.acd.world.agents["a0"].call.member_uuid == "caller-1"
