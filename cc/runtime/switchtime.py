"""When something happened on a switch, on the controller's clock: event times mapped by a minimum offset.

cc stamps its history when it handles an event. A stall of the controller (CPU starved beside a real-time
FreeSWITCH, a SIGSTOP) would then stretch every talk and end by the stall's length. The switch stamps each
event itself (``Event-Date-Timestamp``, microseconds, on every event: tests/data/esl-captures), so the
time of an event on the controller's clock is that stamp plus the offset between the two clocks. The
offset is estimated as the smallest ``now - stamp`` seen (the event that reached the controller fastest;
a late event only ever makes the difference larger), and it is allowed to grow slowly so that a clock step
on either side is followed.
"""

from __future__ import annotations

from cc.esl.protocol import Event

__all__ = ["SwitchTime"]

#: how fast the estimate may grow on its own (seconds of offset per second of the controller's clock)
AGE_PER_S = 0.001


class SwitchTime:
    """The offset between one switch's event stamps and the controller's clock (seconds)."""

    __slots__ = ("_at", "offset")

    def __init__(self) -> None:
        self.offset: float | None = None
        self._at = 0.0

    @staticmethod
    def stamp(ev: Event) -> float | None:
        """The event's own time (``Event-Date-Timestamp``) in seconds, or None when it has none."""
        v = ev.header("Event-Date-Timestamp")
        if not v or not v.isdigit():
            return None
        return int(v) / 1e6

    def observe(self, ev: Event, now: float) -> float | None:
        """Take ``ev`` (handled at ``now``) into the estimate; returns its stamp."""
        t = self.stamp(ev)
        if t is None:
            return None
        sample = now - t
        off = self.offset
        if off is not None:
            off += max(0.0, now - self._at) * AGE_PER_S
        if off is None or sample < off:
            off = sample
        self.offset, self._at = off, now
        return t

    def local(self, ev: Event, now: float) -> float:
        """When ``ev`` happened, on the controller's clock (``now`` when the event carries no stamp)."""
        t = self.observe(ev, now)
        if t is None or self.offset is None:
            return now
        return min(now, t + self.offset)
