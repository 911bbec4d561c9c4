"""/metrics' hub figures: the lag monitor's histogram of every turn's lag, and the greenlet count."""

from __future__ import annotations

from collections import deque
from types import SimpleNamespace

import gevent

from cc.api.metrics import MetricsCollector, render_metrics
from cc.runtime.admission import LAG_BUCKETS, LagMonitor


def test_hub_lag_histogram_counts_every_turn_of_the_lag_monitor() -> None:
    monitor = LagMonitor(interval_s=0.001)
    monitor.start()
    try:
        gevent.sleep(0.05)
    finally:
        monitor.stop()
    turns = sum(monitor.lag_counts)
    assert turns >= 5 and len(monitor.lag_counts) == len(LAG_BUCKETS) + 1
    driver = SimpleNamespace(events=0, refused=0, decision_s=deque(maxlen=4))
    ctl = SimpleNamespace(sessions={}, calls_total=0, clock=SimpleNamespace(now=lambda: 0.0),
                          acd=SimpleNamespace(queues=lambda now: [], agents=lambda now=None: []),
                          driver=driver, monitor=monitor, nodes=[])
    text = render_metrics(MetricsCollector(SimpleNamespace(controller=ctl, writer=None))).decode()
    assert f'cc_hub_lag_seconds_bucket{{le="+Inf"}} {float(turns)}' in text
    assert f"cc_hub_lag_seconds_count {float(turns)}" in text
    assert f"cc_hub_lag_seconds_sum {monitor.lag_sum_s}" in text


def test_greenlets_are_counted_and_the_count_is_kept_between_scrapes() -> None:
    col = MetricsCollector(SimpleNamespace(controller=None, writer=None))
    before = col._count_greenlets()
    extra = [gevent.spawn(gevent.sleep, 10) for _ in range(5)]
    try:
        assert col._count_greenlets() == before, "counted at most every GREENLETS_EVERY_S"
        col._greenlets = (0, float("-inf"))
        assert col._count_greenlets() >= before + 5
        assert "cc_greenlets " in render_metrics(col).decode()
    finally:
        gevent.killall(extra)
