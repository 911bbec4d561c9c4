"""The hook events of a standby pair's leader, relayed to the other process through PostgreSQL LISTEN/NOTIFY.

Every process of a pair serves pages and ``/api/v1/events``, but only the leader routes calls and so emits
hook events. The leader publishes each event it emits (:meth:`EventRelay.lead`); a process that does not
lead listens (:meth:`EventRelay.listen`) and emits what it hears into its own :class:`Hooks`, where its
EventHub and the web pages' feeds take them as they take the leader's own. Events travel raw (masking and
the per-user scope are applied by the receiving process for each client, as on the leader).

Threads: the hook listener only puts the event in a thread-safe queue; one thread of the relay's own
encodes and sends whatever has gathered in one round trip (a burst costs one round trip per batch, not per
event); the listening thread hands whole events to the hub through an async watcher, and a greenlet emits
them in order. No database call runs in the hub.

NOTIFY is not durable: events sent while the listener is disconnected (or a chunk lost with it) are gone;
:attr:`EventRelay.missed` counts what a gap in the sequence shows. A page or SSE client that reconnects
fetches the state again; it is not sent the events it missed (docs/operations.md).
"""

from __future__ import annotations

import collections
import logging
import os
from typing import Any, Protocol

import gevent
from gevent import monkey

from cc.runtime.event_wire import Reassembler, encode_event
from cc.runtime.hooks import HookEvent, Hooks

__all__ = ["EventRelay", "Transport"]

log = logging.getLogger(__name__)

_Thread: Any = monkey.get_original("threading", "Thread")
_Event: Any = monkey.get_original("threading", "Event")
_SimpleQueue: Any = monkey.get_original("queue", "SimpleQueue")
_Empty: Any = monkey.get_original("queue", "Empty")
_STOP = object()


class Transport(Protocol):
    """What the relay needs of a channel (cc.store.event_channel.NotifyChannel); blocking, called from threads."""

    def publish(self, payloads: list[str]) -> None:
        """Send the payloads in order, in one round trip; raise on failure."""

    def listen(self, on_payload: Any, stop: Any, *, on_connect: Any = None) -> None:
        """Hand each payload heard to ``on_payload`` until ``stop`` is set."""

    def close(self) -> None:
        """Drop the connection."""


