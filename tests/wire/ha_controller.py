"""One controller of a standby pair in a process of its own, for tests/wire/test_standby.py.

Usage: python -m tests.wire.ha_controller DIR NAME SIM_HOST:SIM_PORT SCALE DATABASE_URL LOCK_ID
The store is seeded and DIR/clock.json written by the test (both processes share the simulated clock).
Prints ``READY <outbound port>`` once its links are up and its port listens (as a standby), ``LEADING <t>``
(time.time()) once it routes, and appends every originate and uuid_bridge it sends, with time.time(), to
DIR/acts-NAME.jsonl. The door's busy-share refusal is off (max_busy 1): the takeover's burst of work must not
refuse the callers the test counts. Fenced, it prints ``FENCED <t>`` and exits 75 at once, as `ccctl serve` does.
On SIGTERM it writes DIR/snapshot-NAME.json and stops.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import gevent
import gevent.event

from cc.clock import ScaledClock
from cc.config import HaConfig, NodeConfig, ReconcileConfig, ServiceConfig
from cc.model import AgentStatus
from cc.service import Service
from cc.store.db import Database
from tests.calm_admission import TEST_OVERLOAD
from tests.wire.overload_controller import serve_until_sigterm


def main() -> None:
    """Run until SIGTERM, SIGKILL or the loss of the lead."""
    folder, name, sim, scale, url, lock_id = sys.argv[1:7]
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("cc.runtime.recover").setLevel(logging.INFO)
    host, _, port = sim.rpartition(":")
    with open(os.path.join(folder, "clock.json")) as f:
        c = json.load(f)
    clock = ScaledClock(float(scale), start=c["sim0"] + (time.time() - c["real0"]) / float(scale))
    db = Database(url)
    cfg = ServiceConfig(nodes=(NodeConfig("sim1", host, int(port), hostname="sim1"),), outbound_port=0,
                        database_url=url, flows_dir="flows", routes={"7000": "support.yaml"},
                        base_dir=folder, drain_timeout_s=2,
                        overload=TEST_OVERLOAD,
                        reconcile=ReconcileConfig(interval_s=2.0, grace_s=3.0),
                        ha=HaConfig(role="auto", lock_id=int(lock_id), check_interval_s=1.0, takeover_after_s=3.0,
                                    fence_s=2.0))
    svc = Service(cfg, clock=clock, database=db, journal_path=os.path.join(folder, f"journal-{name}.jsonl"))
    svc.start(wait_nodes=10)
    ctl = svc.controller
    assert ctl is not None
    acts = open(os.path.join(folder, f"acts-{name}.jsonl"), "a", buffering=1)

    def logged(what: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def call(cmd: str, *args: Any, **kw: Any) -> Any:
            if cmd.startswith(what):
                acts.write(json.dumps({"t": time.time(), "what": what}) + "\n")
            return fn(cmd, *args, **kw)
        return call

    for node in ctl.nodes:
        node.switch.bgapi = logged("originate", node.switch.bgapi)  # type: ignore[method-assign]
        node.api = logged("uuid_bridge", node.api)  # type: ignore[method-assign]

    def watch() -> None:
        while svc.took_over_at is None:
            if svc.fenced.is_set():
                return
            gevent.sleep(0.01)
        print(f"LEADING {svc.took_over_at}", flush=True)
        gevent.sleep(0.2)   # agents restored from the store are logged in by then; the others now
        for a in ctl.acd.agents():
            if a.status is AgentStatus.LOGGED_OUT:
                ctl.login(a.id)

    def fenced() -> None:
        svc.fenced.wait()
        print(f"FENCED {time.time()}", flush=True)
        os._exit(75)

    gevent.spawn(watch)
    gevent.spawn(fenced)
    serve_until_sigterm(svc, os.path.join(folder, f"snapshot-{name}.json"))


if __name__ == "__main__":
    main()
