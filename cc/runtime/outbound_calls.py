"""The dialer's hands on the switches: customer originates, agent legs, bridges, overflow messages, kills.

Everything goes through the existing node/ESL layer (cc.runtime.nodes: ``bgapi``, ``api``, per-channel
watchers); nothing here opens a socket. Each command runs in its own greenlet and what the switch answers
goes back to the campaign as cc.dialer events through ``report`` (OriginateAnswered, OriginateFailed,
Bridged, BridgeFailed, CallHungUp). Originates are spread over the nodes that are up (the one with the
fewest outbound legs in progress, below ``max_legs``) and paced per node to ``cps`` calls per second of
the controller's clock (real seconds, or simulated ones when the controller runs time-scaled on cc.sim).

Wire facts used (tests/data/esl-captures/2026-12/inbound_originate_failures.esl): a failed originate's
BACKGROUND_JOB ``-ERR <CAUSE>`` comes before the leg's CHANNEL_HANGUP_COMPLETE, whose
``variable_sip_term_status`` is the far end's SIP answer; some failures (an unknown gateway) have no
channel events at all. So a failure waits up to ``sip_wait_s`` for the hang-up to learn the SIP status.
"""

from __future__ import annotations

import functools
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import gevent
import gevent.event

from cc.dialer import (
    Bridged,
    BridgeFailed,
    CallHungUp,
    DialerEvent,
    Originate,
    OriginateAnswered,
    OriginateFailed,
    result_for_failure,
)
from cc.errors import CommandFailed, ESLError
from cc.esl.protocol import Event, new_uuid
from cc.privacy.mask import mask_number, mask_text
from cc.runtime.nodes import Node, NodeSet
from cc.runtime.reconcile import parse_channels
from cc.runtime.timebase import Timebase

__all__ = ["DialLeg", "OutboundCalls", "originate_vars"]

log = logging.getLogger(__name__)

Report = Callable[[DialerEvent], None]


def _quote(value: str) -> str:
    """A value safe inside ``{var=value,...}`` of originate (quotes dropped, commas and spaces quoted)."""
    value = value.replace("'", "")
    return f"'{value}'" if any(c in value for c in ", ") else value


def originate_vars(variables: dict[str, str]) -> str:
    """``{var=value,...}`` for an originate dial string."""
    return "{" + ",".join(f"{k}={_quote(v)}" for k, v in variables.items()) + "}"


@dataclass
class DialLeg:
    """One customer originate of a campaign, and the agent leg that goes with it."""

    uuid: str
    campaign: str
    lead_id: str
    number: str
    node: Node
    started_at: float
    agent_id: str | None = None
    agent_leg: str | None = None
    answered_at: float | None = None       #: the switch's answer time (controller clock)
    overflow_at: float | None = None       #: when the overflow message was asked for
    bridged_at: float | None = None
    ended: bool = False
    failed_cause: str | None = None
    sent: bool = False
    hangup: gevent.event.Event = field(default_factory=gevent.event.Event)
    sip_status: int | None = None
    cause: str | None = None


