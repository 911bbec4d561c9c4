"""The channel of a standby pair's hook events: PostgreSQL LISTEN/NOTIFY on a connection of its own.

Blocking: run it in a thread of its own, never in the gevent hub. Payloads (cc.runtime.event_wire) go as
bound parameters of ``SELECT pg_notify($1, p) FROM unnest($2::text[])`` (one round trip for a batch, never
spliced into the SQL text); the publishing session asks the server not to log its statements and their
parameters (superuser settings: without the right the server logs as it is configured, see
docs/operations.md). cc's own log lines name counts and errors, never a payload.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.engine import make_url

from cc.errors import ConfigError

__all__ = ["NotifyChannel", "channel_name"]

log = logging.getLogger(__name__)


def channel_name(lock_id: int) -> str:
    """The channel of the pair whose leader lock is ``lock_id`` (two pairs on one database never mix)."""
    return f"cc_events_{lock_id:x}"


def _conninfo(url: str) -> str:
    """A libpq URI for SQLAlchemy's ``postgresql+psycopg://...``."""
    u = make_url(url)
    if u.get_backend_name() != "postgresql":
        raise ConfigError("the event relay of a standby pair needs PostgreSQL (LISTEN/NOTIFY)")
    return u.set(drivername="postgresql").render_as_string(hide_password=False)


#: Settings the publishing session tries (superuser only): the server logs no statement or parameter of it.
_QUIET = ("SET log_statement = 'none'", "SET log_min_duration_statement = -1", "SET log_parameter_max_length = 0",
          "SET log_parameter_max_length_on_error = 0")


class NotifyChannel:
    """One PostgreSQL channel on a connection of its own (blocking: call it from one thread)."""

    def __init__(self, url: str, channel: str, *, name: str = "cc-events", connect_timeout_s: int = 2) -> None:
        self.conninfo = _conninfo(url)
        self.channel = channel
        self.name = name.encode()[:63].decode("utf-8", "ignore")
        self.connect_timeout_s = connect_timeout_s
        self._conn: Any = None
        self.quiet = False   #: the publishing session could turn the server's statement log off

    def _connect(self) -> Any:
        import psycopg

        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self.conninfo, autocommit=True, connect_timeout=self.connect_timeout_s,
                                         application_name=self.name, keepalives=1, keepalives_idle=5,
                                         keepalives_interval=2, keepalives_count=3)
        return self._conn

    def publish(self, payloads: Sequence[str]) -> None:
        """Send ``payloads`` in order in one round trip (a failure drops the connection and raises)."""
        if not payloads:
            return
        fresh = self._conn is None or self._conn.closed
        try:
            conn = self._connect()
            if fresh:
                self._quiet(conn)
            conn.execute("SELECT pg_notify(%s, p) FROM unnest(%s::text[]) AS p", (self.channel, list(payloads)))
        except Exception:
            self.close()
            raise

    def _quiet(self, conn: Any) -> None:
        import psycopg

        done = 0
        for stmt in _QUIET:
            try:
                conn.execute(stmt)
                done += 1
            except psycopg.Error:
                pass
        self.quiet = done == len(_QUIET)
        if not self.quiet:
            log.info("event relay: the server's statement log settings stay as configured for the publishing "
                     "session (not a superuser); see docs/operations.md")

    def listen(self, on_payload: Callable[[str], None], stop: threading.Event, *,
               on_connect: Callable[[], None] | None = None, poll_s: float = 0.5, retry_s: float = 1.0) -> None:
        """LISTEN and hand each payload to ``on_payload`` until ``stop`` is set; reconnects after a failure
        (``on_connect`` runs on each connection: what was sent while there was none is lost)."""
        import psycopg

        while not stop.is_set():
            try:
                conn = self._connect()
                conn.execute(f'LISTEN "{self.channel}"')
                if on_connect is not None:
                    on_connect()
                while not stop.is_set():
                    for n in conn.notifies(timeout=poll_s):
                        on_payload(n.payload)
            except psycopg.Error as exc:
                log.warning("event relay: listening on %s failed (%s); again in %.1f s", self.channel,
                            type(exc).__name__, retry_s)
                self.close()
                stop.wait(retry_s)
        self.close()

    def close(self) -> None:
        """Close the connection (safe to call twice)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:
                pass
