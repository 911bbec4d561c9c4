"""The reconciler releases an agent the ACD holds busy while the switch has no channel of his (cc.sim, TCP)."""

from __future__ import annotations

import logging
from pathlib import Path

import gevent
import pytest

from cc.acd import AgentInCall
from cc.model import Agent, AgentState, QueueConfig, Tier
from cc.sim.endpoints import AgentSpec
from tests.wire.harness import Harness
from tests.wire.test_journal_cap import metrics

pytestmark = pytest.mark.timeout(60)


def two_agents() -> tuple[list[QueueConfig], list[tuple[Agent, AgentSpec]], list[Tier]]:
    """A queue ``support`` with agents 1001 and 1002."""
    agents = [Agent(i, name=f"Agent {i}", contact=f"user/{i}@sim", wrap_up_s=1.0) for i in ("1001", "1002")]
    return ([QueueConfig("support", moh="", announce_position=False)],
            [(a, AgentSpec(a.id, answer_after=1.0, talk_time=1000.0)) for a in agents],
            [Tier(a.id, "support") for a in agents])


def state(h: Harness, agent: str) -> AgentState:
    """The ACD's state of ``agent``."""
    return h.ctl.acd.world.agents[agent].state  # type: ignore[no-any-return]


def test_an_agent_in_call_with_no_channel_on_the_switch_is_released_after_the_bound(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with Harness(tmp_path, *two_agents()) as h:
        rec = h.ctl.reconciler
        rec.stop()                                  # passes are driven here, on simulated running time
        now = [1000.0]
        rec.clock = lambda: now[0]
        node = h.ctl.nodes.nodes[0]
        # agent 1001 talks to a caller who is really there; agent 1002 is in a call the switch never had (the
        # leak: a controller failure left him in_call)
        handle = h.call("7000")
        deadline = gevent.get_hub().loop.now() + 10
        while gevent.get_hub().loop.now() < deadline:
            s = next(iter(h.ctl.sessions.values()), None)
            if s is not None and s.stay is not None and s.stay.bridged_at is not None:
                break
            gevent.sleep(0.05)
        talking = s.stay.ringing.agent_id
        stuck = "1002" if talking == "1001" else "1001"
        h.ctl.driver.submit(AgentInCall(stuck, "no-such-call", "support", h.ctl.clock.now()))
        assert state(h, stuck) is AgentState.IN_CALL
        caplog.set_level(logging.WARNING, logger="cc.runtime.reconcile")
        rec.run_pass(node)                          # first seen without a channel
        now[0] += 29.0
        rec.run_pass(node)
        assert state(h, stuck) is AgentState.IN_CALL and rec.agents_released == 0
        now[0] += 1.5
        rec.run_pass(node)                          # 30.5 s without a channel: released
        assert rec.agents_released == 1 and rec.actions["agent_released"] == 1
        m = metrics(h)
        assert m['cc_reconcile_actions_total{kind="agent_released"}'] == 1.0
        assert m['cc_reconcile_actions_total{kind="orphan_settled"}'] == 0.0 and m["cc_reconcile_passes_total"] >= 3
        assert state(h, stuck) in (AgentState.WRAP_UP, AgentState.IDLE)
        assert state(h, talking) is AgentState.IN_CALL   # whose call is on the switch stays
        lines = [r.getMessage() for r in caplog.records if "releasing" in r.getMessage()]
        assert lines == [f"reconcile: agent {stuck} has had no call on any switch for 30 s; releasing him"]
        now[0] += 100.0
        rec.run_pass(node)
        assert rec.agents_released == 1
        h.sims[0].channels[s.uuid].hangup("NORMAL_CLEARING")
        h.wait([handle])

