"""Admission control: when cc is behind, new calls are refused at the door; calls in progress keep going.

:class:`LagMonitor` is a small greenlet that sleeps a few milliseconds at a time and measures how late
it wakes up: the event-loop lag. A hub blocked or a process starved of CPU (FreeSWITCH runs at
real-time priority) shows as a long lag, even before the monitor runs again (:meth:`LagMonitor.lag`
also counts the time since its last turn). :class:`Admission` decides from the lag, the calls in
progress and the commands waiting on the inbound links; it keeps refusing for ``hold`` seconds after
the lag is back to normal (the backlog of a stall arrives all at once), counts what it refuses and
logs once per burst.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import gevent

from cc.config import OverloadConfig

__all__ = ["Admission", "LagMonitor"]

log = logging.getLogger(__name__)


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
        self._g: gevent.Greenlet | None = None

    def start(self) -> None:
        """Start the greenlet."""
        if self._g is None or self._g.dead:
            self.last_tick = time.monotonic()
            self._g = gevent.spawn(self._run)

    def stop(self) -> None:
        """Stop the greenlet."""
        if self._g is not None:
            self._g.kill(block=False)
            self._g = None

    def lag(self) -> float:
        """The lag now: the latest turn's, or longer when the monitor's next turn is overdue."""
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
            self.last_lag_s = late
            self.max_lag_s = max(self.max_lag_s, late)
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
    """The door: :meth:`decide` says why a new call is refused now (None: let it in). No I/O but logging."""

    def __init__(self, cfg: OverloadConfig) -> None:
        self.cfg = cfg
        self.refused = 0
        self.admitted = 0
        #: refusals by reason: lag, calls, pending
        self.by_reason: dict[str, int] = {}
        self.bursts = 0
        self._over_until = float("-inf")
        self._burst: int = 0
        self._burst_since: float | None = None

    @property
    def refusing(self) -> bool:
        """Whether the latest decision was a refusal (a burst is going on)."""
        return self._burst_since is not None

    def decide(self, now: float, lag_s: float, calls: int, pending: int) -> str | None:
        """``now`` (monotonic s), event-loop lag, calls in progress, inbound commands waiting -> reason or None."""
        cfg = self.cfg
        reason: str | None = None
        if lag_s > cfg.max_lag_s:
            self._over_until = now + cfg.hold_s
            reason = "lag"
        elif cfg.max_calls and calls >= cfg.max_calls:
            reason = "calls"
        elif cfg.max_pending and pending >= cfg.max_pending:
            reason = "pending"
        elif now < self._over_until:
            reason = "lag"
        if reason is None:
            self.admitted += 1
            if self._burst_since is not None:
                log.warning("overload over: %d new calls refused in %.1f s", self._burst, now - self._burst_since)
                self._burst_since = None
                self._burst = 0
            return None
        self.refused += 1
        self.by_reason[reason] = self.by_reason.get(reason, 0) + 1
        if self._burst_since is None:
            self._burst_since = now
            self.bursts += 1
            log.warning("overload: refusing new calls (%s: event-loop lag %.2f s, %d calls in progress, "
                        "%d commands pending)", reason, lag_s, calls, pending)
        self._burst += 1
        return reason
