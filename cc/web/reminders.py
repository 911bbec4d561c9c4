"""Callback reminders on the agents' workbenches: one timer on the controller's clock, and the lead cards of
preview dialing.

:class:`Reminders` keeps a heap of what is to be reminded (each inbound callback twice: at due - 5 min and at
due) and one greenlet that sleeps until the earliest entry -- re-armed when an earlier one is added, never a
periodic scan. A callback moved or saved again replaces its entries (the old ones are skipped when they come up).
Campaign callbacks are the dialer's own: its ``callback_reminder`` hook events are kept and passed on alike.
Each reminder is emitted as a ``callback_due`` hook event for the owner agent (his workbench's event stream)
and kept in memory until he dismisses it or dials, so a page loaded later still shows it.

:class:`Previews` keeps each agent's current preview offer (``preview_offered``), until it is dialed, skipped,
cancelled or refused.
"""

from __future__ import annotations

import heapq
import itertools
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import gevent
import gevent.event

from cc.model import Interaction
from cc.runtime.hooks import HookEvent, Hooks

__all__ = ["LEAD_S", "Offer", "Previews", "Reminder", "Reminders"]

log = logging.getLogger(__name__)

#: how long before the due time the first reminder comes
LEAD_S = 300.0


@dataclass(frozen=True)
class Reminder:
    """One reminder shown to one agent: ``kind`` is ``before`` (due - 5 min) or ``due``."""

    key: str                     #: interaction id (inbound) or ``lead:<id>`` (campaign)
    agent_id: str
    kind: str
    due_at: float
    fired_at: float
    customer_id: str | None = None
    note: str = ""
    campaign: str | None = None
    lead_id: str | None = None
    name: str = ""


@dataclass
class Offer:
    """A preview offer on an agent's screen: the lead, its customer and history, and when it times out."""

    agent_id: str
    campaign: str
    lead: dict[str, Any]
    customer: dict[str, Any] | None
    history: list[dict[str, Any]]
    offered_at: float
    timeout_s: float
    refused: tuple[str, ...] = ()

    @property
    def lead_id(self) -> str:
        """The offered lead's id."""
        return str(self.lead.get("lead_id", ""))


@dataclass(order=True)
class _Entry:
    at: float
    seq: int
    key: str = field(compare=False)
    kind: str = field(compare=False)
    due_at: float = field(compare=False)


