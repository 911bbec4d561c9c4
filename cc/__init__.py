"""cc: a call-center engine on FreeSWITCH — ESL, YAML IVR flows, an event-driven ACD, history in SQL."""

from __future__ import annotations

from cc.clock import Clock, FakeClock, SystemClock
from cc.errors import (
    AcdError,
    CallGone,
    CCError,
    CommandFailed,
    ConfigError,
    Conflict,
    ControllerUnreachable,
    DatabaseUnavailable,
    ESLAuthError,
    ESLDisconnected,
    ESLError,
    ESLProtocolError,
    ESLTimeout,
    FlowError,
    InvalidTransition,
    InvalidValue,
    NotFound,
    StoreError,
)

__version__ = "0.1.0"

__all__ = [
    "AcdError",
    "CCError",
    "CallGone",
    "Clock",
    "CommandFailed",
    "ConfigError",
    "Conflict",
    "ControllerUnreachable",
    "DatabaseUnavailable",
    "ESLAuthError",
    "ESLDisconnected",
    "ESLError",
    "ESLProtocolError",
    "ESLTimeout",
    "FakeClock",
    "FlowError",
    "InvalidTransition",
    "InvalidValue",
    "NotFound",
    "StoreError",
    "SystemClock",
    "__version__",
]
