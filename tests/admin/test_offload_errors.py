"""An exception in a store call run in the thread pool reaches its caller only: gevent's hub does not print it (a
database outage was a traceback every few seconds in the controller's log)."""

from __future__ import annotations

from typing import Any

import gevent
import pytest

from cc.api.offload import Offload
from cc.errors import DatabaseUnavailable


def test_an_exception_in_the_pool_is_raised_to_the_caller_and_not_printed_by_the_hub(
        monkeypatch: pytest.MonkeyPatch) -> None:
    printed: list[Any] = []
    hub = gevent.get_hub()
    monkeypatch.setattr(hub, "handle_error", lambda *a: printed.append(a))

    def down() -> int:
        raise DatabaseUnavailable("database down")

    off = Offload(timeout_s=5.0)
    with pytest.raises(DatabaseUnavailable, match="database down"):
        off.run(down, "a check")
    assert off.run(lambda: 42, "a read") == 42
    gevent.sleep(0.05)
    assert printed == []