class OutboundCalls:
    """Carries out the dialer's call commands over ESL; reports what happens as dialer events."""

    def __init__(self, nodes: NodeSet, clock: Timebase, report: Report, *, cps: float = 10.0, max_legs: int = 500,
                 agent_ring_s: float = 20.0, sip_wait_s: float = 1.0,
                 may_route: Callable[[], bool] | None = None) -> None:
        self.nodes = nodes
        self.clock = clock
        self.report = report
        self.cps = cps
        self.max_legs = max_legs
        self.agent_ring_s = agent_ring_s
        self.sip_wait_s = sip_wait_s
        self.may_route = may_route or (lambda: True)
        self.legs: dict[str, DialLeg] = {}
        self._next_slot: dict[str, float] = {}
        self._load: dict[str, int] = {}
        self.tasks: set[gevent.Greenlet] = set()
        self.originates = 0
        #: originates that failed for the system's reasons (link, timeout, no node, a cause of ours)
        self.failed_originates = 0
        #: (answer time, overflow asked) per overflowed call, controller clock
        self.overflows: list[tuple[float, float]] = []

    # ------------------------------------------------------------------ helpers
    def spawn(self, fn: Callable[..., None], *args: object) -> None:
        """Run ESL work in its own greenlet (remembered until it ends)."""
        g = gevent.spawn(fn, *args)
        self.tasks.add(g)
        g.link(self.tasks.discard)

    def _pick_node(self) -> Node | None:
        up = [n for n in self.nodes if n.up and self._load.get(n.name, 0) < self.max_legs]
        if not up:
            return None
        return min(up, key=lambda n: self._load.get(n.name, 0))

    def _slot(self, node: Node) -> float:
        """Real seconds to wait before the next originate on ``node`` (the calls-per-second limit)."""
        now = time.monotonic()
        slot = max(now, self._next_slot.get(node.name, 0.0))
        self._next_slot[node.name] = slot + self.clock.real(1.0 / self.cps)
        return slot - now

    def pending(self) -> set[str]:
        """The attempts this process still follows (sent or about to be): live for the reconciler."""
        return {u for u, leg in self.legs.items() if not leg.ended}

    def live(self) -> set[str]:
        """The attempts whose channel the switch still has (one ``show channels as json`` per node) or not yet
        sent; an attempt on a node that cannot be asked counts as live (the next pass looks again)."""
        legs = [leg for leg in list(self.legs.values()) if not leg.ended]
        out = {leg.uuid for leg in legs if not leg.sent or not leg.node.up}
        for node in {leg.node.name: leg.node for leg in legs if leg.uuid not in out}.values():
            mine = [leg.uuid for leg in legs if leg.node is node and leg.uuid not in out]
            try:
                present = {row.uuid for row in parse_channels(node.api("show channels as json"))}
            except ESLError:
                out.update(mine)
                continue
            out.update(u for u in mine if u in present)
        return out

    # ------------------------------------------------------------------ originate
    def originate(self, cmd: Originate, *, agent_contact: str | None = None) -> DialLeg | None:
        """``bgapi originate`` the customer (for ``agent_first``: the agent's leg first, then the customer)."""
        node = self._pick_node()
        now = self.clock.now()
        if node is None:
            log.warning("campaign %s: no node up with room for lead %s; originate %s failed", cmd.campaign_id,
                        cmd.lead_id, cmd.uuid)
            self.failed_originates += 1
            self.report(OriginateFailed(cmd.uuid, "SWITCH_CONGESTION"))
            return None
        leg = DialLeg(cmd.uuid, cmd.campaign_id, cmd.lead_id, cmd.number, node, now, cmd.agent_id)
        self.legs[cmd.uuid] = leg
        self._load[node.name] = self._load.get(node.name, 0) + 1
        node.watch(cmd.uuid, functools.partial(self._customer_event, leg))
        self.spawn(self._dial, leg, cmd, agent_contact)
        return leg

    def _customer_vars(self, leg: DialLeg, cmd: Originate) -> dict[str, str]:
        return {"origination_uuid": leg.uuid, "ignore_early_media": "true",
                "originate_timeout": str(max(1, math.ceil(cmd.timeout_s))),
                "origination_caller_id_number": cmd.caller_id or "0000000000",
                "cc_campaign": cmd.campaign_id, "cc_lead": cmd.lead_id}

    def _dial(self, leg: DialLeg, cmd: Originate, agent_contact: str | None) -> None:
        wait = self._slot(leg.node)
        if wait > 0:
            gevent.sleep(wait)
        if not self.may_route():
            self._failed(leg, "SWITCH_CONGESTION", ours=True)
            return
        if cmd.agent_first:
            if agent_contact is None or cmd.agent_id is None:
                self._failed(leg, "SWITCH_CONGESTION", ours=True)
                return
            if not self._agent_leg(leg, cmd.agent_id, agent_contact, cmd.number):
                self._failed(leg, "MANAGER_REQUEST", ours=False)
                return
        dial = originate_vars(self._customer_vars(leg, cmd)) + cmd.dial_string
        leg.sent = True
        self.originates += 1
        try:
            body = leg.node.switch.bgapi(f"originate {dial} &park()").wait(self.clock.real(cmd.timeout_s) + 30.0)
        except ESLError as exc:
            log.warning("campaign %s: originate %s on node %s: %s", leg.campaign, leg.uuid, leg.node.name, exc)
            self._kill(leg.node, leg.uuid)
            self._failed(leg, "NETWORK_OUT_OF_ORDER", ours=True)
            return
        body = body.strip()
        if body.startswith("+OK"):
            if leg.answered_at is None:
                leg.answered_at = self.clock.now()
                self.report(OriginateAnswered(leg.uuid))
            if cmd.agent_first:
                self._bridge_now(leg, cmd.agent_id or "")
            return
        cause = body[4:].strip() if body.startswith("-ERR") else (body or "NORMAL_UNSPECIFIED")
        # the leg's CHANNEL_HANGUP_COMPLETE (with the SIP status) usually follows the job: wait a little for it
        leg.hangup.wait(self.clock.real(self.sip_wait_s))
        self._failed(leg, leg.cause or cause, ours=result_for_failure(cause, None) == "system_error")

    def _failed(self, leg: DialLeg, cause: str, *, ours: bool) -> None:
        if leg.ended:
            return
        if ours:
            self.failed_originates += 1
        if leg.agent_leg is not None:
            self._kill(leg.node, leg.agent_leg)
        self._end(leg)
        self.report(OriginateFailed(leg.uuid, cause, leg.sip_status))

    def _end(self, leg: DialLeg) -> None:
        if leg.ended:
            return
        leg.ended = True
        leg.node.unwatch(leg.uuid)
        if leg.agent_leg is not None:
            leg.node.unwatch(leg.agent_leg)
        self._load[leg.node.name] = max(0, self._load.get(leg.node.name, 0) - 1)
        self.legs.pop(leg.uuid, None)

    def _customer_event(self, leg: DialLeg, ev: Event) -> None:
        name = ev.name
        if name == "CHANNEL_ANSWER":
            if leg.answered_at is None:
                leg.answered_at = leg.node.when(ev, self.clock.now())
                self.report(OriginateAnswered(leg.uuid))
        elif name == "CHANNEL_HANGUP_COMPLETE":
            cause = ev.hangup_cause or "NORMAL_CLEARING"
            raw = ev.variable("sip_term_status")
            leg.sip_status = int(raw) if raw is not None and raw.isdigit() else None
            leg.cause = cause
            leg.hangup.set()
            if leg.answered_at is None and not leg.sent:
                return
            if leg.answered_at is None:
                return   # the originate's job reports the failure (with this SIP status)
            if leg.agent_leg is not None:
                self._kill(leg.node, leg.agent_leg)
            self._end(leg)
            self.report(CallHungUp(leg.uuid, cause, leg.sip_status))

    # ------------------------------------------------------------------ agent legs and bridges
    def _agent_leg(self, leg: DialLeg, agent_id: str, contact: str, customer_number: str) -> bool:
        """Originate the agent's leg (parked); True once he answered."""
        leg.agent_leg = new_uuid()
        leg.agent_id = agent_id
        variables = {"origination_uuid": leg.agent_leg,
                     "originate_timeout": str(max(1, math.ceil(self.agent_ring_s))),
                     "origination_caller_id_number": customer_number or "cc",
                     "origination_caller_id_name": "campaign " + leg.campaign,
                     "cc_campaign": leg.campaign, "cc_lead": leg.lead_id, "cc_agent": agent_id,
                     "cc_dial_uuid": leg.uuid}
        leg.node.watch(leg.agent_leg, functools.partial(self._agent_event, leg))
        try:
            body = leg.node.switch.bgapi(f"originate {originate_vars(variables)}{contact} &park()").wait(
                self.clock.real(self.agent_ring_s) + 30.0)
        except ESLError as exc:
            body = f"-ERR {exc}"
        if body.strip().startswith("+OK"):
            return True
        log.info("campaign %s: agent %s's leg for %s did not come up: %s", leg.campaign, agent_id, leg.uuid,
                 mask_text(body.strip()))
        leg.node.unwatch(leg.agent_leg)
        self._kill(leg.node, leg.agent_leg)
        leg.agent_leg = None
        return False

    def bridge(self, uuid: str, agent_id: str, contact: str) -> None:
        """Ring the agent and bridge the answered customer ``uuid`` to him (Bridged or BridgeFailed)."""
        leg = self.legs.get(uuid)
        if leg is None or leg.ended:
            self.report(BridgeFailed(uuid, "gone"))
            return
        self.spawn(self._bridge, leg, agent_id, contact)

    def _bridge(self, leg: DialLeg, agent_id: str, contact: str) -> None:
        if not self._agent_leg(leg, agent_id, contact, leg.number):
            if not leg.ended:
                self.report(BridgeFailed(leg.uuid, "agent leg"))
            return
        self._bridge_now(leg, agent_id)

    def _bridge_now(self, leg: DialLeg, agent_id: str) -> None:
        if leg.ended or leg.agent_leg is None:
            if leg.agent_leg is not None:
                self._kill(leg.node, leg.agent_leg)
            return
        try:
            leg.node.api(f"uuid_bridge {leg.uuid} {leg.agent_leg}")
        except ESLError as exc:
            log.warning("campaign %s: uuid_bridge %s to agent %s: %s", leg.campaign, leg.uuid, agent_id, exc)
            self._kill(leg.node, leg.agent_leg)
            if not leg.ended:
                self.report(BridgeFailed(leg.uuid, "uuid_bridge"))
            return
        leg.bridged_at = self.clock.now()
        self.report(Bridged(leg.uuid, agent_id))

    def _agent_event(self, leg: DialLeg, ev: Event) -> None:
        if ev.name != "CHANNEL_HANGUP_COMPLETE":
            return
        leg.node.unwatch(ev.uuid or "")
        if leg.bridged_at is not None and not leg.ended:
            self._kill(leg.node, leg.uuid)   # the agent hung up: the customer's hang-up settles the call

    # ------------------------------------------------------------------ overflow, hang-up
    def overflow(self, uuid: str, message: str) -> None:
        """The answered customer hears ``message`` at once, then is hung up (two broadcasts, run in order)."""
        leg = self.legs.get(uuid)
        if leg is None or leg.ended:
            return
        leg.overflow_at = self.clock.now()
        if leg.answered_at is not None:
            self.overflows.append((leg.answered_at, leg.overflow_at))
        self.spawn(self._overflow, leg, message)

    def _overflow(self, leg: DialLeg, message: str) -> None:
        try:
            if message:
                leg.node.api(f"uuid_broadcast {leg.uuid} {message} aleg")
                leg.node.api(f"uuid_broadcast {leg.uuid} hangup::NORMAL_CLEARING aleg")
            else:
                leg.node.api(f"uuid_kill {leg.uuid} NORMAL_CLEARING")
        except CommandFailed:
            return   # gone meanwhile: its hang-up settles it
        except ESLError as exc:
            log.warning("campaign %s: overflow message to %s: %s", leg.campaign, mask_number(leg.number), exc)
            self._kill(leg.node, leg.uuid)

    def kill(self, uuid: str, cause: str = "NORMAL_CLEARING") -> bool:
        """``uuid_kill`` the customer leg ``uuid`` if it is up; its hang-up event then reports it as usual."""
        leg = self.legs.get(uuid)
        if leg is None or leg.ended or not leg.sent:
            return False
        self._kill(leg.node, uuid, cause)
        return True

    def hangup(self, uuid: str, cause: str) -> None:
        """``uuid_kill`` the customer leg (a watchdog found it silent)."""
        leg = self.legs.get(uuid)
        if leg is None:
            return
        self._kill(leg.node, uuid, cause)
        if leg.agent_leg is not None:
            self._kill(leg.node, leg.agent_leg, cause)
        self._end(leg)

    def _kill(self, node: Node, uuid: str, cause: str = "NORMAL_CLEARING") -> None:
        def kill() -> None:
            for delay in (0.0, 0.2, 1.0, 3.0):
                if delay:
                    gevent.sleep(delay)
                try:
                    node.api(f"uuid_kill {uuid} {cause}")
                    return
                except CommandFailed:
                    return    # no such channel: gone already
                except ESLError as exc:
                    log.warning("uuid_kill %s on node %s: %s", uuid, node.name, exc)

        self.spawn(kill)
