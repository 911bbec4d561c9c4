"""Carries out the Acd's commands over ESL: ring agents (bgapi originate), bridge, cancel, callbacks.

Every command is handled without blocking the caller of ``handle``: ESL round trips run in their own
greenlets, and what they learn goes back to the Acd as events (AgentAnswered, AgentNoAnswer ...).
"""

from __future__ import annotations

import functools
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import gevent

from cc.acd import (
    Acd,
    AcdCommand,
    AgentAnswered,
    AgentAutoBreak,
    AgentBusy,
    AgentNoAnswer,
    AgentRejected,
    AgentRinging,
    AgentStateChanged,
    Announce,
    CallEnded,
    CancelOffer,
    Connect,
    Exit,
    Offer,
    OfferCallback,
    OfferWithdrawn,
)
from cc.config import ServiceConfig
from cc.errors import CCError, CommandFailed, ESLDisconnected, ESLError
from cc.esl.protocol import Event, new_uuid
from cc.model import CallLeg, ExitReason, QueueEventType, RecordPolicy
from cc.privacy.mask import mask_number, mask_text
from cc.runtime.acd_driver import AcdDriver
from cc.runtime.history import History
from cc.runtime.hooks import HookEvent, Hooks
from cc.runtime.nodes import Node, NodeSet
from cc.runtime.samples import Samples
from cc.runtime.timebase import Timebase

__all__ = ["EXIT_CAUSES", "DispatchHost", "Dispatcher", "Ringing", "WaitingCall"]

log = logging.getLogger(__name__)

_EXIT_TYPES = {
    ExitReason.TIMEOUT: QueueEventType.EXIT_TIMEOUT,
    ExitReason.NO_AGENT: QueueEventType.EXIT_NO_AGENT,
    ExitReason.FULL: QueueEventType.EXIT_FULL,
    ExitReason.CALLER_ABANDON: QueueEventType.ABANDON,
    ExitReason.EXIT_KEY: QueueEventType.EXIT_KEY,
    ExitReason.SUPERVISOR_HANGUP: QueueEventType.EXIT_OTHER,
    ExitReason.TRANSFER_FAILED: QueueEventType.EXIT_OTHER,
    ExitReason.SHUTDOWN: QueueEventType.EXIT_OTHER,
    ExitReason.CONTROLLER_ERROR: QueueEventType.EXIT_OTHER,
    ExitReason.TRANSFERRED: QueueEventType.EXIT_OTHER,
    ExitReason.SOCKET_LOST: QueueEventType.EXIT_OTHER,
}
#: the cause an EXIT_OTHER line carries as its detail (also the call's disposition)
EXIT_CAUSES = {
    ExitReason.SUPERVISOR_HANGUP: "hangup-by-supervisor",
    ExitReason.TRANSFER_FAILED: "transfer-failed",
    ExitReason.SHUTDOWN: "cut-at-shutdown",
    ExitReason.CONTROLLER_ERROR: "controller-error",
    ExitReason.TRANSFERRED: "transferred-by-supervisor",
    ExitReason.SOCKET_LOST: "socket-lost",
}

#: a uuid_kill that gets no confirmation (timeout, link down) is tried this often, backing off to this many s
KILL_TRIES = 60
KILL_BACKOFF_MAX_S = 5.0
#: an offer for a node whose link is down waits this share of its offer time for the link, then is withdrawn
NODE_WAIT_SHARE = 0.5

