"""Drives one campaign's pure Dialer from gevent: events one at a time, commands to a sink, one timer.

Like the ACD's driver: ``Dialer.handle`` is synchronous and never yields, so under gevent each call is
atomic; the driver keeps the order (an event submitted while commands are being carried out waits its
turn) and sleeps until ``Dialer.next_wakeup()`` (calls due, timers, the predictive pacing interval).
The mechanics are cc.runtime.core_driver's, shared with the ACD's driver.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from cc.dialer import Dialer, DialerCommand, DialerEvent, Tick
from cc.runtime.core_driver import CoreDriver, OnError
from cc.runtime.timebase import Timebase

__all__ = ["DialerDriver"]

Sink = Callable[[DialerCommand], None]


class DialerDriver(CoreDriver[DialerEvent, DialerCommand]):
    """Serializes events into one Dialer and hands every command to ``sink`` (which must not block)."""

    def __init__(self, dialer: Dialer, clock: Timebase, sink: Sink) -> None:
        super().__init__(f"dialer {dialer.settings.campaign_id}", dialer.handle, dialer.next_wakeup, Tick, clock,
                         sink, due_sleep=0.001)
        self.dialer = dialer

    def submit(self, event: DialerEvent, on_error: OnError | None = None) -> None:
        """Hand ``event`` to the dialer now (or right after the one being handled); ``on_error`` hears a refusal."""
        self.put(event, on_error)

    def call(self, fn: Callable[[float], list[DialerCommand]]) -> None:
        """Run ``fn(now)`` (which may call the dialer and returns its commands) in turn with the events."""
        self.put(fn)

    def settle(self, live_uuids: Collection[str]) -> None:
        """The reconciler's path: open attempts whose channel is not in ``live_uuids`` end now (Dialer.settle)."""
        live = frozenset(live_uuids)
        self.put(lambda now: self.dialer.settle(live, now))
