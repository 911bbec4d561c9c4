"""Admission control: when cc is behind, new calls are refused at the door; calls in progress keep going.

:class:`LagMonitor` is a small greenlet that sleeps a few milliseconds at a time and measures how late
it wakes up: the event-loop lag. A hub blocked or a process starved of CPU (FreeSWITCH runs at
real-time priority) shows as a long lag, even before the monitor runs again (:meth:`LagMonitor.lag`
also counts the time since its last turn). A saturated hub does not always lag (each turn of the loop
stays short while the backlog waits in the kernel), so the monitor also measures how busy the hub is:
the share of the last second it did not spend waiting in its poll (two libev watchers, prepare and
check, time the poll). :class:`Admission` decides from the lag, the busy share, the calls in progress
and the commands waiting on the inbound links; it keeps refusing for ``hold`` seconds after a lag
(the backlog of a stall arrives all at once), counts what it refuses and logs once per burst.
"""

from __future__ import annotations

import bisect
import logging
import time
from collections.abc import Callable
from typing import Any

import gevent

from cc.config import OverloadConfig

__all__ = ["LAG_BUCKETS", "Admission", "LagMonitor"]

log = logging.getLogger(__name__)

#: upper bounds (s) of the histogram of every turn's lag (/metrics: cc_hub_lag_seconds)
LAG_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class LagMonitor:
    """Measures the event loop's lag with one greenlet; ``on_stall(seconds)`` runs after a long one."""

    def __init__(self, interval_s: float = 0.05, stall_s: float = 0.5,
                 on_stall: Callable[[float], None] | None = None) -> None:
        self.interval_s = interval_s
        self.stall_s = stall_s
        self.on_stall = on_stall
        self.last_tick = time.monotonic()
        #: lag of the latest turn (s)
        self.last_lag_s = 0.0
        #: the longest lag seen (s)
        self.max_lag_s = 0.0
        #: seconds of all lags longer than ``stall_s`` together
        self.stalled_s = 0.0
        self.stalls = 0
        #: turns per LAG_BUCKETS bucket (the last one: longer), and the sum of their lags (s)
        self.lag_counts = [0] * (len(LAG_BUCKETS) + 1)
        self.lag_sum_s = 0.0
        #: share of the latest window (about a second) the hub spent working rather than waiting
        self.busy = 0.0
        self.window_s = 1.0
        self._idle = 0.0
        self._polling_since: float | None = None
        self._window_start = time.perf_counter()
        self._window_idle = 0.0
        self._watchers: list[Any] = []
        self._g: gevent.Greenlet | None = None

    def start(self) -> None:
        """Start the greenlet."""
        if self._g is None or self._g.dead:
            self.last_tick = time.monotonic()
            self._g = gevent.spawn(self._run)
        if not self._watchers:
            loop = gevent.get_hub().loop
            before = loop.prepare(ref=False, priority=-2)   # the last thing before the poll
            after = loop.check(ref=False, priority=2)       # the first thing after it
            before.start(self._before_poll)
            after.start(self._after_poll)
            self._watchers = [before, after]

    def stop(self) -> None:
        """Stop the greenlet."""
        if self._g is not None:
            self._g.kill(block=False)
            self._g = None
        for w in self._watchers:
            w.stop()
        self._watchers = []

    def _before_poll(self) -> None:
        self._polling_since = time.perf_counter()

    def _after_poll(self) -> None:
        since = self._polling_since
        if since is not None:
            self._idle += time.perf_counter() - since
            self._polling_since = None

    def _window(self) -> None:
        now = time.perf_counter()
        span = now - self._window_start
        if span >= self.window_s:
            idle = self._idle - self._window_idle
            self.busy = min(1.0, max(0.0, 1.0 - idle / span))
            self._window_start = now
            self._window_idle = self._idle

    def lag(self) -> float:
        """The lag now: the latest turn's, or longer when the monitor's next turn is overdue (0 when stopped)."""
        if self._g is None:
            return 0.0
        overdue = time.monotonic() - self.last_tick - self.interval_s
        return max(self.last_lag_s, overdue)

    def running_time(self) -> float:
        """A monotonic clock that does not advance during stalls (grace periods are measured on it)."""
        now = time.monotonic()
        overdue = now - self.last_tick - self.interval_s
        return now - self.stalled_s - (overdue if overdue > self.stall_s else 0.0)

    def _run(self) -> None:
        while True:
            t0 = time.monotonic()
            gevent.sleep(self.interval_s)
            now = time.monotonic()
            late = max(0.0, now - t0 - self.interval_s)
            self.last_tick = now
            self._window()
            self.last_lag_s = late
            self.max_lag_s = max(self.max_lag_s, late)
            self.lag_counts[bisect.bisect_left(LAG_BUCKETS, late)] += 1
            self.lag_sum_s += late
            if late > self.stall_s:
                self.stalls += 1
                self.stalled_s += late
                log.warning("event loop stalled for %.1f s (no CPU, or something blocked the hub)", late)
                if self.on_stall is not None:
                    try:
                        self.on_stall(late)
                    except Exception:
                        log.exception("stall hook failed")


