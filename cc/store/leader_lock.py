"""The leader lock of a standby pair: a PostgreSQL session advisory lock held on a dedicated connection.

Blocking calls only: cc.runtime.leadership runs every method in a worker thread, never in the gevent hub.
The lock lives as long as the connection's backend session: a killed process (its socket closes) or a
terminated backend (``pg_terminate_backend``) frees it, and the other process's ``pg_try_advisory_lock``
then succeeds. ``check`` proves the lock is still held by this session with a short statement timeout.
The lock's session carries the process's ``name`` as its application_name, so that the other process of the
pair can tell who leads (:meth:`AdvisoryLock.holder`, from pg_stat_activity).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine, make_url

from cc.errors import ConfigError

__all__ = ["AdvisoryLock"]

log = logging.getLogger(__name__)

_HOLDER = text("SELECT a.application_name, host(a.client_addr), extract(epoch FROM a.backend_start) "
               "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted "
               "AND l.pid <> pg_backend_pid() AND ((l.classid::bigint << 32) | l.objid::bigint) = :key LIMIT 1")
_HELD = text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid() "
             "AND ((classid::bigint << 32) | objid::bigint) = :key")


class AdvisoryLock:
    """``pg_try_advisory_lock(lock_id)`` on one connection of its own; every method blocks (run it in a thread)."""

    def __init__(self, url: str, lock_id: int, *, statement_timeout_ms: int = 500, connect_timeout_s: int = 2,
                 idle_session_timeout_ms: int | None = None, name: str = "cc-leader-lock") -> None:
        if make_url(url).get_backend_name() != "postgresql":
            raise ConfigError("a standby controller needs PostgreSQL (an advisory lock); SQLite runs one process")
        self.url = url
        self.lock_id = lock_id
        self.statement_timeout_ms = statement_timeout_ms
        self.connect_timeout_s = connect_timeout_s
        #: the server ends the lock's session (freeing the lock) when no check reached it for this long: a
        #: partitioned leader's lock is freed although its TCP connection looks alive to the server
        self.idle_session_timeout_ms = idle_session_timeout_ms
        #: the application_name of the lock's session (PostgreSQL keeps 63 bytes): who this process is
        self.name = name.encode()[:63].decode("utf-8", "ignore")
        self._engine: Engine | None = None
        self._conn: Connection | None = None
        self._mutex = threading.Lock()

    def _engine_for(self) -> Engine:
        from sqlalchemy import create_engine
        from sqlalchemy.pool import NullPool

        if self._engine is None:
            args: dict[str, Any] = {"connect_timeout": self.connect_timeout_s, "keepalives": 1,
                                    "keepalives_idle": 1, "keepalives_interval": 1, "keepalives_count": 2,
                                    "tcp_user_timeout": 2000, "application_name": self.name}
            self._engine = create_engine(self.url, poolclass=NullPool, connect_args=args)
        return self._engine

    def try_acquire(self, wait_s: float = 0.0) -> bool:
        """True when this process now holds the lock (opens the connection if needed).

        ``wait_s`` > 0 waits up to that long for the lock (``pg_advisory_lock`` under a ``lock_timeout``): the
        server grants it the moment the holder's session ends, so a standby takes the lock over at once instead of
        at its next try (about half a try interval sooner on average).
        """
        with self._mutex:
            if self._conn is None:
                conn = self._engine_for().connect().execution_options(isolation_level="AUTOCOMMIT")
                conn.execute(text(f"SET statement_timeout = {int(self.statement_timeout_ms)}"))
                if self.idle_session_timeout_ms:
                    try:
                        conn.execute(text(f"SET idle_session_timeout = {int(self.idle_session_timeout_ms)}"))
                    except Exception as exc:   # before PostgreSQL 14: only the server's TCP keepalives free it
                        log.warning("leader lock %d: idle_session_timeout not set (%s): a partitioned leader's "
                                    "lock is freed only by the server's TCP keepalives", self.lock_id, exc)
                self._conn = conn
            if wait_s <= 0:
                return bool(self._conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.lock_id}).scalar())
            return self._wait_for_lock(self._conn, int(wait_s * 1000))

    def _wait_for_lock(self, conn: Connection, wait_ms: int) -> bool:
        """``pg_advisory_lock`` bounded by ``lock_timeout``: False when the lock stayed taken that long."""
        from sqlalchemy.exc import OperationalError

        conn.execute(text(f"SET lock_timeout = {max(1, wait_ms)}"))
        conn.execute(text(f"SET statement_timeout = {max(1, wait_ms) + int(self.statement_timeout_ms)}"))
        try:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": self.lock_id})
            return True
        except OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) == "55P03":   # lock_not_available: the lock_timeout ran out
                return False
            raise
        finally:
            conn.execute(text("SET lock_timeout = 0"))
            conn.execute(text(f"SET statement_timeout = {int(self.statement_timeout_ms)}"))

    def check(self) -> bool:
        """True when the lock is still held by this connection's session (a failure of any kind is False)."""
        with self._mutex:
            if self._conn is None:
                return False
            try:
                return bool(self._conn.execute(_HELD, {"key": self.lock_id}).scalar())
            except Exception as exc:
                log.warning("leader lock %d: check failed: %s", self.lock_id, exc)
                self._drop()
                return False

    def holder(self) -> dict[str, Any] | None:
        """Who holds the lock when this process does not: its name (application_name), address and since when
        (epoch s); None when nobody does or the connection is not open. Errors are raised (run it in a thread)."""
        with self._mutex:
            if self._conn is None:
                return None
            row = self._conn.execute(_HOLDER, {"key": self.lock_id}).first()
        if row is None:
            return None
        return {"name": row[0] or "", "address": row[1] or "", "since": float(row[2]) if row[2] is not None else None}

    def backend_pid(self) -> int | None:
        """The PostgreSQL backend that holds the lock's session (tests terminate it to cut the lock)."""
        with self._mutex:
            if self._conn is None:
                return None
            return int(self._conn.execute(text("SELECT pg_backend_pid()")).scalar() or 0)

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.invalidate()
            except Exception:
                pass

    def release(self) -> None:
        """Close the connection (which frees the lock)."""
        with self._mutex:
            self._drop()
