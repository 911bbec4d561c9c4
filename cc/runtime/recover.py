"""Recovery at start: the calls a previous controller left on the switches, taken over from their channels.

What cc knows of a call that the switch cannot tell is kept on the call's channel as ``cc_*`` variables
(CallSession.mark: state, queue, joined, priority, started, answered, flow, node, agent, leg, bridged); the
agent legs carry ``cc_member_uuid``, ``cc_queue`` and ``cc_agent`` from their originate. A restarted
controller lists each switch's channels (``show channels as json``), the bridges (``show calls as json``)
and reads each channel's variables (``uuid_dump <uuid> json``), then:

- a caller bridged to its agent leg is watched to its end over the inbound link (its agent is set in call,
  the queue log gets its COMPLETE_*, the calls row its end);
- a caller that was waiting re-enters its queue with its original join time and priority, and is bridged
  when an agent is free; it has no outbound socket, so cc controls it over the inbound link
  (``uuid_broadcast`` music, ``uuid_bridge``, ``uuid_kill``);
- a caller whose bridge ended while no controller ran gets its COMPLETE_AGENT and is hung up;
- a caller that was in its flow before any queue (an IVR menu, a greeting: no ``cc_state`` yet) goes through
  the dialplan again and runs its flow from the start under the new controller, as a later visit of the same
  call (its first row is ended ``flow-restarted``): the flow's place inside a node cannot be rebuilt, but the
  caller is not dropped;
- any other channel of cc's (an agent leg nobody talks to, a caller in its flow after a queue, whom a new
  start would queue again, a caller that cannot go back to its service number) is hung up, its record ended.

Channels in cc's ``socket`` application are left to the reconciliation (cc/runtime/reconcile.py).
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import gevent
import gevent.event

from cc.acd import AgentInCall, Exit, MemberJoined
from cc.errors import CallGone, CCError, CommandFailed, ESLError
from cc.esl.outbound import CallChannel
from cc.esl.protocol import Event, JsonEvent, PlainEvent
from cc.ivr_dsl import Enqueue, Result
from cc.model import AgentState, CallRecord, ExitReason, QueueEvent, QueueEventType
from cc.reports.summary import causal_rank
from cc.runtime.blocking import offload
from cc.runtime.call import CAUSE_WAIT_S, CallSession, _Stay
from cc.runtime.dispatcher import Ringing
from cc.runtime.history import enter_detail
from cc.runtime.nodes import Node
from cc.runtime.reconcile import SwitchChannel, parse_channels

if TYPE_CHECKING:
    from cc.runtime.controller import Controller

__all__ = ["AdoptedChannel", "RecoveredSession", "Recovery"]

log = logging.getLogger(__name__)

#: how many times a caller's flow is run again after a controller died in it; then it is hung up (a call that
#: keeps taking its controllers down must not go round for ever)
FLOW_RESTARTS_MAX = 2

#: queue-log lines that end a stay
_FINAL = frozenset((QueueEventType.ABANDON, QueueEventType.COMPLETE_AGENT, QueueEventType.COMPLETE_CALLER,
                    QueueEventType.EXIT_TIMEOUT, QueueEventType.EXIT_NO_AGENT, QueueEventType.EXIT_FULL,
                    QueueEventType.EXIT_KEY, QueueEventType.EXIT_OTHER, QueueEventType.CALLBACK_REQUESTED))


def _float(value: str | None) -> float | None:
    """A number kept in a ``cc_*`` variable (None when unset or not a number)."""
    try:
        return float(value) if value else None
    except ValueError:
        return None


class AdoptedChannel(CallChannel):
    """A call with no outbound socket (taken over after a restart), controlled over its node's inbound link."""

    def __init__(self, node: Node, uuid: str, data: Event) -> None:  # no socket: CallChannel's set-up is skipped
        self.node = node
        self.uuid = uuid
        self.channel_data = data
        self.address = None
        self.command_timeout = 10.0
        self.hung_up = False
        self.hangup_cause: str | None = None
        self.channel_down = False
        self.moh_started = False
        self._handlers: dict[str, list[Callable[[Event], None]]] = {}
        self._gone = gevent.event.Event()
        node.watch(uuid, self._on_inbound)

    def _on_inbound(self, ev: Event) -> None:
        if ev.name == "CHANNEL_HANGUP_COMPLETE":
            self.node.unwatch(self.uuid)
            self.forget(ev.hangup_cause or "NORMAL_CLEARING")
            return
        for h in list(self._handlers.get(ev.name or "", ())):
            h(ev)

    def on(self, name: str, handler: Callable[[Event], None]) -> None:
        """Call ``handler`` for this channel's events ``name`` (as the inbound link delivers them)."""
        self._handlers.setdefault(name, []).append(handler)

    def on_dtmf(self, handler: Callable[[str], None]) -> None:
        """No digits reach cc without the outbound socket."""

    def api(self, cmd: str, timeout: float | None = None) -> str:
        """``api`` over the node's inbound link."""
        return self.node.api(cmd, timeout)

    def set(self, var: str, value: str) -> Event:
        """``uuid_setvar``."""
        self.node.api(f"uuid_setvar {self.uuid} {var} {value}")
        return PlainEvent("")

    def playback(self, path: str, timeout: float | None = None) -> Event:
        """Music while waiting: ``uuid_broadcast`` once (it runs while the channel is parked)."""
        if not self.moh_started and path:
            self.moh_started = True
            try:
                self.node.api(f"uuid_broadcast {self.uuid} {path} aleg")
            except CCError as exc:
                log.info("call %s: music on hold for a recovered caller: %s", self.uuid, exc)
        return PlainEvent("")

    def hangup(self, cause: str = "NORMAL_CLEARING") -> None:
        """``uuid_kill``; a call already gone is not an error."""
        if self.hung_up:
            return
        try:
            self.node.api(f"uuid_kill {self.uuid} {cause}")
        except CommandFailed:
            pass

    def wait_hangup(self, timeout: float | None = None) -> bool:
        """Wait until the call is down; False on timeout."""
        return bool(self._gone.wait(timeout))

    def wait_cause(self, timeout: float) -> str | None:
        """The cause is the one CHANNEL_HANGUP_COMPLETE named (no notice comes before it here)."""
        return self.hangup_cause

    def forget(self, cause: str) -> None:
        """The channel is down: whoever waits on it gets CallGone."""
        self.channel_down = True
        if not self.hung_up:
            self.hung_up = True
            self.hangup_cause = cause
            for h in list(self._handlers.get("CHANNEL_HANGUP", ())):
                h(PlainEvent(f"Event-Name: CHANNEL_HANGUP\nUnique-ID: {self.uuid}\nHangup-Cause: {cause}\n"))
        self._gone.set()

    def close(self) -> None:
        """Nothing to close."""


