"""The time the controller runs on: now() in seconds, and how long that is on the wall clock."""

from __future__ import annotations

from typing import Protocol

__all__ = ["Timebase"]


class Timebase(Protocol):
    """A clock the runtime can also sleep on: SystemClock (scale 1) or ScaledClock (simulated time)."""

    scale: float

    def now(self) -> float:
        """Current time in seconds since the epoch (simulated when scaled)."""
        ...

    def real(self, seconds: float) -> float:
        """Wall-clock seconds that ``seconds`` of this clock's time take."""
        ...