class Reminders:
    """The inbound callbacks' timer and every agent's reminders on show."""

    def __init__(self, hooks: Hooks, now: Callable[[], float], real: Callable[[float], float], *,
                 lead_s: float = LEAD_S) -> None:
        """``now()`` is the controller's clock, ``real(s)`` the wall seconds ``s`` of it take (a scaled clock)."""
        self.hooks = hooks
        self.now = now
        self.real = real
        self.lead_s = lead_s
        self._heap: list[_Entry] = []
        self._seq = itertools.count()
        self._items: dict[str, Interaction] = {}      #: key -> the callback as scheduled now
        self._wake = gevent.event.Event()
        self._timer: gevent.Greenlet | None = None
        self.shown: dict[str, dict[str, Reminder]] = {}   #: agent -> key -> latest reminder
        self.fired = 0
        hooks.on("callback_reminder", self._on_campaign)

    # ------------------------------------------------------------------ life cycle
    def start(self, pending: Iterable[Interaction] = ()) -> None:
        """Schedule ``pending`` (the store's, read at start) and start the timer."""
        for item in pending:
            self.schedule(item)
        if self._timer is None or self._timer.dead:
            self._timer = gevent.spawn(self._loop)

    def stop(self) -> None:
        """Stop the timer and stop listening."""
        if self._timer is not None:
            self._timer.kill(block=False)
            self._timer = None
        try:
            self.hooks.off("callback_reminder", self._on_campaign)
        except ValueError:
            pass

    # ------------------------------------------------------------------ changes
    def schedule(self, cb: Interaction) -> None:
        """An inbound callback added or moved (a reminder at due - 5 min and one at due); O(log n)."""
        if cb.agent_id is None:
            return
        old = self._items.get(cb.id)
        self._items[cb.id] = cb
        if old is not None and old.at == cb.at and old.agent_id == cb.agent_id:
            return
        now = self.now()
        earliest = self._heap[0].at if self._heap else None
        for kind, at in (("before", cb.at - self.lead_s), ("due", cb.at)):
            if at >= now - self.lead_s:   # the due one of a callback 5 min late still shows
                heapq.heappush(self._heap, _Entry(at, next(self._seq), cb.id, kind, cb.at))
        if self._heap and (earliest is None or self._heap[0].at < earliest):
            self._wake.set()

    def cancel(self, key: str) -> None:
        """A callback that is no more (its entries are skipped when they come up)."""
        self._items.pop(key, None)

    def dismiss(self, agent_id: str, key: str) -> None:
        """The agent closed the reminder (or dialed it)."""
        self.shown.get(agent_id, {}).pop(key, None)

    def for_agent(self, agent_id: str) -> list[Reminder]:
        """The agent's reminders on show, by due time."""
        return sorted(self.shown.get(agent_id, {}).values(), key=lambda r: (r.due_at, r.key))

    def next_at(self) -> float | None:
        """When the timer fires next (controller clock), None when nothing is scheduled."""
        return self._heap[0].at if self._heap else None

    # ------------------------------------------------------------------ the timer
    def _loop(self) -> None:
        while True:
            top = self.next_at()
            timeout = None if top is None else max(0.0, self.real(top - self.now()))
            if self._wake.wait(timeout):
                self._wake.clear()
            self.fire_due()

    def fire_due(self) -> int:
        """Emit every reminder whose time has come; the count."""
        now = self.now()
        n = 0
        while self._heap and self._heap[0].at <= now:
            e = heapq.heappop(self._heap)
            cb = self._items.get(e.key)
            if cb is None or cb.at != e.due_at or cb.agent_id is None:
                continue   # moved or cancelled since
            if e.kind == "due":
                self._items.pop(e.key, None)
            self._show(Reminder(e.key, cb.agent_id, e.kind, cb.at, now, cb.customer_id, cb.note))
            n += 1
        return n

    def _on_campaign(self, ev: HookEvent) -> None:
        """The dialer's reminder of a campaign callback (at due - 5 min and at due), for one agent."""
        d = ev.data
        if ev.agent_id is None or "lead_id" not in d:
            return
        lead = d.get("lead") or {}
        self._show(Reminder(f"lead:{d['lead_id']}", ev.agent_id, str(d.get("kind", "due")), float(d.get("due_at", 0)),
                            ev.at, lead.get("customer_id"), "", d.get("campaign"), str(d["lead_id"]),
                            str(lead.get("name") or "")), emit=True)

    def _show(self, r: Reminder, *, emit: bool = True) -> None:
        self.shown.setdefault(r.agent_id, {})[r.key] = r
        self.fired += 1
        log.info("callback %s of agent %s: reminder %s (due %.0f)", r.key, r.agent_id, r.kind, r.due_at)
        if emit:
            self.hooks.emit(HookEvent("callback_due", r.fired_at, agent_id=r.agent_id,
                                      data={"key": r.key, "kind": r.kind, "due_at": r.due_at,
                                            "campaign": r.campaign, "lead_id": r.lead_id}))


class Previews:
    """Each agent's current preview offer, from the dialer's hook events."""

    def __init__(self, hooks: Hooks) -> None:
        self.hooks = hooks
        self.offers: dict[str, Offer] = {}
        hooks.on("preview_offered", self._offered)
        hooks.on("preview_cancelled", self._gone)
        hooks.on("dial_refused", self._refused)
        hooks.on("customer_connected", self._gone)

    def stop(self) -> None:
        """Stop listening."""
        for kind, fn in (("preview_offered", self._offered), ("preview_cancelled", self._gone),
                         ("dial_refused", self._refused), ("customer_connected", self._gone)):
            try:
                self.hooks.off(kind, fn)
            except ValueError:
                pass

    def offer(self, agent_id: str) -> Offer | None:
        """The agent's current offer (None: none)."""
        return self.offers.get(agent_id)

    def taken(self, agent_id: str, lead_id: str) -> None:
        """The agent dialed or skipped ``lead_id``: its card goes."""
        o = self.offers.get(agent_id)
        if o is not None and o.lead_id == str(lead_id):
            del self.offers[agent_id]

    def _offered(self, ev: HookEvent) -> None:
        if ev.agent_id is None:
            return
        d = ev.data
        self.offers[ev.agent_id] = Offer(ev.agent_id, str(d.get("campaign", "")), dict(d.get("lead") or {}),
                                         d.get("customer"), list(d.get("history") or []), ev.at,
                                         float(d.get("timeout_s") or 0.0))

    def _gone(self, ev: HookEvent) -> None:
        if ev.agent_id is None:
            return
        o = self.offers.get(ev.agent_id)
        lead = ev.data.get("lead_id") or (ev.data.get("lead") or {}).get("lead_id")
        if o is not None and (lead is None or str(lead) == o.lead_id):
            del self.offers[ev.agent_id]

    def _refused(self, ev: HookEvent) -> None:
        if ev.agent_id is None:
            return
        o = self.offers.get(ev.agent_id)
        if o is not None and str(ev.data.get("lead_id")) == o.lead_id:
            o.refused = tuple(str(r) for r in ev.data.get("reasons") or ())