@dataclass
class Taken:
    """One caller channel of cc's, as its variables tell."""

    uuid: str
    data: Event
    state: str
    queue: str
    joined_at: float | None
    priority: int
    bridged_at: float | None
    leg: str | None = None
    agent: str | None = None
    #: the id of the stay's ENTER line (its QueueCall's id)
    enter_id: str | None = None


class RecoveredSession(CallSession):
    """A call taken over after a restart: waits in its queue again, or is watched while bridged."""

    def __init__(self, ctl: Controller, ch: AdoptedChannel, node: Node, taken: Taken) -> None:
        super().__init__(ctl, ch, node)
        self.taken = taken
        data = taken.data
        created = _float(data.header("Caller-Channel-Created-Time"))   # microseconds (switch's clock)
        self.started_at = _float(data.variable("cc_started")) or (created / 1e6 if created else self.started_at)
        # a call in its first flow carries no cc_* times yet: the switch's own (its answer, which the first
        # controller had stored; the row's end must not blank it)
        answered = _float(data.header("Caller-Channel-Answered-Time"))
        self.answered_at = _float(data.variable("cc_answered")) or (answered / 1e6 if answered else None)
        self.flow_name = data.variable("cc_flow") or self._entry_flow()
        self.last_queue = taken.queue
        self.recorder.resume_from(data.variable("cc_rec"), _float(data.variable("cc_rec_started")))

    def _entry_flow(self) -> str | None:
        """The name of the flow the call's number is routed to (None when there is none or it cannot load)."""
        try:
            flow = self.ctl.flows.for_number(self.dnis)
        except Exception as exc:   # a flow file that no longer loads: the row just names no flow
            log.info("call %s: the flow of %s does not load: %s", self.uuid, self.dnis, exc)
            return None
        return flow.name if flow is not None else None

    def _next_message(self, moh: str) -> Any:
        self.ch.playback(moh)
        return self._take()

    def _announce(self, position: int | None, ewt_s: float | None, cmd: Enqueue) -> None:
        return None   # no prompt can be queued without the outbound socket

    def run(self) -> None:
        """Take the call over to its end; writes the call's history whatever happens."""
        ctl = self.ctl
        self.greenlet = gevent.getcurrent()
        ctl.sessions[self.uuid] = self
        try:
            if self.taken.leg is not None:
                self._watch_bridge()
            else:
                self._rejoin()
            if not self.ch.hung_up:
                self.ch.hangup("NORMAL_CLEARING")   # no flow to go on with
                # the switch's CHANNEL_HANGUP_COMPLETE names the cause the row gets (it comes over the inbound link)
                if not self.ch.wait_hangup(CAUSE_WAIT_S):
                    self.ch.hangup_cause = self.ch.hangup_cause or "NORMAL_CLEARING"
        except CallGone as exc:
            self._caller_gone(exc.cause)
            self.disposition = self.disposition or "caller-hangup"
        except ESLError as exc:
            log.warning("call %s: ESL failure of a recovered call: %s", self.uuid, exc)
            self.disposition = self.disposition or "esl-error"
            self._give_up()
        except Exception:
            log.exception("call %s: controller failure in a recovered call", self.uuid)
            self.disposition = self.disposition or "error"
            self._give_up()
        finally:
            self._finish()

    def _watch_bridge(self) -> None:
        t = self.taken
        ctl = self.ctl
        assert t.leg is not None and t.agent is not None
        now = ctl.clock.now()
        bridged = min(t.bridged_at or now, now)
        joined = min(t.joined_at or bridged, bridged)
        r = Ringing(f"recovered-{t.leg}", self.uuid, t.queue, t.agent, t.leg, self.node, bridged,
                    answered_at=bridged, connected=True, bridged_at=bridged, job_done=True)
        self.node.watch(t.leg, functools.partial(ctl.dispatcher._agent_leg_event, r))
        if t.enter_id:
            ctl.history.resume_stay(t.enter_id, t.queue, self.uuid, joined, agent_id=t.agent, connected_at=bridged,
                                    detail=enter_detail(t.priority), bridged_mark=t.bridged_at)
        stay = _Stay(t.queue, joined, Enqueue(t.queue, priority=t.priority), ringing=r, bridged_at=bridged,
                     enter_id=t.enter_id)
        self.stay = stay
        self.last_agent = t.agent
        try:
            self._bridged(stay, r, bridged, bridged - joined, False)
        finally:
            stay.done = True
            self.stay = None

    def _rejoin(self) -> Result:
        t = self.taken
        ctl = self.ctl
        cmd = Enqueue(t.queue, priority=t.priority)
        joined = min(t.joined_at or ctl.clock.now(), ctl.clock.now())
        stay = _Stay(t.queue, joined, cmd, enter_id=t.enter_id)
        self.stay = stay
        ctl.members[self.uuid] = self
        q = ctl.acd.world.queues.get(t.queue)
        try:
            try:   # as _enqueue sets them: the caller stays when the agent hangs up
                self.ch.api(f"uuid_setvar_multi {self.uuid} park_after_bridge=true;hangup_after_bridge=false")
            except CommandFailed:
                pass   # gone: its hang-up is on the way
            return self._wait_in_queue(stay, q.cfg.moh if q is not None else "")
        except CallGone:
            self._hung_up_in_queue(stay)
            raise
        except BaseException:
            self._left_on_error(stay)
            raise
        finally:
            self._release_pending(stay)
            stay.done = True
            if ctl.members.get(self.uuid) is self:
                del ctl.members[self.uuid]
            self.stay = None


