"""Time as a dependency: the Clock protocol, the system clock, and a fake clock for tests."""

from __future__ import annotations

import time
from typing import Protocol

__all__ = ["Clock", "FakeClock", "SystemClock"]


class Clock(Protocol):
    """Something that tells the time in seconds since the Unix epoch (UTC)."""

    def now(self) -> float:
        """Return the current time in seconds since the epoch."""
        ...


class SystemClock:
    """The real wall clock; only composition roots and I/O layers construct one."""

    def now(self) -> float:
        """Return ``time.time()``."""
        return time.time()


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
