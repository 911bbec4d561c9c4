"""Blocking work (the store) from a greenlet: run in gevent's thread pool, waited for with a bound."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import gevent

from cc.errors import DatabaseUnavailable

__all__ = ["offload"]

T = TypeVar("T")


def offload(fn: Callable[[], T], timeout_s: float = 30.0) -> T:
    """Run blocking ``fn()`` in gevent's thread pool; the calling greenlet waits ``timeout_s`` at most, then gets
    DatabaseUnavailable (not gevent's Timeout, a BaseException that the callers' ``except Exception`` would let
    through: the campaigns' sync loop died of one in a database blackhole)."""
    def call() -> tuple[Any, BaseException | None]:
        try:
            return fn(), None
        except Exception as exc:
            return None, exc

    result = gevent.get_hub().threadpool.spawn(call)
    result.wait(timeout_s)   # returns at the timeout without raising (a caller's own gevent.Timeout still does)
    if not result.ready():
        raise DatabaseUnavailable(f"the store did not answer within {timeout_s:g} s")
    value, exc = result.get()
    if exc is not None:
        raise exc
    return value  # type: ignore[no-any-return]
