"""An agent's transfer of his call, run inside the call's own session: blind (to an agent, a queue, a number) and
attended (consult, then complete or cancel).

The page or the API posts a :class:`TransferRequest` into the call's inbox (one greenlet + queue per call); the
session, which is waiting in its talk with agent A, hands it to :class:`CallTransfer`. Doing it there keeps the
caller's CHANNEL_UNBRIDGE that a transfer causes from being taken as the end of the talk.

What goes on the wire (FreeSWITCH 1.11, tests/data/esl-captures/2026-12/inbound_transfer.esl): a leg bridged with
``uuid_bridge`` and without ``park_after_bridge`` is hung up by the switch when its peer is taken away (the caller
keeps ``park_after_bridge=true``, set when it entered the queue, and parks).

- blind to an agent B: B is reserved in the Acd (``AgentInCall``: he is idle and available, or the transfer is
  refused), A's talk ends (COMPLETE_AGENT ``transfer``, a TRANSFER line, A's leg killed, A's wrap-up begins), a new
  stay starts (ENTER ``transfer``), B's leg is originated the way the dispatcher rings any agent (OFFER, the
  ``offered`` hook with A's note), and ``uuid_bridge <caller> <B>`` once he answers (CONNECT, ``bridged``). When B
  does not answer, the caller waits in the queue like any caller of that stay.
- blind to a queue: A's talk ends the same way and the caller enters the queue (a new stay, ENTER ``transfer``).
- blind to a number: A's talk ends and the caller is ``uuid_transfer``-ed to the number in the dialplan.
- consult: B is reserved and rung while the caller still talks to A; once B answers, ``uuid_bridge <A> <B>`` (A's
  leg gets ``park_after_bridge=true`` first): A and B talk, the caller is parked and hears the queue's music from
  its session. ``complete``: ``uuid_bridge <caller> <B>``, then A's talk ends as for a blind transfer.
  ``cancel`` (or B hanging up): ``uuid_bridge <caller> <A>`` (B's leg, without park_after_bridge, goes), B is freed
  (no wrap-up) and the talk with A goes on.
"""

from __future__ import annotations

import logging
import weakref
from dataclasses import dataclass, field
from typing import Any

import gevent
import gevent.event

from cc.acd import AgentInCall, CallEnded, MemberJoined, WrapUpDone
from cc.errors import CallGone, CCError, Conflict, InvalidValue, NotFound
from cc.model import AgentState, AgentStatus, ExitReason, QueueEventType
from cc.runtime.dispatcher import Ringing
from cc.runtime.history import connect_id
from cc.runtime.hooks import HookEvent

__all__ = ["KEEP", "KINDS", "CallTransfer", "TransferRequest"]

log = logging.getLogger(__name__)

#: where a blind transfer may go
KINDS = ("agent", "queue", "number")
#: real seconds a transfer to a number waits for the dialplan to take the call
NUMBER_CONFIRM_S = 2.0


class _Keep:
    """The talk with the same agent goes on (a refused request, a cancelled consultation)."""


#: returned by :meth:`CallTransfer.handle` when the talk goes on with the same agent
KEEP = _Keep()


@dataclass
class TransferRequest:
    """One of an agent's transfer actions, posted into his call's inbox; the session answers in ``reply``."""

    action: str                  # transfer | consult | complete | cancel
    from_agent: str
    kind: str = ""               # agent | queue | number (transfer, consult: agent only)
    target: str = ""
    note: str = ""
    reply: gevent.event.AsyncResult[dict[str, Any]] = field(default_factory=gevent.event.AsyncResult)


