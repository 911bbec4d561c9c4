"""Server-sent events: every Hooks event fanned out to the connected /api/v1/events clients.

The hook listener only appends to each client's bounded queue (it never blocks a call); a client too
slow to keep up is told so (``event: overflow``) and disconnected instead of holding memory.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import gevent.queue

from cc.privacy.mask import mask_payload
from cc.runtime.hooks import HookEvent, Hooks

__all__ = ["EventHub", "event_json"]

log = logging.getLogger(__name__)

_END = object()


def event_json(ev: HookEvent, seq: int) -> dict[str, Any]:
    """A hook event as the JSON object an SSE client receives."""
    return {"id": seq, "kind": ev.kind, "at": ev.at, "call_uuid": ev.call_uuid, "agent_id": ev.agent_id,
            "queue": ev.queue, "data": ev.data}


class _Client:
    """One connected stream: its filter and its bounded queue."""

    def __init__(self, kinds: frozenset[str] | None, agent_id: str | None, maxsize: int,
                 view: Callable[[Any], Any] = mask_payload, scope: Callable[[HookEvent], bool] | None = None) -> None:
        self.kinds = kinds
        self.scope = scope
        self.view = view
        self.agent_id = agent_id
        self.queue: gevent.queue.Queue[Any] = gevent.queue.Queue(maxsize)
        self.overflowed = False

    def wants(self, ev: HookEvent) -> bool:
        """The cheap filters first (kind, the stream's own agent), then the policy: an agent's stream asks the
        policy only about his own events, not about every agent's (500 streams: one decision per event, not 500)."""
        if self.kinds is not None and ev.kind not in self.kinds:
            return False
        if self.agent_id is not None and ev.agent_id != self.agent_id:
            return False
        return self.scope is None or bool(self.scope(ev))


class EventHub:
    """Listens to every hook kind and hands each event to the matching clients."""

    def __init__(self, hooks: Hooks, *, max_queue: int = 1000, keepalive_s: float = 15.0) -> None:
        self.hooks = hooks
        self.max_queue = max_queue
        self.keepalive_s = keepalive_s
        self._clients: set[_Client] = set()
        self._seq = itertools.count(1)
        self._closed = False
        self.dropped = 0
        hooks.on("*", self._on_event)

    @property
    def clients(self) -> int:
        """How many streams are connected."""
        return len(self._clients)

    def _on_event(self, ev: HookEvent) -> None:
        if not self._clients:
            return
        seq = next(self._seq)
        for client in list(self._clients):
            if not client.wants(ev) or client.overflowed:
                continue
            try:
                client.queue.put_nowait((seq, ev))
            except gevent.queue.Full:
                client.overflowed = True
                self.dropped += 1
                log.warning("events: a client fell %d events behind; disconnecting it", self.max_queue)
                self._clients.discard(client)

    def stream(self, *, kinds: frozenset[str] | None = None, agent_id: str | None = None,
               limit: int | None = None, view: Callable[[Any], Any] = mask_payload,
               scope: Callable[[HookEvent], bool] | None = None) -> Iterator[bytes]:
        """The SSE byte stream of one client (``limit``: end after that many events); only events ``scope``
        admits (the permission policy, per event) reach it, and each passes through ``view`` (number masking
        unless the client's reveal was allowed and audited)."""
        client = _Client(kinds, agent_id, self.max_queue, view, scope)
        self._clients.add(client)
        return self._run(client, limit)

    def _run(self, client: _Client, limit: int | None) -> Iterator[bytes]:
        sent = 0
        try:
            yield b"retry: 2000\n: connected\n\n"
            while not self._closed:
                if client.overflowed and client.queue.empty():
                    yield b"event: overflow\ndata: {}\n\n"
                    return
                try:
                    item = client.queue.get(timeout=self.keepalive_s)
                except gevent.queue.Empty:
                    yield b": keepalive\n\n"
                    continue
                if item is _END:
                    return
                seq, ev = item
                data = json.dumps(client.view(event_json(ev, seq)), default=str, separators=(",", ":"))
                yield f"id: {seq}\nevent: {ev.kind}\ndata: {data}\n\n".encode()
                sent += 1
                if limit is not None and sent >= limit:
                    return
        finally:
            self._clients.discard(client)

    def close(self) -> None:
        """End every stream and stop listening."""
        self._closed = True
        try:
            self.hooks.off("*", self._on_event)
        except ValueError:
            pass
        for client in list(self._clients):
            try:
                client.queue.put_nowait(_END)
            except gevent.queue.Full:
                client.overflowed = True
        self._clients.clear()
