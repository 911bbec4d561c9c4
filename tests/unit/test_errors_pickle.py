"""Every CCError subclass survives pickling (worker processes send them back to the parent)."""

from __future__ import annotations

import inspect
import pickle
from typing import Any

import pytest

import cc.errors as errors

ARGS: dict[str, tuple[Any, ...]] = {
    "InvalidValue": ("--agents", 0, "must be >= 1"),
    "NotFound": ("queue", "support"),
    "Conflict": ("agent", "1001", "is still in a queue"),
    "ESLAuthError": ("127.0.0.1", 8021, "-ERR invalid"),
    "CommandFailed": ("uuid_kill x", "-ERR no such channel"),
    "CallGone": ("u-1", "ORIGINATOR_CANCEL"),
    "InvalidTransition": ("idle", "answer", "1001"),
    "ControllerUnreachable": ("http://127.0.0.1:8080", "refused"),
    "ApiError": (403, "not allowed"),
    "FlowRunError": ("not waiting",),
    "ConfigError": ("bad key",),
    "FlowError": ("bad flow",),
}

CLASSES = [c for _, c in inspect.getmembers(errors, inspect.isclass) if issubclass(c, errors.CCError)]


def test_every_class_is_covered() -> None:
    assert {c.__name__ for c in CLASSES} == set(errors.__all__)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_round_trip(cls: type[errors.CCError]) -> None:
    exc = cls(*ARGS.get(cls.__name__, ("something went wrong",)))
    if isinstance(exc, errors.ConfigError) and not isinstance(exc, errors.InvalidValue):
        exc = cls(*exc.args, file="f.yaml", line=3, path="nodes.a")  # type: ignore[call-arg]
    back = pickle.loads(pickle.dumps(exc))
    assert type(back) is cls
    assert str(back) == str(exc) and back.args == exc.args
    assert vars(back) == vars(exc)
    assert back.exit_code == exc.exit_code
