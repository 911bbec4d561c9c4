"""FreeSWITCH nodes: one inbound ESL connection each, and per-channel event routing to whoever watches it.

Losing a node affects only its own calls: its Switch reconnects with backoff on its own, and a node that
cannot be reached at start is retried in the background instead of stopping the controller.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import gevent
import gevent.queue

from cc.clock import Clock
from cc.config import NodeConfig
from cc.errors import ESLError
from cc.esl.inbound import Switch
from cc.esl.protocol import Event, PlainEvent
from cc.runtime.switchtime import SwitchTime

__all__ = ["Node", "NodeSet"]

log = logging.getLogger(__name__)

#: what the controller needs from the inbound connection (agent legs, bridges, recordings)
EVENTS = ("CHANNEL_ANSWER", "CHANNEL_BRIDGE", "CHANNEL_UNBRIDGE", "CHANNEL_HANGUP_COMPLETE",
          "RECORD_STOP", "CHANNEL_HOLD", "CHANNEL_UNHOLD")

Watcher = Callable[[Event], None]


def lost_hangup(uuid: str) -> Event:
    """A CHANNEL_HANGUP_COMPLETE for channel ``uuid`` whose real one was lost with the link (cause unknown)."""
    return PlainEvent(f"Event-Name: CHANNEL_HANGUP_COMPLETE\nUnique-ID: {uuid}\n"
                      "Hangup-Cause: NORMAL_UNSPECIFIED\n")


class Node:
    """One FreeSWITCH server: its Switch, and the channels someone is watching on it."""

    def __init__(self, cfg: NodeConfig, switch: Switch | None = None, clock: Clock | None = None) -> None:
        self.cfg = cfg
        self.name = cfg.name
        self.switch = switch if switch is not None else Switch(cfg.host, cfg.port, cfg.password)
        #: the controller's clock (event times are mapped onto it); None: events are taken as they come
        self.clock = clock
        #: this switch's event stamps against the controller's clock (every inbound event refines it)
        self.time = SwitchTime()
        self._watchers: dict[str, Watcher] = {}
        self._pump: gevent.Greenlet | None = None
        self._connector: gevent.Greenlet | None = None
        self.hostname: str | None = cfg.hostname

    @property
    def up(self) -> bool:
        """Whether the inbound connection is up."""
        return bool(self.switch.is_connected)

    def start(self, *, wait: float | None = None) -> None:
        """Connect (in the background when it fails) and start routing events; ``wait`` s for the link."""
        self.switch.subscribe(list(EVENTS))
        if self._pump is None:
            self._pump = gevent.spawn(self._run)
        self._connector = gevent.spawn(self._connect_loop)
        if wait:
            self.switch.wait_connected(wait)

    def _connect_loop(self) -> None:
        delay = 0.1
        while True:
            try:
                self.switch.connect()
                return
            except ESLError as exc:
                log.warning("node %s (%s): %s; retrying in %.1f s", self.name, self.switch.address, exc, delay)
                gevent.sleep(delay)
                delay = min(delay * 2, 5.0)

    def stop(self) -> None:
        """Close the connection and stop routing events."""
        for g in (self._connector, self._pump):
            if g is not None:
                g.kill(block=False)
        self._connector = self._pump = None
        self.switch.close()

    def watch(self, uuid: str, watcher: Watcher) -> None:
        """Send the events of channel ``uuid`` to ``watcher`` (runs on the pump greenlet: must not block)."""
        self._watchers[uuid] = watcher

    def watching(self, uuid: str) -> bool:
        """Whether someone follows the events of channel ``uuid`` (an agent leg, a callback's customer ...)."""
        return uuid in self._watchers

    def unwatch(self, uuid: str) -> None:
        """Stop sending the events of ``uuid``."""
        self._watchers.pop(uuid, None)

    def _run(self) -> None:
        events = self.switch.events
        seen = self.switch.reconnects
        while True:
            try:
                ev = events.get(timeout=1.0)
            except gevent.queue.Empty:
                ev = None
            if self.switch.reconnects != seen and self.switch.is_connected:
                seen = self.switch.reconnects
                gevent.spawn(self.recheck)   # the events of the outage are lost: ask the switch
            if ev is None:
                continue
            if self.clock is not None:
                self.time.observe(ev, self.clock.now())
            watcher = self._watchers.get(ev.uuid or "")
            if watcher is None:
                continue
            try:
                watcher(ev)
            except Exception:
                log.exception("node %s: watcher of %s failed on %s", self.name, ev.uuid, ev.name)

    def recheck(self) -> int:
        """After a reconnect: the watched channels the switch no longer has get a made-up hang-up (their
        CHANNEL_HANGUP_COMPLETE was lost with the link), so their watchers and waits are released. Returns
        how many were gone."""
        gone = 0
        for uuid in list(self._watchers):
            try:
                exists = self.api(f"uuid_exists {uuid}").strip() != "false"
            except ESLError as exc:
                log.warning("node %s: uuid_exists %s: %s; checked again after the next reconnect", self.name,
                            uuid, exc)
                return gone
            watcher = self._watchers.get(uuid)
            if exists or watcher is None:
                continue
            gone += 1
            log.info("node %s: channel %s ended while the link was down", self.name, uuid)
            try:
                watcher(lost_hangup(uuid))
            except Exception:
                log.exception("node %s: watcher of %s failed on its lost hang-up", self.name, uuid)
            self._watchers.pop(uuid, None)
        return gone

    def when(self, ev: Event, now: float) -> float:
        """When ``ev`` happened on this switch, on the controller's clock (not ``now``, when cc got to it)."""
        return self.time.local(ev, now)

    def api(self, cmd: str, timeout: float | None = None) -> str:
        """``api`` on this node (raises CommandFailed on -ERR, ESLDisconnected when down)."""
        return self.switch.api(cmd, timeout)


class NodeSet:
    """The nodes of the configuration, and which one an outbound call came from."""

    def __init__(self, nodes: list[Node]) -> None:
        if not nodes:
            raise ValueError("at least one node is needed")
        self.nodes = nodes
        self.by_name = {n.name: n for n in nodes}

    def __iter__(self) -> Iterator[Node]:
        """Iterate over the nodes."""
        return iter(self.nodes)

    def for_call(self, hostname: str | None, core_uuid: str | None, peer_host: str | None) -> Node:
        """The node a call came from: by FreeSWITCH-Hostname, then by peer address, else the first."""
        if hostname:
            for n in self.nodes:
                if n.hostname and n.hostname == hostname:
                    return n
        if peer_host:
            matches = [n for n in self.nodes if n.cfg.host == peer_host]
            if len(matches) == 1:
                return matches[0]
        return self.nodes[0]
