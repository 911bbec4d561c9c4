"""The one tree of errors cc raises; callers match on classes, never on message text.

::

    CCError                          root; ``exit_code`` is what the CLI exits with
    ├── ConfigError                  bad configuration: file, line and key are named (exit 2)
    │   ├── FlowError                a flow that does not load or validate (file:line:col: path: what)
    │   └── InvalidValue             one field has a value it cannot take (field, value)
    ├── NotFound                     a named thing does not exist (kind, key)
    ├── Conflict                     a named thing exists already, or is still referenced (kind, key)
    ├── ESLError                     anything on an Event Socket connection
    │   ├── ESLProtocolError         the peer sent bytes that are not ESL; the connection is closed
    │   ├── ESLAuthError             the password was refused (host:port)
    │   ├── ESLDisconnected          the connection went away; pending commands and jobs fail with it
    │   ├── ESLTimeout               no answer within the time given
    │   ├── CommandFailed            FreeSWITCH answered -ERR (the reply text is kept)
    │   └── CallGone                 the call's far end hung up; the call's greenlet unwinds with it
    ├── FlowRunError                 a running flow was fed a result it was not waiting for (call, node)
    ├── AcdError                     the routing engine refused an event
    │   └── InvalidTransition        an agent state table has no row for (state, event)
    ├── StoreError                   persistence failed
    │   └── DatabaseUnavailable      the database cannot be reached (writes are buffered, not lost)
    ├── ControllerUnreachable        the CLI could not reach a running controller (url; exit 3)
    └── ApiError                     the HTTP API refused a request (status: 400, 401, 403, 404, 409 ...)
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AcdError",
    "ApiError",
    "CCError",
    "CallGone",
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
    "FlowError",
    "FlowRunError",
    "InvalidTransition",
    "InvalidValue",
    "NotFound",
    "StoreError",
]


def _restore(cls: type[CCError], args: tuple[Any, ...], state: dict[str, Any]) -> CCError:
    """Rebuild a pickled CCError without calling its ``__init__`` (whose signature is its own)."""
    obj = cls.__new__(cls, *args)
    obj.args = args
    obj.__dict__.update(state)
    return obj


class CCError(Exception):
    """Root of every error cc raises on purpose; every subclass survives pickling (worker processes)."""

    exit_code: int = 1

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle as (class, args, attributes): subclasses' own ``__init__`` signatures do not matter."""
        return _restore, (type(self), self.args, dict(self.__dict__))


class ConfigError(CCError):
    """Bad configuration or input: the message names the file, line and key where known."""

    exit_code = 2

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 path: str | None = None) -> None:
        super().__init__(message)
        self.file = file
        self.line = line
        self.path = path


class FlowError(ConfigError):
    """A flow file that does not load or validate; ``problems`` holds every message found."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 path: str | None = None, problems: list[Any] | None = None) -> None:
        super().__init__(message, file=file, line=line, path=path)
        self.problems: list[Any] = list(problems or [])


class InvalidValue(ConfigError):
    """A field was given a value it cannot take."""

    def __init__(self, field: str, value: object, why: str) -> None:
        super().__init__(f"{field}={value!r}: {why}", path=field)
        self.field = field
        self.value = value
        self.why = why


class NotFound(CCError):
    """A named thing (queue, agent, channel ...) does not exist."""

    def __init__(self, kind: str, key: object) -> None:
        super().__init__(f"no {kind} {key!r}")
        self.kind = kind
        self.key = key


class Conflict(CCError):
    """A named thing exists already, or something still refers to it."""

    def __init__(self, kind: str, key: object, why: str = "exists already") -> None:
        super().__init__(f"{kind} {key!r} {why}")
        self.kind = kind
        self.key = key
        self.why = why


class ESLError(CCError):
    """Anything that goes wrong on an Event Socket connection."""


class ESLProtocolError(ESLError):
    """The peer sent bytes that are not ESL; the connection is closed."""


class ESLAuthError(ESLError):
    """FreeSWITCH refused the password."""

    def __init__(self, host: str, port: int, reply: str = "") -> None:
        super().__init__(f"ESL authentication refused by {host}:{port}" + (f" ({reply})" if reply else ""))
        self.host = host
        self.port = port
        self.reply = reply


class ESLDisconnected(ESLError):
    """The connection went away; pending commands and jobs fail with this."""


class ESLTimeout(ESLError):
    """No answer came within the time given."""


class CommandFailed(ESLError):
    """FreeSWITCH answered a command with -ERR; ``reply`` is its text."""

    def __init__(self, command: str, reply: str) -> None:
        super().__init__(f"{command}: {reply}")
        self.command = command
        self.reply = reply


class CallGone(ESLError):
    """The call's far end hung up; whatever the call's greenlet was doing ends with this."""

    def __init__(self, uuid: str, cause: str = "NORMAL_CLEARING") -> None:
        super().__init__(f"call {uuid} gone ({cause})")
        self.uuid = uuid
        self.cause = cause


class FlowRunError(CCError):
    """A FlowRun was fed a result it was not waiting for (a runtime bug, never the caller's doing)."""

    def __init__(self, message: str, *, call_uuid: str = "", node: str | None = None) -> None:
        super().__init__(message)
        self.call_uuid = call_uuid
        self.node = node


class AcdError(CCError):
    """The routing engine refused an event."""


class InvalidTransition(AcdError):
    """A state machine (an agent's, or a dialer's lead, attempt or campaign) has no row for (state, event)."""

    def __init__(self, state: object, event: object, agent: str | None = None, kind: str = "agent") -> None:
        who = f"{kind} {agent}: " if agent else ""
        super().__init__(f"{who}no transition from {state} on {event}")
        self.state = state
        self.event = event
        self.agent = agent


class StoreError(CCError):
    """Persistence failed."""


class DatabaseUnavailable(StoreError):
    """The database cannot be reached; the writer buffers and retries."""


class ControllerUnreachable(CCError):
    """The CLI could not reach a running controller at ``url``."""

    exit_code = 3

    def __init__(self, url: str, why: str = "") -> None:
        super().__init__(f"controller unreachable at {url}" + (f": {why}" if why else ""))
        self.url = url


class ApiError(CCError):
    """The HTTP API refused a request: ``status`` is the HTTP status (401 no or bad token, 403 not allowed ...)."""

    def __init__(self, status: int, message: str, *, kind: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
