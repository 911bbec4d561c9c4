"""CoreDriver: runs a pure core (events in, commands out, ``next_wakeup``) from gevent, one item at a time.

The cores (cc.acd's Acd, cc.dialer's Dialer) are synchronous and never yield, so under gevent a call to
``handle`` is atomic; the driver only keeps the order (an item submitted while commands are being carried out
waits its turn), hands every command to a sink, and sleeps until the core's next wake-up, when it feeds it a
tick. Work happens on events, never on a polling loop.
"""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Callable
from typing import Generic, TypeVar

import gevent
import gevent.event

from cc.errors import CCError
from cc.privacy.mask import mask_text
from cc.runtime.timebase import Timebase

__all__ = ["CoreDriver", "OnError"]

log = logging.getLogger(__name__)

E = TypeVar("E")
C = TypeVar("C")

#: hears a refusal of the item it came with
OnError = Callable[[CCError], None]


class CoreDriver(Generic[E, C]):
    """Serializes events (and ``now -> commands`` callables) into one core; every command goes to ``sink``
    (which must not block). ``label`` names the core in log lines; ``due_sleep`` is how long the timer yields
    when the core is due at once (0: just let the others run)."""

    def __init__(self, label: str, handle: Callable[[E, float], list[C]], next_wakeup: Callable[[], float | None],
                 tick: Callable[[], E], clock: Timebase, sink: Callable[[C], None], *, due_sleep: float = 0.0) -> None:
        self.label = label
        self._handle = handle
        self._next_wakeup = next_wakeup
        self._tick = tick
        self.clock = clock
        self.sink = sink
        self.due_sleep = due_sleep
        self._pending: collections.deque[tuple[E | Callable[[float], list[C]], OnError | None]] = collections.deque()
        self._busy = False
        self._wake = gevent.event.Event()
        self._timer: gevent.Greenlet | None = None
        self._running = False
        self.events = 0
        self.refused = 0
        #: wall-clock seconds each item took (the decision cost), newest last
        self.decision_s: collections.deque[float] = collections.deque(maxlen=10_000)
        #: process CPU seconds spent in the core, in all
        self.cpu_s = 0.0

    def start(self) -> None:
        """Start the timer greenlet."""
        self._running = True
        if self._timer is None or self._timer.dead:
            self._timer = gevent.spawn(self._timer_loop)

    def stop(self) -> None:
        """Stop the timer greenlet (pending items are still handled by whoever submits)."""
        self._running = False
        self._wake.set()
        if self._timer is not None:
            self._timer.kill(block=False)
            self._timer = None

    def put(self, item: E | Callable[[float], list[C]], on_error: OnError | None = None) -> None:
        """Hand ``item`` (an event, or ``now -> commands``) to the core now, or right after the one being handled."""
        self._pending.append((item, on_error))
        self._drain()

    def _drain(self) -> None:
        if self._busy:
            return
        self._busy = True
        try:
            while self._pending:
                item, on_error = self._pending.popleft()
                now = self.clock.now()
                t0, c0 = time.perf_counter(), time.process_time()
                try:
                    commands = item(now) if callable(item) else self._handle(item, now)
                except CCError as exc:
                    self.refused += 1
                    log.warning("%s refused %s: %s", self.label, mask_text(repr(item)), mask_text(str(exc)))
                    if on_error is not None:
                        on_error(exc)
                    continue
                finally:
                    self.decision_s.append(time.perf_counter() - t0)
                    self.cpu_s += time.process_time() - c0
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
            due = self._next_wakeup()
            timeout = None if due is None else max(0.0, self.clock.real(due - self.clock.now()))
            if timeout == 0.0:
                self.put(self._tick())
                gevent.sleep(self.due_sleep)
                continue
            woke = self._wake.wait(timeout)
            self._wake.clear()
            if not woke and self._running:
                self.put(self._tick())
