"""Drives one campaign's pure Dialer from gevent: events one at a time, commands to a sink, one timer.

Like the ACD's driver: ``Dialer.handle`` is synchronous and never yields, so under gevent each call is
atomic; the driver keeps the order (an event submitted while commands are being carried out waits its
turn) and sleeps until ``Dialer.next_wakeup()`` (calls due, timers, the predictive pacing interval).
"""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Callable, Collection

import gevent
import gevent.event

from cc.dialer import Dialer, DialerCommand, DialerEvent, Tick
from cc.errors import CCError
from cc.privacy.mask import mask_text
from cc.runtime.timebase import Timebase

__all__ = ["DialerDriver"]

log = logging.getLogger(__name__)

Sink = Callable[[DialerCommand], None]
_Item = DialerEvent | Callable[[float], list[DialerCommand]]


class DialerDriver:
    """Serializes events into one Dialer and hands every command to ``sink`` (which must not block)."""

    def __init__(self, dialer: Dialer, clock: Timebase, sink: Sink) -> None:
        self.dialer = dialer
        self.clock = clock
        self.sink = sink
        self._pending: collections.deque[tuple[_Item, Callable[[CCError], None] | None]] = collections.deque()
        self._busy = False
        self._wake = gevent.event.Event()
        self._timer: gevent.Greenlet | None = None
        self._running = False
        self.events = 0
        self.refused = 0
        #: process CPU seconds spent in ``Dialer.handle`` (pacing included)
        self.cpu_s = 0.0

    def start(self) -> None:
        """Start the timer greenlet."""
        self._running = True
        if self._timer is None or self._timer.dead:
            self._timer = gevent.spawn(self._timer_loop)

    def stop(self) -> None:
        """Stop the timer greenlet."""
        self._running = False
        self._wake.set()
        if self._timer is not None:
            self._timer.kill(block=False)
            self._timer = None

    def submit(self, event: DialerEvent, on_error: Callable[[CCError], None] | None = None) -> None:
        """Hand ``event`` to the dialer now (or right after the one being handled); ``on_error`` hears a refusal."""
        self._pending.append((event, on_error))
        self._drain()

    def call(self, fn: Callable[[float], list[DialerCommand]]) -> None:
        """Run ``fn(now)`` (which may call the dialer and returns its commands) in turn with the events."""
        self._pending.append((fn, None))
        self._drain()

    def settle(self, live_uuids: Collection[str]) -> None:
        """The reconciler's path: open attempts whose channel is not in ``live_uuids`` end now (Dialer.settle)."""
        live = frozenset(live_uuids)
        self._pending.append((lambda now: self.dialer.settle(live, now), None))
        self._drain()

    def _drain(self) -> None:
        if self._busy:
            return
        self._busy = True
        try:
            while self._pending:
                item, on_error = self._pending.popleft()
                now = self.clock.now()
                t0 = time.process_time()
                try:
                    commands = item(now) if callable(item) else self.dialer.handle(item, now)
                except CCError as exc:
                    self.refused += 1
                    log.warning("dialer %s refused %s: %s", self.dialer.settings.campaign_id,
                                mask_text(repr(item)), mask_text(str(exc)))
                    if on_error is not None:
                        on_error(exc)
                    continue
                finally:
                    self.cpu_s += time.process_time() - t0
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
            due = self.dialer.next_wakeup()
            timeout = None if due is None else max(0.0, self.clock.real(due - self.clock.now()))
            if timeout == 0.0:
                self.submit(Tick())
                gevent.sleep(0.001)
                continue
            woke = self._wake.wait(timeout)
            self._wake.clear()
            if not woke and self._running:
                self.submit(Tick())
