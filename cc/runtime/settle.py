"""Settling channels cc lets go of: hung up (or sent to the fallback) over the node's inbound link, retried.

When cc refuses a call at the door, gives up on an outbound session (a timeout, garbage on the wire, a
failure of the controller) or finds an orphan on a switch, the channel must not stay in the ``socket``
application. :meth:`Settler.end` sends ``uuid_transfer <uuid> <fallback>`` when a fallback is
configured, else ``uuid_kill <uuid> <cause>``, over the inbound link of the node the call came from,
and retries with backoff until the switch confirms (``+OK``, or ``-ERR No such channel``: gone already).
"""

from __future__ import annotations

import logging
from dataclasses import replace

import gevent

from cc.errors import CommandFailed, ESLError
from cc.model import CallLeg
from cc.runtime.history import History
from cc.runtime.nodes import Node
from cc.runtime.timebase import Timebase

__all__ = ["Settler"]

log = logging.getLogger(__name__)

#: seconds between tries grow from the first to the last, and stop after this many tries
BACKOFF = (0.1, 5.0)
TRIES = 40


class Settler:
    """Ends channels over the inbound link (see the module docstring) and records calls nobody else did."""

    def __init__(self, history: History, clock: Timebase, *, cause: str = "NORMAL_TEMPORARY_FAILURE",
                 fallback: str = "") -> None:
        self.history = history
        self.clock = clock
        self.cause = cause
        self.fallback = fallback
        #: uuids being settled now (the reconciler leaves them alone)
        self.settling: set[str] = set()
        self.tasks: set[gevent.Greenlet] = set()
        self.ended = 0
        self.failed = 0
        #: what the settling did, by kind: transferred (to the fallback), killed, failed (gave up retrying)
        self.by_kind: dict[str, int] = {"transferred": 0, "killed": 0, "failed": 0}

    def end(self, node: Node, uuid: str, cause: str | None = None, *, fallback: bool = True) -> None:
        """Hang ``uuid`` up (or transfer it to the fallback): one try now, the retries in the background."""
        if not uuid or uuid in self.settling:
            return
        self.settling.add(uuid)
        cause = cause or self.cause
        use_fallback = fallback and bool(self.fallback)
        try:
            if self._try(node, uuid, cause, use_fallback):
                self.settling.discard(uuid)
                return
        except ESLError as exc:
            log.warning("call %s: cannot settle on node %s yet (%s); retrying", uuid, node.name, exc)
        g = gevent.spawn(self._retry, node, uuid, cause, use_fallback)
        self.tasks.add(g)
        g.link(self.tasks.discard)

    def _try(self, node: Node, uuid: str, cause: str, use_fallback: bool) -> bool:
        """One attempt; True when the switch confirmed. ESLError when the link did not answer."""
        if use_fallback:
            try:
                node.api(f"uuid_transfer {uuid} {self.fallback}")
                log.info("call %s: sent to the fallback %s", uuid, self.fallback)
                self.ended += 1
                self.by_kind["transferred"] += 1
                return True
            except CommandFailed as exc:   # gone, or a bad fallback: hang it up then
                log.info("call %s: uuid_transfer to the fallback failed (%s); hanging up", uuid, exc.reply.strip())
        try:
            node.api(f"uuid_kill {uuid} {cause}")
            log.info("call %s: hung up over the inbound link (%s)", uuid, cause)
        except CommandFailed:
            pass   # -ERR No such channel: gone already
        self.ended += 1
        self.by_kind["killed"] += 1
        return True

    def _retry(self, node: Node, uuid: str, cause: str, use_fallback: bool) -> None:
        delay, cap = BACKOFF
        try:
            for _ in range(TRIES):
                gevent.sleep(delay)
                delay = min(delay * 2, cap)
                if not node.up:
                    node.switch.wait_connected(cap)
                try:
                    if self._try(node, uuid, cause, use_fallback):
                        return
                except ESLError as exc:
                    log.debug("call %s: settle retry: %s", uuid, exc)
            self.failed += 1
            self.by_kind["failed"] += 1
            log.error("call %s: could not hang it up on node %s; the reconciliation will", uuid, node.name)
        finally:
            self.settling.discard(uuid)

    def record(self, uuid: str, caller: str, callee: str, node: str, started_at: float, cause: str,
               disposition: str) -> None:
        """Write the calls row (and the caller leg) of a call that ended before it had a session."""
        now = self.clock.now()
        rec = self.history.inbound_call(uuid, caller, callee, started_at, node)
        self.history.call(replace(rec, ended_at=now, hangup_cause=cause, disposition=disposition))
        self.history.leg(CallLeg(uuid=uuid, call_uuid=uuid, role="caller", dial_string=caller,
                                 started_at=started_at, ended_at=now, hangup_cause=cause))
