"""/metrics: the controller's figures in Prometheus text format, read live at scrape time."""

from __future__ import annotations

import bisect
import collections
import gc
import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from cc.model import AgentState, AgentStatus
from cc.runtime.admission import LAG_BUCKETS

__all__ = ["BUCKETS", "MetricsCollector", "render_metrics"]

#: the greenlet count walks the heap (tens of ms with many calls): at most once per this many seconds
GREENLETS_EVERY_S = 30.0

#: routing decision latency buckets (seconds): decisions are expected well under 5 ms
BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)


class MetricsCollector(Collector):
    """Reads the service (controller, ACD, nodes, writer, event hub) whenever Prometheus scrapes."""

    def __init__(self, service: Any, hub: Any = None) -> None:
        self.service = service
        self.hub = hub
        self._counts = [0] * (len(BUCKETS) + 1)
        self._sum = 0.0
        self._seen = 0
        self._greenlets = (0, float("-inf"))   # (count, when counted: time.monotonic())

    def _observe_decisions(self, driver: Any) -> None:
        """Fold the decision durations handled since the last scrape into the cumulative histogram."""
        total = int(driver.events) + int(driver.refused)
        recent: collections.deque[float] = driver.decision_s
        new = min(max(0, total - self._seen), len(recent))
        self._seen = total
        for value in list(recent)[len(recent) - new:] if new else ():
            self._counts[bisect.bisect_left(BUCKETS, value)] += 1
            self._sum += value

    def collect(self) -> Iterator[Metric]:
        """Yield every metric family."""
        ctl = self.service.controller
        if ctl is not None:
            yield from self._controller(ctl)
        writer = self.service.writer
        if writer is not None:
            stats = writer.stats()
            yield GaugeMetricFamily("cc_writer_backlog", "History records accepted but not yet in the database.",
                                    value=stats.backlog)
            yield CounterMetricFamily("cc_writer_written", "History records written to the database.",
                                      value=stats.written)
            yield CounterMetricFamily("cc_writer_rejected", "History records the database refused (kept aside).",
                                      value=stats.rejected)
            yield GaugeMetricFamily("cc_database_available", "1 when the writer reaches the database.",
                                    value=1 if stats.database_available else 0)
            yield from self._journal(stats)
        yield GaugeMetricFamily("cc_greenlets", "gevent greenlets alive (counted at most every "
                                f"{GREENLETS_EVERY_S:.0f} s; those frozen at start are not counted).",
                                value=self._count_greenlets())
        yield from self._leadership()
        if self.hub is not None:
            yield GaugeMetricFamily("cc_event_stream_clients", "Connected /api/v1/events clients.",
                                    value=self.hub.clients)

    def _count_greenlets(self) -> int:
        """Live greenlets the collector tracks (cached GREENLETS_EVERY_S)."""
        count, at = self._greenlets
        now = time.monotonic()
        if now - at >= GREENLETS_EVERY_S:
            from gevent import Greenlet

            count = sum(1 for o in gc.get_objects() if isinstance(o, Greenlet) and not o.dead)
            self._greenlets = (count, now)
        return count

    @staticmethod
    def _journal(stats: Any) -> Iterator[Metric]:
        """The writer's journal: what waits in it for the database, its cap, its level."""
        yield GaugeMetricFamily("cc_journal_bytes", "Bytes of journal records not yet in the database.",
                                value=stats.journal_bytes)
        yield GaugeMetricFamily("cc_journal_records", "Journal records not yet in the database.",
                                value=stats.journaled)
        yield GaugeMetricFamily("cc_journal_max_bytes", "The journal's cap (at it new calls are refused).",
                                value=stats.journal_max_bytes)
        level = GaugeMetricFamily("cc_journal_level", "1 for the journal's level now: ok, high (past the high-water "
                                  "mark) or full (at the cap).", labels=["level"])
        for name in ("ok", "high", "full"):
            level.add_metric([name], 1 if stats.journal_level == name else 0)
        yield level

    def _leadership(self) -> Iterator[Metric]:
        """A standby pair's leadership (a process alone leads: role single)."""
        svc = self.service
        lead = getattr(svc, "leadership", None)
        role = getattr(svc, "role", "single")
        yield GaugeMetricFamily("cc_leader", "1 while this process may route calls (alone, or its pair's leader).",
                                value=1 if getattr(svc, "leading", True) else 0)
        roles = GaugeMetricFamily("cc_leadership_role", "1 for this process's role: single, standby, candidate, "
                                  "leader, fenced.", labels=["role"])
        for name in ("single", "standby", "candidate", "leader", "fenced"):
            roles.add_metric([name], 1 if role == name else 0)
        yield roles
        yield CounterMetricFamily("cc_leadership_takeovers", "Times this process started to lead its pair.",
                                  value=lead.takeovers if lead is not None else 0)

    @staticmethod
    def _actions(ctl: Any) -> Iterator[Metric]:
        """What the door, the settling and the reconciliation did."""
        refused = CounterMetricFamily("cc_admission_refused", "New calls refused at the door, by reason.",
                                      labels=["reason"])
        by_reason = dict.fromkeys(("lag", "busy", "calls", "pending", "journal"), 0)
        admission = getattr(ctl, "admission", None)   # a controller without a door (an embedding, a test double)
        by_reason.update(admission.by_reason if admission is not None else {})
        for reason, n in sorted(by_reason.items()):
            refused.add_metric([reason], n)
        yield refused
        settled = CounterMetricFamily("cc_settle_actions", "Channels cc let go of, settled over the inbound link: "
                                      "transferred to the fallback, killed, failed (retries given up).",
                                      labels=["kind"])
        settler = getattr(ctl, "settler", None)
        for kind, n in sorted((settler.by_kind if settler is not None else {}).items()):
            settled.add_metric([kind], n)
        yield settled
        rec = getattr(ctl, "reconciler", None)
        actions = CounterMetricFamily("cc_reconcile_actions", "What the reconciliation with the switches did: "
                                      "orphan channels settled, calls and agent legs ended, agents released.",
                                      labels=["kind"])
        for kind, n in sorted((rec.actions if rec is not None else {}).items()):
            actions.add_metric([kind], n)
        yield actions
        yield CounterMetricFamily("cc_reconcile_passes", "Reconciliation passes run.",
                                  value=rec.passes if rec is not None else 0)
        yield CounterMetricFamily("cc_sockets_lost", "Calls whose outbound socket closed with the channel still up "
                                  "(no hang-up): ended as socket-lost, their channel settled.",
                                  value=getattr(ctl, "sockets_lost", 0))

    def _controller(self, ctl: Any) -> Iterator[Metric]:
        yield GaugeMetricFamily("cc_calls_in_progress", "Calls in progress.", value=len(ctl.sessions))
        yield from self._actions(ctl)
        yield CounterMetricFamily("cc_calls", "Calls taken since start.", value=ctl.calls_total)
        now = ctl.clock.now()
        waiting = GaugeMetricFamily("cc_queue_waiting", "Members waiting in a queue.", labels=["queue"])
        offering = GaugeMetricFamily("cc_queue_offering", "Members being offered to an agent.", labels=["queue"])
        staffed = GaugeMetricFamily("cc_queue_staffed", "Agents logged in to a queue.", labels=["queue"])
        longest = GaugeMetricFamily("cc_queue_longest_wait_seconds", "Longest current wait.", labels=["queue"])
        for q in ctl.acd.queues(now):
            waiting.add_metric([q.name], q.waiting)
            offering.add_metric([q.name], q.offering)
            staffed.add_metric([q.name], q.staffed)
            longest.add_metric([q.name], q.longest_wait_s)
        yield from (waiting, offering, staffed, longest)
        counts: collections.Counter[tuple[str, str]] = collections.Counter(
            (str(a.status), str(a.state)) for a in ctl.acd.agents(now))
        agents = GaugeMetricFamily("cc_agents", "Agents per status and state.", labels=["status", "state"])
        for status in AgentStatus:
            for state in AgentState:
                agents.add_metric([status.value, state.value], counts.get((status.value, state.value), 0))
        yield agents
        self._observe_decisions(ctl.driver)
        cumulative, buckets = 0, []
        for bound, n in zip((*map(str, BUCKETS), "+Inf"), self._counts, strict=True):
            cumulative += n
            buckets.append((bound, cumulative))
        yield HistogramMetricFamily("cc_routing_decision_seconds", "Time the ACD took per event (routing decision).",
                                    buckets=buckets, sum_value=self._sum)
        monitor = ctl.monitor
        cumulative, buckets = 0, []
        for bound, n in zip((*map(str, LAG_BUCKETS), "+Inf"), monitor.lag_counts, strict=True):
            cumulative += n
            buckets.append((bound, cumulative))
        yield HistogramMetricFamily("cc_hub_lag_seconds", "Event-loop lag of each turn of the lag monitor (about "
                                    "20 a second).", buckets=buckets, sum_value=monitor.lag_sum_s)
        up = GaugeMetricFamily("cc_esl_up", "1 when the inbound ESL connection to a node is up.", labels=["node"])
        reconnects = CounterMetricFamily("cc_esl_reconnects", "ESL reconnects per node.", labels=["node"])
        for node in ctl.nodes:
            up.add_metric([node.name], 1 if node.up else 0)
            reconnects.add_metric([node.name], getattr(node.switch, "reconnects", 0))
        yield up
        yield reconnects


def render_metrics(collector: MetricsCollector) -> bytes:
    """The Prometheus text exposition of one collector."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return generate_latest(registry)
