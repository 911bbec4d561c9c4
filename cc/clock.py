"""Time as a dependency: the Clock protocol, the system clock, and a fake clock for tests."""

from __future__ import annotations

import time
from typing import Protocol

__all__ = ["Clock", "FakeClock", "ScaledClock", "SystemClock"]


class Clock(Protocol):
    """Something that tells the time in seconds since the Unix epoch (UTC)."""

    def now(self) -> float:
        """Return the current time in seconds since the epoch."""
        ...


class SystemClock:
    """The real wall clock; only composition roots and I/O layers construct one."""

    scale = 1.0

    def now(self) -> float:
        """Return ``time.time()``."""
        return time.time()

    def real(self, seconds: float) -> float:
        """Wall-clock seconds for ``seconds`` of this clock's time: the same."""
        return seconds


class ScaledClock:
    """Simulated time that runs ``1/scale`` times faster than the wall clock (scale 0.01: an hour in 36 s).

    The controller runs on one when it drives the simulator at a time scale, so that queue timers, wrap-up
    and the times written to history are in simulated seconds, like the simulator's own durations.
    """

    def __init__(self, scale: float = 1.0, start: float | None = None) -> None:
        if not scale > 0:
            raise ValueError("the time scale must be > 0")
        self.scale = float(scale)
        self._real0 = time.time()
        self._sim0 = self._real0 if start is None else float(start)

    def now(self) -> float:
        """Return the simulated time in seconds since the epoch."""
        return self._sim0 + (time.time() - self._real0) / self.scale

    def real(self, seconds: float) -> float:
        """How many wall-clock seconds ``seconds`` of simulated time take."""
        return seconds * self.scale


class FakeClock:
    """A clock that moves only when told to; for pure-core tests and virtual-time simulation."""

    def __init__(self, start: float = 1_767_225_600.0) -> None:  # 2026-01-01T00:00:00Z
        self._now = float(start)

    def now(self) -> float:
        """Return the fake current time."""
        return self._now

    def advance(self, seconds: float) -> float:
        """Move time forward by ``seconds`` (never backwards) and return the new time."""
        if seconds < 0:
            raise ValueError("a FakeClock never goes backwards")
        self._now += seconds
        return self._now

    def set(self, when: float) -> None:
        """Jump to ``when``, which must not be earlier than now."""
        if when < self._now:
            raise ValueError("a FakeClock never goes backwards")
        self._now = float(when)