#: reads the store (in a worker thread): node names, since, until -> calls rows not ended, with their queue logs
OpenCalls = Callable[[list[str], float, float], list[tuple[CallRecord, list[QueueEvent]]]]

#: how far back the store is asked for calls a previous process left open
OPEN_CALLS_S = 86_400.0


class Recovery:
    """Takes over what a previous controller left on the nodes (see the module docstring)."""

    def __init__(self, ctl: Controller, open_calls: OpenCalls | None = None, *, grace_s: float = 5.0,
                 hold_redials: bool = False) -> None:
        self.ctl = ctl
        #: the callers to send through the dialplan again wait for :meth:`send_redials` (the start-up pass runs
        #: before the outbound port listens, and a real switch runs the transfer's ``socket`` within milliseconds)
        self.hold_redials = hold_redials
        self.held_redials: list[tuple[Node, str, str, bool]] = []   # node, uuid, number, a flow restarted
        self.open_calls = open_calls
        self.grace_s = grace_s
        #: per node: channels nobody here holds -> running time they were first seen (the sweep)
        self.first_seen: dict[str, dict[str, float]] = {}
        #: per node: channels read once and found not to be cc's
        self.foreign: dict[str, set[str]] = {}
        self.seen: set[str] = set()
        self.bridged = 0
        self.waiting = 0
        self.completed = 0
        self.settled = 0
        self.ended_unseen = 0
        #: callers that reached no controller (parked unanswered): sent through the dialplan again
        self.redialled = 0
        #: callers that were in their flow: sent through the dialplan again to run it from the start
        self.restarted = 0

    def run(self) -> dict[str, int]:
        """One pass over every node that is up; returns what was taken over (and ``took_ms``)."""
        t0 = time.monotonic()
        listed: list[str] = []
        for node in self.ctl.nodes:
            if not node.up:
                log.warning("recovery: node %s is down; its calls are not taken over", node.name)
                continue
            try:
                self._node(node)
                listed.append(node.name)
            except (CCError, ValueError) as exc:
                log.warning("recovery: node %s: %s", node.name, exc)
        if self.open_calls is not None and listed:
            self._close_unseen(listed)
        out = {"bridged": self.bridged, "waiting": self.waiting, "completed": self.completed,
               "settled": self.settled, "ended_unseen": self.ended_unseen,
               "redialled": self.redialled + sum(1 for h in self.held_redials if not h[3]),
               "restarted": self.restarted + sum(1 for h in self.held_redials if h[3]),
               "took_ms": round(1000 * (time.monotonic() - t0))}
        log.info("recovery: %s", out)
        return out

    def _dump(self, node: Node, uuid: str) -> Event | None:
        try:
            return JsonEvent.parse(node.api(f"uuid_dump {uuid} json"))
        except CommandFailed:
            return None   # gone meanwhile

    def _node(self, node: Node) -> None:
        ctl = self.ctl
        rows = parse_channels(node.api("show channels as json"))
        claimed = set(ctl.sessions) | ctl.open_channels() | ctl.settler.settling
        self.seen.update(r.uuid for r in rows)
        self._take_over(node, [r.uuid for r in rows if r.uuid not in claimed and r.application != "socket"])

    def sweep(self, node: Node, rows: list[SwitchChannel]) -> None:
        """After a reconciliation pass: a channel of cc's that nobody here holds, seen on passes ``grace_s`` of
        running time apart, is taken over (its node was down at start) or, when this process ran its session
        (its socket ended without a hangup and it waits parked), hung up."""
        ctl = self.ctl
        now = ctl.monitor.running_time()
        known = set(ctl.sessions) | ctl.open_channels() | ctl.settler.settling   # and what a watcher follows
        first = self.first_seen.get(node.name, {})
        foreign = self.foreign.setdefault(node.name, set())
        foreign.intersection_update(r.uuid for r in rows)
        seen: dict[str, float] = {}
        due: list[str] = []
        for r in rows:
            if r.uuid in known or r.uuid in foreign or r.application == "socket" or node.watching(r.uuid):
                continue
            since = first.get(r.uuid)
            if since is not None and now - since >= self.grace_s:
                due.append(r.uuid)
            else:
                seen[r.uuid] = now if since is None else since
        self.first_seen[node.name] = seen
        if due:
            self.seen.update(r.uuid for r in rows)
            foreign.update(self._take_over(node, due, ours=ctl.had_session))

    def _pairs(self, node: Node) -> dict[str, str]:
        """The bridges on ``node``: each channel -> the one it is bridged to (``show calls as json``)."""
        pairs: dict[str, str] = {}
        doc = json.loads(node.api("show calls as json"))
        for row in doc.get("rows") or []:
            a, b = str(row.get("uuid") or ""), str(row.get("b_uuid") or "")
            if a and b:
                pairs[a], pairs[b] = b, a
        return pairs

    def _take_over(self, node: Node, uuids: list[str], *, ours: Callable[[str], bool] | None = None) -> set[str]:
        """Read the channels ``uuids`` and take over those of cc's; returns the uuids that are not cc's.

        ``ours``: channels this process ran a session for (their records are written): only hung up."""
        ctl = self.ctl
        pairs = self._pairs(node) if uuids else {}
        legs: dict[str, Event] = {}
        callers: list[Taken] = []
        foreign: set[str] = set()
        for uuid in uuids:
            data = self._dump(node, uuid)
            if data is None:
                continue
            if data.variable("cc_member_uuid"):
                legs[uuid] = data
            elif ours is not None and ours(uuid):
                log.warning("recovery: call %s on node %s sits parked with no session; hanging it up", uuid,
                            node.name)
                ctl.settler.end(node, uuid, ctl.config.overload.cause)
                self.settled += 1
            elif self._redial(node, uuid, data):
                continue
            elif data.variable("cc_state") or data.variable("cc_service_number"):
                callers.append(Taken(uuid, data, data.variable("cc_state") or "flow",
                                     data.variable("cc_queue") or "", _float(data.variable("cc_joined")),
                                     int(_float(data.variable("cc_priority")) or 0),
                                     _float(data.variable("cc_bridged")), enter_id=data.variable("cc_enter")))
            else:
                foreign.add(uuid)
        adopted_legs: set[str] = set()
        waiting: list[Taken] = []
        for t in callers:
            other = pairs.get(t.uuid)
            leg = legs.get(other or "")
            if other and leg is not None and leg.variable("cc_member_uuid") == t.uuid:
                t.leg, t.agent = other, leg.variable("cc_agent")
                t.queue = t.queue or leg.variable("cc_queue") or ""
                a = ctl.acd.world.agents.get(t.agent or "")
                if a is not None and a.state is AgentState.IDLE and a.offer is None and a.call is None \
                        and t.queue in ctl.acd.world.queues:
                    adopted_legs.add(other)
                    ctl.driver.submit(AgentInCall(a.id, t.uuid, t.queue, t.bridged_at or ctl.clock.now()))
                    self._start(node, t)
                    self.bridged += 1
                    continue
            if t.state == "queued" and t.queue in ctl.acd.world.queues and not other:
                waiting.append(t)
            elif t.state == "bridged" and t.queue and not other:
                self._complete(node, t)
            elif t.state == "flow" and not other and self._restart(node, t):
                continue
            else:
                self._settle(node, t)
        for t in sorted(waiting, key=lambda t: (t.joined_at or 0.0)):
            if t.enter_id:   # the stay's summary goes on from its ENTER, before any line of this process
                now = ctl.clock.now()
                ctl.history.resume_stay(t.enter_id, t.queue, t.uuid, min(t.joined_at or now, now),
                                        detail=enter_detail(t.priority))
            session = self._start(node, t)
            ctl.driver.submit(MemberJoined(t.uuid, t.queue, t.priority, joined_at=t.joined_at))
            if ctl.acd.member_queue(t.uuid) is None and session.inbox.empty():
                # the engine refused the member (logged): its stay ends as a full queue's, the caller is hung up
                wait = ctl.clock.now() - (t.joined_at or ctl.clock.now())
                ctl.dispatcher.handle(Exit(t.uuid, t.queue, ExitReason.FULL, max(0.0, wait)))
            self.waiting += 1
        for uuid in legs:
            if uuid not in adopted_legs:
                log.info("recovery: agent leg %s on node %s has no caller of cc's; hanging it up", uuid, node.name)
                ctl.settler.end(node, uuid, "NORMAL_CLEARING", fallback=False)
        return foreign

    def _redial(self, node: Node, uuid: str, data: Event) -> bool:
        """A caller the dialplan parked before any controller answered it (its socket's connect was refused or
        closed while no controller led): it never started its flow, so it goes through the dialplan again
        (``uuid_transfer`` to its service number, in its own context) and reaches this controller's socket as
        a new call, instead of being hung up. True when sent."""
        number = data.variable("cc_service_number")
        if not number or data.variable("cc_state") or data.variable("cc_started") \
                or data.header("Answer-State") not in ("ringing", "early"):
            return False
        if self.hold_redials:
            self.held_redials.append((node, uuid, number, False))
            return True
        return self._transfer(node, uuid, number, False)

    def _restart(self, node: Node, t: Taken) -> bool:
        """A caller that was in its flow, before any queue, when its controller died: where inside a node it was
        (a prompt half played, digits half entered) cannot be rebuilt, so its flow runs again from the start, as
        a later visit of the call (a ``call_segments`` row; the screen lets it in as this process's own). Its
        first row is ended ``flow-restarted`` now. False (hung up instead) when it has no service number to go
        back to, when it had been in a queue (``cc_state`` flow: after its talk or its queue's exit, a new start
        would queue it again), or when its flow ran again FLOW_RESTARTS_MAX times already (``cc_restarts``)."""
        number = t.data.variable("cc_service_number")
        restarts = int(_float(t.data.variable("cc_restarts")) or 0)
        if not number or t.data.variable("cc_state") or restarts >= FLOW_RESTARTS_MAX:
            return False
        try:
            node.api(f"uuid_setvar {t.uuid} cc_restarts {restarts + 1}")
        except CommandFailed:
            return False   # gone meanwhile: settled (its row ended) as any other
        self._record(node, t, "flow-restarted", None)   # counts visit 1 in this process: the screen lets it in
        if self.hold_redials:
            self.held_redials.append((node, t.uuid, number, True))
            return True
        if not self._transfer(node, t.uuid, number, True):
            log.info("recovery: caller %s on node %s was gone before its flow could run again", t.uuid, node.name)
        return True

    def _transfer(self, node: Node, uuid: str, number: str, restart: bool) -> bool:
        try:
            node.api(f"uuid_transfer {uuid} {number}")
        except CommandFailed:
            return False   # gone meanwhile, or refused: the other paths (settle) apply
        if restart:
            log.info("recovery: caller %s on node %s was in its flow; sent to %s to run it again", uuid, node.name,
                     number)
            self.restarted += 1
        else:
            log.info("recovery: caller %s on node %s reached no controller; sent to %s again", uuid, node.name,
                     number)
            self.redialled += 1
        return True

    def send_redials(self) -> int:
        """Send the held callers through the dialplan again, once the outbound port listens; from now on each
        is sent as it is found. How many were sent (one gone meanwhile is left to the sweep)."""
        held, self.held_redials, self.hold_redials = self.held_redials, [], False
        return sum(1 for node, uuid, number, restart in held if self._transfer(node, uuid, number, restart))

    def _start(self, node: Node, t: Taken) -> RecoveredSession:
        session = RecoveredSession(self.ctl, AdoptedChannel(node, t.uuid, t.data), node, t)
        self.ctl.sessions[t.uuid] = session
        if t.leg is None:
            self.ctl.members[t.uuid] = session
        gevent.spawn(session.run)
        return session

    def _record(self, node: Node, t: Taken, disposition: str, cause: str | None) -> None:
        """End the call's record: ``cause`` is the one cc asked the switch to hang it up with; None when the
        channel goes on (sent through the dialplan again: the row gets no hang-up cause)."""
        session = RecoveredSession(self.ctl, AdoptedChannel(node, t.uuid, t.data), node, t)
        node.unwatch(t.uuid)
        session.disposition = disposition
        if cause is None:
            session.transferred = True
        else:
            session.ch.hung_up = True
            session.ch.hangup_cause = cause
        session._finish()

    def _complete(self, node: Node, t: Taken) -> None:
        """The bridge ended while no controller ran: the talk is logged as ended now, the caller hung up."""
        ctl = self.ctl
        now = ctl.clock.now()
        bridged = min(t.bridged_at or now, now)
        joined = min(t.joined_at or bridged, bridged)
        agent = t.data.variable("cc_agent")
        if t.enter_id:
            ctl.history.resume_stay(t.enter_id, t.queue, t.uuid, joined, agent_id=agent, connected_at=bridged,
                                    detail=enter_detail(t.priority), bridged_mark=t.bridged_at)
        ctl.history.queue_event(QueueEventType.COMPLETE_AGENT, t.queue, t.uuid,
                                agent_id=agent, wait_s=bridged - joined,
                                talk_s=now - bridged, hold_s=0.0, detail="recovered")
        ctl.settler.end(node, t.uuid, "NORMAL_CLEARING", fallback=False)
        self._record(node, t, "answered", "NORMAL_CLEARING")
        self.completed += 1

    def _settle(self, node: Node, t: Taken) -> None:
        """A channel of cc's that cannot be taken over (in its flow): hung up, its record ended."""
        log.info("recovery: call %s on node %s (%s) cannot be taken over; hanging it up", t.uuid, node.name,
                 t.state)
        ctl = self.ctl
        if t.state == "queued" and t.queue:
            if t.enter_id:
                ctl.history.resume_stay(t.enter_id, t.queue, t.uuid, t.joined_at or ctl.clock.now(),
                                        detail=enter_detail(t.priority))
            # cc ends this stay, not the caller: an other exit (issue 16's rule), never an abandon
            ctl.history.queue_event(QueueEventType.EXIT_OTHER, t.queue, t.uuid,
                                    wait_s=ctl.clock.now() - (t.joined_at or ctl.clock.now()), detail="recovered")
        ctl.settler.end(node, t.uuid, ctl.config.overload.cause)
        self._record(node, t, "recovered", ctl.config.overload.cause)
        self.settled += 1

    def _close_unseen(self, nodes: list[str]) -> None:
        """Calls the store has as in progress on ``nodes`` that no switch has any more: they ended while no
        controller ran. Their stay gets its final line and their row its end (as of now: the real end is
        unknown)."""
        ctl = self.ctl
        assert self.open_calls is not None
        now = ctl.clock.now()
        fetch = self.open_calls
        try:
            found = offload(lambda: fetch(nodes, now - OPEN_CALLS_S, now + 1.0), 60.0)
        except Exception as exc:   # the store is down or slow: those rows stay open, nothing else waits
            log.warning("recovery: calls left open in the store not read: %s", exc)
            return
        for record, events in found:
            if record.uuid in self.seen or record.uuid in ctl.sessions:
                continue
            self._close_stay(record.uuid, sorted(events, key=lambda e: (e.at, causal_rank(e))), now)
            ctl.history.call(replace(record, ended_at=now, hangup_cause=record.hangup_cause or "NORMAL_UNSPECIFIED",
                                     disposition=record.disposition or "ended-unobserved"))
            self.ended_unseen += 1

    def _close_stay(self, member: str, events: list[QueueEvent], now: float) -> None:
        """The final queue-log line of the last stay of ``member`` if it has none."""
        enter = None
        connect = None
        for e in events:
            if e.type is QueueEventType.ENTER:
                enter, connect = e, None
            elif enter is not None and e.type is QueueEventType.CONNECT and e.detail != "callback":
                connect = e
            elif enter is not None and e.type in _FINAL:
                enter = None
        if enter is None:
            return
        h = self.ctl.history
        detail = "ended while no controller ran"
        if connect is not None:
            h.resume_stay(enter.id, enter.queue, member, enter.at, agent_id=connect.agent_id, connected_at=connect.at,
                          logged=True)
            h.queue_event(QueueEventType.COMPLETE_CALLER, enter.queue, member, agent_id=connect.agent_id,
                          wait_s=connect.wait_s, talk_s=max(0.0, now - connect.at), detail=detail)
        else:
            h.resume_stay(enter.id, enter.queue, member, enter.at, logged=True)
            h.queue_event(QueueEventType.ABANDON, enter.queue, member, wait_s=max(0.0, now - enter.at), detail=detail)
