"""cc's controller alone in a process, for tests/wire/test_restart_recovery.py (which kills it with SIGKILL).

Usage: python -m tests.wire.restart_controller DIR SIM_HOST:SIM_PORT SCALE DATABASE_URL [OUTBOUND_PORT]
The store is seeded by the test. The simulated clock goes on across restarts (DIR/clock.json), as the
wall clock does in production. The first run logs every agent in; a restart restores them from the store.
Prints ``READY <outbound port>`` once listening; on SIGTERM it writes DIR/snapshot.json and stops.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time

from cc.clock import ScaledClock
from cc.config import NodeConfig, ReconcileConfig, ServiceConfig
from cc.service import Service
from cc.store.db import Database
from cc.store.repos import AgentRepo
from tests.calm_admission import TEST_OVERLOAD
from tests.wire.overload_controller import serve_until_sigterm


def main() -> None:
    """Run until SIGTERM (or SIGKILL)."""
    folder, sim, scale, url = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
    outbound = int(sys.argv[5]) if len(sys.argv) > 5 else 0   # a restart listens where the dialplan points
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("cc.runtime.recover").setLevel(logging.INFO)
    host, _, port = sim.rpartition(":")
    path = os.path.join(folder, "clock.json")
    first = not os.path.exists(path)
    if first:
        real0 = time.time()
        with open(path, "w") as f:
            json.dump({"real0": real0, "sim0": real0}, f)
        clock = ScaledClock(scale)
    else:
        with open(path) as f:
            c = json.load(f)
        clock = ScaledClock(scale, start=c["sim0"] + (time.time() - c["real0"]) / scale)
    db = Database(url)
    cfg = ServiceConfig(nodes=(NodeConfig("sim1", host, int(port), hostname="sim1"),), outbound_port=outbound,
                        database_url=url, flows_dir="flows", routes={"7000": "support.yaml"},
                        base_dir=folder, drain_timeout_s=2, overload=TEST_OVERLOAD,
                        reconcile=ReconcileConfig(interval_s=2.0, grace_s=3.0))
    svc = Service(cfg, clock=clock, database=db, journal_path=os.path.join(folder, "journal.jsonl"),
                  restore_agents=not first)
    svc.start(wait_nodes=10)
    ctl = svc.controller
    assert ctl is not None
    if first:
        for a in AgentRepo(db).list():
            ctl.login(a.id)
    serve_until_sigterm(svc, os.path.join(folder, "snapshot.json"))


if __name__ == "__main__":
    main()
