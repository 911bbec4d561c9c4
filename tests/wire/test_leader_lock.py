"""The leader lock on PostgreSQL: a waiting try is granted the lock as soon as its holder's session ends."""

from __future__ import annotations

import random

import gevent
import pytest
from sqlalchemy import text

from cc.store.leader_lock import AdvisoryLock

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(60)]


def test_a_waiting_try_gets_the_lock_when_the_holder_lets_it_go(pg_url: str) -> None:
    lock_id = random.randint(1, 2**31 - 1)
    holder, waiter = AdvisoryLock(pg_url, lock_id, name="holder"), AdvisoryLock(pg_url, lock_id, name="waiter")
    pool = gevent.get_hub().threadpool
    try:
        assert pool.spawn(holder.try_acquire).get(timeout=10)
        # held: a short wait runs out and says so; the connection is usable afterwards (its timeouts restored)
        assert pool.spawn(waiter.try_acquire, 0.2).get(timeout=10) is False
        assert pool.spawn(waiter.try_acquire).get(timeout=10) is False
        # a long wait (40 s, beyond this test's own limit) ends as soon as the holder's session does
        waiting = pool.spawn(waiter.try_acquire, 40.0)
        gevent.sleep(0.3)
        assert not waiting.ready()
        pool.spawn(holder.release).get(timeout=10)
        assert waiting.get(timeout=30) is True
        assert pool.spawn(waiter.check).get(timeout=10) is True
        # its statement timeout is the short one again: a check does not wait 40 s
        conn = waiter._conn
        assert conn is not None
        assert pool.spawn(lambda: conn.execute(text("SHOW statement_timeout")).scalar()).get(timeout=10) == "500ms"
    finally:
        for lk in (holder, waiter):
            pool.spawn(lk.release).get(timeout=10)
