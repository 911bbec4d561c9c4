"""The running call center: what every call, the ACD driver and the dispatcher share (built by Service)."""

from __future__ import annotations

import collections
import logging
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

from cc.acd import Acd, AgentLogin, AgentLogout, AgentStatusChanged, CallEnded, OfferWithdrawn, WrapUpDone
from cc.config import ServiceConfig
from cc.errors import Conflict, InvalidValue, NotFound
from cc.esl.outbound import CallChannel
from cc.model import AgentState, AgentStatus, BusinessCalendar, ExitReason
from cc.runtime.acd_driver import AcdDriver
from cc.runtime.admission import Admission, LagMonitor
from cc.runtime.blocking import offload
from cc.runtime.call import CallSession
from cc.runtime.dispatcher import Dispatcher
from cc.runtime.flows import FlowBook
from cc.runtime.history import History, RecordSink
from cc.runtime.hooks import Hooks
from cc.runtime.monitor import Monitor
from cc.runtime.nodes import Node, NodeSet
from cc.runtime.reconcile import Holdings, Reconciler
from cc.runtime.settle import Settler
from cc.runtime.timebase import Timebase

__all__ = ["TRANSFER_CONFIRM_S", "Controller"]

log = logging.getLogger(__name__)

#: how long (real seconds) a supervisor's transfer waits for the dialplan to take the call (an application of the
#: target runs) or for the call to end instead (the transfer failed); a call still up after it counts as transferred
TRANSFER_CONFIRM_S = 2.0
#: channel UUIDs whose session count is kept in memory (~120 bytes each); a call that comes back after that many
#: newer ones asks the store how many visits it had
SEGMENTS_KEPT = 20_000


