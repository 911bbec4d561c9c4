"""The composition root: builds the store, the ACD, the flows, the nodes and the outbound server; wires them.

Embedding cc in another gevent program::

    from cc.config import load_config
    from cc.service import Service

    svc = Service(load_config("cc.yaml"))
    svc.hooks.on("bridged", lambda e: print(e.call_uuid, "->", e.agent_id))
    svc.start()                      # returns once listening; calls run in their own greenlets
    svc.controller.login("1001")     # agents log in through the controller (or the CLI / HTTP API)
    ...
    svc.stop()                       # drain calls (bounded), flush history

Nothing here is a module-level singleton: every part is constructed here and handed to its users.
"""

from __future__ import annotations

import gc
import importlib
import logging
import os
import socket
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import gevent
import gevent.event

from cc.acd import Acd
from cc.clock import SystemClock
from cc.config import ServiceConfig
from cc.errors import CCError
from cc.esl.outbound import OutboundServer
from cc.model import AgentStatus, BusinessCalendar, CallRecord, QueueEvent
from cc.privacy.retention import RetentionJob
from cc.privacy.schedule import RetentionTask
from cc.runtime.admission import Admission, LagMonitor
from cc.runtime.campaigns import Campaigns, CampaignStores, OutboundConfig
from cc.runtime.controller import Controller
from cc.runtime.event_relay import EventRelay
from cc.runtime.flows import FlowBook
from cc.runtime.hooks import Hooks
from cc.runtime.leadership import Leadership
from cc.runtime.nodes import Node, NodeSet
from cc.runtime.reconcile import Reconciler
from cc.runtime.recover import Recovery
from cc.runtime.timebase import Timebase
from cc.store.audit_adapter import StoreAudit
from cc.store.campaigns import CampaignRepos
from cc.store.db import Database, bounded, upgrade
from cc.store.leader_lock import AdvisoryLock
from cc.store.repos import (
    AgentRepo,
    AgentStateEventRepo,
    CalendarRepo,
    CallRepo,
    CustomerRepo,
    FlowRouteRepo,
    InteractionRepo,
    QueueEventRepo,
    QueueRepo,
    TierRepo,
)
from cc.store.retention import RetentionRepo
from cc.store.writer import Writer

if TYPE_CHECKING:
    import gevent.threadpool

    from cc.api.app import ApiApp
    from cc.api.server import ApiServer

__all__ = ["Service"]

log = logging.getLogger(__name__)

#: what the HTTP API and the web desktop need and the calls do not: imported in a worker thread while the calls'
#: part starts (the outbound port listens about 1.5 s sooner after a restart: docs/operations.md)
LATE_MODULES = ("cc.api.server", "cc.api.app", "cc.web", "phonenumbers.geocoder")

#: how long the start-up recovery waits for the writer to replay a journal before it reads open calls rows
OPEN_CALLS_FLUSH_S = 10.0


