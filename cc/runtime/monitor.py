"""Supervisors listening in on an agent's call: FreeSWITCH ``eavesdrop`` on the agent's leg, from the supervisor's
phone, with the mode (listen, whisper to the agent, barge in) switched by DTMF in the call.

What goes on the wire is what tests/data/esl-captures/2026-12/inbound_eavesdrop.esl shows:
``bgapi originate {origination_uuid=<s>}<supervisor's phone> &eavesdrop(<agent leg>)``, then
``api uuid_recv_dtmf <s> <digit>`` to change the mode and ``api uuid_kill <s>`` to leave.

The digits are FreeSWITCH's (src/switch_ivr_async.c, switch_ivr_eavesdrop_session; DTMF is on by default,
mod_dptools.c eavesdrop_function): ``0`` neither (listen only), ``1`` ED_MUX_READ (mixed into the target's read
stream: the far end -- the caller -- hears the supervisor), ``2`` ED_MUX_WRITE (mixed into what is written to the
target: the agent hears him -- a whisper), ``3`` both (barge in). The target is always the agent's leg.
"""

from __future__ import annotations

import logging
import time
import uuid as uuidlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gevent

from cc.errors import Conflict, ESLError, InvalidValue, NotFound

__all__ = ["MODES", "Monitor", "Monitoring"]

log = logging.getLogger(__name__)

#: mode -> the eavesdrop DTMF digit that selects it (on the agent's leg)
MODES: dict[str, str] = {"listen": "0", "whisper": "2", "barge": "3"}

#: how long the supervisor's phone may ring (seconds)
RING_S = 30


def _quote(value: str) -> str:
    """A value safe inside originate's ``{var=value,...}`` (quotes dropped, commas and spaces quoted)."""
    value = value.replace("'", "")
    return f"'{value}'" if any(c in value for c in ", ") else value


@dataclass
class Monitoring:
    """One supervisor's leg eavesdropping on one agent's leg."""

    uuid: str                   #: the supervisor's leg
    agent_id: str
    target: str                 #: the agent's leg (eavesdrop's argument)
    node: Any                   #: the switch (cc.runtime.nodes.Node) both legs are on
    supervisor: str             #: the supervisor's login
    mode: str
    started_at: float
    answered: bool = False      #: the supervisor answered; eavesdrop runs
    ended: bool = False
    cause: str | None = None    #: why it ended before it ran (originate's -ERR cause, a lost link)

    def as_dict(self) -> dict[str, Any]:
        """As JSON (API, pages)."""
        return {"uuid": self.uuid, "agent_id": self.agent_id, "target": self.target, "supervisor": self.supervisor,
                "mode": self.mode, "started_at": self.started_at, "answered": self.answered, "ended": self.ended,
                "cause": self.cause}


