"""Drives the pure Acd from gevent: one event at a time, commands to a sink, one timer for the whole engine.

The Acd is synchronous and never yields, so under gevent a call to ``handle`` is atomic; the driver only
keeps the order (events that arrive while commands are being carried out wait their turn) and sleeps
until ``Acd.next_wakeup()``. Routing happens on events, never on a polling tick. The mechanics are
cc.runtime.core_driver's, shared with the dialer's driver.
"""

from __future__ import annotations

from collections.abc import Callable

from cc.acd import Acd, AcdCommand, AcdEvent, Tick
from cc.runtime.core_driver import CoreDriver
from cc.runtime.timebase import Timebase

__all__ = ["AcdDriver"]

Sink = Callable[[AcdCommand], None]


class AcdDriver(CoreDriver[AcdEvent, AcdCommand]):
    """Serializes events into one Acd, hands every command to ``sink`` (which must not block)."""

    def __init__(self, acd: Acd, clock: Timebase, sink: Sink) -> None:
        super().__init__("acd", acd.handle, acd.next_wakeup, Tick, clock, sink)
        self.acd = acd

    def submit(self, event: AcdEvent) -> None:
        """Hand ``event`` to the engine now (or right after the event being handled)."""
        self.put(event)

    def configure(self, change: Callable[[float], list[AcdCommand]]) -> None:
        """Apply a configuration change (e.g. ``lambda now: acd.set_queue(cfg, now)``) in turn with events."""
        self.put(change)
