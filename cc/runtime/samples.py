"""A fixed window of the newest float samples, in memory allocated once (no growth as samples come)."""

from __future__ import annotations

from array import array
from collections.abc import Iterator

__all__ = ["Samples"]


class Samples:
    """The newest ``capacity`` floats, oldest first when iterated: 8 bytes a sample, reserved at creation.

    A ``collections.deque(maxlen=N)`` of floats costs ~32 bytes a sample and grows to it as samples come, which a
    soak reads as a leak for hours; this costs 8 bytes a sample from the start.
    """

    __slots__ = ("_buf", "_next", "_size")

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._buf = array("d", bytes(8 * capacity))
        self._next = 0     # where the next sample goes
        self._size = 0

    @property
    def capacity(self) -> int:
        """How many samples the window keeps."""
        return len(self._buf)

    def append(self, value: float) -> None:
        """Add the newest sample (the oldest one goes when the window is full)."""
        self._buf[self._next] = value
        self._next = (self._next + 1) % len(self._buf)
        if self._size < len(self._buf):
            self._size += 1

    def clear(self) -> None:
        """Forget every sample (the memory stays reserved)."""
        self._next = 0
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[float]:
        start = (self._next - self._size) % len(self._buf)
        for i in range(self._size):
            yield self._buf[(start + i) % len(self._buf)]