class Service:
    """cc's controller as one object: ``start()``, ``stop()``, and access to its parts."""

    def __init__(self, config: ServiceConfig, *, clock: Timebase | None = None, hooks: Hooks | None = None,
                 database: Database | None = None, journal_path: str | None = None, migrate: bool = True,
                 restore_agents: bool = True, outbound: OutboundConfig | None = None) -> None:
        self.config = config
        self.clock: Timebase = clock if clock is not None else SystemClock()
        self.hooks = hooks if hooks is not None else Hooks()
        self.db = database
        self.journal_path = journal_path
        self.migrate = migrate
        self.restore_agents = restore_agents
        self.writer: Writer | None = None
        self.controller: Controller | None = None
        self.server: OutboundServer | None = None
        self.api: ApiServer | None = None
        self.leadership: Leadership | None = None   #: a standby pair's leadership (``ha.role: auto``)
        #: a standby pair's hook events over PostgreSQL NOTIFY: the leader publishes, the other process listens
        self.relay: EventRelay | None = None
        self.fenced = gevent.event.Event()          #: set when this process lost its lead (it must exit)
        self.took_over_at: float | None = None      #: time.time() when this process started to route
        self._open = False                          #: the outbound port serves calls (a standby closes them)
        self._stopped = gevent.event.Event()
        self.retention: RetentionTask | None = None   #: the retention job's runs (cc.yaml ``retention:``)
        self.outbound = outbound if outbound is not None else OutboundConfig()
        self.campaigns: Campaigns | None = None       #: the outbound campaigns (after start, with a database)
        self._late: gevent.threadpool.ThreadResult | None = None   #: LATE_MODULES being imported

    # ------------------------------------------------------------------ parts
    @property
    def acd(self) -> Acd:
        """The running ACD (read it; change it through the controller)."""
        return self._ctl().acd

    def _ctl(self) -> Controller:
        if self.controller is None:
            raise CCError("the service is not started")
        return self.controller

    @property
    def identity(self) -> str:
        """Who this process is to the other one of a standby pair (the leader lock's application_name)."""
        api = "{}:{}".format(*self.api.address) if self.api is not None else self.config.http_listen or "-"
        return f"cc api={api} host={socket.gethostname()} pid={os.getpid()}"

    @property
    def role(self) -> str:
        """``single`` (no standby pair), or this process's role in its pair: standby, candidate, leader, fenced."""
        if self.leadership is None:   # a pair's process stands by until its leadership runs
            return "single" if self.config.ha.role == "off" else "standby"
        return self.leadership.role.value

    @property
    def stopped(self) -> bool:
        """True once :meth:`stop` has run (or fencing stopped this process)."""
        return bool(self._stopped.is_set())

    @property
    def leading(self) -> bool:
        """True when this process may change what the call center does (alone, or the pair's leader)."""
        if self.leadership is None:
            return self.config.ha.role == "off"
        return self.leadership.may_act()

    def leader(self) -> dict[str, object] | None:
        """Who leads, from memory: this process, or (standby) what the leader lock's session says of the other
        one (name, the API address it announced, its database client address, since when); None when unknown."""
        if self.role in ("single", "leader"):
            return {"name": self.identity, "api": self.config.http_listen, "self": True}
        held = self.leadership.leader if self.leadership is not None else None
        if held is None:
            return None
        name = str(held.get("name") or "")
        api = next((part[4:] for part in name.split() if part.startswith("api=")), None)
        return {"name": name, "api": None if api in (None, "-") else api, "address": held.get("address"),
                "since": held.get("since"), "self": False}

    @property
    def serving_calls(self) -> bool:
        """Whether the outbound port listens and serves calls (a standby's closes them at once)."""
        return self.server is not None and self._open

    @property
    def outbound_address(self) -> tuple[str, int]:
        """Where FreeSWITCH's ``socket`` application must connect (after start)."""
        if self.server is None:
            return (self.config.outbound_host, self.config.outbound_port)
        return self.server.address

    # ------------------------------------------------------------------ life cycle
    def start(self, *, wait_nodes: float | None = 5.0) -> None:
        """Open the store, load roster and flows, connect the nodes, listen for calls."""
        cfg = self.config
        if self.db is None:
            self.db = Database(cfg.database_url)
        if self.migrate:
            upgrade(engine=self.db.engine)
        if self._late is None and cfg.http_listen:
            # the store's and the switch's modules are in; the API's are imported beside the calls' start-up
            self._late = gevent.get_hub().threadpool.spawn(_import_late)
        journal = self.journal_path or os.path.join(cfg.base_dir, "cc-journal.jsonl")
        self.writer = Writer(self.db, journal, journal_max_bytes=cfg.journal.max_bytes,
                             journal_warn_share=cfg.journal.warn_share)
        queues = QueueRepo(self.db).list()
        agents = AgentRepo(self.db).list()
        tiers = TierRepo(self.db).list()
        calendars = self._calendars()
        routes = {r.number: r.flow for r in FlowRouteRepo(self.db).list()}
        routes.update(cfg.routes)
        flows = FlowBook(os.path.join(cfg.base_dir, cfg.flows_dir), routes, cfg.default_flow, calendars,
                         record_notice=cfg.record_notice)
        flows.load_all()
        acd = Acd(queues, agents, tiers, now=self.clock.now())
        nodes = NodeSet([Node(n, clock=self.clock) for n in cfg.nodes])
        monitor = LagMonitor(stall_s=cfg.overload.max_lag_s)
        admission = Admission(cfg.overload)
        ctl = Controller(config=cfg, acd=acd, nodes=nodes, flows=flows, sink=self.writer, clock=self.clock,
                         hooks=self.hooks, calendars=calendars, admission=admission, monitor=monitor)
        self.controller = ctl
        writer = self.writer
        ctl.journal_full = lambda: writer.journal_full
        ctl.visits = CallRepo(bounded(self.db)).visits   # run in a worker thread by the controller
        ctl.driver.start()
        ha = cfg.ha.role != "off"
        if self.restore_agents and not ha:
            self._restore_agents(ctl)
        for node in nodes:
            node.start()
        if wait_nodes:
            for node in nodes:
                if not node.switch.wait_connected(wait_nodes):
                    log.warning("node %s (%s) is not reachable yet; calls on it wait for the reconnect",
                                node.name, node.switch.address)
        if not ha:
            self._take_over()
            return
        # a standby pair: the links are up, the port listens but closes every call until this process leads
        self.server = self._outbound(gate=lambda: self._open)
        if cfg.http_listen:   # a standby serves health, metrics and read-only views; changes answer 503
            self.api = self._api_server(cfg.http_listen, web=cfg.web.enabled)
            self.api.start()
        lock = AdvisoryLock(cfg.database_url, cfg.ha.lock_id, idle_session_timeout_ms=int(cfg.ha.fence_s * 1000),
                            name=self.identity)
        self.leadership = Leadership(lock, check_interval_s=cfg.ha.check_interval_s,
                                     takeover_after_s=cfg.ha.takeover_after_s, fence_s=cfg.ha.fence_s,
                                     on_lead=lambda: gevent.spawn(self._take_over), on_fenced=self._on_fenced,
                                     acquire_wait_s=cfg.ha.check_interval_s)
        ctl.may_route = self.leadership.may_act
        self.relay = self._event_relay()
        self.relay.listen()   # the pages and /api/v1/events of a standby show the leader's events
        self.leadership.start()
        log.warning("cc: standby (lock %d); calls on %s:%d are closed until this process leads", cfg.ha.lock_id,
                    *self.server.address)

    def _outbound(self, gate: Callable[[], bool] | None = None) -> OutboundServer:
        """The outbound socket server, listening."""
        cfg, ctl = self.config, self._ctl()
        server = OutboundServer(cfg.outbound_host, cfg.outbound_port, ctl.handle_call,
                                command_timeout=cfg.overload.command_timeout_s, screen=ctl.screen,
                                on_give_up=ctl.give_up, gate=gate, keep_events=False)
        server.start()
        return server

    def _take_over(self) -> None:
        """Start routing: recover what the switches hold, open the port, reconcile, serve the API."""
        cfg, ctl = self.config, self._ctl()
        nodes, monitor = ctl.nodes, ctl.monitor
        if self.leadership is not None:
            if self.restore_agents:
                self._restore_agents(ctl)
            log.warning("cc: leading; taking over the calls on the switches")
        if self.relay is not None:
            self.relay.lead()   # stops listening: from now on this process's events go to the other one
        recovery = Recovery(ctl, self._open_calls, grace_s=cfg.reconcile.grace_s, hold_redials=True)
        recovery.run()   # what a previous process left on the switches, before new calls come
        # the roster and flows live as long as the process: keep the collector from walking them again
        gc.collect()
        gc.freeze()
        if self.server is None:
            self.server = self._outbound()
        # recovery and the full collection kept the hub busy: that share says nothing about the calls to come
        ctl.admission.grace(time.monotonic())
        self._open = True
        self.took_over_at = time.time()
        ctl.open_channels = self.server.uuids
        recovery.send_redials()   # the port takes them now: on a real switch they reach `socket` within ms
        reconciler = Reconciler(nodes, interval_s=cfg.reconcile.interval_s, grace_s=cfg.reconcile.grace_s,
                                port=self.server.address[1], clock=monitor.running_time, holdings=ctl.holdings,
                                settle_orphan=ctl.settle_orphan, end_call=ctl.end_call, end_leg=ctl.end_leg,
                                allowed=lambda: monitor.lag() <= cfg.overload.max_lag_s, after_pass=recovery.sweep,
                                release_agent=ctl.release_agent, release_after_s=cfg.reconcile.release_agent_s)
        ctl.reconciler = reconciler
        monitor.on_stall = lambda _s: reconciler.kick()
        for node in nodes:   # events may have been lost while a link was down
            node.switch.on_reconnect.append(reconciler.kick)
        monitor.start()
        reconciler.start()
        reconciler.kick()   # a first pass at once: what a previous process left on the switches
        if self.retention is None and cfg.retention.active and self.db is not None:
            self.retention = self._retention(ctl)
            self.retention.start()
        if self.campaigns is None and self.db is not None:
            self.campaigns = self._campaigns(ctl)
        if cfg.http_listen and self.api is None:
            self.api = self._api_server(cfg.http_listen, web=cfg.web.enabled)
            self.api.start()
        log.info("cc: %d queues, %d agents, %d nodes; calls on %s:%d", len(ctl.acd.world.queues),
                 len(ctl.acd.world.agents), len(nodes.nodes), *self.server.address)

    def _campaigns(self, ctl: Controller) -> Campaigns:
        """The outbound campaigns on the controller: campaigns the store says are running resume (docs/dialer.md)."""
        assert self.db is not None
        stores = CampaignStores(CampaignRepos(self.db), CustomerRepo(self.db), InteractionRepo(self.db))
        campaigns = Campaigns(ctl, stores, config=self.outbound, calendars=ctl.calendars)
        campaigns.start()
        return campaigns

    def _api_server(self, listen: str, *, web: bool) -> ApiServer:
        """The HTTP API (and the web desktop), once the worker thread has imported them (the hub waits, not blocks)."""
        if self._late is not None:
            self._late.get()
            self._late = None
        from cc.api.server import ApiServer

        return ApiServer(self, listen, mount=self._web if web else None)

    def _web(self, api: ApiApp) -> Any:
        """The web desktop on the API's parts, with the API under its own paths (docs/web.md)."""
        from cc.web import build_web

        return build_web(self, api)

    def _event_relay(self) -> EventRelay:
        """The pair's event relay: two connections of its own on the channel of the pair's lock (docs/operations.md)."""
        from cc.store.event_channel import NotifyChannel, channel_name

        cfg = self.config
        channel = channel_name(cfg.ha.lock_id)
        pid = os.getpid()
        return EventRelay(self.hooks, NotifyChannel(cfg.database_url, channel, name=f"cc events-out pid={pid}"),
                          NotifyChannel(cfg.database_url, channel, name=f"cc events-in pid={pid}"))

    def _on_fenced(self) -> None:
        """This process lost its lead: it stops routing now; its calls are left to the next leader."""
        log.critical("cc: the leader lock is lost or unconfirmed: routing stopped; this process must exit (its "
                     "calls are taken over by the controller that leads next)")
        self._open = False
        ctl = self.controller
        if ctl is not None:
            ctl.accepting = False
            if ctl.reconciler is not None:
                ctl.reconciler.stop()
        self._stop_retention()
        self.fenced.set()
        self._stopped.set()

    def _retention(self, ctl: Controller) -> RetentionTask:
        """The retention job: each run in a worker thread, in short batches (docs/privacy.md)."""
        assert self.db is not None
        job = RetentionJob(RetentionRepo(self.db), self.config.retention, ctl.recordings_dir,
                           audit=StoreAudit(self.db))
        return RetentionTask(job)

    def _stop_retention(self) -> None:
        if self.retention is not None:
            self.retention.stop()
            self.retention = None

    def _calendars(self) -> Mapping[str, BusinessCalendar]:
        assert self.db is not None
        repo = CalendarRepo(self.db)
        return {name: repo.get(name) for name in repo.list()}

    def _open_calls(self, nodes: list[str], since: float, until: float) -> list[tuple[CallRecord, list[QueueEvent]]]:
        """Calls rows of ``nodes`` started in [since, until) and not ended, each with its queue log (a worker
        thread runs this at start)."""
        assert self.db is not None
        # A journal left by the killed process may still hold those calls' real ends: read the rows only once
        # the writer has replayed it, else an end on its way would be overwritten as ``ended-unobserved``.
        if self.writer is not None and not self.writer.flush(timeout=OPEN_CALLS_FLUSH_S):
            log.warning("recovery: the writer still holds %d records (database down?): calls left open by the "
                        "previous process are not closed now", self.writer.backlog)
            return []
        calls, log_ = CallRepo(self.db), QueueEventRepo(self.db)
        return [(c, log_.for_member(c.uuid)) for n in nodes for c in calls.scan(since, until, ended_at=None, node=n)]

    def _restore_agents(self, ctl: Controller) -> None:
        """Agents logged in when the last process stopped come back with the same status (idle)."""
        assert self.db is not None
        repo = AgentStateEventRepo(self.db)
        latest = (gevent.get_hub().threadpool.apply(repo.latest_all) if self.leadership is not None
                  else repo.latest_all())
        for agent_id, ev in latest.items():
            if ev.status is AgentStatus.LOGGED_OUT or agent_id not in ctl.acd.world.agents:
                continue
            ctl.login(agent_id, ev.status, ev.reason)

    def stop(self, drain_timeout: float | None = None) -> int:
        """Stop taking calls, let calls in progress finish (bounded), flush history; returns calls cut."""
        if self.api is not None:
            self.api.stop()
            self.api = None
        self._stop_retention()
        ctl = self.controller
        cut = 0
        if ctl is not None:
            ctl.accepting = False
            if ctl.reconciler is not None:
                ctl.reconciler.stop()
            limit = self.config.drain_timeout_s if drain_timeout is None else drain_timeout
            deadline = gevent.get_hub().loop.now() + limit
            while ctl.sessions and gevent.get_hub().loop.now() < deadline:
                gevent.sleep(0.05)
            cut = len(ctl.sessions)
            if cut:
                log.warning("drain: %d calls still up after %.1f s; hanging them up", cut, limit)
                sessions = list(ctl.sessions.values())
                gevent.joinall([gevent.spawn(s.cut, "SYSTEM_SHUTDOWN") for s in sessions], timeout=5)
                deadline = gevent.get_hub().loop.now() + 2.0
                while ctl.sessions and gevent.get_hub().loop.now() < deadline:
                    gevent.sleep(0.02)
                # whatever is still running is ended here; its history is written on the way out
                gevent.killall([s.greenlet for s in ctl.sessions.values() if s.greenlet is not None], timeout=2)
        if self.server is not None:
            self.server.stop(timeout=1.0)
            self.server = None
        if self.campaigns is not None:
            self.campaigns.stop()
            self.campaigns = None
        if ctl is not None:
            gevent.sleep(0.05)   # let the cut calls write their history
            ctl.driver.stop()
            gevent.joinall(list(ctl.dispatcher.tasks), timeout=2)   # their outcomes are history too
            gevent.joinall(list(ctl.settler.tasks), timeout=2)
            ctl.monitor.stop()
            for node in ctl.nodes:
                node.stop()
            gevent.joinall(list(ctl.dispatcher.tasks), timeout=1)
            ctl.history.flush()   # stays still waiting for a wrap-up's end: their QueueCall as it stands
        if self.relay is not None:   # the last events (calls cut above) still reach the other process
            self.relay.stop()
            self.relay = None
        if self.leadership is not None:   # last: the standby leads once this process no longer acts
            self.leadership.stop()
        if self.writer is not None:
            left = self.writer.close()
            if left:
                log.warning("writer: %d records left in the journal %s for the next start", left,
                            self.writer.journal.path)
        self._stopped.set()
        return cut

    def serve_forever(self) -> None:
        """Block until :meth:`stop` is called (e.g. from a signal handler)."""
        self._stopped.wait()


def _import_late() -> None:
    """Import :data:`LATE_MODULES` (run in a worker thread; an import error shows where the module is used)."""
    for name in LATE_MODULES:
        try:
            importlib.import_module(name)
        except Exception:
            log.debug("importing %s ahead failed", name, exc_info=True)
