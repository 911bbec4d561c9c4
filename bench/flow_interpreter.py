"""Flow loading and FlowRun throughput: loads/s of the example flows, calls/s and feeds/s through them."""

from __future__ import annotations

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from cc.ivr_dsl import (
    Digits,
    Done,
    FlowRun,
    HttpResponse,
    QueueOutcome,
    QueueResult,
    load_flow,
)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOW = 1_795_510_800.0  # a Tuesday, 09:00Z (open)


def _loads(n: int) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        for name in ("main_menu", "support", "collections"):
            load_flow(os.path.join(ROOT, "flows", f"{name}.yaml"))
    return (3 * n) / (time.perf_counter() - t0)


def _calls(n: int) -> tuple[float, float]:
    flow = load_flow(os.path.join(ROOT, "flows", "collections.yaml"))
    feeds = 0
    t0 = time.perf_counter()
    for i in range(n):
        run = FlowRun(flow, call_uuid=f"c{i}", caller_id="+4930123")
        run.start(NOW)
        script = [HttpResponse(200, {"customer": {"id": "C", "vip": False, "balance": 12}}), Done(), Digits("1"),
                  Digits("4111111111111111"), Digits("1228"), HttpResponse(201, {"status": "approved"}), Done()]
        for result in script:
            run.feed(result, NOW)
            feeds += 1
        assert run.done, run.path
        run2 = FlowRun(flow, call_uuid=f"v{i}")
        run2.start(NOW)
        run2.feed(HttpResponse(200, {"customer": {"id": "V", "vip": True, "balance": 1}}), NOW)
        run2.feed(QueueResult(QueueOutcome.SERVED, "a1"), NOW)
        feeds += 2
    elapsed = time.perf_counter() - t0
    return (2 * n) / elapsed, feeds / elapsed


def main() -> None:
    _loads(3)
    loads = sorted(_loads(30) for _ in range(3))[1]
    calls, feeds = sorted(_calls(2000) for _ in range(3))[1]
    print(json.dumps({"bench": "flow_interpreter", "flow_loads_per_s": round(loads, 1),
                      "calls_per_s": round(calls), "feeds_per_s": round(feeds),
                      "note": "median of 3; calls through flows/collections.yaml (card payment and VIP paths)"}))


if __name__ == "__main__":
    main()
