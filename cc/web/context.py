"""What the pages are built on: the running service and the API's own parts (offload, permission directory,
event hub), the repositories, and the web configuration -- handed to the app factory, never imported globally."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import gevent

from cc.api.events import EventHub
from cc.api.offload import Offload, StoreWatch
from cc.authz import Principal
from cc.config import WebConfig
from cc.store.audit_adapter import StoreAudit
from cc.store.campaigns import CustomerTypeRepo
from cc.store.db import Database
from cc.store.reminders import DueCallbackRepo
from cc.store.repos import CustomerRepo, InteractionRepo
from cc.store.users import UserRepo
from cc.web.desk import Desk
from cc.web.reminders import LEAD_S, Previews, Reminders

__all__ = ["WebContext"]

T = TypeVar("T")

log = logging.getLogger(__name__)


@dataclass
class WebContext:
    """The services one web app uses. Every store call goes through :meth:`run` (a worker thread, bounded)."""

    service: Any               #: the Service: ``controller``, ``hooks``, ``config``, ``leading``
    db: Database               #: the API's bounded pool (statement timeout); used from worker threads only
    offload: Offload           #: runs store calls off the gevent hub
    watch: StoreWatch          #: the permission directory, in memory (the API's own)
    hub: EventHub              #: the API's event hub (SSE)
    config: WebConfig
    base_dir: str              #: the configuration's folder (the generated secret lives there)
    users: UserRepo
    customers: CustomerRepo
    interactions: InteractionRepo
    customer_types: CustomerTypeRepo
    audit: StoreAudit
    desk: Desk                 #: the agents' call cards and the results their queues require
    reminders: Reminders | None = None   #: the callbacks' reminder timer (controller clock)
    previews: Previews | None = None     #: each agent's preview offer

    @classmethod
    def from_api(cls, service: Any, api: Any) -> WebContext:
        """The context for a Service whose :class:`~cc.api.app.ApiApp` is ``api`` (its pool, offload, watch, hub)."""
        cfg = service.config
        db, offload = api.db, api.offload
        customers, interactions = CustomerRepo(db, default_region=cfg.web.region), InteractionRepo(db)

        def match(number: str) -> str | None:
            found = customers.find_by_phone(number)
            return found[0].id if found else None

        # the interactions go through the history writer (ordered, journaled, retried through an outage)
        writer = getattr(service, "writer", None)
        desk = Desk(service.hooks, lambda: service.controller, result_required=cfg.web.result_required,
                    write=writer.submit if writer is not None
                    else lambda rec: offload.run(lambda: interactions.put(rec), "the interaction of a call"),
                    match=match,
                    offload=offload.run, leading=lambda: bool(getattr(service, "leading", True)))
        now = service.clock.now      # the controller's clock (simulated when it runs time-scaled)
        reminders = Reminders(service.hooks, now, service.clock.real)
        due = DueCallbackRepo(db)

        def start_reminders() -> None:
            try:
                pending = offload.run(lambda: due.upcoming(now() - LEAD_S), "callbacks to remind", 120.0)
            except Exception:   # the store is down: callbacks saved from now on are still reminded
                log.exception("web: the pending callbacks were not read; reminders start empty")
                pending = []
            reminders.start(pending)

        gevent.spawn(start_reminders)
        return cls(service=service, db=db, offload=offload, watch=api.watch, hub=api.hub, config=cfg.web,
                   base_dir=cfg.base_dir, users=UserRepo(db), customers=customers, interactions=interactions,
                   customer_types=CustomerTypeRepo(db), audit=StoreAudit(db), desk=desk, reminders=reminders,
                   previews=Previews(service.hooks))

    def run(self, fn: Callable[[], T], what: str, timeout_s: float | None = None) -> T:
        """``fn()`` (store work) in a worker thread; DatabaseUnavailable when it does not answer in time."""
        return self.offload.run(fn, what, timeout_s)

    def principal(self, user_id: int) -> Principal | None:
        """The user as the permission decision sees him (from memory; one refresh for a user not known yet)."""
        user = self.watch.directory.users.get(user_id)
        if user is None:
            self.watch.check()
            user = self.watch.directory.users.get(user_id)
        return user
