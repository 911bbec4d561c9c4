"""The leadership of a standby pair: its transition table (exhaustively) and its driver with a fake lock and clock."""

from __future__ import annotations

import itertools

import pytest

from cc.config import load_config
from cc.errors import ConfigError, InvalidTransition
from cc.runtime.leadership import TRANSITIONS, Leadership, Role, Signal, next_role

S, C, L, F = Role.STANDBY, Role.CANDIDATE, Role.LEADER, Role.FENCED
EXPECTED = {
    (S, Signal.NOT_ACQUIRED): S, (S, Signal.UNCONFIRMED): S, (S, Signal.ACQUIRED): C,
    (C, Signal.CONFIRMED): C, (C, Signal.UNCONFIRMED): S, (C, Signal.STALE): S, (C, Signal.DELAY_DONE): L,
    (L, Signal.CONFIRMED): L, (L, Signal.UNCONFIRMED): F, (L, Signal.STALE): F,
}


@pytest.mark.parametrize(("role", "signal"), list(itertools.product(Role, Signal)))
def test_table_every_pair(role: Role, signal: Signal) -> None:
    """Every (role, signal) pair: the expected role, or InvalidTransition (a fenced controller never comes back)."""
    if (role, signal) in EXPECTED:
        assert next_role(role, signal) is EXPECTED[(role, signal)]
    else:
        with pytest.raises(InvalidTransition):
            next_role(role, signal)
    assert TRANSITIONS == EXPECTED


class FakeLock:
    """A lock whose answers the test sets; ``None`` stands for a call that does not answer in time."""

    def __init__(self) -> None:
        self.free = True
        self.held = False
        self.answers = True

    def try_acquire(self) -> bool:
        """Take the lock when it is free."""
        if self.free:
            self.free, self.held = False, True
        return self.held

    def check(self) -> bool:
        """Held, unless the connection is cut."""
        return self.held and self.answers

    def release(self) -> None:
        """Free it."""
        self.free, self.held = True, False


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def make(lock: FakeLock, clock: Clock, events: list[str]) -> Leadership:
    return Leadership(lock, check_interval_s=1.0, takeover_after_s=3.0, fence_s=2.0, monotonic=clock,
                      call=lambda fn, _t: fn(), on_lead=lambda: events.append("lead"),
                      on_fenced=lambda: events.append("fenced"))


def test_standby_takes_over_after_the_delay_only() -> None:
    """The lock is held by another: standby; freed: candidate, which leads once it held it takeover_after_s."""
    lock, clock, events = FakeLock(), Clock(), []
    lock.free = False
    ld = make(lock, clock, events)
    assert ld.step() is S and not ld.may_act()
    lock.free = True
    assert ld.step() is C and not ld.may_act()
    for _ in range(2):
        clock.t += 1.0
        assert ld.step() is C and not ld.may_act()
    clock.t += 1.0
    assert ld.step() is L and ld.may_act()
    assert events == ["lead"]


def test_leader_fenced_before_a_successor_leads() -> None:
    """A leader whose check fails is fenced; may_act is False once the last confirmation is fence_s old, which
    is before any other process can lead (it needs takeover_after_s > fence_s after getting the lock)."""
    lock, clock, events = FakeLock(), Clock(), []
    ld = make(lock, clock, events)
    ld.step()
    clock.t += 3.0
    ld.step()
    assert ld.role is L
    confirmed = ld.confirmed_at
    assert confirmed is not None
    clock.t += 1.9   # no check ran (the hub was busy): still within the fence
    assert ld.may_act()
    clock.t += 0.1
    assert not ld.may_act()   # stops on its own, before the check even runs
    lock.answers = False
    assert ld.step() is F
    assert events == ["lead", "fenced"]
    assert ld.step() is F   # final
    lock.release()
    lock.answers = True      # the lock is free now: a successor leads takeover_after_s after it got it
    other = make(lock, clock, [])
    other.step()
    clock.t += 3.0
    other.step()
    assert other.role is L and other.led_at is not None and other.led_at - confirmed >= 3.0 > ld.fence_s


def test_candidate_that_loses_the_lock_stands_by_again() -> None:
    """A candidate never acted: losing the lock sends it back to standby, from where it tries again."""
    lock, clock, events = FakeLock(), Clock(), []
    ld = make(lock, clock, events)
    assert ld.step() is C
    lock.answers = False
    clock.t += 1.0
    assert ld.step() is S
    assert events == []


def test_fence_must_be_shorter_than_takeover() -> None:
    """A configuration where the old leader could still act when the new one starts is refused."""
    with pytest.raises(ValueError):
        Leadership(FakeLock(), fence_s=3.0, takeover_after_s=3.0)


def test_config_refuses_a_standby_on_sqlite() -> None:
    """ha.role auto on SQLite: a ConfigError that says why (one process, no lock)."""
    with pytest.raises(ConfigError, match="SQLite"):
        load_config(text="database: sqlite:///cc.db\nha: {role: auto}\n")
    cfg = load_config(text="database: postgresql+psycopg://x@h/db\nha: {role: auto, lock_id: 7, takeover_after: 3s}\n")
    assert cfg.ha.role == "auto" and cfg.ha.lock_id == 7 and cfg.ha.takeover_after_s == 3.0


class WaitingLock(FakeLock):
    """A lock whose try waits: it is freed (and got) ``frees_after`` seconds into the try."""

    def __init__(self, clock: Clock, frees_after: float) -> None:
        super().__init__()
        self.clock, self.frees_after, self.waits = clock, frees_after, []

    def try_acquire(self, wait_s: float = 0.0) -> bool:
        """Wait for the lock like pg_advisory_lock under a lock_timeout."""
        self.waits.append(wait_s)
        if not self.free and self.frees_after <= wait_s:
            self.clock.t += self.frees_after
            self.free = True
        return super().try_acquire()


def test_a_waiting_try_counts_the_delay_from_its_answer_not_from_when_it_was_sent() -> None:
    """The waiting try may have got the lock any time before it answered: the candidate leads takeover_after_s
    after the answer, so never before the old leader's last confirmation + fence_s."""
    clock, events = Clock(), []
    lock = WaitingLock(clock, frees_after=0.8)
    lock.free = False
    ld = Leadership(lock, check_interval_s=1.0, takeover_after_s=3.0, fence_s=2.0, monotonic=clock,
                    call=lambda fn, _t: fn(), on_lead=lambda: events.append("lead"), acquire_wait_s=1.0)
    sent = clock.t
    assert ld.step() is C and lock.waits == [1.0]
    assert ld.acquired_at == pytest.approx(sent + 0.8)
    clock.t = sent + 3.5   # 3 s after the send, but not after the answer
    assert ld.step() is C and not events
    clock.t = sent + 0.8 + 3.0
    assert ld.step() is L and events == ["lead"]
