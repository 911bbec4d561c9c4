"""Drives the pure Acd from gevent: one event at a time, commands to a sink, one timer for the whole engine.

The Acd is synchronous and never yields, so under gevent a call to ``handle`` is atomic; the driver only
keeps the order (events that arrive while commands are being carried out wait their turn) and sleeps
until ``Acd.next_wakeup()``. Routing happens on events, never on a polling tick.
"""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Callable

import gevent
import gevent.event

from cc.acd import Acd, AcdCommand, AcdEvent, Tick
from cc.errors import CCError
from cc.privacy.mask import mask_text
from cc.runtime.timebase import Timebase

__all__ = ["AcdDriver"]

log = logging.getLogger(__name__)

Sink = Callable[[AcdCommand], None]


class AcdDriver:
    """Serializes events into one Acd, hands every command to ``sink`` (which must not block)."""

    def __init__(self, acd: Acd, clock: Timebase, sink: Sink) -> None:
        self.acd = acd
        self.clock = clock
        self.sink = sink
        self._pending: collections.deque[AcdEvent | Callable[[float], list[AcdCommand]]] = collections.deque()
        self._busy = False
        self._wake = gevent.event.Event()
        self._timer: gevent.Greenlet | None = None
        self._running = False
        self.events = 0
        self.refused = 0
        #: wall-clock seconds each ``handle`` took (the routing decision cost), newest last
        self.decision_s: collections.deque[float] = collections.deque(maxlen=10_000)

    def start(self) -> None:
        """Start the timer greenlet."""
        self._running = True
        if self._timer is None or self._timer.dead:
            self._timer = gevent.spawn(self._timer_loop)

    def stop(self) -> None:
        """Stop the timer greenlet (pending events are still handled by whoever submits)."""
        self._running = False
        self._wake.set()
        if self._timer is not None:
            self._timer.kill(block=False)
            self._timer = None

    def submit(self, event: AcdEvent) -> None:
        """Hand ``event`` to the engine now (or right after the event being handled)."""
        self._pending.append(event)
        self._drain()

    def configure(self, change: Callable[[float], list[AcdCommand]]) -> None:
        """Apply a configuration change (e.g. ``lambda now: acd.set_queue(cfg, now)``) in turn with events."""
        self._pending.append(change)
        self._drain()

    def _drain(self) -> None:
        if self._busy:
            return
        self._busy = True
        try:
            while self._pending:
                item = self._pending.popleft()
                now = self.clock.now()
                t0 = time.perf_counter()
                try:
                    if callable(item):
                        commands = item(now)
                    else:
                        commands = self.acd.handle(item, now)
                except CCError as exc:
                    self.refused += 1
                    log.warning("acd refused %s: %s", mask_text(repr(item)), mask_text(str(exc)))
                    continue
                finally:
                    self.decision_s.append(time.perf_counter() - t0)
                self.events += 1
                for cmd in commands:
                    try:
                        self.sink(cmd)
                    except Exception:
                        log.exception("carrying out %s failed", mask_text(repr(cmd)))
        finally:
            self._busy = False
        self._wake.set()

    def _timer_loop(self) -> None:
        while self._running:
            due = self.acd.next_wakeup()
            timeout = None if due is None else max(0.0, self.clock.real(due - self.clock.now()))
            if timeout == 0.0:
                self.submit(Tick())
                gevent.sleep(0)
                continue
            woke = self._wake.wait(timeout)
            self._wake.clear()
            if not woke and self._running:
                self.submit(Tick())
