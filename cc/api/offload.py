"""The API's database work off the gevent hub: store calls in native threads with a bound, health and tokens in memory.

psycopg and SQLite block the thread that calls them. Run in the hub, one slow or partitioned database
freezes every call of the controller; so every repository call of the API goes through :class:`Offload`
(gevent's thread pool, the waiting greenlet gives up after a bound), and what the API needs on every
request (the database's state for ``/healthz``; the bearer tokens, users, grants, roles and the org tree the
permission decision reads) is kept in memory by :class:`StoreWatch`, refreshed in the background, so that
no request waits for the database once warm and the control plane keeps working through a database outage.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

import gevent
import gevent.event

from cc.api.auth import Caller
from cc.authz import CyclicTree, Directory
from cc.errors import DatabaseUnavailable, StoreError
from cc.runtime.blocking import in_pool, offload, outcome
from cc.store.db import Database, current_revision
from cc.store.tokens import TokenRepo, hash_secret
from cc.store.users import UserRepo

__all__ = ["Offload", "StoreWatch"]

log = logging.getLogger(__name__)

T = TypeVar("T")


class Offload:
    """Runs blocking store calls in gevent's thread pool (cc.runtime.blocking); the calling greenlet waits
    ``timeout_s`` at most."""

    def __init__(self, timeout_s: float = 3.0) -> None:
        self.timeout_s = timeout_s

    def run(self, fn: Callable[[], T], what: str, timeout_s: float | None = None) -> T:
        """``fn()`` in a native thread; DatabaseUnavailable when it does not return in time (it may go on)."""
        return offload(fn, self.timeout_s if timeout_s is None else timeout_s, f"{what}: the database")


class StoreWatch:
    """The database's state and the permission directory with the API tokens, checked in the background and
    read from memory.

    Every ``every_s`` a greenlet asks the database for its revision and the whole directory (users, grants,
    roles, units, agents' units, token hashes) in the thread pool, one check at a time (a check that hangs is
    not piled on), and swaps the new :class:`~cc.authz.Directory` in whole. ``/healthz`` reports what the last
    check found; :meth:`verify` answers from memory, and asks the database only for a secret it does not know.
    """

    def __init__(self, db: Database, tokens: TokenRepo, offload: Offload, *, every_s: float = 5.0,
                 users: UserRepo | None = None) -> None:
        self.db = db
        self.tokens = tokens
        self.users = users if users is not None else UserRepo(db)
        self.offload = offload
        self.every_s = every_s
        self.available: bool | None = None   # None: not checked yet
        self.revision: str | None = None
        self.error: str | None = None
        self.checked_at: float | None = None   # wall-clock time of the last answer (or failure)
        self.tokens_at: float | None = None
        #: the permission decision's data; replaced whole by each check (a request reads one consistent copy)
        self.directory = Directory()
        self._tokens: dict[str, tuple[str, int]] = {}   # sha256 -> (token name, user id)
        #: the names of the tokens known valid (an event stream ends its flow when its token is revoked)
        self.token_names: frozenset[str] = frozenset()
        self._check: Any = None                # the check in flight (a gevent ThreadResult)
        self._loop: gevent.Greenlet | None = None
        self._first = gevent.event.Event()
        #: why the last check could not build a new directory (a cyclic org tree) while the database answered;
        #: the last good directory stays in use meanwhile
        self.directory_error: str | None = None

    def start(self) -> None:
        """Start checking in the background (idempotent)."""
        if self._loop is None or self._loop.dead:
            self._loop = gevent.spawn(self._run)

    def stop(self) -> None:
        """Stop checking."""
        if self._loop is not None:
            self._loop.kill(block=False)
            self._loop = None

    def wait_first(self, timeout: float) -> bool:
        """Wait until the first check answered or failed (start-up, tests)."""
        return bool(self._first.wait(timeout))

    def _run(self) -> None:
        while True:
            self.check()
            gevent.sleep(self.every_s)

    def _probe(self) -> tuple[str | None, tuple[Directory, dict[str, tuple[str, int]]]]:
        return current_revision(engine=self.db.engine), self.users.directory()

    def check(self) -> None:
        """One check now (skipped while the previous one still waits for the database)."""
        if self._check is not None and not self._check.ready():
            self._fail("the last check has not answered yet")
            return
        self._check = in_pool(self._probe)
        try:
            revision, (directory, tokens) = outcome(self._check.get(timeout=self.offload.timeout_s))
        except gevent.Timeout:
            self._fail(f"no answer within {self.offload.timeout_s:g} s")
            return
        except CyclicTree as exc:
            self._keep(exc)
            return
        except StoreError as exc:
            self._fail(str(exc))
            return
        except Exception as exc:   # a driver error that escaped the store's mapping: still just "down"
            self._fail(f"{type(exc).__name__}: {exc}")
            return
        if self.available is False:
            log.warning("api: the database answers again")
        self.available, self.revision, self.error = True, revision, None
        self.checked_at = self.tokens_at = time.time()
        if self.directory_error is not None:
            log.warning("api: the permission directory loads again")
        self.directory, self._tokens, self.directory_error = directory, tokens, None
        self.token_names = frozenset(name for name, _ in tokens.values())
        self._first.set()

    def _keep(self, exc: CyclicTree) -> None:
        """The database answered but its org tree is cyclic: keep the last good directory and tokens (everyone
        signs in and is decided as before the bad change), say why in /healthz, log once per distinct error."""
        why = str(exc)
        if why != self.directory_error:
            log.error("api: the permission directory was not refreshed, the last good one stays in use: %s", why)
        self.available, self.error, self.directory_error = True, None, why
        self.checked_at = time.time()
        self._first.set()

    def _fail(self, why: str) -> None:
        if self.available is not False:
            log.warning("api: the database is unavailable (%s); tokens are checked from memory", why)
        self.available, self.error = False, why
        self.checked_at = time.time()
        self._first.set()

    def verify(self, secret: str) -> Caller | None:
        """The caller whose token this is (from memory; the database only for a secret the cache does not
        know: a token made since the last check, whose user is then loaded with a fresh directory), or None."""
        if not secret or len(secret) > 256:
            return None
        digest = hash_secret(secret)
        known = self._tokens.get(digest)
        if known is not None:
            user = self.directory.users.get(known[1])
            return Caller(known[0], user) if user is not None else None
        if self.available is False:
            raise DatabaseUnavailable("unknown token, and the database cannot be asked now")
        token = self.offload.run(lambda: self.tokens.verify(secret), "token check")
        if token is None:
            return None
        if token.user_id not in self.directory.users:
            try:
                directory, tokens = self.offload.run(self.users.directory, "permission directory")
            except CyclicTree as exc:   # a user made since the tree broke waits for its repair
                self._keep(exc)
                return None
            self.directory, self._tokens = directory, tokens
        self._tokens[digest] = (token.name, token.user_id)
        self.token_names = self.token_names | {token.name}
        user = self.directory.users.get(token.user_id)
        return Caller(token.name, user) if user is not None else None

    def as_dict(self) -> dict[str, Any]:
        """The database's state as /healthz reports it."""
        return {"available": bool(self.available), "checked": self.available is not None,
                "revision": self.revision, "error": self.error, "checked_at": self.checked_at,
                "tokens_cached": len(self._tokens), "users_cached": len(self.directory.users),
                "tokens_at": self.tokens_at, "directory_error": self.directory_error}