class EventRelay:
    """Publishes ``hooks``' events while leading, listens and emits them into ``hooks`` otherwise.

    ``publisher`` and ``listener`` are two transports on connections of their own (e.g. two
    :class:`~cc.store.event_channel.NotifyChannel`\\ s on the pair's channel).
    """

    def __init__(self, hooks: Hooks, publisher: Transport, listener: Transport, *, max_batch: int = 500,
                 name: str | None = None) -> None:
        self.hooks = hooks
        self.publisher = publisher
        self.listener = listener
        self.max_batch = max_batch
        self.pub = name or f"{os.getpid():x}{id(self) & 0xFFFF:04x}"
        self.mode = "off"               #: off, listening or leading
        self.published = 0              #: events sent
        self.batches = 0                #: round trips that sent them
        self.received = 0               #: events heard and emitted
        self.dropped = 0                #: events that could not be sent (the database did not take them)
        self._seq = 0
        self._out: Any = _SimpleQueue()
        self._pub_thread: Any = None
        self._listen_stop: Any = None
        self._listen_thread: Any = None
        self._reasm = Reassembler(ignore_pub=self.pub)
        self._inbox: collections.deque[HookEvent] = collections.deque()
        self._async: Any = None
        self._emitter: gevent.Greenlet | None = None

    @property
    def missed(self) -> int:
        """Events the listener knows it did not get (a gap in the leader's sequence, an incomplete event)."""
        return self._reasm.missed

    # ------------------------------------------------------------------ listening (a process that does not lead)
    def listen(self) -> None:
        """Start hearing the leader's events (call from the hub)."""
        if self.mode == "listening":
            return
        self.mode = "listening"
        self._async = gevent.get_hub().loop.async_()
        self._async.start(self._wake)
        self._listen_stop = _Event()
        self._listen_thread = _Thread(target=self._listen_loop, args=(self._listen_stop,), daemon=True,
                                      name="cc-event-relay-listen")
        self._listen_thread.start()

    def _listen_loop(self, stop: Any) -> None:
        wake = self._async

        def on_payload(payload: str) -> None:
            ev = self._reasm.feed(payload)
            if ev is not None and not stop.is_set():
                self._inbox.append(ev)
                try:
                    wake.send()
                except Exception:   # the relay stopped listening (a takeover) between the check and here
                    pass

        try:
            self.listener.listen(on_payload, stop, on_connect=lambda: log.info("event relay: listening"))
        except Exception:
            log.exception("event relay: the listener stopped")

    def _wake(self) -> None:
        """In the hub: emit what the listener handed over, in a greenlet (listeners may switch)."""
        if self._emitter is None or self._emitter.dead:
            self._emitter = gevent.spawn(self._emit_inbox)

    def _emit_inbox(self) -> None:
        while self._inbox:
            ev = self._inbox.popleft()
            self.received += 1
            self.hooks.emit(ev)

    def _stop_listening(self, wait: bool = True) -> None:
        """Stop the listener; ``wait=False`` (a takeover) does not wait for its thread's poll turn to end."""
        if self._listen_stop is not None:
            self._listen_stop.set()
        if self._async is not None:
            self._async.stop()
            self._async.close()
            self._async = None
        thread, self._listen_thread = self._listen_thread, None
        if thread is not None:
            if wait:
                gevent.get_hub().threadpool.apply(thread.join, (5.0,))
            else:
                gevent.get_hub().threadpool.spawn(thread.join, 5.0)
        if wait and self._emitter is not None and not self._emitter.dead:
            self._emitter.join(timeout=1.0)

    # ------------------------------------------------------------------ publishing (the leader)
    def lead(self) -> None:
        """Stop listening and publish every event this process emits from now on (call from the hub)."""
        if self.mode == "leading":
            return
        if self.mode == "listening":
            self._stop_listening(wait=False)   # never delays the takeover (the thread ends within a poll turn)
        self.mode = "leading"
        self._pub_thread = _Thread(target=self._publish_loop, daemon=True, name="cc-event-relay-publish")
        self._pub_thread.start()
        self.hooks.on("*", self._on_event)
        log.warning("event relay: publishing this process's events to the other controller")

    def _on_event(self, ev: HookEvent) -> None:
        self._out.put(ev)   # never blocks: the thread encodes and sends

    def _publish_loop(self) -> None:
        out = self._out
        while True:
            first = out.get()
            if first is _STOP:
                return
            batch, stop = [first], False
            while len(batch) < self.max_batch:
                try:
                    item = out.get_nowait()
                except _Empty:
                    break
                if item is _STOP:
                    stop = True
                    break
                batch.append(item)
            self._send(batch)
            if stop:
                return

    def _send(self, batch: list[HookEvent]) -> None:
        payloads: list[str] = []
        for ev in batch:
            self._seq += 1
            try:
                payloads.extend(encode_event(ev, self.pub, self._seq))
            except (TypeError, ValueError) as exc:
                self.dropped += 1
                log.warning("event relay: a %s event could not be encoded (%s)", ev.kind, type(exc).__name__)
        for attempt in (1, 2):
            try:
                self.publisher.publish(payloads)
                self.published += len(batch)
                self.batches += 1
                return
            except Exception as exc:   # the payloads are never logged: they hold unmasked numbers
                log.warning("event relay: sending %d events failed (%s)%s", len(batch), type(exc).__name__,
                            "; trying once more" if attempt == 1 else "; they are lost to the other controller")
        self.dropped += len(batch)

    # ------------------------------------------------------------------ life cycle
    def stop(self, timeout: float = 2.0) -> None:
        """Send what is queued (bounded by ``timeout``), stop both directions and close the connections."""
        mode, self.mode = self.mode, "off"
        if mode == "listening":
            self._stop_listening()
        elif mode == "leading":
            try:
                self.hooks.off("*", self._on_event)
            except ValueError:
                pass
            self._out.put(_STOP)
            thread, self._pub_thread = self._pub_thread, None
            if thread is not None:
                gevent.get_hub().threadpool.apply(thread.join, (timeout,))
        for t in (self.publisher, self.listener):
            try:
                t.close()
            except Exception:
                pass

    def stats(self) -> dict[str, Any]:
        """Counters for metrics and benches."""
        return {"mode": self.mode, "published": self.published, "batches": self.batches, "received": self.received,
                "missed": self.missed, "dropped": self.dropped, "bad": self._reasm.bad}
