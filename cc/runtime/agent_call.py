"""An agent's hands on his own call: hold / resume, send DTMF, hang up, pause / resume its recording.

The same verbs serve the API (``POST /api/v1/agents/{agent_id}/call``) and the agent's web page. What each one
sends is what FreeSWITCH does for a phone (tests/data/esl-captures/2026-12/inbound_bridge_hold.esl):

- ``uuid_hold <agent leg>`` puts the agent's leg on hold: the switch answers with CHANNEL_HOLD on that leg and
  plays ``local_stream://moh`` (its ``hold_music``) to the bridged caller; ``uuid_hold off <agent leg>`` ends it
  (CHANNEL_UNHOLD). Whether the call *is* on hold is only ever what those events said (the dispatcher's
  :class:`~cc.runtime.dispatcher.Ringing` keeps it); the command alone proves nothing.
- ``uuid_send_dtmf <caller> <digits>`` sends the digits to the caller's far end (an IVR the agent steers).
- hanging up is ``uuid_kill`` of the agent's own leg: the caller's flow goes on after the bridge, as when the
  agent puts his phone down.
- ``transfer`` (blind: to an agent, a queue or a number, with a note for the agent who takes it), ``consult`` (an
  agent, while the caller waits), ``complete`` and ``cancel`` (of the consultation) are run by the call's own
  session (cc.runtime.call_transfer); the answer is what it did or why it refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol

from cc.errors import Conflict, InvalidValue, NotFound
from cc.runtime.call_transfer import KINDS as TRANSFER_KINDS
from cc.runtime.call_transfer import TransferRequest
from cc.runtime.dispatcher import Ringing

__all__ = ["ACTIONS", "NOTE_MAX", "TRANSFER_ACTIONS", "TRANSFER_KINDS", "AgentCall", "CallHands", "act",
           "agent_call"]

#: the transfer actions (run by the call's session)
TRANSFER_ACTIONS = ("transfer", "consult", "complete", "cancel")
#: what ``act`` takes
ACTIONS = ("hold", "resume", "hangup", "dtmf", "record_pause", "record_resume", *TRANSFER_ACTIONS)
#: the longest note a transfer carries to the agent who takes the call
NOTE_MAX = 500
_DIGITS = re.compile(r"^[0-9*#A-Da-d]{1,32}$")
_TARGET = re.compile(r"^[0-9A-Za-z*#+_.@-]{1,64}$")


class CallHands(Protocol):
    """What these verbs need of the controller (cc.runtime.controller.Controller has it)."""

    @property
    def sessions(self) -> Any:
        """Every call in progress, by its channel UUID."""

    def record_call(self, uuid: str, action: str) -> None:
        """Start, pause, resume or stop a call's recording."""


@dataclass(frozen=True)
class AgentCall:
    """The call an agent is talking on: the caller's session and the agent's leg."""

    session: Any
    ringing: Ringing

    @property
    def uuid(self) -> str:
        """The caller's channel UUID (the call's id)."""
        return str(self.session.uuid)

    @property
    def leg(self) -> str:
        """The agent's leg."""
        return self.ringing.leg_uuid

    @property
    def held(self) -> bool:
        """On hold, as the switch's CHANNEL_HOLD / CHANNEL_UNHOLD on the agent's leg said."""
        return self.ringing.held_since is not None

    @property
    def recording(self) -> bool:
        """The call is being recorded."""
        return bool(self.session.recorder.active)

    @property
    def recording_paused(self) -> bool:
        """Its recording is paused."""
        return self.session.recorder.paused_at is not None

    def view(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"uuid": self.uuid, "agent_id": self.ringing.agent_id, "leg": self.leg, "held": self.held,
                "recording": self.recording, "recording_paused": self.recording_paused}


def agent_call(ctl: CallHands, agent_id: str) -> AgentCall | None:
    """The call ``agent_id`` is bridged to now (None: none)."""
    for s in list(ctl.sessions.values()):
        stay = getattr(s, "stay", None)
        r = getattr(stay, "ringing", None) if stay is not None else None
        if (r is not None and r.agent_id == agent_id and r.bridged_at is not None and not r.ended
                and not s.ch.channel_down):
            return AgentCall(s, r)
    return None


def act(ctl: CallHands, agent_id: str, action: str, digits: str = "", *, kind: str = "", target: str = "",
        note: str = "") -> AgentCall:
    """Carry out ``action`` on the agent's call; NotFound without one, InvalidValue for bad input, Conflict when
    the action does not fit (resume while not held ...). Returns the call (its hold state is the events').
    ``transfer`` takes ``kind`` (agent, queue, number), ``target`` and ``note``; ``consult`` an agent ``target``
    and ``note``; ``complete`` and ``cancel`` nothing."""
    if action not in ACTIONS:
        raise InvalidValue("action", action, "expected " + ", ".join(ACTIONS))
    if action in ("transfer", "consult"):
        kind = kind or "agent"
        if kind not in TRANSFER_KINDS or (action == "consult" and kind != "agent"):
            raise InvalidValue("kind", kind, "expected agent" + (", queue or number" if action == "transfer" else ""))
        if not _TARGET.match(target or ""):
            raise InvalidValue("target", target, "1 to 64 of letters, digits and * # + _ . @ -")
        if len(note) > NOTE_MAX:
            raise InvalidValue("note", note[:20] + "...", f"at most {NOTE_MAX} characters")
    call = agent_call(ctl, agent_id)
    if call is None:
        raise NotFound("call of agent", agent_id)
    node = call.session.node
    if action in TRANSFER_ACTIONS:
        call.session.transfer(TransferRequest(action, agent_id, kind, target, note))
    elif action == "hold":
        if call.held:
            raise Conflict("call", call.uuid, "is on hold already")
        node.api(f"uuid_hold {call.leg}")
    elif action == "resume":
        if not call.held:
            raise Conflict("call", call.uuid, "is not on hold")
        node.api(f"uuid_hold off {call.leg}")
    elif action == "hangup":
        node.api(f"uuid_kill {call.leg} NORMAL_CLEARING")
    elif action == "dtmf":
        if not _DIGITS.match(digits or ""):
            raise InvalidValue("digits", digits, "1 to 32 of 0-9 * # A-D")
        node.api(f"uuid_send_dtmf {call.uuid} {digits.upper()}")
    else:
        what = action.split("_", 1)[1]
        if not call.recording:
            raise Conflict("recording of call", call.uuid, "is not running")
        if what == "pause" and call.recording_paused:
            raise Conflict("recording of call", call.uuid, "is paused already")
        if what == "resume" and not call.recording_paused:
            raise Conflict("recording of call", call.uuid, "is not paused")
        ctl.record_call(call.uuid, what)
    return call
