"""Live reload: re-read queues, agents, tiers, routes and calendars from the store and apply the differences
to the running ACD and flow book, serialized with routing, without losing waiting members."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from cc.acd import AcdCommand
from cc.errors import CCError
from cc.runtime.controller import Controller
from cc.store.db import Database
from cc.store.repos import AgentRepo, CalendarRepo, FlowRouteRepo, QueueRepo, TierRepo

__all__ = ["ReloadReport", "StoreConfig", "apply_store", "read_store", "reload_from_store"]

log = logging.getLogger(__name__)


@dataclass
class ReloadReport:
    """What a reload changed, and what it had to refuse (with why)."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"added": self.added, "changed": self.changed, "removed": self.removed, "refused": self.refused}


def _apply(ctl: Controller, what: str, change: Callable[[float], list[AcdCommand]], report: ReloadReport) -> bool:
    """Run one configuration change through the driver; False (and a refusal noted) when the ACD refused."""
    errors: list[CCError] = []

    def guarded(now: float) -> list[AcdCommand]:
        try:
            return change(now)
        except CCError as exc:
            errors.append(exc)
            return []

    ctl.driver.configure(guarded)
    if errors:
        report.refused.append(f"{what}: {errors[0]}")
        log.warning("reload: %s refused: %s", what, errors[0])
        return False
    return True


@dataclass
class StoreConfig:
    """What a reload reads from the store (read in a thread, applied in the hub by :func:`apply_store`)."""

    queues: dict[str, Any]
    agents: dict[str, Any]
    tiers: dict[tuple[str, str], Any]
    calendars: dict[str, Any]
    routes: dict[str, str]


def read_store(db: Database) -> StoreConfig:
    """Read queues, agents, tiers, calendars and routes (blocking: call it off the hub)."""
    calendars_repo = CalendarRepo(db)
    return StoreConfig(
        queues={q.name: q for q in QueueRepo(db).list()},
        agents={a.id: a for a in AgentRepo(db).list()},
        tiers={(t.agent_id, t.queue): t for t in TierRepo(db).list()},
        calendars={name: calendars_repo.get(name) for name in calendars_repo.list()},
        routes={r.number: r.flow for r in FlowRouteRepo(db).list()},
    )


def reload_from_store(ctl: Controller, db: Database, config_routes: dict[str, str] | None = None) -> ReloadReport:
    """Bring the running controller in line with the store; returns what changed and what was refused.

    Queues and agents that are gone from the store are removed only when the ACD allows it (a queue
    with members, an agent in a call are refused and reported; the next reload tries again).
    """
    return apply_store(ctl, read_store(db), config_routes)


def apply_store(ctl: Controller, store: StoreConfig, config_routes: dict[str, str] | None = None) -> ReloadReport:
    """Bring the running controller in line with what :func:`read_store` read (no database call)."""
    report = ReloadReport()
    acd = ctl.acd
    world = acd.world
    queues, agents, tiers = store.queues, store.agents, store.tiers

    for name, cfg in queues.items():
        rt = world.queues.get(name)
        if rt is None or rt.cfg != cfg:
            if _apply(ctl, f"queue {name}", partial(acd.set_queue, cfg), report):
                (report.added if rt is None else report.changed).append(f"queue {name}")
    for agent_id, agent in agents.items():
        art = world.agents.get(agent_id)
        if art is None or art.cfg != agent:
            if _apply(ctl, f"agent {agent_id}", partial(acd.set_agent, agent), report):
                (report.added if art is None else report.changed).append(f"agent {agent_id}")
    live: dict[tuple[str, str], Any] = {}
    for art in world.agents.values():
        for tier in art.tiers.values():
            live[(tier.agent_id, tier.queue)] = tier
    for key, tier in tiers.items():
        if live.get(key) != tier:
            if _apply(ctl, f"tier {key[0]}@{key[1]}", partial(acd.set_tier, tier), report):
                (report.added if key not in live else report.changed).append(f"tier {key[0]}@{key[1]}")
    for key in live.keys() - tiers.keys():
        if key[0] in world.agents and key[1] in world.queues:
            if _apply(ctl, f"tier {key[0]}@{key[1]}", partial(acd.remove_tier, key[0], key[1]), report):
                report.removed.append(f"tier {key[0]}@{key[1]}")
    for agent_id in sorted(world.agents.keys() - agents.keys()):
        if _apply(ctl, f"agent {agent_id}", partial(acd.remove_agent, agent_id), report):
            report.removed.append(f"agent {agent_id}")
    for name in sorted(world.queues.keys() - queues.keys()):
        if _apply(ctl, f"queue {name}", partial(acd.remove_queue, name), report):
            report.removed.append(f"queue {name}")

    calendars = store.calendars
    if calendars != ctl.calendars:
        for name in calendars.keys() ^ ctl.calendars.keys():
            (report.added if name in calendars else report.removed).append(f"calendar {name}")
        report.changed.extend(f"calendar {n}" for n in calendars.keys() & ctl.calendars.keys()
                              if calendars[n] != ctl.calendars[n])
        for target in (ctl.calendars, ctl.flows.calendars):
            target.clear()
            target.update(calendars)

    wanted = dict(store.routes)
    wanted.update(config_routes if config_routes is not None else ctl.config.routes)
    book = ctl.flows
    for number, ref in wanted.items():
        if book.routes.get(number) != ref:
            is_new = number not in book.routes
            try:
                book.set_route(number, ref)
            except CCError as exc:
                report.refused.append(f"route {number} -> {ref}: {exc}")
                continue
            (report.added if is_new else report.changed).append(f"route {number}")
    for number in sorted(book.routes.keys() - wanted.keys()):
        del book.routes[number]
        report.removed.append(f"route {number}")
    log.info("reload: %d added, %d changed, %d removed, %d refused", len(report.added), len(report.changed),
             len(report.removed), len(report.refused))
    return report