class Controller:
    """Calls, queue members, the ACD and its dispatcher, history and hooks, for one process."""

    def __init__(self, *, config: ServiceConfig, acd: Acd, nodes: NodeSet, flows: FlowBook,
                 sink: RecordSink | None, clock: Timebase, hooks: Hooks | None = None,
                 calendars: Mapping[str, BusinessCalendar] | None = None, admission: Admission | None = None,
                 monitor: LagMonitor | None = None) -> None:
        self.config = config
        self.acd = acd
        self.nodes = nodes
        self.flows = flows
        self.clock = clock
        self.hooks = hooks if hooks is not None else Hooks()
        self.calendars = dict(calendars or {})
        self.history = History(sink, clock)
        #: every call in progress, by its channel UUID
        self.sessions: dict[str, CallSession] = {}
        #: calls waiting in a queue (members of the Acd), by channel UUID
        self.members: dict[str, CallSession] = {}
        #: callback entries (their call is gone): member UUID -> node name
        self.callback_nodes: dict[str, str] = {}
        self.dispatcher = Dispatcher(self)
        #: supervisors' eavesdrops on agents' legs (API and web pages alike)
        self.monitoring = Monitor(self)
        self.driver = AcdDriver(acd, clock, self.dispatcher.handle)
        self.recordings_dir = os.path.abspath(os.path.join(config.base_dir, config.recordings_dir))
        self.accepting = True
        #: False while another controller of a standby pair may lead: no offer, bridge or new call is acted on
        self.may_route: Callable[[], bool] = _always
        #: True while the store writer's journal is at its cap: new calls are refused (set by the Service)
        self.journal_full: Callable[[], bool] = _never
        self.calls_total = 0
        #: calls whose outbound socket closed with their channel up (no hang-up)
        self.sockets_lost = 0
        self._segments: dict[str, int] = {}   # channel UUID -> sessions seen (insertion order: oldest first)
        #: the visits the store holds of a call (its calls row, its call_segments): set by the Service; blocking
        self.visits: Callable[[str], int] | None = None
        self.admission = admission if admission is not None else Admission(config.overload)
        self.monitor = monitor if monitor is not None else LagMonitor(stall_s=config.overload.max_lag_s)
        self.settler = Settler(self.history, clock, cause=config.overload.cause, fallback=config.overload.fallback)
        #: the reconciliation with the switches (set by the Service once the outbound server listens)
        self.reconciler: Reconciler | None = None
        #: the channel UUIDs of the outbound connections open now (set by the Service)
        self.open_channels: Callable[[], set[str]] = set
        #: uuid_bridge refused because the caller or the agent leg was gone (the race at answer)
        self.bridge_races = 0
        #: orphans the reconciliation hung up, newest last (their late connection is then refused, recorded)
        self.orphaned: collections.OrderedDict[str, None] = collections.OrderedDict()
        #: agents an outbound campaign holds -> its hold (cc.runtime.campaigns): the campaign settles their calls
        self.outbound_holds: dict[str, Any] = {}

    def next_segment(self, uuid: str) -> int:
        """The segment number of a new session for channel ``uuid``: 1, or 2, 3 ... when the call comes back
        under the same UUID (a transfer out of cc's socket and back in). Remembers the last SEGMENTS_KEPT UUIDs
        (an older one that comes back is counted from the store: :meth:`stored_segment`)."""
        n = self._segments.pop(uuid, 0) + 1
        self._segments[uuid] = n
        if len(self._segments) > SEGMENTS_KEPT:
            del self._segments[next(iter(self._segments))]
        return n

    def stored_segment(self, uuid: str, timeout_s: float = 3.0) -> int:
        """The segment number of a call that comes back after this process started (it carries cc's variables but
        this process never ran it): the visits the store holds + 1, asked in a worker thread (never the hub).
        When the store cannot tell in ``timeout_s``, 2: the call's first row is never overwritten."""
        n = 2
        if self.visits is not None:
            try:
                visits = self.visits
                n = offload(lambda: visits(uuid), timeout_s) + 1
            except Exception as exc:   # the store is down or slow: a later visit all the same
                log.warning("call %s: came back, but the store cannot tell its visits (%s); counted as visit 2",
                            uuid, exc)
        self._segments[uuid] = n
        return n

    def had_session(self, uuid: str) -> bool:
        """Whether this process ran a session for channel ``uuid`` (among the last SEGMENTS_KEPT)."""
        return uuid in self._segments

    def record_template(self, queue: str | None) -> str:
        """The recording path template of ``queue`` (the default one without a queue)."""
        q = self.acd.world.queues.get(queue or "")
        return q.cfg.record_template if q is not None else "{yyyy}/{mm}/{dd}/{queue}/{uuid}.wav"

    def _node_of(self, ch: CallChannel) -> Node:
        peer = ch.address[0] if ch.address else None
        data = ch.channel_data
        return self.nodes.for_call(data.header("FreeSWITCH-Hostname"), data.header("Core-UUID"),
                                   str(peer) if peer else None)

    def handle_call(self, ch: CallChannel) -> None:
        """The outbound server's handler: run one call in the current greenlet."""
        if not self.accepting:
            self._refuse(ch, "draining", "NORMAL_TEMPORARY_FAILURE")
            return
        self.calls_total += 1
        CallSession(self, ch, self._node_of(ch)).run()

    # ------------------------------------------------------------------ the door, give-ups, reconciliation
    def pending_commands(self) -> int:
        """Commands waiting for their reply on the inbound links of all nodes."""
        return sum(n.switch.pending for n in self.nodes)

    def screen(self, ch: CallChannel) -> bool:
        """Admission at the door (after ``connect``): False when the call was refused (and settled)."""
        if not self.may_route():   # fenced: the socket closes unanswered, the dialplan goes on to the next one
            log.warning("call %s: not leading; connection closed", ch.uuid)
            return False
        if self.may_route is not _always and ch.channel_data.variable("cc_state") and ch.uuid not in self._segments:
            # a standby pair: a call the other controller ran, handed over by the dialplan; closed unanswered, it
            # parks and is taken over from its cc_* variables (start-up recovery or sweep), not run anew
            log.info("call %s: run by the other controller; left parked for the takeover", ch.uuid)
            return False
        if not self.accepting:
            self._refuse(ch, "draining", "NORMAL_TEMPORARY_FAILURE")
            return False
        if ch.uuid in self.orphaned:   # it waited so long to be read that the reconciliation hung it up
            self._refuse(ch, "late", self.config.overload.cause)
            return False
        reason = self.admission.decide(time.monotonic(), self.monitor.lag(), len(self.sessions),
                                       self.pending_commands(), self.monitor.busy, self.journal_full())
        if reason is None:
            return True
        self._refuse(ch, reason, self.config.overload.cause)
        return False

    def _refuse(self, ch: CallChannel, reason: str, cause: str) -> None:
        """Refuse a new call: hang it up (or send it to the fallback) over the inbound link, record it."""
        data = ch.channel_data
        node = self._node_of(ch)
        log.info("call %s: refused at the door (%s)", ch.uuid, reason)
        self.settler.record(ch.uuid, data.header("Caller-Caller-ID-Number") or "",
                            data.variable("cc_service_number") or data.header("Caller-Destination-Number") or "",
                            node.name, self.clock.now(), cause, f"refused:{reason}")
        self.settler.end(node, ch.uuid, cause)

    def give_up(self, ch: CallChannel, reason: str) -> None:
        """The outbound server gave up on a session before its call ran: settle the channel, record it."""
        if not ch.uuid:
            log.warning("outbound connection from %s given up before its connect reply (%s); the "
                        "reconciliation will find its channel", ch.address, reason)
            if self.reconciler is not None:
                self.reconciler.kick()
            return
        if ch.uuid in self.sessions:
            return   # the session records and settles itself
        data = ch.channel_data
        node = self._node_of(ch)
        if reason == "gone":   # hung up while cc set the call up: a record, nothing to settle
            self.settler.record(ch.uuid, data.header("Caller-Caller-ID-Number") or "",
                                data.variable("cc_service_number") or data.header("Caller-Destination-Number")
                                or "", node.name, self.clock.now(), ch.hangup_cause or "NORMAL_CLEARING",
                                "caller-hangup")
            return
        cause = self.config.overload.cause
        log.warning("call %s: given up (%s); hanging it up over the inbound link", ch.uuid, reason)
        self.settler.record(ch.uuid, data.header("Caller-Caller-ID-Number") or "",
                            data.variable("cc_service_number") or data.header("Caller-Destination-Number") or "",
                            node.name, self.clock.now(), cause, f"gave-up:{reason}")
        self.settler.end(node, ch.uuid, cause)

    def holdings(self, node: Node) -> Holdings:
        """What cc holds on ``node`` (for the reconciliation): claimed channels, live calls, bridged legs."""
        claimed = set(self.sessions) | self.open_channels() | self.settler.settling
        calls: list[str] = []
        legs: dict[str, str] = {}
        for uuid, s in self.sessions.items():
            if s.node is not node or s.ch.channel_down:
                continue
            calls.append(uuid)
            stay = s.stay
            if stay is not None and stay.bridged_at is not None and stay.ringing is not None \
                    and not stay.ringing.ended:
                legs[stay.ringing.leg_uuid] = uuid
        return Holdings(claimed, calls, legs, self.busy_agents())

    def busy_agents(self) -> dict[str, set[str]]:
        """Agents reserved, ringing or in a call -> the channels that are theirs: the call they are offered or
        talk to, their agent legs (and a callback's customer leg)."""
        out: dict[str, set[str]] = {}
        for a in self.acd.world.agents.values():
            if a.id in self.outbound_holds:
                continue
            if a.state in (AgentState.RESERVED, AgentState.RINGING, AgentState.IN_CALL):
                mine = out[a.id] = set()
                if a.offer is not None:
                    mine.add(a.offer.member.uuid)
                if a.call is not None:
                    mine.add(a.call.member_uuid)
        rings = list(self.dispatcher.offers.values())
        rings += [s.stay.ringing for s in self.sessions.values() if s.stay is not None and s.stay.ringing is not None]
        for r in rings:
            legs = out.get(r.agent_id)
            if legs is not None and not r.ended:
                legs.add(r.leg_uuid)
                if r.customer_uuid:
                    legs.add(r.customer_uuid)
        return out

    def release_agent(self, agent_id: str) -> None:
        """The reconciliation found no channel of this agent's on any switch for too long: his offer is withdrawn
        (no penalty) or his call ended (wrap-up follows), whatever the ACD held."""
        a = self.acd.world.agents.get(agent_id)
        if a is None or agent_id in self.outbound_holds:
            return
        if a.state is AgentState.IN_CALL:
            for s in self.sessions.values():
                r = s.stay.ringing if s.stay is not None else None
                if r is not None and r.agent_id == agent_id and not r.ended:
                    self.dispatcher.release(r, "system")
                    return
            self.driver.submit(CallEnded(agent_id, by="system"))
        elif a.offer is not None:
            offer_id = a.offer.offer_id
            ringing = self.dispatcher.offers.pop(offer_id, None)
            if ringing is not None:
                ringing.cancelled = True
            self.driver.submit(OfferWithdrawn(offer_id, agent_id))

    def settle_orphan(self, node: Node, uuid: str) -> None:
        """A channel in cc's socket application that nobody in cc owns: hang it up (or the fallback)."""
        self.orphaned[uuid] = None
        while len(self.orphaned) > 10_000:
            self.orphaned.popitem(last=False)
        self.settler.end(node, uuid, self.config.overload.cause)

    def end_call(self, uuid: str) -> None:
        """The switch no longer has this call: its session ends as if the caller hung up."""
        s = self.sessions.get(uuid)
        if s is not None and not s.ch.channel_down:
            s.ch.forget("NORMAL_UNSPECIFIED")

    def end_leg(self, leg_uuid: str) -> None:
        """The switch no longer has this bridged agent leg: its talk ends as if the agent hung up."""
        for s in list(self.sessions.values()):
            stay = s.stay
            if stay is not None and stay.ringing is not None and stay.ringing.leg_uuid == leg_uuid:
                s.leg_gone()
                return

    # ------------------------------------------------------------------ agent status (CLI, API, embedding)
    def _agent(self, agent_id: str) -> None:
        if agent_id not in self.acd.world.agents:
            raise NotFound("agent", agent_id)

    def login(self, agent_id: str, status: AgentStatus = AgentStatus.AVAILABLE, reason: str | None = None) -> None:
        """Log an agent in (available by default); NotFound for an unknown agent."""
        self._agent(agent_id)
        self.driver.submit(AgentLogin(agent_id, status, reason))

    def logout(self, agent_id: str, reason: str | None = None) -> None:
        """Log an agent out."""
        self._agent(agent_id)
        self.driver.submit(AgentLogout(agent_id, reason))

    def set_status(self, agent_id: str, status: AgentStatus, reason: str | None = None) -> None:
        """Change an agent's status (available, on demand, on break with a reason code ...)."""
        self._agent(agent_id)
        self.driver.submit(AgentStatusChanged(agent_id, status, reason))

    def wrap_up_done(self, agent_id: str) -> None:
        """An agent ends wrap-up early."""
        self._agent(agent_id)
        self.driver.submit(WrapUpDone(agent_id))

    # ------------------------------------------------------------------ live call control (CLI, API)
    def _session(self, uuid: str) -> CallSession:
        session = self.sessions.get(uuid)
        if session is None:
            raise NotFound("call", uuid)
        return session

    def calls(self) -> list[dict[str, object]]:
        """The calls in progress, oldest first, as JSON-ready dicts."""
        out: list[dict[str, object]] = []
        for s in sorted(self.sessions.values(), key=lambda s: s.started_at):
            stay = s.stay
            state = "flow"
            if stay is not None:
                state = "talking" if stay.bridged_at is not None else "queued"
            out.append({"uuid": s.uuid, "caller": s.caller, "destination": s.dnis, "node": s.node.name,
                        "flow": s.flow_name, "node_in_flow": s.flow_run.node if s.flow_run else None,
                        "state": state, "queue": stay.queue if stay else s.last_queue, "agent": s.last_agent,
                        "started_at": s.started_at, "answered_at": s.answered_at,
                        "recording": s.recorder.path if s.recorder.active else None})
        return out

    def hangup_call(self, uuid: str, cause: str = "NORMAL_CLEARING") -> None:
        """Hang up a call in progress (``uuid_kill``); NotFound for an unknown call. A caller waiting in a queue
        leaves it as EXIT_OTHER hangup-by-supervisor (not an abandon), the call's disposition likewise."""
        session = self._session(uuid)
        before = session.ended_by
        session.ended_by = before or ExitReason.SUPERVISOR_HANGUP
        try:
            session.node.api(f"uuid_kill {uuid} {cause}")
        except BaseException:
            session.ended_by = before
            raise

    def transfer_call(self, uuid: str, target: str, context: str = "default") -> None:
        """Send a call in progress to ``target`` in the dialplan (``uuid_transfer``); Conflict when the call
        ends instead of reaching it (within TRANSFER_CONFIRM_S): its stay ends as EXIT_OTHER transfer-failed."""
        session = self._session(uuid)
        cause = session.transfer_out(target, context, TRANSFER_CONFIRM_S)
        if cause is not None:
            raise Conflict("transfer of call", uuid, f"failed: the call ended ({cause}) instead of reaching {target}")

    def record_call(self, uuid: str, action: str) -> None:
        """``start``, ``pause``, ``resume`` or ``stop`` the recording of a call in progress."""
        session = self._session(uuid)
        rec = session.recorder
        actions = {"start": lambda: rec.start(session.last_queue, reason="api"), "pause": rec.pause,
                   "resume": rec.resume, "stop": rec.stop}
        if action not in actions:
            raise InvalidValue("action", action, "expected start, pause, resume or stop")
        actions[action]()


def _always() -> bool:
    """The routing gate of a controller that runs alone."""
    return True


def _never() -> bool:
    """No journal, never full."""
    return False