#: originate failure causes (the BACKGROUND_JOB's ``-ERR <cause>``; tests/data/esl-captures/2026-12/
#: inbound_originate_failures.esl) -> the agent's outcome. Busy (486) and declined (603) have their own
#: delays; the rest rang out, was not picked up (480: NO_USER_RESPONSE) or could not reach the phone at
#: all (the causes below): a no-answer. A miss holds the agent back for its no-answer delay and counts
#: towards its max_no_answer, so one transient 503 costs a delay, and a phone that is really gone puts the
#: agent on break after max_no_answer misses instead of being rung for every caller (mod_callcenter counts
#: them the same way, except that it retries an unregistered phone every 5 s for ever).
_BUSY = {"USER_BUSY"}
_REJECTED = {"CALL_REJECTED"}
_UNREACHABLE = {
    "SUBSCRIBER_ABSENT",          # user/<id>: no such user in the directory (no channel at all)
    "USER_NOT_REGISTERED",        # user/<id>: the phone is not registered (no channel at all)
    "INVALID_GATEWAY",            # sofia/gateway/<unknown>/...: only a bare CHANNEL_DESTROY
    "GATEWAY_DOWN",
    "UNALLOCATED_NUMBER",         # 404 Not Found
    "NORMAL_TEMPORARY_FAILURE",   # 503, or nothing listens at the contact
    "DESTINATION_OUT_OF_ORDER",
    "NO_ROUTE_DESTINATION",
    "INVALID_NUMBER_FORMAT",
    "INCOMPATIBLE_DESTINATION",
}


def _quote(value: str) -> str:
    """A value safe inside ``{var=value,...}`` of originate (commas and spaces quoted)."""
    value = value.replace("'", "")
    return f"'{value}'" if any(c in value for c in ", ") else value


def _dial_string(variables: dict[str, str], target: str) -> str:
    """``{var=value,...}target`` for originate."""
    return "{" + ",".join(f"{k}={_quote(v)}" for k, v in variables.items()) + "}" + target


@dataclass
class Ringing:
    """One agent leg the dispatcher originated for an offer (or a callback)."""

    offer_id: str
    member_uuid: str
    queue: str
    agent_id: str
    leg_uuid: str
    node: Node
    started_at: float
    callback_number: str | None = None
    cancelled: bool = False
    answered_at: float | None = None
    connected: bool = False
    ended: bool = False
    customer_uuid: str | None = None
    cause: str | None = None
    bridged_at: float | None = None
    job_done: bool = False
    extra: dict[str, str] = field(default_factory=dict)
    #: the leg's Caller-Channel-Hold-Accum (microseconds) in its latest event
    hold_accum_us: int = 0
    #: controller time of the CHANNEL_HOLD of a hold in progress (None: not on hold)
    held_since: float | None = None
    #: :meth:`hold_s` when the bridge began
    hold_at_bridge: float = 0.0

    def hold_s(self, now: float) -> float:
        """Seconds the agent leg has been holding so far (FreeSWITCH adds a hold to Hold-Accum at its end)."""
        return self.hold_accum_us / 1e6 + (max(0.0, now - self.held_since) if self.held_since is not None else 0.0)

    def bridge_hold_s(self, now: float) -> float:
        """Seconds the agent leg held during the bridge (up to ``now``)."""
        return max(0.0, self.hold_s(now) - self.hold_at_bridge)

    def saw(self, ev: Event, now: float) -> None:
        """Take the hold figures of one of the leg's events."""
        accum = ev.header("Caller-Channel-Hold-Accum")
        if accum is not None and accum.isdigit() and int(accum) > self.hold_accum_us:
            self.hold_accum_us = int(accum)
            self.held_since = None   # Hold-Accum grows only when a hold ends (an unhold, or the hang-up)
        if ev.name == "CHANNEL_HOLD":
            if self.held_since is None:
                self.held_since = now
        elif ev.name == "CHANNEL_UNHOLD":
            self.held_since = None


class WaitingCall(Protocol):
    """A caller's call as the dispatcher reaches it (cc.runtime.call.CallSession is one)."""

    @property
    def node(self) -> Node:
        """The switch the call is on."""

    @property
    def caller(self) -> str:
        """The caller's number."""

    @property
    def caller_name(self) -> str:
        """The caller's name."""

    def post(self, msg: Any) -> None:
        """Hand the call a message from another greenlet (an Announce, an Exit ...)."""

    def connect(self, ringing: Ringing, cmd: Connect) -> None:
        """The agent of ``ringing`` answered: bridge the call to it."""


