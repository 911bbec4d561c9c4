"""A call that comes back under its Unique-ID after a controller restart gets the next visit number from the
store (call_segments), not 1 again: its first row and earlier segments are never overwritten (cc.sim, TCP)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cc.clock import ScaledClock
from cc.model import Tier
from cc.service import Service
from cc.sim.endpoints import AgentSpec
from cc.store.repos import CallRepo
from tests.wire.harness import Harness
from tests.wire.test_call_faults import _fake_switch_session
from tests.wire.test_controller import agent, queue

pytestmark = pytest.mark.timeout(60)


def test_a_call_back_after_a_restart_continues_its_visit_numbers_from_the_store(tmp_path: Path) -> None:
    a = agent(1)
    with Harness(tmp_path, [queue("support")], [(a, AgentSpec(a.id, answer_after=1, talk_time=5))],
                 [Tier(a.id, "support")]) as h:
        h.wait([h.call("7000", caller_id_number="15550001111")])
        h.settle()
        [first] = h.calls()
        assert first.disposition == "answered"
        base = {"Event-Name": "CHANNEL_DATA", "Caller-Caller-ID-Number": "15550001111",
                "Caller-Destination-Number": "9999", "Channel-Name": "sofia/internal/15550001111",
                "Unique-ID": first.uuid, "variable_cc_state": "flow", "variable_cc_started": repr(first.started_at)}
        assert h.service is not None
        _fake_switch_session(h.service.outbound_address, base)   # visit 2, in the same process
        h.settle()
        assert [s.segment for s in CallRepo(h.db).segments(first.uuid)] == [2]
        config = h.service.config
        h.service.stop()
        # a new process on the same store: it never saw the call
        h.service = Service(config, clock=ScaledClock(h.scale), database=h.db,
                            journal_path=str(tmp_path / "journal.jsonl"))
        h.service.start(wait_nodes=5)
        _fake_switch_session(h.service.outbound_address, base)   # visit 3, after the restart
        h.settle()
        assert h.calls() == [first], "the first row is kept as it was"
        segments = CallRepo(h.db).segments(first.uuid)
        assert [s.segment for s in segments] == [2, 3]
        assert all(s.disposition == "no-route" for s in segments)
        legs = sorted(leg.uuid for leg in h.legs() if leg.role == "caller")
        assert legs == sorted([first.uuid, f"{first.uuid}/2", f"{first.uuid}/3"])
