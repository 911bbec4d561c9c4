"""Blocking work (the store) from a greenlet: run in gevent's thread pool, waited for with a bound."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import gevent

from cc.errors import DatabaseUnavailable

__all__ = ["in_pool", "offload", "outcome"]

T = TypeVar("T")

#: what a pooled call gives back: (its value, None) or (None, the exception it raised)
Outcome = tuple[Any, BaseException | None]


def in_pool(fn: Callable[[], T]) -> Any:
    """Start ``fn()`` in gevent's thread pool; the result's ``get()`` gives an outcome for :func:`outcome`.

    An exception is returned, not raised out of the pool thread: gevent's hub would also print it with its
    traceback (every few seconds while the database is down); the waiting greenlet re-raises it instead."""
    def call() -> Outcome:
        try:
            return fn(), None
        except Exception as exc:
            return None, exc

    return gevent.get_hub().threadpool.spawn(call)


def outcome(result: Outcome) -> Any:
    """The value of a pooled call's outcome, or its exception raised here."""
    value, exc = result
    if exc is not None:
        raise exc
    return value


def offload(fn: Callable[[], T], timeout_s: float = 30.0, what: str = "the store") -> T:
    """Run blocking ``fn()`` in gevent's thread pool; the calling greenlet waits ``timeout_s`` at most, then gets
    DatabaseUnavailable (not gevent's Timeout, a BaseException that the callers' ``except Exception`` would let
    through: the campaigns' sync loop died of one in a database blackhole). ``fn`` may go on in its thread."""
    result = in_pool(fn)
    result.wait(timeout_s)   # returns at the timeout without raising (a caller's own gevent.Timeout still does)
    if not result.ready():
        raise DatabaseUnavailable(f"{what} did not answer within {timeout_s:g} s")
    value: T = outcome(result.get())
    return value