class CallTransfer:
    """The transfer verbs of one call session (``session`` is its cc.runtime.call.CallSession)."""

    def __init__(self, session: Any) -> None:
        #: the call, held weakly: the call holds its transfers, and that cycle would keep every finished call in
        #: memory until the cyclic collector's next full pass
        self._s = weakref.ref(session)
        #: the consultation in progress: B's leg
        self.consulting: Ringing | None = None
        #: where it stands: "" (none), "ringing" (B's phone rings), "talking" (A and B talk, the caller waits)
        self.phase = ""

    # ------------------------------------------------------------------ helpers
    @property
    def s(self) -> Any:
        """The call's session; ReferenceError once it is gone (transfers run while their call runs)."""
        s = self._s()
        if s is None:
            raise ReferenceError("the call of this transfer has ended")
        return s

    @property
    def ctl(self) -> Any:
        """The controller."""
        return self.s.ctl

    def _reserve(self, agent_id: str, from_agent: str, queue: str) -> str:
        """Reserve ``agent_id`` for this call in the Acd (idle and available, or Conflict); his contact."""
        world = self.ctl.acd.world
        a = world.agents.get(agent_id)
        if a is None:
            raise NotFound("agent", agent_id)
        if agent_id == from_agent:
            raise Conflict("agent", agent_id, "cannot take his own call")
        if (a.status is not AgentStatus.AVAILABLE or a.state is not AgentState.IDLE or a.offer is not None
                or a.call is not None or agent_id in self.ctl.outbound_holds):
            raise Conflict("agent", agent_id, f"is not ready ({a.status.value}, {a.state.value})")
        if not a.cfg.contact:
            raise Conflict("agent", agent_id, "has no phone (contact)")
        self.ctl.driver.submit(AgentInCall(agent_id, self.s.uuid, queue, self.ctl.clock.now()))
        a = world.agents[agent_id]
        if a.state is not AgentState.IN_CALL or a.call is None or a.call.member_uuid != self.s.uuid:
            raise Conflict("agent", agent_id, "could not be reserved")
        return str(a.cfg.contact)

    def _free(self, agent_id: str) -> None:
        """A reserved agent whom the call did not reach (no answer, cancelled): idle again, no wrap-up."""
        self.ctl.driver.submit(CallEnded(agent_id, by="system"))
        self.ctl.driver.submit(WrapUpDone(agent_id))

    def _ring_timeout(self, queue: str) -> float:
        q = self.ctl.acd.world.queues.get(queue)
        return float(q.cfg.offer_timeout_s) if q is not None else 30.0

    def _moh(self, stay: Any) -> str:
        q = self.ctl.acd.world.queues.get(stay.queue)
        return str(stay.cmd.moh or (q.cfg.moh if q is not None else ""))

    def _end_talk(self, stay: Any, r: Ringing, bridged_at: float, wait: float, req: TransferRequest) -> None:
        """A's part of the call is over by his transfer: COMPLETE_AGENT ``transfer``, a TRANSFER line, his leg
        killed and his wrap-up started (the ``call_transferred`` hook tells his page)."""
        ctl = self.ctl
        end = ctl.clock.now()
        hold = r.bridge_hold_s(end)
        talk = max(0.0, end - bridged_at - hold)
        ctl.history.queue_event(QueueEventType.COMPLETE_AGENT, stay.queue, self.s.uuid, agent_id=r.agent_id,
                                wait_s=wait, talk_s=talk, hold_s=hold, detail="transfer", at=end)
        ctl.history.queue_event(QueueEventType.TRANSFER, stay.queue, self.s.uuid, agent_id=r.agent_id,
                                detail=f"{req.kind or 'agent'} {req.target}".strip(), at=end)
        ctl.hooks.emit(HookEvent("call_transferred", end, call_uuid=self.s.uuid, agent_id=r.agent_id,
                                 queue=stay.queue, data={"kind": req.kind or "agent", "target": req.target,
                                                         "action": req.action, "note": req.note}))
        ctl.dispatcher.release(r, "system")
        stay.ringing = None
        stay.bridged_at = None
        log.info("call %s: agent %s transferred it to %s %s", self.s.uuid, r.agent_id, req.kind or "agent",
                 req.target)

    def _new_stay(self, stay: Any, queue: str) -> str:
        """The caller's stay after a transfer: a new ENTER (``transfer``) in ``queue``."""
        ctl = self.ctl
        now = ctl.clock.now()
        stay.queue = queue
        stay.joined_at = now
        stay.bridged_at = None
        self.s.last_queue = queue
        enter_id: str = ctl.history.queue_event(QueueEventType.ENTER, queue, self.s.uuid, at=now, detail="transfer")
        self.s.mark(state="queued", queue=queue, joined=repr(now), enter=enter_id)
        return enter_id

    def _requeue(self, stay: Any) -> None:
        """The caller waits in its stay's queue again (routed like any caller)."""
        ctl = self.ctl
        s = self.s
        stay.ringing = None
        ctl.members[s.uuid] = s
        ctl.hooks.emit(HookEvent("entered_queue", ctl.clock.now(), call_uuid=s.uuid, queue=stay.queue,
                                 data={"priority": stay.cmd.priority, "transfer": True}))
        ctl.driver.submit(MemberJoined(s.uuid, stay.queue, stay.cmd.priority, stay.cmd.skills,
                                       caller={"number": s.caller, "name": s.caller_name, "destination": s.dnis},
                                       joined_at=stay.joined_at))

    def _connected(self, stay: Any, rb: Ringing, req: TransferRequest, how: str) -> tuple[float, float]:
        """B talks to the caller now: the CONNECT line, the ``bridged`` hook with A's note; (bridged at, wait)."""
        ctl = self.ctl
        now = ctl.clock.now()
        wait = now - stay.joined_at
        stay.ringing = rb
        stay.bridged_at = now
        self.s.last_agent = rb.agent_id
        self.s.mark(state="bridged", agent=rb.agent_id, leg=rb.leg_uuid, bridged=repr(now))
        ctl.history.queue_event(QueueEventType.CONNECT, stay.queue, self.s.uuid, agent_id=rb.agent_id,
                                wait_s=wait, at=now, detail="transfer",
                                id_=connect_id(stay.enter_id, now) if stay.enter_id else None)
        ctl.hooks.emit(HookEvent("bridged", now, call_uuid=self.s.uuid, agent_id=rb.agent_id, queue=stay.queue,
                                 data={"wait_s": wait, "transfer": how, "from_agent": req.from_agent,
                                       "note": req.note}))
        return now, wait

    def _consult_phase(self, from_agent: str, target: str, phase: str, outcome: str = "") -> None:
        """Where the consultation stands now, told to A's page by the ``call_consult`` hook (on A's agent)."""
        self.phase = "" if phase == "ended" else phase
        data = {"phase": phase, "target": target, **({"outcome": outcome} if outcome else {})}
        self.ctl.hooks.emit(HookEvent("call_consult", self.ctl.clock.now(), call_uuid=self.s.uuid, agent_id=from_agent,
                                      data=data))

    def _rang(self, rb: Ringing, cause: str | None) -> None:
        self.s.post(("xfer_rang", rb, cause))

    # ------------------------------------------------------------------ entry point
    def handle(self, stay: Any, r: Ringing, req: TransferRequest, bridged_at: float, wait: float,
               recording: bool) -> Any:
        """Carry out ``req`` during the talk with ``r``'s agent: KEEP (the talk goes on), or what the talk
        returns (a Result, or None: the caller waits in a queue again). Refusals go to ``req.reply``."""
        try:
            if r.agent_id != req.from_agent:
                raise Conflict("call", self.s.uuid, f"is not agent {req.from_agent}'s")
            if req.action == "transfer":
                return self._blind(stay, r, req, bridged_at, wait, recording)
            if req.action == "consult":
                return self._consult(stay, r, req, bridged_at, wait, recording)
            raise Conflict("call", self.s.uuid, "has no consultation in progress")
        except CCError as exc:
            if not req.reply.ready():
                req.reply.set_exception(exc)
                return KEEP
            raise

    def _blind(self, stay: Any, r: Ringing, req: TransferRequest, bridged_at: float, wait: float,
               recording: bool) -> Any:
        ctl = self.ctl
        if req.kind == "agent":
            contact = self._reserve(req.target, req.from_agent, stay.queue)
            req.reply.set({"transfer": "agent", "target": req.target})
            self._end_talk(stay, r, bridged_at, wait, req)
            self._new_stay(stay, stay.queue)
            return self._ring_and_bridge(stay, req, contact, recording)
        if req.kind == "queue":
            if req.target not in ctl.acd.world.queues:
                raise NotFound("queue", req.target)
            req.reply.set({"transfer": "queue", "target": req.target})
            self._end_talk(stay, r, bridged_at, wait, req)
            self._new_stay(stay, req.target)
            self._requeue(stay)
            return None
        if req.kind == "number":
            self._end_talk(stay, r, bridged_at, wait, req)
            stay.ringing = r   # the stay is over (its agent released): not a caller waiting in the queue
            cause = self.s.transfer_out(req.target, "default", NUMBER_CONFIRM_S)
            if cause is not None:
                req.reply.set_exception(Conflict("transfer of call", self.s.uuid,
                                                 f"failed: the call ended ({cause})"))
                raise CallGone(self.s.uuid, cause)
            req.reply.set({"transfer": "number", "target": req.target})
            self.s.transferred = True
            self.s.disposition = "transfer:number"
            raise CallGone(self.s.uuid, "TRANSFERRED")
        raise InvalidValue("kind", req.kind, "expected " + ", ".join(KINDS))

    def _ring_and_bridge(self, stay: Any, req: TransferRequest, contact: str, recording: bool) -> Any:
        """Ring the reserved agent of a blind transfer while the caller hears music; bridge them when he answers
        (the talk goes on with him), else the caller waits in the queue."""
        ctl = self.ctl
        s = self.s
        rb = ctl.dispatcher.ring_transfer(s.uuid, stay.queue, req.target, contact, self._ring_timeout(stay.queue),
                                          self._rang, data={"transfer": "blind", "from_agent": req.from_agent,
                                                            "note": req.note})
        stay.ringing = rb   # the reconciliation sees B's leg as this call's
        while True:
            try:
                msg = s._next_message(self._moh(stay))
            except CallGone:
                ctl.dispatcher.kill_leg(rb, "ORIGINATOR_CANCEL" if rb.answered_at is None else "NORMAL_CLEARING")
                rb.ended = True
                self._free(req.target)
                s._stay_ended(QueueEventType.ABANDON, stay.queue, ExitReason.CALLER_ABANDON, agent_id=req.target,
                              wait_s=ctl.clock.now() - stay.joined_at, detail="during transfer")
                s.disposition = "abandoned"
                raise
            if isinstance(msg, tuple) and msg[0] == "xfer":
                msg[1].reply.set_exception(Conflict("call", s.uuid, "is being transferred"))
                continue
            if not (isinstance(msg, tuple) and msg[0] == "xfer_rang" and msg[1] is rb):
                continue   # the caller's unbridge from A, a queue timer of the first stay ...
            if msg[2] is None and ctl.dispatcher.bridge(rb, s.uuid):
                now, wait = self._connected(stay, rb, req, "blind")
                return s._bridged(stay, rb, now, wait, recording)
            if msg[2] is None:   # answered, but the caller or his leg went at the bridge
                ctl.dispatcher.kill_leg(rb)
            rb.ended = True
            self._free(req.target)
            log.info("call %s: transfer to agent %s failed (%s); back in queue %s", s.uuid, req.target,
                     msg[2] or "bridge", stay.queue)
            self._requeue(stay)
            return None

    # ------------------------------------------------------------------ attended
    def _consult(self, stay: Any, r: Ringing, req: TransferRequest, bridged_at: float, wait: float,
                 recording: bool) -> Any:
        ctl = self.ctl
        s = self.s
        if req.kind not in ("", "agent"):
            raise InvalidValue("kind", req.kind, "a consultation is with an agent")
        contact = self._reserve(req.target, req.from_agent, stay.queue)
        try:
            s.node.api(f"uuid_setvar {r.leg_uuid} park_after_bridge true")   # A's leg stays when B's goes
        except CCError:
            self._free(req.target)
            raise
        rb = ctl.dispatcher.ring_transfer(s.uuid, stay.queue, req.target, contact, self._ring_timeout(stay.queue),
                                          self._rang, detail="consult",
                                          data={"transfer": "consult", "from_agent": req.from_agent,
                                                "note": req.note},
                                          hung_up=lambda leg: s.post(("xfer_gone", leg)))
        self.consulting = rb
        self._consult_phase(req.from_agent, req.target, "ringing")
        req.reply.set({"consult": req.target, "leg": rb.leg_uuid})
        talking = False   # A and B bridged (the caller parked, hearing music)
        outcome = "gone"  # how it ends (the call_consult hook's outcome)
        try:
            while True:
                try:
                    msg = s._next_message(self._moh(stay)) if talking else s._take()
                except CallGone as gone:
                    ctl.dispatcher.kill_leg(rb)
                    rb.ended = True
                    self._free(req.target)
                    s._caller_ended_talk(stay, r, bridged_at, wait, None)
                    raise gone
                if not isinstance(msg, tuple):
                    continue
                kind = msg[0]
                if kind == "xfer_rang" and msg[1] is rb:
                    if msg[2] is not None:
                        rb.ended = True
                        self._free(req.target)
                        outcome = "no_answer"
                        return KEEP   # B did not answer: the talk with A goes on (his page sees the leg fail)
                    try:
                        s.node.api(f"uuid_bridge {r.leg_uuid} {rb.leg_uuid}")
                    except CCError as exc:
                        log.warning("call %s: consultation bridge failed: %s", s.uuid, exc)
                        return self._back_to_a(stay, r, rb, req, rebridge=False)
                    talking = True
                    self._consult_phase(req.from_agent, req.target, "talking")
                elif kind == "unbridged":
                    if talking:
                        continue   # the caller left A for the consultation: expected
                    # A left the caller while B rang: the consultation ends and so does A's talk
                    ctl.dispatcher.kill_leg(rb, "ORIGINATOR_CANCEL")
                    rb.ended = True
                    self._free(req.target)
                    s._put(msg)
                    return KEEP
                elif kind == "xfer_gone" and msg[1] is rb:
                    return self._back_to_a(stay, r, rb, req, rebridge=talking)   # B hung up: the caller goes back to A
                elif kind == "xfer":
                    sub: TransferRequest = msg[1]
                    if sub.from_agent != req.from_agent:
                        sub.reply.set_exception(Conflict("call", s.uuid, f"is not agent {sub.from_agent}'s"))
                    elif sub.action == "cancel":
                        outcome = "cancelled"
                        out = self._back_to_a(stay, r, rb, req, rebridge=talking)
                        sub.reply.set({"cancel": req.target})
                        return out
                    elif sub.action == "complete" and talking:
                        if not ctl.dispatcher.bridge(rb, s.uuid):
                            sub.reply.set_exception(Conflict("call", s.uuid, "could not be bridged to "
                                                             f"agent {req.target}"))
                            continue
                        sub.reply.set({"complete": req.target})
                        self.consulting = None
                        self._consult_phase(req.from_agent, req.target, "ended", "completed")
                        self._end_talk(stay, r, bridged_at, wait, req)
                        self._new_stay(stay, stay.queue)
                        now, wait2 = self._connected(stay, rb, req, "attended")
                        return s._bridged(stay, rb, now, wait2, recording)
                    else:
                        sub.reply.set_exception(Conflict("call", s.uuid, "has a consultation in progress"
                                                         if sub.action != "complete" else
                                                         f"waits for agent {req.target} to answer"))
        finally:
            if self.consulting is rb:
                self.consulting = None
                self._consult_phase(req.from_agent, req.target, "ended", outcome)

    def _back_to_a(self, stay: Any, r: Ringing, rb: Ringing, req: TransferRequest, *, rebridge: bool = True) -> Any:
        """End the consultation: the caller is bridged to A again (``rebridge``: he had left A for it), B's leg
        goes and B is idle (no wrap-up). When A's leg is gone too, the talk ends as his."""
        ctl = self.ctl
        s = self.s
        rb.ended = True
        if rebridge:
            try:
                s.node.api(f"uuid_bridge {s.uuid} {r.leg_uuid}")
            except CCError as exc:
                log.warning("call %s: back to agent %s failed: %s", s.uuid, r.agent_id, exc)
                s._put(("unbridged", None))   # nobody to go back to: the talk with A is over
        ctl.dispatcher.kill_leg(rb)
        self._free(req.target)
        log.info("call %s: consultation of agent %s with %s ended; back to him", s.uuid, r.agent_id, req.target)
        return KEEP
