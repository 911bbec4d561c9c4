"""Leadership of a standby pair: a transition table, and the greenlet that drives it with a lock in a thread.

States::

    STANDBY --ACQUIRED--> CANDIDATE --DELAY_DONE--> LEADER --UNCONFIRMED|STALE--> FENCED (final)
       ^                      |
       +--UNCONFIRMED|STALE---+        (a candidate has not acted yet: it may go back)

The lock is a PostgreSQL advisory lock (cc.store.leader_lock). A candidate waits ``takeover_after_s`` after
it got the lock before it leads; a leader may route only while its last confirmation of the lock was sent
less than ``fence_s`` ago, with ``fence_s`` < ``takeover_after_s``: the confirmation proves the lock was held
after it was sent, so whoever gets the lock next starts leading after the old leader stopped.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

import gevent
import gevent.threadpool

from cc.errors import InvalidTransition

__all__ = ["TRANSITIONS", "LeaderLock", "Leadership", "Role", "Signal", "next_role"]

log = logging.getLogger(__name__)


class Role(enum.Enum):
    """Where a controller stands in its pair."""

    STANDBY = "standby"
    CANDIDATE = "candidate"
    LEADER = "leader"
    FENCED = "fenced"


class Signal(enum.Enum):
    """What the lock and the clock tell the leadership."""

    ACQUIRED = "acquired"          # pg_try_advisory_lock succeeded
    NOT_ACQUIRED = "not_acquired"  # another session holds it
    CONFIRMED = "confirmed"        # the check saw the lock held by this session
    UNCONFIRMED = "unconfirmed"    # the check failed, timed out or saw the lock gone
    STALE = "stale"                # no confirmation within fence_s
    DELAY_DONE = "delay_done"      # a candidate held the lock for takeover_after_s


TRANSITIONS: dict[tuple[Role, Signal], Role] = {
    (Role.STANDBY, Signal.NOT_ACQUIRED): Role.STANDBY,
    (Role.STANDBY, Signal.UNCONFIRMED): Role.STANDBY,
    (Role.STANDBY, Signal.ACQUIRED): Role.CANDIDATE,
    (Role.CANDIDATE, Signal.CONFIRMED): Role.CANDIDATE,
    (Role.CANDIDATE, Signal.UNCONFIRMED): Role.STANDBY,
    (Role.CANDIDATE, Signal.STALE): Role.STANDBY,
    (Role.CANDIDATE, Signal.DELAY_DONE): Role.LEADER,
    (Role.LEADER, Signal.CONFIRMED): Role.LEADER,
    (Role.LEADER, Signal.UNCONFIRMED): Role.FENCED,
    (Role.LEADER, Signal.STALE): Role.FENCED,
}


def next_role(role: Role, signal: Signal) -> Role:
    """The role after ``signal``; a pair not in the table raises InvalidTransition."""
    try:
        return TRANSITIONS[(role, signal)]
    except KeyError:
        raise InvalidTransition(role.value, signal.value, "leadership") from None


class LeaderLock(Protocol):
    """What the leadership needs of a lock (blocking calls, run in a worker thread)."""

    def try_acquire(self, wait_s: float = 0.0) -> bool:
        """True when this process now holds the lock (waiting up to ``wait_s`` for it to be freed)."""

    def check(self) -> bool:
        """True when the lock is still held."""

    def release(self) -> None:
        """Let the lock go."""


class Leadership:
    """Drives the table: tries the lock while standing by, confirms it every ``check_interval_s`` after."""

    def __init__(self, lock: LeaderLock, *, check_interval_s: float = 1.0, takeover_after_s: float = 3.0,
                 fence_s: float = 2.0, on_lead: Callable[[], None] | None = None,
                 on_fenced: Callable[[], None] | None = None, monotonic: Callable[[], float] = time.monotonic,
                 call: Callable[[Callable[[], bool], float], bool] | None = None,
                 acquire_wait_s: float = 0.0) -> None:
        if not fence_s < takeover_after_s:
            raise ValueError("fence_s must be shorter than takeover_after_s")
        self.lock = lock
        self.check_interval_s = check_interval_s
        self.takeover_after_s = takeover_after_s
        self.fence_s = fence_s
        #: a standby's try waits this long for the lock (0: tries it and answers at once)
        self.acquire_wait_s = acquire_wait_s
        self.on_lead = on_lead
        self.on_fenced = on_fenced
        self.monotonic = monotonic
        #: threads of its own: a hub thread pool full of slow database calls must not delay the lock's checks
        self._pool: gevent.threadpool.ThreadPool | None = None
        self.call = call if call is not None else self._in_thread
        self.role = Role.STANDBY
        self.acquired_at: float | None = None
        self.confirmed_at: float | None = None   # when the last successful check was SENT
        self.led_at: float | None = None
        self.fenced_at: float | None = None
        #: who leads while this process stands by (the lock's ``holder()``: name, address, since), from memory
        self.leader: dict[str, Any] | None = None
        #: times this process started to lead
        self.takeovers = 0
        self._greenlet: gevent.Greenlet | None = None

    def may_act(self) -> bool:
        """True while this process leads with a fresh confirmation (checked before each routing decision)."""
        return (self.role is Role.LEADER and self.confirmed_at is not None
                and self.monotonic() - self.confirmed_at < self.fence_s)

    def feed(self, signal: Signal) -> Role:
        """Apply ``signal``; runs the lead / fenced callbacks on entering those roles."""
        before = self.role
        self.role = next_role(before, signal)
        if self.role is before:
            return self.role
        log.warning("leadership: %s -> %s (%s)", before.value, self.role.value, signal.value)
        if self.role is Role.CANDIDATE:
            self.acquired_at = self.confirmed_at
        elif self.role is Role.LEADER:
            self.led_at = self.monotonic()
            self.takeovers += 1
            self.leader = None
            if self.on_lead is not None:
                self.on_lead()
        elif self.role is Role.FENCED:
            self.fenced_at = self.monotonic()
            if self.on_fenced is not None:
                self.on_fenced()
        return self.role

    def step(self) -> Role:
        """One turn: try or confirm the lock (bounded), then apply what it and the clock say."""
        if self.role is Role.FENCED:
            return self.role
        sent = self.monotonic()
        bound = max(0.05, self.fence_s - self.check_interval_s) if self.role is not Role.STANDBY else self.fence_s
        if self.role is Role.STANDBY:
            wait = self.acquire_wait_s
            ok = self.call(lambda: self.lock.try_acquire(wait) if wait > 0 else self.lock.try_acquire(), bound + wait)
            if ok:
                # a waiting try may have got the lock any time before it answered: the candidate's delay counts from
                # the answer (a later start, never one before the old leader's last confirmation)
                self.confirmed_at = self.monotonic() if wait > 0 else sent
            else:
                self._look_up_leader(bound)
            return self.feed(Signal.ACQUIRED if ok else Signal.NOT_ACQUIRED)
        ok = self.call(self.lock.check, bound)
        if ok:
            self.confirmed_at = sent
            self.feed(Signal.CONFIRMED)
        else:
            return self.feed(Signal.UNCONFIRMED)
        if self.role is Role.CANDIDATE and self.acquired_at is not None \
                and self.monotonic() - self.acquired_at >= self.takeover_after_s:
            return self.feed(Signal.DELAY_DONE)
        return self.role

    def _look_up_leader(self, bound: float) -> None:
        """Ask the lock who holds it (a lock without ``holder`` cannot tell); kept in :attr:`leader`."""
        holder = getattr(self.lock, "holder", None)
        if holder is None:
            return
        found: list[dict[str, Any] | None] = []

        def ask() -> bool:
            found.append(holder())
            return True

        if self.call(ask, bound) and found:
            self.leader = found[0]

    def start(self) -> None:
        """Run the loop in a greenlet of its own (its blocking calls in worker threads)."""
        self._greenlet = gevent.spawn(self._run)

    def _run(self) -> None:
        while self.role is not Role.FENCED:
            t0 = self.monotonic()
            try:
                self.step()
            except Exception:
                log.exception("leadership: step failed")
                self.feed(Signal.UNCONFIRMED)
            if self.role is Role.LEADER and not self.may_act():
                self.feed(Signal.STALE)
            pause = self.check_interval_s
            if self.role is Role.CANDIDATE and self.acquired_at is not None:
                pause = min(pause, max(0.0, self.acquired_at + self.takeover_after_s - self.monotonic()))
            gevent.sleep(max(0.0, pause - (self.monotonic() - t0)))

    def wait_leading(self, timeout: float | None = None) -> bool:
        """Block the calling greenlet until this process leads (False when fenced or timed out)."""
        deadline = None if timeout is None else self.monotonic() + timeout
        while self.role is not Role.LEADER:
            if self.role is Role.FENCED:
                return False
            left = None if deadline is None else deadline - self.monotonic()
            if left is not None and left <= 0:
                return False
            gevent.sleep(0.05 if left is None else min(left, 0.05))
        return True

    def stop(self) -> None:
        """Stop the loop and let the lock go (in a thread)."""
        if self._greenlet is not None:
            self._greenlet.kill(block=False)
            self._greenlet = None
        try:
            self.call(self._release, 2.0)
        except Exception:
            log.warning("leadership: releasing the lock failed", exc_info=True)

    def _release(self) -> bool:
        self.lock.release()
        return True

    def _in_thread(self, fn: Callable[[], bool], timeout: float) -> bool:
        """Run ``fn`` in the leadership's own threads; False when it raised or did not answer within ``timeout``."""
        if self._pool is None:
            self._pool = gevent.threadpool.ThreadPool(3)
        return _wait(self._pool.spawn(fn), timeout)


def _wait(res: Any, timeout: float) -> bool:
    """The result of a thread's call, or False when it raised or did not answer within ``timeout``."""
    try:
        return bool(res.get(timeout=timeout))
    except gevent.Timeout:
        log.warning("leadership: the lock did not answer within %.2f s", timeout)
        return False
    except Exception as exc:
        log.warning("leadership: the lock failed: %s", exc)
        return False
