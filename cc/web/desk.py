"""The agents' desks: each agent's current call card (for the screen pop and the result form), the result a
queue requires before Ready, and the CRM interaction every answered call becomes.

:class:`Desk` listens to the controller's hooks. Listeners only copy what the controller holds in memory
(the caller's number, the queue, the IVR path and choices) into a :class:`CallCard`; store work (the
interaction row) is spawned onto the worker threads. A queue listed in ``web.result_required`` puts its
agent Not ready with the reason ``after_call_work`` when his call ends, until the result is saved.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import gevent

from cc.model import AgentStatus, Interaction, InteractionKind
from cc.runtime import blocking
from cc.runtime.hooks import HookEvent, Hooks

__all__ = ["ACW_REASON", "CallCard", "Desk"]

log = logging.getLogger(__name__)

#: the not-ready reason of an agent whose call needs a result
ACW_REASON = "after_call_work"
#: the verbs whose variables are the caller's choices (keys pressed in a menu, digits gathered)
_CHOICE_VERBS = frozenset({"menu", "gather"})
#: the hooks a desk follows (``call_transferred``: the agent's part of a call he transferred is over)
_KINDS = ("offered", "bridged", "call_ended", "call_transferred")


@dataclass
class CallCard:
    """One call offered to one agent, as his screen shows it (numbers unmasked here; pages mask them)."""

    call_uuid: str
    agent_id: str
    queue: str | None
    caller: str
    caller_name: str
    destination: str
    started_at: float
    offered_at: float
    ivr_path: tuple[str, ...] = ()
    ivr_choices: tuple[tuple[str, str], ...] = ()
    bridged_at: float | None = None
    ended_at: float | None = None
    customer_id: str | None = None       #: the matched or linked customer
    needs_result: bool = False
    result: str | None = None
    note: str = ""
    saved: bool = False                  #: the result form was saved
    transfer_from: str = ""              #: the agent who transferred the call to this one
    transfer_note: str = ""              #: his note for this agent
    #: the interaction row of this call was written (at its end or at the result)
    written: bool = field(default=False, repr=False)

    @property
    def interaction_id(self) -> str:
        """The id of the CRM interaction this call becomes (one per agent who took it: a transfer's too)."""
        return f"call-{self.call_uuid}-{self.agent_id}" if self.transfer_from else f"call-{self.call_uuid}"


class Desk:
    """Every agent's current call card, and the results their queues require (in memory, this process)."""

    def __init__(self, hooks: Hooks, controller: Callable[[], Any], *, result_required: Iterable[str] = (),
                 write: Callable[[Interaction], None] | None = None,
                 match: Callable[[str], str | None] | None = None,
                 offload: Callable[[Callable[[], Any], str], Any] | None = None,
                 leading: Callable[[], bool] = lambda: True) -> None:
        """``controller()`` is the running controller (or None); ``write(interaction)`` hands one interaction to
        the store without waiting (the history writer: insert or replace, in order, journaled and retried through
        a database outage); ``match(number)`` finds a customer id through ``offload(fn, what)`` (a worker thread).
        Only a process that ``leading()`` writes interactions and puts agents Not ready: a standby's desk follows
        the leader's relayed events for its pages, and the leader writes the same interactions."""
        self.controller = controller
        self.offload = offload
        self.leading = leading
        self.required = frozenset(result_required)
        self.write = write
        self.match = match
        self.cards: dict[str, CallCard] = {}      #: agent id -> his latest call
        self.pending: dict[str, CallCard] = {}    #: agent id -> the ended call whose result he still owes
        self.spawn: Callable[..., Any] = gevent.spawn
        self.hooks = hooks
        for kind in _KINDS:
            hooks.on(kind, self._on_event)

    def close(self) -> None:
        """Stop listening."""
        for kind in _KINDS:
            try:
                self.hooks.off(kind, self._on_event)
            except ValueError:
                pass

    def requires_result(self, queue: str | None) -> bool:
        """Whether calls of ``queue`` need a result before the agent is Ready again."""
        return "*" in self.required or (queue is not None and queue in self.required)

    # ------------------------------------------------------------------ hooks (inline: copy and return)
    def _on_event(self, ev: HookEvent) -> None:
        if ev.agent_id is None or ev.call_uuid is None:
            return
        if ev.kind == "offered":
            self._offered(ev)
            return
        card = self.cards.get(ev.agent_id)
        if card is None or card.call_uuid != ev.call_uuid:
            return
        if ev.kind == "bridged":
            card.bridged_at = card.bridged_at or ev.at
        elif ev.kind in ("call_ended", "call_transferred") and card.ended_at is None:   # his part of it is over
            card.ended_at = ev.at
            if card.bridged_at is None:
                return   # offered, never answered: no interaction, no result
            if self.requires_result(card.queue) and not card.saved:
                card.needs_result = True
                self.pending[card.agent_id] = card
                self.spawn(self._not_ready, card.agent_id)
            self.spawn(self.store, card)

    def _offered(self, ev: HookEvent) -> None:
        assert ev.agent_id is not None and ev.call_uuid is not None
        ctl = self.controller()
        session = ctl.sessions.get(ev.call_uuid) if ctl is not None else None
        path: tuple[str, ...] = ()
        choices: tuple[tuple[str, str], ...] = ()
        if session is None:   # a manual click-to-dial (cc.runtime.manual_dial) says the number in its data
            caller, name, dest, started = str(ev.data.get("number") or ""), "", "", ev.at
        else:
            caller, name, dest, started = session.caller, session.caller_name, session.dnis, session.started_at
            run = session.flow_run
            if run is not None:
                path = tuple(run.path)
                asked = {name for node in run.flow.nodes.values() if node.verb_name in _CHOICE_VERBS
                         for name in node.verb.writes()}
                choices = tuple((k, str(run.vars[k])) for k in sorted(asked) if run.vars.get(k) not in (None, ""))
        self.cards[ev.agent_id] = CallCard(ev.call_uuid, ev.agent_id, ev.queue, caller, name, dest, started, ev.at,
                                           path, choices, transfer_from=str(ev.data.get("from_agent") or ""),
                                           transfer_note=str(ev.data.get("note") or ""),
                                           customer_id=ev.data.get("customer_id") if session is None else None)

    def _not_ready(self, agent_id: str) -> None:
        ctl = self.controller()
        if ctl is not None and agent_id in self.pending and self.leading():
            ctl.set_status(agent_id, AgentStatus.ON_BREAK, ACW_REASON)

    # ------------------------------------------------------------------ the pages' verbs
    def card(self, agent_id: str) -> CallCard | None:
        """The agent's latest call (None before his first offer in this process)."""
        return self.cards.get(agent_id)

    def owes_result(self, agent_id: str) -> CallCard | None:
        """The ended call whose result the agent must save before Ready (None: none)."""
        return self.pending.get(agent_id)

    def link(self, agent_id: str, call_uuid: str, customer_id: str) -> CallCard | None:
        """Link the agent's call to a customer (the interaction follows, now if the call has ended)."""
        card = self.cards.get(agent_id)
        if card is None or card.call_uuid != call_uuid:
            return None
        card.customer_id = customer_id
        if card.ended_at is not None and card.bridged_at is not None:
            self.store(card)
        return card

    def save_result(self, agent_id: str, call_uuid: str, result: str, note: str) -> CallCard | None:
        """Keep the result and note of the agent's call, write its interaction (worker thread; call it from a
        request greenlet), and release the agent's Ready."""
        card = self.cards.get(agent_id)
        if card is None or card.call_uuid != call_uuid:
            return None
        card.result, card.note, card.saved, card.needs_result = result, note, True, False
        if self.pending.get(agent_id) is card:
            del self.pending[agent_id]
        self.store(card)
        return card

    def store(self, card: CallCard) -> None:
        """Hand the card's interaction (insert or replace) to the store; the caller's customer, when the card has
        none, is looked up first in a worker thread (a store that does not answer: written without one, and
        looked up again at the next write of the card). Call it from a greenlet of its own or a request's."""
        if self.write is None or not self.leading():
            return
        if card.customer_id is None and self.match is not None and card.caller:
            match, caller = self.match, card.caller
            try:
                if self.offload is not None:
                    found = self.offload(lambda: match(caller), "the customer of a call")
                else:
                    found = blocking.offload(lambda: match(caller))
            except Exception as exc:   # the store is down or slow: the interaction is not held back for it
                log.warning("call %s: its customer was not looked up (%s); its interaction is written without one",
                            card.call_uuid, exc.__class__.__name__)
            else:
                if found is not None and card.customer_id is None:
                    card.customer_id = found
        try:
            self.write(Interaction(id=card.interaction_id, at=card.started_at, kind=InteractionKind.CALL,
                                   customer_id=card.customer_id, agent_id=card.agent_id, call_uuid=card.call_uuid,
                                   queue=card.queue, disposition=card.result, note=card.note))
            card.written = True
        except Exception:
            log.exception("call %s: its CRM interaction was not written", card.call_uuid)
