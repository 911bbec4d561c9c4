"""cc's controller alone in a process, for tests/wire/test_overload.py (which stops and resumes it with signals).

Usage: python -m tests.wire.overload_controller DIR SIM_HOST:SIM_PORT SCALE
The store in DIR/cc.db is seeded by the test. Prints ``READY <outbound port>`` once listening; on SIGTERM
it writes DIR/snapshot.json (what the controller holds and counted, once its last calls have finished
or 5 s have passed) before it stops.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
from typing import Any

import gevent
import gevent.event

from cc.clock import ScaledClock
from cc.config import NodeConfig, OverloadConfig, ReconcileConfig, ServiceConfig
from cc.runtime.controller import Controller
from cc.service import Service
from cc.store.db import Database
from cc.store.repos import AgentRepo


def snapshot(ctl: Controller, svc: Service) -> dict[str, Any]:
    """What the controller holds now and what it counted."""
    agents = {a.id: {"status": str(a.status), "state": str(a.state)} for a in ctl.acd.agents()}
    rec = ctl.reconciler
    return {"sessions": sorted(ctl.sessions), "members": sorted(ctl.members), "offers": len(ctl.dispatcher.offers),
            "agents": agents, "refused": ctl.admission.refused, "refused_by": ctl.admission.by_reason,
            "bursts": ctl.admission.bursts, "stalls": ctl.monitor.stalls, "max_lag_s": ctl.monitor.max_lag_s,
            "settled": ctl.settler.ended, "settle_failed": ctl.settler.failed, "bridge_races": ctl.bridge_races,
            "gave_up": svc.server.gave_up if svc.server else None,
            "orphans": rec.orphans if rec else None, "gone_calls": rec.gone_calls if rec else None,
            "gone_legs": rec.gone_legs if rec else None, "passes": rec.passes if rec else None}


def serve_until_sigterm(svc: Service, path: str, *, settle_s: float = 0.0) -> None:
    """Print ``READY <port>``, wait for SIGTERM, write the snapshot to ``path`` (after up to ``settle_s`` s for
    the last calls' greenlets to finish writing), stop the service and leave the process."""
    ctl = svc.controller
    assert ctl is not None
    done = gevent.event.Event()
    gevent.signal_handler(signal.SIGTERM, done.set)
    print(f"READY {svc.outbound_address[1]}", flush=True)
    done.wait()
    deadline = gevent.get_hub().loop.now() + settle_s
    while (ctl.sessions or ctl.members or ctl.dispatcher.offers) and gevent.get_hub().loop.now() < deadline:
        gevent.sleep(0.05)
    with open(path, "w") as f:
        json.dump(snapshot(ctl, svc), f)
    svc.stop(drain_timeout=1)
    print("STOPPED", flush=True)
    os._exit(0)


def main() -> None:
    """Run until SIGTERM."""
    folder, sim, scale = sys.argv[1], sys.argv[2], float(sys.argv[3])
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    host, _, port = sim.rpartition(":")
    url = f"sqlite:///{folder}/cc.db"
    db = Database(url)
    cfg = ServiceConfig(nodes=(NodeConfig("sim1", host, int(port), hostname="sim1"),), outbound_port=0,
                        database_url=url, flows_dir="flows", routes={"7000": "support.yaml"},
                        base_dir=folder, drain_timeout_s=2,
                        overload=OverloadConfig(max_lag_s=0.5, hold_s=1.0),
                        reconcile=ReconcileConfig(interval_s=2.0, grace_s=3.0))
    svc = Service(cfg, clock=ScaledClock(scale), database=db, journal_path=os.path.join(folder, "journal.jsonl"),
                  restore_agents=False)
    svc.start(wait_nodes=10)
    ctl = svc.controller
    assert ctl is not None
    for a in AgentRepo(db).list():
        ctl.login(a.id)
    # the last calls' greenlets finish writing (their channels are gone already)
    serve_until_sigterm(svc, os.path.join(folder, "snapshot.json"), settle_s=5.0)


if __name__ == "__main__":
    main()
