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
    check_text,
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
        script = [
            HttpResponse(200, {"customer": {"id": "C", "vip": False, "balance": 12}}),
            Done(),
            Digits("1"),
            Digits("4111111111111111"),
            Digits("1228"),
            HttpResponse(201, {"status": "approved"}),
            Done(),
        ]
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


def _big_check_ms() -> float:
    n = 3000
    lines = ["flow: big", "start: n0", "nodes:"]
    for i in range(n):
        lines.append(
            f"  n{i}: {{menu: {{prompt: p.wav, choices: {{'1': n{(i + 1) % n}, '2': n{(i * 7) % n}}}}}, "
            f"on_fail: n{(i + 3) % n}}}"
        )
    text = "\n".join(lines) + "\n"
    t0 = time.perf_counter()
    flow, _ = check_text(text)
    assert flow is not None
    return (time.perf_counter() - t0) * 1000


def main() -> None:
    _loads(3)
    loads = sorted(_loads(30) for _ in range(3))[1]
    calls, feeds = sorted(_calls(2000) for _ in range(3))[1]
    big = sorted(_big_check_ms() for _ in range(3))[1]
    print(
        json.dumps(
            {
                "bench": "flow_interpreter",
                "flow_loads_per_s": round(loads, 1),
                "calls_per_s": round(calls),
                "feeds_per_s": round(feeds),
                "check_3000_node_menu_flow_ms": round(big),
                "note": "median of 3; calls through flows/collections.yaml (card payment and VIP paths)",
            }
        )
    )


if __name__ == "__main__":
    main()
