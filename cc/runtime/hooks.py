"""Hooks: how an embedding application hears what the controller does, without blocking a call."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["HookEvent", "Hooks"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HookEvent:
    """One thing that happened: ``kind`` (see :class:`Hooks`), the call or agent, and details."""

    kind: str
    at: float
    call_uuid: str | None = None
    agent_id: str | None = None
    queue: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


Listener = Callable[[HookEvent], None]


class Hooks:
    """Listeners per kind: ``call_started``, ``call_ended``, ``entered_queue``, ``left_queue``, ``offered``,
    ``bridged``, ``call_transferred`` (an agent transferred his call: his part of it is over), ``call_consult`` (the
    agent's consultation: ``data["phase"]`` ringing, talking or ended, with ``target`` and, when ended, ``outcome``),
    ``agent_status``,
    ``call_held``/``call_unheld`` (the switch's CHANNEL_HOLD/UNHOLD on an
    agent's bridged leg); outbound campaigns (docs/dialer.md): ``preview_offered``,
    ``preview_cancelled``, ``customer_connected``, ``outbound_bridged``, ``dial_result``, ``dial_refused``,
    ``callback_reminder``, ``campaign_status`` — or ``*`` for all.

    Listeners run inline on the greenlet that saw the event: they must return quickly (hand work to a
    queue of your own). An exception in a listener is logged and never reaches the call.

    Example::

        hooks = Hooks()
        hooks.on("bridged", lambda e: print(e.call_uuid, "talks to", e.agent_id))
    """

    KINDS = ("call_started", "call_ended", "entered_queue", "left_queue", "offered", "bridged", "call_transferred",
             "call_consult", "agent_status", "call_held", "call_unheld", "preview_offered", "preview_cancelled",
             "customer_connected", "outbound_bridged", "dial_result", "dial_refused", "callback_reminder",
             "campaign_status")

    def __init__(self) -> None:
        self._listeners: dict[str, list[Listener]] = {}

    def on(self, kind: str, listener: Listener) -> None:
        """Call ``listener(event)`` for every event of ``kind`` (``*``: every kind)."""
        if kind != "*" and kind not in self.KINDS:
            raise ValueError(f"unknown hook {kind!r} (known: {', '.join(self.KINDS)}, *)")
        self._listeners.setdefault(kind, []).append(listener)

    def off(self, kind: str, listener: Listener) -> None:
        """Remove a listener added with :meth:`on`."""
        self._listeners.get(kind, []).remove(listener)

    def emit(self, event: HookEvent) -> None:
        """Hand ``event`` to its listeners; their failures are logged, never raised."""
        for listener in (*self._listeners.get(event.kind, ()), *self._listeners.get("*", ())):
            try:
                listener(event)
            except Exception:
                log.exception("hook %s listener %r failed (call %s)", event.kind, listener, event.call_uuid)