class Monitor:
    """Starts, switches and ends eavesdrops for the controller ``ctl`` (its sessions tell the agent's leg)."""

    def __init__(self, ctl: Any, *, spawn: Callable[..., Any] = gevent.spawn) -> None:
        self.ctl = ctl
        self.spawn = spawn
        #: supervisor leg UUID -> its monitoring (ended ones are dropped when the next one starts)
        self.active: dict[str, Monitoring] = {}

    def agent_leg(self, agent_id: str) -> tuple[Any, str]:
        """The node and the UUID of ``agent_id``'s bridged leg; Conflict when he is not in a call."""
        for s in list(self.ctl.sessions.values()):
            stay = s.stay
            r = stay.ringing if stay is not None else None
            if r is not None and r.agent_id == agent_id and not r.ended and stay.bridged_at is not None:
                return r.node, r.leg_uuid
        raise Conflict("agent", agent_id, "is not in a call")

    def start(self, agent_id: str, contact: str, mode: str, supervisor: str) -> Monitoring:
        """Ring ``contact`` (the supervisor's phone, a dial string) into eavesdrop on the agent's leg, in ``mode``
        once he answers. InvalidValue for an unknown mode or a contact with no dial string."""
        if mode not in MODES:
            raise InvalidValue("mode", mode, f"expected one of {', '.join(MODES)}")
        if not contact or any(c in contact for c in " {}()&'\n"):
            raise InvalidValue("contact", contact, "a dial string such as user/1001 or sofia/internal/sup@host")
        node, leg = self.agent_leg(agent_id)
        for key in [k for k, m in self.active.items() if m.ended]:
            del self.active[key]
        sup = str(uuidlib.uuid4())
        variables = {"origination_uuid": sup, "originate_timeout": str(RING_S),
                     "origination_caller_id_name": f"monitor {agent_id}", "origination_caller_id_number": agent_id}
        dial = "{" + ",".join(f"{k}={_quote(v)}" for k, v in variables.items()) + "}" + contact
        m = Monitoring(sup, agent_id, leg, node, supervisor, mode, time.time())
        self.active[sup] = m
        log.info("monitor: %s eavesdrops on agent %s (leg %s) as %s from %s", supervisor, agent_id, leg, mode, sup)
        self.spawn(self._run, m, f"originate {dial} &eavesdrop({leg})")
        return m

    def _run(self, m: Monitoring, command: str) -> None:
        try:
            body = m.node.switch.bgapi(command).wait(RING_S + 30.0)
        except ESLError as exc:
            m.ended, m.cause = True, str(exc)
            log.warning("monitor %s: originate failed: %s", m.uuid, exc)
            return
        if not body.startswith("+OK"):
            m.ended, m.cause = True, body.strip().removeprefix("-ERR").strip() or "refused"
            log.info("monitor %s: the supervisor's phone did not take it: %s", m.uuid, m.cause)
            return
        m.answered = True
        if m.mode != "listen" and not m.ended:
            self._dtmf(m, m.mode)

    def _dtmf(self, m: Monitoring, mode: str) -> None:
        try:
            m.node.api(f"uuid_recv_dtmf {m.uuid} {MODES[mode]}")
        except ESLError as exc:
            m.ended, m.cause = True, str(exc)
            raise Conflict("monitoring", m.uuid, f"has ended ({exc})") from None

    def get(self, sup_uuid: str) -> Monitoring:
        """A monitoring by its supervisor leg; NotFound otherwise."""
        m = self.active.get(sup_uuid)
        if m is None:
            raise NotFound("monitoring", sup_uuid)
        return m

    def switch(self, sup_uuid: str, mode: str) -> Monitoring:
        """Change the mode in the call (a DTMF digit to the supervisor's leg; before he answered: on answer)."""
        if mode not in MODES:
            raise InvalidValue("mode", mode, f"expected one of {', '.join(MODES)}")
        m = self.get(sup_uuid)
        if m.ended:
            raise Conflict("monitoring", sup_uuid, "has ended")
        if m.answered:
            self._dtmf(m, mode)
        m.mode = mode
        log.info("monitor %s: %s switches to %s on agent %s", sup_uuid, m.supervisor, mode, m.agent_id)
        return m

    def stop(self, sup_uuid: str) -> Monitoring:
        """Hang up the supervisor's leg (the agent's call goes on)."""
        m = self.get(sup_uuid)
        if not m.ended:
            m.ended = True
            try:
                m.node.api(f"uuid_kill {m.uuid}")
            except ESLError as exc:   # gone already (the call ended): nothing left to stop
                log.info("monitor %s: uuid_kill: %s", sup_uuid, exc)
        return m

    def of_supervisor(self, login: str) -> list[Monitoring]:
        """The supervisor's monitorings not ended yet (one whose agent's leg is gone has ended with it)."""
        out = []
        for m in list(self.active.values()):
            if m.ended or m.supervisor != login:
                continue
            try:
                _, leg = self.agent_leg(m.agent_id)
            except Conflict:
                leg = ""
            if leg != m.target:
                m.ended = True
                continue
            out.append(m)
        return out
