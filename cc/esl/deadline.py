"""Stall-aware waits: a command timeout counts only the time the process could run, not a starved moment.

When the hub is blocked or the process gets no CPU (FreeSWITCH at real-time priority beside it, a
``SIGSTOP``), a plain ``get(timeout=10)`` fires as soon as the process runs again, although the reply
may already sit in the socket unread. :func:`wait_result` waits in slices and measures how late each
slice woke up: that lateness is a stall of the process, and the deadline moves by it. A switch that is
really slow still times out after ``timeout`` seconds of time the process had.
"""

from __future__ import annotations

import time
from typing import Any

import gevent
import gevent.event

__all__ = ["StallTimeout", "wait_result"]

#: how late a slice may wake up before the lateness counts as a stall (scheduling noise)
TOLERANCE_S = 0.05


class StallTimeout(Exception):
    """No result within the timeout (stalls of the process not counted)."""

    def __init__(self, timeout: float, stalled_s: float) -> None:
        super().__init__(f"no result within {timeout} s (plus {stalled_s:.1f} s the process was stalled)")
        self.timeout = timeout
        self.stalled_s = stalled_s


def wait_result(ar: gevent.event.AsyncResult, timeout: float | None) -> Any:
    """``ar.get()`` bounded by ``timeout`` s of time the process was able to run; StallTimeout after that.

    The result's own exception is raised as is. ``None`` waits forever.
    """
    if timeout is None:
        return ar.get()
    left = float(timeout)
    stalled = 0.0
    piece = max(0.05, timeout / 8)
    while True:
        want = min(piece, left) if left > 0 else 0.0
        t0 = time.monotonic()
        try:
            return ar.get(timeout=want)
        except gevent.Timeout:
            pass
        took = time.monotonic() - t0
        late = took - want
        if late > TOLERANCE_S:
            stalled += late
            took = want
        left -= took
        if left <= 0:
            if ar.ready():
                return ar.get()
            if late > TOLERANCE_S:
                gevent.sleep(0)   # the reply may be read right now: give the reader one turn first
                if ar.ready():
                    return ar.get()
            raise StallTimeout(timeout, stalled)
