"""The retention job inside `ccctl serve`: a greenlet that hands each run to a worker thread.

The greenlet only sleeps and waits; every database call and file deletion of the job runs in gevent's
thread pool, never in the hub. A run that fails is logged and retried at the next interval; stopping
asks the running job to stop after its current batch.
"""

from __future__ import annotations

import logging

import gevent
import gevent.event

from cc.privacy.retention import RetentionJob

__all__ = ["RetentionTask"]

log = logging.getLogger(__name__)


class RetentionTask:
    """Runs ``job`` every ``policy.interval_s`` (the first run after ``first_after_s``) in a worker thread."""

    def __init__(self, job: RetentionJob, *, first_after_s: float = 60.0) -> None:
        self.job = job
        self.first_after_s = first_after_s
        self.runs = 0
        self.failures = 0
        self.rows = 0
        self._stop = gevent.event.Event()
        self._greenlet: gevent.Greenlet | None = None

    def start(self) -> None:
        """Start the periodic runs (no-op when no data type has a period)."""
        if self._greenlet is None and self.job.policy.active:
            self._stop.clear()
            self.job.stop_requested = False
            self._greenlet = gevent.spawn(self._loop)

    def _loop(self) -> None:
        wait = self.first_after_s
        while not self._stop.wait(wait):
            wait = self.job.policy.interval_s
            self.run_once()

    def run_once(self) -> None:
        """One run in the thread pool; the calling greenlet waits for it (the hub goes on)."""
        try:
            result = gevent.get_hub().threadpool.spawn(self.job.run).get()
        except Exception as exc:   # a database outage: the next interval tries again
            self.failures += 1
            log.warning("retention: run failed: %s", exc)
            return
        self.runs += 1
        self.rows += result.rows
        if result.rows:
            log.info("retention: %d rows deleted, %d recording files", result.rows,
                     sum(t.files_deleted for t in result.types))

    def stop(self) -> None:
        """Stop the runs; a run in progress ends after its current batch."""
        self._stop.set()
        self.job.stop_requested = True
        g, self._greenlet = self._greenlet, None
        if g is not None:
            g.join(timeout=30)
