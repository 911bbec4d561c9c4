"""An offer to an agent whose phone cannot take the call: each failure cause FreeSWITCH reports for an
originate (tests/data/esl-captures/2026-12/inbound_originate_failures.esl) re-routes the member to another
agent at once, and the agent's state follows the cause -- without waiting for a CHANNEL_HANGUP_COMPLETE
that a leg without a channel never sends."""

from __future__ import annotations

from pathlib import Path

import pytest

from cc.model import Agent, AgentStatus, QueueConfig, QueueEventType, Strategy, Tier
from cc.sim.endpoints import AgentSpec
from tests.wire.harness import Harness

pytestmark = pytest.mark.timeout(120)

B = QueueEventType
#: case -> (first agent's contact, its phone, the cause, the queue-log line, unreachable)
CASES = {
    "404": ("user/1001@sim", AgentSpec("1001", mode="not_found"), "UNALLOCATED_NUMBER", B.RING_NO_ANSWER, True),
    "480": ("user/1001@sim", AgentSpec("1001", mode="unavailable"), "NO_USER_RESPONSE", B.RING_NO_ANSWER, False),
    "503": ("user/1001@sim", AgentSpec("1001", mode="error"), "NORMAL_TEMPORARY_FAILURE", B.RING_NO_ANSWER, True),
    "486": ("user/1001@sim", AgentSpec("1001", mode="busy"), "USER_BUSY", B.AGENT_BUSY, False),
    "unregistered": ("user/1001@sim", AgentSpec("1001", mode="offline"), "USER_NOT_REGISTERED", B.RING_NO_ANSWER,
                     True),
    "no-such-user": ("user/1099@sim", AgentSpec("1001"), "SUBSCRIBER_ABSENT", B.RING_NO_ANSWER, True),
    "no-gateway": ("sofia/gateway/nosuchgw/1001", AgentSpec("1001"), "INVALID_GATEWAY", B.RING_NO_ANSWER, True),
    "nothing-listening": ("sofia/internal/1001@127.0.0.1:5999", AgentSpec("1001@127.0.0.1:5999", mode="offline"),
                          "NORMAL_TEMPORARY_FAILURE", B.RING_NO_ANSWER, True),
}


def _agent(aid: str, contact: str) -> Agent:
    return Agent(aid, name=f"Agent {aid}", contact=contact, wrap_up_s=1.0, no_answer_delay_s=5.0, busy_delay_s=5.0,
                 reject_delay_s=5.0)


@pytest.mark.parametrize("case", sorted(CASES))
def test_failed_offer_reroutes_the_member(tmp_path: Path, case: str) -> None:
    contact, phone, cause, line, _unreachable = CASES[case]
    # a long offer timeout: a member still waiting for the first agent's leg would stay there for 10 min
    q = QueueConfig("support", strategy=Strategy.TOP_DOWN, offer_timeout_s=600, max_wait_s=3600, moh="",
                    announce_position=False)
    first, second = _agent("1001", contact), _agent("1002", "user/1002@sim")
    agents = [(first, phone), (second, AgentSpec("1002", answer_after=1, talk_time=5))]
    tiers = [Tier("1001", "support", position=1), Tier("1002", "support", position=2)]
    with Harness(tmp_path, [q], agents, tiers) as h:
        [res] = h.wait([h.call("7000")])
        h.settle()
        assert res.answered and res.bridged_to, "the member reached the second agent"
        events = [(e.type, e.agent_id, e.detail) for e in h.queue_events()]
        assert [(t, who) for t, who, _ in events[:5]] == [(B.ENTER, None), (B.OFFER, "1001"), (line, "1001"),
                                                          (B.OFFER, "1002"), (B.CONNECT, "1002")], events
        assert events[2][2] == cause
        assert not any(detail == "offer timeout" for _, _, detail in events)
        a = h.ctl.acd.world.agents["1001"]
        # one failure is a miss (counted towards max_no_answer, with the no-answer delay) or a busy, not a break
        assert a.status is AgentStatus.AVAILABLE
        assert a.no_answer_count == (0 if line is B.AGENT_BUSY else 1)
        [leg] = [leg for leg in h.legs() if leg.role == "agent" and leg.agent_id == "1001"]
        assert leg.hangup_cause == cause and leg.answered_at is None
        assert not h.sims[0].channels, "no channel left on the switch"


def test_a_phone_that_stays_unreachable_puts_the_agent_on_break(tmp_path: Path) -> None:
    """Misses from an unregistered phone count like rings with no answer: max_no_answer of them, then a break."""
    q = QueueConfig("support", strategy=Strategy.TOP_DOWN, offer_timeout_s=600, max_wait_s=3600, moh="",
                    announce_position=False)
    first = Agent("1001", name="Agent 1001", contact="user/1001@sim", wrap_up_s=1.0, no_answer_delay_s=1.0,
                  max_no_answer=2)
    second = _agent("1002", "user/1002@sim")
    agents = [(first, AgentSpec("1001", mode="offline")), (second, AgentSpec("1002", answer_after=1, talk_time=5))]
    tiers = [Tier("1001", "support", position=1), Tier("1002", "support", position=2)]
    with Harness(tmp_path, [q], agents, tiers) as h:
        for _ in range(3):
            [res] = h.wait([h.call("7000")])
            assert res.answered and res.bridged_to
            h.settle(0.1)
        misses = [e for e in h.queue_events() if e.type is B.RING_NO_ANSWER and e.agent_id == "1001"]
        assert [e.detail for e in misses] == ["USER_NOT_REGISTERED"] * 2, "not offered again once on break"
        a = h.ctl.acd.world.agents["1001"]
        assert (a.status, a.reason) == (AgentStatus.ON_BREAK, "no-answer")