class DispatchHost(Protocol):
    """What the dispatcher needs of the controller (cc.runtime.Controller has it)."""

    @property
    def acd(self) -> Acd:
        """The ACD the commands come from."""

    @property
    def driver(self) -> AcdDriver:
        """Where the dispatcher's events for the ACD go."""

    @property
    def clock(self) -> Timebase:
        """The controller's clock."""

    @property
    def config(self) -> ServiceConfig:
        """The service's configuration."""

    @property
    def history(self) -> History:
        """Where queue log lines and legs go."""

    @property
    def hooks(self) -> Hooks:
        """Where hook events go."""

    @property
    def nodes(self) -> NodeSet:
        """The switches."""

    @property
    def sessions(self) -> Mapping[str, WaitingCall]:
        """Every call in progress, by its channel UUID."""

    @property
    def members(self) -> Mapping[str, WaitingCall]:
        """The calls waiting in a queue, by channel UUID."""

    @property
    def callback_nodes(self) -> dict[str, str]:
        """Callback entries (their call is gone): member UUID -> node name."""

    @property
    def may_route(self) -> Callable[[], bool]:
        """False while another controller of a standby pair may lead."""


class Dispatcher:
    """The ACD's hands: one method per command."""

    def __init__(self, ctl: DispatchHost) -> None:
        self.ctl = ctl
        self.offers: dict[str, Ringing] = {}
        self.originated = 0
        #: offers withdrawn because the switch's link was down or lost (no penalty for the agent)
        self.withdrawn = 0
        #: wall-clock seconds of the originate round trip (bgapi sent -> +OK Job-UUID), newest last
        self.offer_latency_s = Samples(100_000)
        #: wall-clock seconds from a caller entering a queue to its first originate being sent
        self.enqueue_to_originate_s = Samples(100_000)
        #: perf_counter() when each waiting caller entered its queue (until its first offer)
        self.joined_at: dict[str, float] = {}
        #: ESL work in flight (originates, kills, callbacks)
        self.tasks: set[gevent.Greenlet] = set()

    # ------------------------------------------------------------------ entry point
    def handle(self, cmd: AcdCommand) -> None:
        """Carry out one Acd command (never blocks: ESL work is spawned)."""
        if isinstance(cmd, Offer | OfferCallback):
            self._offer(cmd)
        elif isinstance(cmd, CancelOffer):
            self._cancel(cmd)
        elif isinstance(cmd, Connect):
            self._connect(cmd)
        elif isinstance(cmd, Announce):
            session = self.ctl.members.get(cmd.member_uuid)
            if session is not None:
                session.post(cmd)
        elif isinstance(cmd, Exit):
            self._exit(cmd)
        elif isinstance(cmd, AgentStateChanged):
            self.ctl.history.agent_state(cmd.agent_id, cmd.status, cmd.state, cmd.reason, cmd.at)
            self.ctl.hooks.emit(HookEvent("agent_status", cmd.at, agent_id=cmd.agent_id,
                                          data={"status": str(cmd.status), "state": str(cmd.state),
                                                "reason": cmd.reason}))
        elif isinstance(cmd, AgentAutoBreak):
            log.warning("agent %s put on break by the ACD (%s)", cmd.agent_id, cmd.reason)
        else:  # pragma: no cover - the union is exhaustive
            log.error("unknown ACD command %s", mask_text(repr(cmd)))

    # ------------------------------------------------------------------ offers
    def _node_for(self, member_uuid: str) -> Node:
        session = self.ctl.sessions.get(member_uuid)
        if session is not None:
            return session.node
        name = self.ctl.callback_nodes.get(member_uuid)
        if name is not None and name in self.ctl.nodes.by_name:
            return self.ctl.nodes.by_name[name]
        return self.ctl.nodes.nodes[0]

    def _offer(self, cmd: Offer | OfferCallback) -> None:
        now = self.ctl.clock.now()
        node = self._node_for(cmd.member_uuid)
        leg = new_uuid()
        callback = cmd.number if isinstance(cmd, OfferCallback) else None
        r = Ringing(cmd.offer_id, cmd.member_uuid, cmd.queue, cmd.agent_id, leg, node, now, callback)
        self.offers[cmd.offer_id] = r
        node.watch(leg, functools.partial(self._agent_leg_event, r))
        self.ctl.history.queue_event(QueueEventType.OFFER, cmd.queue, cmd.member_uuid, agent_id=cmd.agent_id,
                                     detail="callback" if callback else "")
        self.ctl.hooks.emit(HookEvent("offered", now, call_uuid=cmd.member_uuid, agent_id=cmd.agent_id,
                                      queue=cmd.queue, data={"offer_id": cmd.offer_id}))
        self.spawn(self._ring, r, self._originate(r, cmd.contact, cmd.timeout_s, callback), cmd.timeout_s)

    def _originate(self, r: Ringing, contact: str, timeout_s: float, callback: str | None = None) -> str:
        """The ``originate`` command of an agent leg: the caller's number and name shown on the agent's phone."""
        session = self.ctl.sessions.get(r.member_uuid)
        caller_number = session.caller if session is not None else (callback or "")
        caller_name = session.caller_name if session is not None else "callback"
        variables = {
            "origination_uuid": r.leg_uuid,
            "originate_timeout": str(max(1, math.ceil(timeout_s))),
            "cc_member_uuid": r.member_uuid,
            "cc_queue": r.queue,
            "cc_agent": r.agent_id,
            "cc_offer_id": r.offer_id,
            "origination_caller_id_number": caller_number or "cc",
            "origination_caller_id_name": caller_name or "cc",
        }
        return f"originate {_dial_string(variables, contact)} &park()"

    def ring_transfer(self, member_uuid: str, queue: str, agent_id: str, contact: str, timeout_s: float,
                      done: Callable[[Ringing, str | None], None], *, detail: str = "transfer",
                      data: Mapping[str, Any] | None = None, hung_up: Callable[[Ringing], None] | None = None
                      ) -> Ringing:
        """Ring ``agent_id`` (whom the caller's session has reserved in the Acd: AgentInCall) for a transfer of
        ``member_uuid``, the way an offer rings an agent (same originate, same leg watcher, an OFFER line and an
        ``offered`` hook with ``data``). ``done(ringing, None)`` when he answered, ``done(ringing, cause)`` when
        the originate failed (its line is logged like an offer's); ``hung_up(ringing)`` when the answered leg's
        CHANNEL_HANGUP_COMPLETE comes. The Acd is not told: the session owns him."""
        now = self.ctl.clock.now()
        r = Ringing(f"xfer-{new_uuid()}", member_uuid, queue, agent_id, new_uuid(), self._node_for(member_uuid), now)
        r.connected = True

        def watcher(ev: Event) -> None:
            self._agent_leg_event(r, ev)
            if ev.name == "CHANNEL_HANGUP_COMPLETE" and hung_up is not None and r.answered_at is not None:
                hung_up(r)

        r.node.watch(r.leg_uuid, watcher)
        self.ctl.history.queue_event(QueueEventType.OFFER, queue, member_uuid, agent_id=agent_id, detail=detail)
        self.ctl.hooks.emit(HookEvent("offered", now, call_uuid=member_uuid, agent_id=agent_id, queue=queue,
                                      data={"offer_id": r.offer_id, **(data or {})}))
        self.spawn(self._ring_transfer, r, self._originate(r, contact, timeout_s), timeout_s, done)
        return r

    def _ring_transfer(self, r: Ringing, command: str, timeout_s: float,
                       done: Callable[[Ringing, str | None], None]) -> None:
        try:
            body = r.node.switch.bgapi(command).wait(self.ctl.clock.real(timeout_s) + 30.0).strip()
        except ESLError as exc:
            body = f"-ERR {exc}"
            self._kill(r.node, r.leg_uuid, "ORIGINATOR_CANCEL", r)
        r.job_done = True
        if body.startswith("+OK"):
            r.answered_at = self.ctl.clock.now()
            done(r, None)
            return
        cause = body[4:].strip() if body.startswith("-ERR") else (body or "UNKNOWN")
        r.cause = cause
        r.node.unwatch(r.leg_uuid)
        self._leg_done(r, self.ctl.clock.now(), cause)
        kind = (QueueEventType.AGENT_BUSY if cause in _BUSY else QueueEventType.AGENT_REJECT if cause in _REJECTED
                else QueueEventType.RING_NO_ANSWER)
        self.ctl.history.queue_event(kind, r.queue, r.member_uuid, agent_id=r.agent_id, detail=cause)
        done(r, cause)

    def kill_leg(self, r: Ringing, cause: str = "NORMAL_CLEARING") -> None:
        """Hang up the agent leg of ``r`` (retried until the switch confirms)."""
        self._kill(r.node, r.leg_uuid, cause, r)

    def spawn(self, fn: Callable[..., None], *args: object, delay: float = 0.0) -> None:
        """Run ESL work in its own greenlet, remembered until it ends (``tasks``, joined at shutdown)."""
        g = gevent.spawn_later(delay, fn, *args) if delay > 0 else gevent.spawn(fn, *args)
        self.tasks.add(g)
        g.link(self.tasks.discard)

    def _ring(self, r: Ringing, command: str, timeout_s: float) -> None:
        t0 = time.perf_counter()
        joined = self.joined_at.pop(r.member_uuid, None)
        if joined is not None:
            self.enqueue_to_originate_s.append(t0 - joined)
        if not r.node.up and not r.node.switch.wait_connected(self.ctl.clock.real(timeout_s) * NODE_WAIT_SHARE):
            # the node's link is down: the offer waits for it (part of its time), then is withdrawn
            self._withdraw(r, f"node {r.node.name} is down", sent=False)
            return
        if not self.ctl.may_route():   # fenced (a standby pair): the offer is not sent
            self._withdraw(r, "not leading", sent=False)
            return
        sent = False
        try:
            job = r.node.switch.bgapi(command)
            sent = True
            self.offer_latency_s.append(time.perf_counter() - t0)
            self.originated += 1
            body = job.wait(self.ctl.clock.real(timeout_s) + 30.0)
        except ESLError as exc:
            # the link was lost or did not answer: not the agent's doing, so no miss is counted. A bgapi whose
            # reply timed out may have been taken by the switch: its leg is killed too (a leg never made is
            # "no such channel" at once)
            self._withdraw(r, str(exc), sent=sent or not isinstance(exc, ESLDisconnected))
            return
        r.job_done = True
        body = body.strip()
        if body.startswith("+OK"):
            r.answered_at = self.ctl.clock.now()
            if r.cancelled:
                self._kill(r.node, r.leg_uuid, "ORIGINATOR_CANCEL")
                return
            self.ctl.driver.submit(AgentAnswered(r.offer_id, r.agent_id))
            return
        cause = body[4:].strip() if body.startswith("-ERR") else (body or "UNKNOWN")
        r.cause = cause
        r.node.unwatch(r.leg_uuid)   # a leg that never came up may never send a hang-up event
        self._leg_done(r, self.ctl.clock.now(), cause)
        if r.cancelled:
            return
        if cause in _BUSY:
            event: AgentBusy | AgentRejected | AgentNoAnswer = AgentBusy(r.offer_id, r.agent_id)
            kind = QueueEventType.AGENT_BUSY
        elif cause in _REJECTED:
            event = AgentRejected(r.offer_id, r.agent_id)
            kind = QueueEventType.AGENT_REJECT
        else:
            event = AgentNoAnswer(r.offer_id, r.agent_id)
            kind = QueueEventType.RING_NO_ANSWER
        self.offers.pop(r.offer_id, None)
        self.ctl.history.queue_event(kind, r.queue, r.member_uuid, agent_id=r.agent_id, detail=cause)
        self.ctl.driver.submit(event)       # the offer ends now: the member is routed again
        if cause in _UNREACHABLE:
            log.warning("agent %s unreachable at %s (%s): counted as a miss", r.agent_id, r.node.name, cause)

    def _withdraw(self, r: Ringing, why: str, *, sent: bool) -> None:
        """An offer the switch could not carry out (link down or lost): withdrawn with no penalty for the agent.

        When the originate was sent, its leg may be up on the switch: it is killed (retried until the link is
        back and the switch confirms).
        """
        r.job_done = True
        log.warning("offer %s to agent %s on node %s withdrawn: %s", r.offer_id, r.agent_id, r.node.name, why)
        r.node.unwatch(r.leg_uuid)   # no row is written for a withdrawn leg: its events are not needed
        if sent:
            self._kill(r.node, r.leg_uuid, "ORIGINATOR_CANCEL")
        if r.cancelled:
            return
        self.offers.pop(r.offer_id, None)
        self.withdrawn += 1
        self.ctl.driver.submit(OfferWithdrawn(r.offer_id, r.agent_id))

    def _agent_leg_event(self, r: Ringing, ev: Event) -> None:
        name = ev.name
        r.saw(ev, self.ctl.clock.now())
        if name == "CHANNEL_HANGUP_COMPLETE":
            r.node.unwatch(r.leg_uuid)
            cause = ev.hangup_cause or "NORMAL_CLEARING"
            if r.answered_at is not None:
                self._leg_done(r, r.node.when(ev, self.ctl.clock.now()), cause)   # the switch's time, not ours
            if r.callback_number is not None and r.connected and not r.ended:
                self._callback_over(r, by="agent")
        elif name in ("CHANNEL_HOLD", "CHANNEL_UNHOLD") and r.bridged_at is not None:
            # the switch says the agent's leg holds (the caller hears music) or no longer does: the pages follow
            self.ctl.hooks.emit(HookEvent("call_held" if name == "CHANNEL_HOLD" else "call_unheld",
                                          self.ctl.clock.now(), call_uuid=r.member_uuid, agent_id=r.agent_id,
                                          queue=r.queue, data={"leg": r.leg_uuid}))
        elif name == "CHANNEL_ANSWER" and r.answered_at is None:
            pass  # the originate's BACKGROUND_JOB carries the answer; nothing to do early
        elif name == "CHANNEL_PROGRESS":  # pragma: no cover - not subscribed by default
            self.ctl.driver.submit(AgentRinging(r.offer_id, r.agent_id))

    def _leg_done(self, r: Ringing, ended_at: float, cause: str) -> None:
        if r.extra.get("leg_written"):
            return
        r.extra["leg_written"] = "1"
        self.ctl.history.leg(CallLeg(uuid=r.leg_uuid, call_uuid=r.member_uuid, role="agent",
                                     dial_string=r.agent_id, started_at=r.started_at, answered_at=r.answered_at,
                                     ended_at=ended_at, hangup_cause=cause, agent_id=r.agent_id))

    def _cancel(self, cmd: CancelOffer) -> None:
        r = self.offers.pop(cmd.offer_id, None)
        if r is None:
            return
        r.cancelled = True
        if cmd.reason == "timeout":
            self.ctl.history.queue_event(QueueEventType.RING_NO_ANSWER, r.queue, r.member_uuid,
                                         agent_id=r.agent_id, detail="offer timeout")
        log.info("offer %s to agent %s cancelled (%s)", cmd.offer_id, cmd.agent_id, cmd.reason)
        self._kill(r.node, r.leg_uuid, "ORIGINATOR_CANCEL" if r.answered_at is None else "NORMAL_CLEARING", r)

    def _kill(self, node: Node, uuid: str, cause: str, ringing: Ringing | None = None) -> None:
        """``uuid_kill`` a leg until the switch confirms (``+OK``, or ``-ERR`` no such channel).

        While its originate is still pending the channel may not exist yet: retried until it does. A timeout
        or a lost link is no confirmation: retried with backoff (the link may come back), for a few minutes.
        """

        def kill() -> None:
            delay = 0.02
            missing = failures = 0
            while True:
                try:
                    node.api(f"uuid_kill {uuid} {cause}")
                    if failures:
                        log.info("uuid_kill %s on node %s confirmed after %d failures", uuid, node.name, failures)
                    return
                except CommandFailed:
                    # no such channel: gone already, or the originate has not created it yet
                    missing += 1
                    if ringing is None or ringing.job_done or missing >= 12:
                        return
                except ESLError as exc:
                    failures += 1
                    if failures >= KILL_TRIES:
                        log.error("uuid_kill %s on node %s: %s; given up after %d tries", uuid, node.name, exc,
                                  failures)
                        return
                    if failures == 1 or failures % 10 == 0:
                        log.warning("uuid_kill %s on node %s: %s; retrying", uuid, node.name, exc)
                gevent.sleep(delay)
                delay = min(delay * 2, KILL_BACKOFF_MAX_S if failures else 1.0)

        self.spawn(kill)

    # ------------------------------------------------------------------ connect
    def _connect(self, cmd: Connect) -> None:
        r = self.offers.pop(cmd.offer_id, None)
        if r is None:
            log.error("connect for unknown offer %s (member %s, agent %s)", cmd.offer_id, cmd.member_uuid,
                      cmd.agent_id)
            self.ctl.driver.submit(CallEnded(cmd.agent_id, by="system"))
            return
        r.connected = True
        if cmd.number is not None:
            self.spawn(self._dial_customer, r, cmd)
            return
        session = self.ctl.sessions.get(cmd.member_uuid)
        if session is None:
            # the caller went away between the answer and now: free the agent
            self._kill(r.node, r.leg_uuid, "NORMAL_CLEARING")
            self.ctl.driver.submit(CallEnded(cmd.agent_id, by="caller"))
            return
        session.connect(r, cmd)

    def bridge(self, r: Ringing, caller_uuid: str) -> bool:
        """``uuid_bridge`` the caller and the agent leg on the caller's node; True when it took."""
        if not self.ctl.may_route():
            log.warning("call %s: not leading; no bridge to agent %s", caller_uuid, r.agent_id)
            return False
        try:
            r.node.api(f"uuid_bridge {caller_uuid} {r.leg_uuid}")
        except CCError as exc:
            log.warning("call %s: uuid_bridge to agent %s failed: %s", caller_uuid, r.agent_id, exc)
            return False
        r.bridged_at = self.ctl.clock.now()
        r.hold_at_bridge = r.hold_s(r.bridged_at)
        return True

    def release(self, r: Ringing, by: str) -> None:
        """The call of an agent ended (``by`` caller/agent/system): the Acd starts the agent's wrap-up."""
        if r.ended:
            return
        r.ended = True
        self.ctl.driver.submit(CallEnded(r.agent_id, by=by))
        if by != "agent":
            self._kill(r.node, r.leg_uuid, "NORMAL_CLEARING")

    # ------------------------------------------------------------------ callbacks
    def _dial_customer(self, r: Ringing, cmd: Connect) -> None:
        cfg = self.ctl.config.callback
        cust = new_uuid()
        r.customer_uuid = cust
        number = cmd.number or ""
        caller_id = cfg.caller_id or "cc"
        variables = {"origination_uuid": cust, "originate_timeout": str(max(1, math.ceil(cfg.timeout_s))),
                     "cc_member_uuid": cmd.member_uuid, "cc_queue": cmd.queue, "cc_agent": cmd.agent_id,
                     "origination_caller_id_number": caller_id, "origination_caller_id_name": caller_id}
        dial = _dial_string(variables, cfg.dial.format(number=number))
        self.ctl.callback_nodes.pop(cmd.member_uuid, None)
        r.node.watch(cust, functools.partial(self._customer_event, r))
        try:
            body = r.node.switch.bgapi(f"originate {dial} &park()").wait(self.ctl.clock.real(cfg.timeout_s) + 30)
        except ESLError as exc:
            body = f"-ERR {exc}"
        if not body.startswith("+OK") or not self.bridge(r, cust):
            r.node.unwatch(cust)
            log.info("callback %s to %s failed: %s", cmd.member_uuid, mask_number(number), mask_text(body.strip()))
            self.ctl.history.queue_event(QueueEventType.CALLBACK_FAILED, cmd.queue, cmd.member_uuid,
                                         agent_id=cmd.agent_id, detail=body.strip())
            self.release(r, "system")
            return
        self.ctl.history.queue_event(QueueEventType.CONNECT, cmd.queue, cmd.member_uuid, agent_id=cmd.agent_id,
                                     wait_s=cmd.wait_s, detail="callback")
        self.ctl.hooks.emit(HookEvent("bridged", self.ctl.clock.now(), call_uuid=cmd.member_uuid,
                                      agent_id=cmd.agent_id, queue=cmd.queue, data={"callback": number}))

    def _customer_event(self, r: Ringing, ev: Event) -> None:
        if ev.name == "CHANNEL_HANGUP_COMPLETE" and r.customer_uuid is not None:
            r.node.unwatch(r.customer_uuid)
            if r.bridged_at is not None and not r.ended:
                self._callback_over(r, by="caller")

    def _callback_over(self, r: Ringing, by: str) -> None:
        now = self.ctl.clock.now()
        hold = r.bridge_hold_s(now)
        talk = max(0.0, now - (r.bridged_at or now) - hold)   # talk_s: bridged time minus hold
        kind = QueueEventType.COMPLETE_AGENT if by == "agent" else QueueEventType.COMPLETE_CALLER
        self.ctl.history.queue_event(kind, r.queue, r.member_uuid, agent_id=r.agent_id, talk_s=talk,
                                     hold_s=hold, detail="callback")
        self.ctl.history.queue_event(QueueEventType.CALLBACK_COMPLETED, r.queue, r.member_uuid,
                                     agent_id=r.agent_id, talk_s=talk)
        if r.customer_uuid is not None and by == "agent":
            self._kill(r.node, r.customer_uuid, "NORMAL_CLEARING")
        self.release(r, by)

    # ------------------------------------------------------------------ exits
    def _exit(self, cmd: Exit) -> None:
        self.log_exit(_EXIT_TYPES[cmd.reason], cmd.queue, cmd.member_uuid, cmd.reason, cmd.wait_s,
                      detail=EXIT_CAUSES.get(cmd.reason, ""))
        self.ctl.callback_nodes.pop(cmd.member_uuid, None)
        self.joined_at.pop(cmd.member_uuid, None)
        session = self.ctl.members.get(cmd.member_uuid)
        if session is not None:
            session.post(cmd)

    def log_exit(self, type_: QueueEventType, queue: str, member_uuid: str, reason: ExitReason, wait_s: float, *,
                 agent_id: str | None = None, detail: str = "") -> None:
        """A stay's end without a talk: its final queue-log line and its ``left_queue`` event (the Acd's exits,
        and those a call's session settles itself: the caller gone as the agent answered, a controller error)."""
        self.ctl.history.queue_event(type_, queue, member_uuid, agent_id=agent_id, wait_s=wait_s, detail=detail)
        self.ctl.hooks.emit(HookEvent("left_queue", self.ctl.clock.now(), call_uuid=member_uuid, queue=queue,
                                      data={"reason": str(reason), "wait_s": wait_s}))

    def record_policy(self, queue: str) -> RecordPolicy:
        """The recording policy of ``queue`` (NEVER for an unknown queue)."""
        q = self.ctl.acd.world.queues.get(queue)
        return q.cfg.record_policy if q is not None else RecordPolicy.NEVER