class Admission:
    """The door: :meth:`decide` says why a new call is refused now (None: let it in). No I/O but logging.

    A saturated hub is answered with a share of new calls let in rather than none: the share drops by
    30 % for every second the hub is busier than ``max_busy`` and climbs back by 0.1 a second once it is
    not (refusing everything would leave the hub idle the next second; refusals cost work too).

    Until ``grace_until`` (monotonic s; the service sets it when it takes over, see :meth:`grace`) the busy share
    is ignored: recovery and the collector's one full pass keep the hub busy for a moment that says nothing about
    the calls to come. The lag, the limits and the journal still decide.
    """

    #: seconds between two changes of the share
    ADJUST_S = 1.0
    MIN_SHARE = 0.05
    #: how long the busy share is ignored after a takeover
    TAKEOVER_GRACE_S = 10.0

    def __init__(self, cfg: OverloadConfig) -> None:
        self.cfg = cfg
        #: the share of new calls let in (1: all; below 1 while the hub is saturated)
        self.share = 1.0
        self._credit = 0.0
        self._adjusted = float("-inf")
        self.refused = 0
        self.admitted = 0
        #: refusals by reason: lag, busy, calls, pending, journal
        self.by_reason: dict[str, int] = {}
        self.bursts = 0
        self._over_until = float("-inf")
        self._burst: int = 0
        self._burst_since: float | None = None
        #: the busy share is ignored before this time (monotonic s)
        self.grace_until = float("-inf")

    def grace(self, now: float, seconds: float | None = None) -> None:
        """Ignore the busy share from ``now`` for ``seconds`` (default TAKEOVER_GRACE_S); the share starts whole."""
        self.grace_until = now + (self.TAKEOVER_GRACE_S if seconds is None else seconds)
        self.share, self._credit, self._adjusted = 1.0, 0.0, float("-inf")

    @property
    def refusing(self) -> bool:
        """Whether the latest decision was a refusal (a burst is going on)."""
        return self._burst_since is not None

    def decide(self, now: float, lag_s: float, calls: int, pending: int, busy: float = 0.0,
               journal_full: bool = False) -> str | None:
        """``now`` (monotonic s), event-loop lag, calls in progress, inbound commands waiting, the hub's busy
        share, whether the writer's journal is at its cap -> the reason to refuse, or None."""
        cfg = self.cfg
        reason: str | None = None
        if journal_full:   # the database has not taken the records for long: no new call adds to them
            reason = "journal"
        elif lag_s > cfg.max_lag_s:
            self._over_until = now + cfg.hold_s
            reason = "lag"
        elif now >= self.grace_until and self._busy_refuses(now, busy):
            reason = "busy"
        elif cfg.max_calls and calls >= cfg.max_calls:
            reason = "calls"
        elif cfg.max_pending and pending >= cfg.max_pending:
            reason = "pending"
        elif now < self._over_until:
            reason = "lag"
        if reason is None:
            self.admitted += 1
            if self._burst_since is not None and self.share >= 1.0:
                log.warning("overload over: %d new calls refused in %.1f s", self._burst, now - self._burst_since)
                self._burst_since = None
                self._burst = 0
            return None
        self.refused += 1
        self.by_reason[reason] = self.by_reason.get(reason, 0) + 1
        if self._burst_since is None:
            self._burst_since = now
            self.bursts += 1
            log.warning("overload: refusing new calls (%s: event-loop lag %.2f s, hub busy %.0f %%, %d calls in "
                        "progress, %d commands pending)", reason, lag_s, 100 * busy, calls, pending)
        self._burst += 1
        return reason

    def _busy_refuses(self, now: float, busy: float) -> bool:
        """Adapt the share to the hub's busy share; whether this call is one the share leaves out."""
        if now - self._adjusted >= self.ADJUST_S:
            if busy > self.cfg.max_busy:
                self.share = max(self.MIN_SHARE, self.share * 0.7)
                self._adjusted = now
            elif self.share < 1.0:
                self.share = min(1.0, self.share + 0.1)
                self._adjusted = now
        if self.share >= 1.0:
            return False
        self._credit += self.share
        if self._credit >= 1.0:
            self._credit -= 1.0
            return False
        return True
