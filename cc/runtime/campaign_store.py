"""The campaign runtime's store work, off the gevent hub: writes in order on one thread, reads in the pool.

The dialer's commands (a dial attempt's row, a lead's progress, a DNC number, a callback) are written by
one native thread in the order they were given, so that an attempt's row is never overwritten by an older
version of itself and a lead's progress never goes back. A write that fails (the database is down) is
retried with backoff for ``retry_s`` seconds, then logged and dropped (the reconciler's next start-up pass
settles an attempt whose result row was lost: docs/dialer.md, runtime). Reads (the campaign and its leads
at start, a customer's record and history for an agent's screen) run in gevent's thread pool.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

import gevent

from cc.errors import CCError, DatabaseUnavailable
from cc.runtime.blocking import offload

__all__ = ["CampaignWrites", "offload"]

log = logging.getLogger(__name__)



class CampaignWrites:
    """One native thread writing the campaign runtime's records in the order they were submitted."""

    def __init__(self, *, retry_s: float = 60.0) -> None:
        self.retry_s = retry_s
        self._q: queue.Queue[tuple[str, Callable[[], object]] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._idle = threading.Event()
        self._idle.set()
        self.written = 0
        self.failed = 0

    def start(self) -> None:
        """Start the writing thread."""
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="cc-campaign-writes", daemon=True)
            self._thread.start()

    def submit(self, what: str, fn: Callable[[], object]) -> None:
        """Write ``fn()`` after everything submitted before it (never blocks the caller)."""
        self._idle.clear()
        self._q.put((what, fn))

    @property
    def backlog(self) -> int:
        """Writes waiting."""
        return self._q.qsize()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait (polling, hub-friendly) until every submitted write is done; False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._q.empty() and self._idle.is_set():
                return True
            gevent.sleep(0.01)
        return False

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued and stop the thread."""
        self.flush(timeout)
        self._q.put(None)
        if self._thread is not None:
            self._thread.join(timeout=1.0)
            self._thread = None

    def _run(self) -> None:
        while True:
            if self._q.empty():
                self._idle.set()
            item = self._q.get()
            if item is None:
                self._idle.set()
                return
            self._idle.clear()
            what, fn = item
            deadline = time.monotonic() + self.retry_s
            delay = 0.05
            while True:
                try:
                    fn()
                    self.written += 1
                    break
                except CCError as exc:
                    if time.monotonic() >= deadline or not _transient(exc):
                        self.failed += 1
                        log.error("campaign store: %s not written: %s", what, exc)
                        break
                    time.sleep(delay)
                    delay = min(delay * 2, 2.0)
                except Exception:
                    self.failed += 1
                    log.exception("campaign store: %s failed", what)
                    break


def _transient(exc: CCError) -> bool:
    """Whether a store error may go away by itself (the database is unreachable), worth a retry."""
    return isinstance(exc, DatabaseUnavailable)
