"""The dialer's state tables, checked exhaustively: every listed pair moves, every other pair raises."""

from __future__ import annotations

import itertools

import pytest

from cc.dialer import agent_state, attempt_state, campaign_state, lead_state
from cc.dialer.agent_state import DialerAgentEvent, DialerAgentState
from cc.dialer.attempt_state import AttemptEvent, AttemptState
from cc.dialer.campaign_state import CampaignEvent
from cc.dialer.lead_state import LeadEvent
from cc.dialer.model import CampaignStatus, LeadState
from cc.errors import InvalidTransition

MACHINES = [
    (campaign_state, CampaignStatus, CampaignEvent),
    (lead_state, LeadState, LeadEvent),
    (attempt_state, AttemptState, AttemptEvent),
    (agent_state, DialerAgentState, DialerAgentEvent),
]


@pytest.mark.parametrize(("module", "states", "events"), MACHINES)
def test_every_pair_is_a_row_or_raises(module, states, events) -> None:  # type: ignore[no-untyped-def]
    rows = 0
    for s, e in itertools.product(states, events):
        if (s, e) in module.TABLE:
            assert module.transition(s, e, "x") is module.TABLE[(s, e)]
            rows += 1
        else:
            with pytest.raises(InvalidTransition) as info:
                module.transition(s, e, "x")
            assert info.value.state is s and info.value.event is e
    assert rows == len(module.TABLE)


@pytest.mark.parametrize(("module", "states", "events"), MACHINES)
def test_every_state_is_reachable(module, states, events) -> None:  # type: ignore[no-untyped-def]
    start = {CampaignStatus: CampaignStatus.DRAFT, LeadState: LeadState.NEW, AttemptState: AttemptState.DIALING,
             DialerAgentState: DialerAgentState.IDLE}[states]
    seen = {start}
    frontier = [start]
    while frontier:
        s = frontier.pop()
        for (a, _), b in module.TABLE.items():
            if a is s and b not in seen:
                seen.add(b)
                frontier.append(b)
    assert seen == set(states)


def test_a_settled_attempt_has_no_way_out() -> None:
    assert not [k for k in attempt_state.TABLE if k[0] is AttemptState.SETTLED]
    for e in AttemptEvent:
        assert not attempt_state.legal(AttemptState.SETTLED, e)


def test_final_lead_states_only_take_a_callback() -> None:
    for s in (LeadState.DONE, LeadState.EXHAUSTED):
        assert {e for (a, e) in lead_state.TABLE if a is s} == {LeadEvent.CALLBACK}
    assert not [k for k in lead_state.TABLE if k[0] is LeadState.DNC]


def test_the_error_names_the_machine() -> None:
    with pytest.raises(InvalidTransition, match="lead L1"):
        lead_state.transition(LeadState.DNC, LeadEvent.DIAL, "L1")
    with pytest.raises(InvalidTransition, match="campaign c"):
        campaign_state.transition(CampaignStatus.DRAFT, CampaignEvent.PAUSE, "c")
