"""Manual click-to-dial: an agent calls a customer who is no campaign's lead (the workbench's "Call" button).

The call goes through the dialer's own agent-leg-first originate (cc.runtime.outbound_calls.OutboundCalls, with
``Originate.agent_first``): the agent's phone rings first, then the customer's number, and the two are bridged.
The agent is taken from the ACD by the same compare-and-set the campaigns use (``take``: AgentInCall for a
pseudo-call, refused unless he is idle with no offer); the customer's hang-up ends the hold with ``CallEnded``,
so the ACD puts him in after-call work, and his wrap-up ends as any other (the result form, or the ACD's timer).
A call that never connects releases him at once (CallEnded and WrapUpDone).

What it leaves behind: one ``calls`` row (direction outbound, caller = the configured caller ID, callee = the
customer's number), the CRM interaction ``call-<uuid>`` on the customer (written at the bridge; the workbench's
desk replaces it with the result), and the hooks ``offered`` / ``bridged`` / ``call_ended`` for the agent (queue
None, ``data.direction`` = outbound), so his screen and result form follow the call like an inbound one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from cc.dialer import Bridged, BridgeFailed, CallHungUp, DialerEvent, Originate, OriginateAnswered, OriginateFailed
from cc.errors import Conflict, InvalidValue, NotFound
from cc.esl.protocol import new_uuid
from cc.model import CallDirection, CallRecord, Interaction, InteractionKind
from cc.privacy.mask import mask_number
from cc.runtime.hooks import HookEvent, Hooks
from cc.runtime.outbound_calls import OutboundCalls
from cc.runtime.timebase import Timebase

__all__ = ["MANUAL", "ManualCall", "ManualDials"]

log = logging.getLogger(__name__)

#: the owner of a manual call's hold (no campaign can be named so: names are identifiers)
MANUAL = "@manual"


@dataclass
class ManualCall:
    """One manual click-to-dial in progress."""

    uuid: str
    agent_id: str
    customer_id: str
    number: str
    caller_id: str
    started_at: float
    node: str = ""
    answered_at: float | None = None
    bridged_at: float | None = None


class ManualDials:
    """Places and follows the manual click-to-dial calls of this controller."""

    def __init__(self, calls: OutboundCalls, clock: Timebase, hooks: Hooks, *,
                 take: Callable[[str, str], bool], ended: Callable[[str], None], release: Callable[[str], None],
                 contact: Callable[[str], str | None], dial_string: str, caller_id: str = "",
                 timeout_s: float = 30.0, record: Callable[[CallRecord], None] | None = None,
                 interaction: Callable[[Interaction], None] | None = None) -> None:
        """``take(agent, uuid)`` holds the agent (the ACD's compare-and-set), ``ended(agent)`` starts his wrap-up,
        ``release(agent)`` gives him back at once; ``dial_string`` is a template with ``{number}``; ``record``
        writes the call's history row and ``interaction`` its CRM interaction (both must return at once)."""
        if "{number}" not in dial_string:
            raise InvalidValue("dial_string", dial_string, "must contain {number}")
        self.calls = calls
        self.clock = clock
        self.hooks = hooks
        self.take = take
        self.ended = ended
        self.release = release
        self.contact = contact
        self.dial_string = dial_string
        self.caller_id = caller_id
        self.timeout_s = timeout_s
        self.record = record
        self.interaction = interaction
        self.open: dict[str, ManualCall] = {}

    def owns(self, uuid: str) -> bool:
        """Whether ``uuid`` is a manual call of this controller."""
        return uuid in self.open

    def dial(self, agent_id: str, customer_id: str, number: str) -> ManualCall:
        """Ring ``agent_id``'s phone, then ``number`` (one of customer ``customer_id``'s), and bridge them.
        NotFound: the agent has no phone; Conflict: he is in a call (or offered one, or held by a campaign)."""
        contact = self.contact(agent_id)
        if not contact:
            raise NotFound("phone of agent", agent_id)
        uuid = new_uuid()
        if not self.take(agent_id, uuid):
            raise Conflict("agent", agent_id, "is in a call")
        now = self.clock.now()
        call = ManualCall(uuid, agent_id, customer_id, number, self.caller_id, now)
        self.open[uuid] = call
        self._emit("offered", call, now)
        cmd = Originate(uuid, MANUAL, customer_id, number, self.dial_string.replace("{number}", number),
                        self.caller_id, self.timeout_s, agent_id, agent_first=True)
        leg = self.calls.originate(cmd, agent_contact=contact)
        if leg is not None:
            call.node = leg.node.name
        log.info("manual dial %s: agent %s calls customer %s at %s", uuid, agent_id, customer_id,
                 mask_number(number))
        return call

    def report(self, event: DialerEvent) -> None:
        """A switch fact about a manual call (from OutboundCalls)."""
        call = self.open.get(getattr(event, "uuid", ""))
        if call is None:
            return
        now = self.clock.now()
        if isinstance(event, OriginateAnswered):
            call.answered_at = call.answered_at or now
        elif isinstance(event, Bridged):
            call.bridged_at = now
            self._emit("bridged", call, now)
            if self.interaction is not None:
                self.interaction(Interaction(id=f"call-{call.uuid}", at=call.started_at, kind=InteractionKind.CALL,
                                             customer_id=call.customer_id, agent_id=call.agent_id,
                                             call_uuid=call.uuid, queue=None))
        elif isinstance(event, CallHungUp):
            self._finish(call, event.cause, now)
        elif isinstance(event, OriginateFailed):
            self._finish(call, event.cause, now)
        elif isinstance(event, BridgeFailed):
            self.calls.hangup(call.uuid, "NORMAL_CLEARING")
            self._finish(call, "NORMAL_TEMPORARY_FAILURE", now)

    def _finish(self, call: ManualCall, cause: str, now: float) -> None:
        if self.open.pop(call.uuid, None) is None:
            return
        if call.bridged_at is not None:
            self.ended(call.agent_id)       # CallEnded: the ACD's after-call work
        else:
            self.release(call.agent_id)     # never connected: he is free again at once
        self._emit("call_ended", call, now, cause=cause)
        if self.record is not None:
            self.record(CallRecord(uuid=call.uuid, direction=CallDirection.OUTBOUND, caller=call.caller_id,
                                   callee=call.number, started_at=call.started_at, node=call.node,
                                   answered_at=call.answered_at, ended_at=now, hangup_cause=cause))

    def _emit(self, kind: str, call: ManualCall, at: float, **extra: str) -> None:
        self.hooks.emit(HookEvent(kind, at, call_uuid=call.uuid, agent_id=call.agent_id, queue=None,
                                  data={"direction": "outbound", "number": call.number,
                                        "customer_id": call.customer_id, **extra}))
