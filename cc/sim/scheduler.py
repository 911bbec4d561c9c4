"""One ordered timer heap for the whole simulator: simulated durations scaled to real time."""

from __future__ import annotations

import heapq
import itertools
import logging
import time
from collections.abc import Callable
from typing import Any

import gevent
import gevent.event

__all__ = ["Scheduler", "Timer"]

log = logging.getLogger(__name__)


class Timer:
    """A pending call made by :meth:`Scheduler.call_later`; ``cancel()`` stops it from running."""

    __slots__ = ("args", "cancelled", "due", "fn", "seq")

    def __init__(self, due: float, seq: int, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.due = due
        self.seq = seq
        self.fn = fn
        self.args = args
        self.cancelled = False

    def cancel(self) -> None:
        """Do not run this timer (harmless when it has run already)."""
        self.cancelled = True

    def __lt__(self, other: Timer) -> bool:
        return (self.due, self.seq) < (other.due, other.seq)


class Scheduler:
    """Runs callbacks at simulated times, in (due, insertion) order, from one greenlet.

    Every simulated duration is multiplied by ``time_scale`` to get real seconds (0.01 turns an hour
    into 36 s). ``now()`` is the simulated time in seconds since the scheduler was made; ``wall()`` is
    the simulated Unix time (starts at the real time and runs 1/time_scale times as fast). Callbacks
    must not block; they set events or spawn greenlets.

    While a timer runs, ``now()`` is the time it was due, not the time it ran, and timers it starts
    count from there: a chain of timers (answer, hold 5 s later, unhold 10 s after that, hang up) keeps
    its simulated durations exactly even when the process stalls (a loaded machine runs a timer late,
    and the next ones catch up), so what the simulator reports (Hold-Accum, record_ms) does not depend
    on machine load.
    """

    def __init__(self, time_scale: float = 1.0) -> None:
        if not time_scale > 0:
            raise ValueError(f"time_scale must be > 0, got {time_scale!r}")
        self.time_scale = float(time_scale)
        self._mono0 = time.monotonic()
        self._wall0 = time.time()
        self._heap: list[Timer] = []
        self._seq = itertools.count()
        self._wake = gevent.event.Event()
        self._runner: gevent.Greenlet | None = None
        self._firing: float | None = None   # the due time of the timer running now
        self.fired = 0

    # -- time
    def now(self) -> float:
        """Simulated seconds since this scheduler was created."""
        firing = self._firing
        return ((time.monotonic() if firing is None else firing) - self._mono0) / self.time_scale

    def pinned_now(self) -> float | None:
        """While a timer runs: the simulated time it was due (what :meth:`now` says); else None."""
        firing = self._firing
        return None if firing is None else (firing - self._mono0) / self.time_scale

    def wall(self) -> float:
        """Simulated Unix time (float seconds)."""
        return self._wall0 + self.now()

    # -- timers
    def call_later(self, delay: float, fn: Callable[..., Any], *args: Any) -> Timer:
        """Run ``fn(*args)`` after ``delay`` simulated seconds (never before earlier-due timers)."""
        firing = self._firing
        due = (time.monotonic() if firing is None else firing) + max(0.0, delay) * self.time_scale
        t = Timer(due, next(self._seq), fn, args)
        heapq.heappush(self._heap, t)
        if self._heap[0] is t:
            self._wake.set()
        return t

    def call_at(self, when: float, fn: Callable[..., Any], *args: Any) -> Timer:
        """Run ``fn(*args)`` at simulated time ``when`` (seconds on :meth:`now`'s clock; past: at once)."""
        due = self._mono0 + max(0.0, when) * self.time_scale
        t = Timer(due, next(self._seq), fn, args)
        heapq.heappush(self._heap, t)
        if self._heap[0] is t:
            self._wake.set()
        return t

    def sleep(self, delay: float) -> None:
        """Block the calling greenlet for ``delay`` simulated seconds."""
        ev = gevent.event.Event()
        self.call_later(delay, ev.set)
        ev.wait()

    def start(self) -> None:
        """Start the timer greenlet (idempotent)."""
        if self._runner is None:
            self._runner = gevent.spawn(self._run)

    def stop(self) -> None:
        """Stop the timer greenlet; pending timers are dropped."""
        if self._runner is not None:
            self._runner.kill()
            self._runner = None
        self._heap.clear()

    @property
    def pending(self) -> int:
        """Timers waiting to run (cancelled ones included until they come due)."""
        return len(self._heap)

    def _run(self) -> None:
        heap = self._heap
        while True:
            if not heap:
                self._wake.wait()
                self._wake.clear()
                continue
            delay = heap[0].due - time.monotonic()
            if delay > 0:
                self._wake.wait(delay)
                self._wake.clear()
                continue
            t = heapq.heappop(heap)
            if t.cancelled:
                continue
            self.fired += 1
            self._firing = t.due
            try:
                t.fn(*t.args)
            except Exception:
                log.exception("simulator timer %r failed", t.fn)
            finally:
                self._firing = None
