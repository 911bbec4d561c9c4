"""A caller the dialplan parked before any controller answered it (the socket's connect was refused while no
controller ran) is sent through the dialplan again when a controller finds it, and served as a new call."""

from __future__ import annotations

import socket
from dataclasses import replace
from pathlib import Path
from typing import Any

import gevent
import pytest

from cc.clock import ScaledClock
from cc.model import QueueEventType, Tier
from cc.runtime.recover import Recovery
from cc.service import Service
from cc.sim.endpoints import AgentSpec
from cc.store.repos import CallRepo
from tests.wire.harness import Harness
from tests.wire.test_controller import agent, queue

pytestmark = pytest.mark.timeout(60)


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _route_to(sim: Any, host: str, port: int) -> None:
    """The dialplan of 7000: its service number, ``socket`` to ``host:port``, park when that is refused."""
    sim.routes["7000"] = [("set", "cc_service_number=7000"), ("socket", f"{host}:{port} async full"), ("park", "")]


def _parked_caller(h: Harness, caller: str) -> Any:
    """A caller to 7000 whose socket was refused, once the dialplan has parked him."""
    handle = h.call("7000", caller_id_number=caller)
    with gevent.Timeout(10):
        while h.sims[0].channels[handle.uuid].current_app != "park":
            gevent.sleep(0.01)
    return handle


def test_a_caller_parked_before_any_controller_answered_is_redialled_and_served(tmp_path: Path) -> None:
    a = agent(1)
    with Harness(tmp_path, [queue("support")], [(a, AgentSpec(a.id, answer_after=1, talk_time=5))],
                 [Tier(a.id, "support")]) as h:
        # no controller at this address: the connect is refused and the dialplan goes on to park
        _route_to(h.sims[0], "127.0.0.1", _dead_port())
        handle = _parked_caller(h, "15550002222")
        # a controller is at this address now; its start-up recovery (the same pass as after a restart) finds
        # the parked caller
        _route_to(h.sims[0], *h.service.outbound_address)
        out = Recovery(h.ctl).run()
        [res] = h.wait([handle], timeout=30)
        h.settle()
    assert out["redialled"] == 1 and out["settled"] == 0, out
    assert res.bridged_to, "the caller reached an agent"
    [row] = h.calls()
    assert (row.uuid, row.disposition) == (handle.uuid, "answered")
    assert CallRepo(h.db).segments(row.uuid) == [], "one visit: its first"
    types = [e.type for e in h.queue_events()]
    assert types[0] is QueueEventType.ENTER and types.count(QueueEventType.ENTER) == 1
    assert types[-1] in (QueueEventType.COMPLETE_AGENT, QueueEventType.COMPLETE_CALLER)


def test_the_start_up_recovery_redials_only_once_the_outbound_port_listens(tmp_path: Path) -> None:
    """Seen on a real FreeSWITCH: the start-up recovery sent the parked caller through the dialplan 70 ms before
    the outbound port listened, the switch ran `socket` at once, was refused and parked the caller again, who then
    waited for the next reconciliation pass (30 s). The transfer now waits for the port."""
    a = agent(1)
    with Harness(tmp_path, [queue("support")], [(a, AgentSpec(a.id, answer_after=1, talk_time=5))],
                 [Tier(a.id, "support")]) as h:
        sim = h.sims[0]
        assert h.service is not None
        config = h.service.config
        h.service.stop()
        h.service = None
        port = _dead_port()   # the restarted controller's port: nobody listens there yet
        _route_to(sim, "127.0.0.1", port)
        handle = _parked_caller(h, "15550003333")
        svc = Service(replace(config, outbound_port=port), clock=ScaledClock(h.scale), database=h.db,
                      journal_path=str(tmp_path / "journal.jsonl"))
        transfers: list[tuple[str, bool]] = []
        real = sim.api.commands["uuid_transfer"]

        def spy(arg: str) -> str:   # what the switch sees: is cc's port open when the transfer arrives?
            transfers.append((arg, svc.serving_calls))
            return real(arg)

        sim.api.commands["uuid_transfer"] = spy
        try:
            svc.start(wait_nodes=5)
            h.service = svc
            [res] = h.wait([handle], timeout=30)
            h.settle()
        finally:
            sim.api.commands["uuid_transfer"] = real
    assert transfers == [(f"{handle.uuid} 7000", True)]
    assert res.bridged_to, "the caller reached an agent"
