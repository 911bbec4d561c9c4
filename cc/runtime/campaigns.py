"""Outbound campaigns at run time: one Dialer per running campaign, fed by the ACD's agents and the switches.

``Campaigns`` (built by the Service) starts, pauses and stops campaigns through the store and the running
dialers, shares the agents with the inbound ACD, carries out each Dialer's commands (calls through
cc.runtime.outbound_calls, records through cc.runtime.campaign_store, screen events through the hooks) and
settles what the switch no longer has. See docs/dialer.md ("Runtime").

Sharing an agent between queues and campaigns: the ACD owns every agent's call state. A campaign sees an
agent as ready while the ACD has him available and idle; when a Dialer holds him (ReserveAgent, or a Bridge
in predictive mode) the ACD is told ``AgentInCall`` for a campaign pseudo-call, the ACD's own
compare-and-set (refused unless the agent is idle with no offer), so no inbound offer can reach him; the
hold ends with ``CallEnded`` (wrap-up starts) and ``WrapUpDone`` when the Dialer has the call's result (or
at once for a hold that ended without a call). An inbound offer or call shows in the Dialer as
AgentTalking/AgentWrapUp/AgentWrapDone.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
import uuid as uuidlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import gevent
import gevent.event

from cc.acd import Acd, AgentInCall, CallEnded, WrapUpDone
from cc.dialer import (
    AddToDnc,
    AgentNotReady,
    AgentReady,
    AgentSetNotReady,
    AgentTalking,
    AgentWrapDone,
    AgentWrapUp,
    Bridge,
    Bridged,
    BridgeFailed,
    Callback,
    CallbackReminder,
    CallbackScheduled,
    CallHungUp,
    CampaignControl,
    CampaignEvent,
    CampaignStatus,
    CampaignStatusChanged,
    ClickToDial,
    DialAttempt,
    Dialer,
    DialerCommand,
    DialerEvent,
    DialRefused,
    DncAdded,
    HangupCall,
    Lead,
    LeadAdded,
    LeadChanged,
    LeadState,
    Originate,
    OriginateAnswered,
    OriginateFailed,
    PlayOverflow,
    PreviewCancel,
    PreviewDial,
    PreviewOffer,
    PreviewSkip,
    ReleaseAgent,
    ReserveAgent,
    ResultCode,
    ResultSet,
    SetResult,
)
from cc.dialer.dnc import DncList
from cc.errors import CCError, Conflict, InvalidValue, NotFound
from cc.model import AgentState, AgentStatus, BusinessCalendar, Interaction, InteractionKind
from cc.runtime.acd_driver import AcdDriver
from cc.runtime.campaign_store import CampaignWrites, offload
from cc.runtime.dialer_driver import DialerDriver
from cc.runtime.hooks import HookEvent, Hooks
from cc.runtime.manual_dial import MANUAL, ManualDials
from cc.runtime.nodes import NodeSet
from cc.runtime.outbound_calls import OutboundCalls
from cc.runtime.timebase import Timebase

__all__ = ["CampaignHost", "CampaignStores", "Campaigns", "OutboundConfig", "RunningCampaign"]

log = logging.getLogger(__name__)

#: lead states a running campaign loads (the in-progress ones were left by a stopped process)
_LOAD_STATES = (LeadState.NEW, LeadState.RETRY, LeadState.CALLBACK, LeadState.RESERVED, LeadState.DIALING,
                LeadState.ANSWERED, LeadState.WRAP_UP)
_READY = (AgentStatus.AVAILABLE, AgentStatus.AVAILABLE_ON_DEMAND)
#: a status set in the store by someone else -> what the running Dialer is told
_STORE_EVENTS = {CampaignStatus.RUNNING: CampaignEvent.START, CampaignStatus.PAUSED: CampaignEvent.PAUSE,
                 CampaignStatus.STOPPED: CampaignEvent.STOP}


@dataclass(frozen=True)
class OutboundConfig:
    """Run-time limits of outbound dialing: calls per second per node (real time), legs per node, how long an
    agent's leg rings, how often open attempts are checked against the switch (controller seconds), how long a
    callback may be dialed after its due time and still count as kept, how often (wall seconds) the store's
    campaign statuses are read for changes made by others (``ccctl campaign start|pause|stop``)."""

    cps: float = 10.0
    max_legs_per_node: int = 500
    agent_ring_s: float = 20.0
    reconcile_s: float = 30.0
    sync_s: float = 2.0
    callback_kept_s: float = 300.0
    history_limit: int = 10


class CampaignHost(Protocol):
    """What the campaigns need of the controller (cc.runtime.Controller has it)."""

    @property
    def acd(self) -> Acd:
        """The ACD that owns the agents."""

    @property
    def driver(self) -> AcdDriver:
        """Where ACD events go."""

    @property
    def nodes(self) -> NodeSet:
        """The switches."""

    @property
    def clock(self) -> Timebase:
        """The controller's clock."""

    @property
    def hooks(self) -> Hooks:
        """Where screen events go."""

    @property
    def outbound_holds(self) -> dict[str, str]:
        """Agents held by a campaign -> the campaign (the reconciler leaves them to the campaign)."""

    @property
    def may_route(self) -> Callable[[], bool]:
        """False while another controller of a standby pair may lead."""

    def set_status(self, agent_id: str, status: AgentStatus, reason: str | None = None) -> None:
        """Change an agent's status."""


@dataclass
class CampaignStores:
    """The repositories the campaigns use (any may be absent in an embedding without a database)."""

    campaigns: Any = None        # cc.store.campaigns.CampaignRepos
    customers: Any = None        # cc.store.repos.CustomerRepo
    interactions: Any = None     # cc.store.repos.InteractionRepo


@dataclass
class _Attempt:
    """What the runtime keeps of one originate beside the Dialer: its lead and the screen data fetched for it."""

    uuid: str
    lead_id: str
    agent_id: str | None
    started_at: float
    screen: dict[str, Any] | None = None
    fetched: gevent.event.Event = field(default_factory=gevent.event.Event)
    callback_id: int | None = None
    fetching: bool = False
    screen_agent: str | None = None     # the agent whose screen waits for the read


@dataclass
class _Hold:
    campaign: str
    phase: str = "held"     # held (in call for the ACD) | wrap (CallEnded sent)
    uuid: str | None = None


class RunningCampaign:
    """One campaign's Dialer, its driver, its attempts and its agents."""

    def __init__(self, name: str, dialer: Dialer, driver: DialerDriver, agents: Iterable[str],
                 details: Mapping[str, Any]) -> None:
        self.name = name
        self.dialer = dialer
        self.driver = driver
        self.agents: set[str] = set(agents)
        self.details = dict(details)           # lead id -> LeadDetail (name, extra)
        self.attempts: dict[str, _Attempt] = {}
        self.last_attempt: dict[str, str] = {}  # agent -> the uuid of his latest attempt
        self.callbacks: dict[str, int] = {}     # lead id -> pending callback row id
        self.fed: dict[str, str] = {}           # agent -> last state told to the Dialer
        self.ended: set[str] = set()            # attempts whose channel's end was reported (result pending)
        self.suspects: set[str] = set()         # attempts the last reconciliation pass did not find
        self.raced: set[str] = set()            # agents the ACD took in the Dialer's turn (lost_races)
        self.never_sent: set[str] = set()       # originates not made (the ACD took their agent first)
        self.results: dict[str, int] = {}
        self.dials = 0
        self.started_real = time.monotonic()
        self.reconciler: gevent.Greenlet | None = None

    def status(self) -> dict[str, Any]:
        """The campaign's live figures (JSON-ready)."""
        d = self.dialer
        a24, a30 = d.abandon_rates(d.now)
        return {"campaign": self.name, "status": d.status.value, "mode": d.settings.mode.value,
                "agents": len(self.agents), "dials": self.dials, "open_attempts": len(d.open_attempts()),
                "results": dict(sorted(self.results.items())), "abandon_rate_24h": a24, "abandon_rate_30d": a30,
                "pacing_last_plan": d.last_plan}


class Campaigns:
    """Every running campaign of this controller, and the agent-side actions on them."""

    def __init__(self, host: CampaignHost, stores: CampaignStores, *, config: OutboundConfig | None = None,
                 calendars: Mapping[str, BusinessCalendar] | None = None, writes: CampaignWrites | None = None,
                 dnc: Iterable[DncList] = ()) -> None:
        self.host = host
        self.stores = stores
        self.config = config or OutboundConfig()
        self.calendars = dict(calendars or {})
        self.writes = writes or CampaignWrites()
        self.dnc = tuple(dnc)
        #: the store's global do-not-call list, shared by every running campaign (refreshed at each load)
        self.global_dnc = DncList(name="global")
        self.running: dict[str, RunningCampaign] = {}
        self.calls = OutboundCalls(host.nodes, host.clock, self._report, cps=self.config.cps,
                                   max_legs=self.config.max_legs_per_node, agent_ring_s=self.config.agent_ring_s,
                                   may_route=host.may_route)
        self._by_uuid: dict[str, str] = {}    # attempt uuid -> campaign
        self.holds: dict[str, _Hold] = host.outbound_holds  # type: ignore[assignment]
        self.lost_races = 0
        self._seen: dict[str, CampaignStatus] = {}   # each campaign's status in the store at the last look
        #: do-not-call rows added at or after this (epoch s) are still to be learnt from the store, and those
        #: already learnt at exactly that time (others add numbers with ``ccctl dnc add``)
        self._dnc_since = time.time()
        self._dnc_edge: set[tuple[str, str | None]] = set()
        self._syncer: gevent.Greenlet | None = None
        self.manual = self._manual_dials()
        host.hooks.on("agent_status", self._on_agent_status)

    def _manual_dials(self) -> ManualDials:
        """Manual click-to-dial (no campaign): the controller's ``callback`` dial string and caller ID."""
        cfg = getattr(getattr(self.host, "config", None), "callback", None)
        history = getattr(self.host, "history", None)
        st = self.stores

        def interaction(record: Interaction) -> None:
            if st.interactions is not None:
                self.writes.submit(f"interaction {record.id}", lambda: st.interactions.put(record))

        return ManualDials(self.calls, self.host.clock, self.host.hooks,
                           take=lambda agent, uuid: self._take(MANUAL, agent, uuid), ended=self._hold_call_ended,
                           release=self._release, contact=self._contact,
                           dial_string=getattr(cfg, "dial", "sofia/internal/{number}"),
                           caller_id=getattr(cfg, "caller_id", ""), timeout_s=getattr(cfg, "timeout_s", 30.0),
                           record=history.call if history is not None else None, interaction=interaction)

    # ------------------------------------------------------------------ life cycle
    def start(self) -> None:
        """Start the writer and resume the campaigns the store says are running (after a restart)."""
        self.writes.start()
        repos = self.stores.campaigns
        if repos is None:
            return
        for c in offload(repos.campaigns.list):
            self._seen[c.name] = c.status
            if c.status is CampaignStatus.RUNNING:
                try:
                    self._load(c.name, resume=True)
                except CCError as exc:
                    log.error("campaign %s: not resumed: %s", c.name, exc)
        self._syncer = gevent.spawn(self._sync_loop)

    def _sync_loop(self) -> None:
        failing = 0   # passes failed in a row: one warning when it starts failing, then one a minute, one at the end
        while True:
            gevent.sleep(self.config.sync_s)
            try:
                self.sync()
            except Exception as exc:   # the store is down or slow: the next pass looks again
                if failing == 0 or failing * self.config.sync_s >= 60:
                    more = f" ({failing} failed passes since the last warning)" if failing else ""
                    log.warning("campaigns: status sync with the store failed: %s%s", exc, more)
                    failing = 0
                failing += 1
            else:
                if failing:
                    log.warning("campaigns: status sync with the store works again")
                failing = 0

    def sync(self) -> int:
        """Follow the status changes others made in the store (``ccctl campaign start|pause|stop`` while this
        controller runs): a campaign started there is loaded and dials, one paused or stopped there stops
        dialing here; do-not-call numbers added there are not dialed from the next decision on. Only changes
        since the last look count (the Dialer's own finish is written after it). Returns how many changes were
        applied."""
        repos = self.stores.campaigns
        if repos is None:
            return 0
        n = self._sync_dnc(repos)
        for c in offload(repos.campaigns.list):
            before = self._seen.get(c.name)
            self._seen[c.name] = c.status
            if before is c.status:
                continue
            rc = self.running.get(c.name)
            if rc is None and c.status is CampaignStatus.RUNNING:
                self._load(c.name, resume=True)
                n += 1
            elif rc is not None and rc.dialer.status is not c.status and c.status in _STORE_EVENTS:
                rc.driver.submit(CampaignControl(_STORE_EVENTS[c.status]))
                n += 1
        return n

    def _sync_dnc(self, repos: Any) -> int:
        """Learn the do-not-call numbers others added to the store since the last look (the global list, or a
        running campaign's): not dialed from the next decision on. Returns how many were new."""
        since = self._dnc_since
        added = offload(lambda: repos.dnc.added_since(since))
        n = 0
        for e in added:
            key = (e.number, e.campaign)
            if e.added_at <= self._dnc_since and key in self._dnc_edge:
                continue
            if e.added_at > self._dnc_since:
                self._dnc_since, self._dnc_edge = e.added_at, set()
            self._dnc_edge.add(key)
            self.dnc_added(e.number, e.campaign)
            n += 1
        return n

    def stop(self) -> None:
        """Stop every dialer (calls in progress are left to finish on the switch) and flush the writes."""
        if self._syncer is not None:
            self._syncer.kill(block=False)
            self._syncer = None
        for rc in list(self.running.values()):
            rc.driver.stop()
            if rc.reconciler is not None:
                rc.reconciler.kill(block=False)
        gevent.joinall(list(self.calls.tasks), timeout=2)
        self.writes.close()

    def control(self, name: str, event: CampaignEvent) -> dict[str, Any]:
        """Start, pause or stop a campaign: the store's status first (its table), then the running Dialer."""
        event = CampaignEvent(event)
        repos = self.stores.campaigns
        if repos is not None:
            got = offload(lambda: repos.campaigns.change_status(name, event, now=self.host.clock.now()))
            self._seen[name] = got.status
        rc = self.running.get(name)
        if rc is None and event is CampaignEvent.START:
            rc = self._load(name, resume=False)
        if rc is not None:
            errors: list[CCError] = []
            rc.driver.submit(CampaignControl(event), errors.append)
            if errors and repos is None:
                raise errors[0]
            return rc.status()
        return {"campaign": name, "status": event.value}

    def add_campaign(self, campaign: Any, leads: Iterable[Lead], *, details: Mapping[str, Any] | None = None,
                     agents: Iterable[str] = (), start: bool = True) -> RunningCampaign:
        """Run a campaign given in memory (an embedding or a bench without the store): settings, leads, agents."""
        rc = self._build(campaign.settings, agents or campaign.agents, details or {})
        self._feed_leads(rc, leads, ())
        if start:
            rc.driver.submit(CampaignControl(CampaignEvent.START))
        return rc

    def _load(self, name: str, *, resume: bool) -> RunningCampaign:
        repos = self.stores.campaigns
        if repos is None:
            raise NotFound("campaign", name)
        c = offload(lambda: repos.campaigns.get(name))
        details = offload(lambda: repos.leads.list(name, states=_LOAD_STATES, limit=1_000_000), timeout_s=300)
        pending = offload(lambda: repos.callbacks.list(campaign=name, limit=1_000_000))
        opened = offload(lambda: repos.attempts.open(name))
        if opened:
            self._settle_left(name, opened, c.settings.wrap_up_default_result)
        dnc = offload(lambda: repos.dnc.list(all_scopes=True, limit=10_000_000), timeout_s=120)
        self.global_dnc = DncList((e.number for e in dnc if e.campaign is None), name="global")
        agents = set(c.agents) | self._team_agents(c.teams) | self._queue_agents(c.queue)
        rc = self._build(c.settings, agents, {d.lead.lead_id: d for d in details})
        for e in dnc:
            if e.campaign == name:
                rc.driver.submit(DncAdded(e.number))
        for cb in pending:
            rc.callbacks[cb.lead_id] = cb.id
        self._feed_leads(rc, [d.lead for d in details], pending)
        if resume:
            rc.driver.submit(CampaignControl(CampaignEvent.START))
        return rc

    def _team_agents(self, teams: Iterable[str]) -> set[str]:
        wanted = set(teams)
        return {a.id for a in self.host.acd.world.agents.values() if a.cfg.team in wanted} if wanted else set()

    def _queue_agents(self, queue: str | None) -> set[str]:
        if not queue:
            return set()
        return {a.id for a in self.host.acd.world.agents.values() if queue in a.tiers}

    def _build(self, settings: Any, agents: Iterable[str], details: Mapping[str, Any]) -> RunningCampaign:
        name = settings.campaign_id
        if name in self.running:
            raise Conflict("campaign", name, "is running already")
        dialer = Dialer(settings, calendars=self.calendars, dnc=(*self.dnc, self.global_dnc), now=self.host.clock.now(),
                        uuid_factory=lambda: str(uuidlib.uuid4()))
        rc = RunningCampaign(name, dialer, DialerDriver(dialer, self.host.clock, lambda c: None), agents, details)
        rc.driver.sink = lambda cmd, rc=rc: self._execute(rc, cmd)   # type: ignore[misc]
        self.running[name] = rc
        rc.driver.start()
        for agent_id in sorted(rc.agents):
            self._feed_agent(rc, agent_id)
        rc.reconciler = gevent.spawn(self._reconcile_loop, rc)
        log.info("campaign %s: running with %d agents, mode %s", name, len(rc.agents), settings.mode.value)
        return rc

    def _feed_leads(self, rc: RunningCampaign, leads: Iterable[Lead], pending: Iterable[Any]) -> None:
        for lead in leads:
            rc.driver.submit(LeadAdded(lead))
        for cb in pending:
            rc.driver.submit(CallbackScheduled(Callback(cb.lead_id, cb.due_at, cb.agent_id, cb.note)))

    def _settle_left(self, name: str, opened: list[DialAttempt], wrap_default: str) -> None:
        """Attempts a previous process left without a result: their channels (and agent legs) are hung up and
        each gets the result Dialer.settle gives a call whose channel is gone (reconciler)."""
        for node in self.host.nodes:
            if node.up:
                try:
                    node.api(f"hupall NORMAL_CLEARING cc_campaign {name}")
                except CCError as exc:
                    log.warning("campaign %s: hupall on node %s: %s", name, node.name, exc)
        repos = self.stores.campaigns
        now = self.host.clock.now()
        rc_results = {a.uuid: _settled_result(a, wrap_default) for a in opened}
        for a in opened:
            done = dataclasses.replace(a, ended_at=a.ended_at or now, result=rc_results[a.uuid],
                                       result_by="reconciler", hangup_cause=a.hangup_cause or "LOST")
            self.writes.submit(f"dial attempt {a.uuid}", functools.partial(repos.attempts.save, done))
        log.warning("campaign %s: %d attempts left open by the previous process settled", name, len(opened))

    # ------------------------------------------------------------------ agents
    def _on_agent_status(self, ev: HookEvent) -> None:
        agent_id = ev.agent_id
        if agent_id is None:
            return
        hold = self.holds.get(agent_id)
        if hold is not None:
            status = ev.data.get("status")
            if status not in _READY:
                rc = self.running.get(hold.campaign)
                if rc is not None:
                    self._tell(rc, agent_id, "not_ready", AgentNotReady(agent_id, str(ev.data.get("reason") or "")))
            if hold.phase == "wrap" and ev.data.get("state") == AgentState.IDLE.value:
                self.holds.pop(agent_id, None)   # the ACD's own wrap-up ended first: the agent is his again
            else:
                return
        for rc in self.running.values():
            if agent_id in rc.agents:
                self._feed_agent(rc, agent_id)

    def _feed_agent(self, rc: RunningCampaign, agent_id: str) -> None:
        """Tell the Dialer what the ACD says of an agent the campaign does not hold: ready or not, and whether he
        is busy with work of the ACD's (an offer, a call, its wrap-up). Busy goes first, so that an agent who
        becomes ready while he is busy is never picked in between."""
        a = self.host.acd.world.agents.get(agent_id)
        if a is None or self.holds.get(agent_id) is not None:
            return
        last = rc.fed.get(agent_id)
        if a.status not in _READY:
            self._tell(rc, agent_id, "not_ready", AgentNotReady(agent_id, a.reason or ""))
            return
        was_ready = last not in (None, "not_ready")
        if a.state is AgentState.IDLE and a.offer is None:
            if last in ("talking", "wrap"):
                rc.driver.submit(AgentWrapDone(agent_id))
            rc.fed[agent_id] = "ready"
        else:
            state = last if last in ("talking", "wrap") else "talking"
            if last not in ("talking", "wrap"):
                rc.driver.submit(AgentTalking(agent_id))
            if a.state is AgentState.WRAP_UP and state == "talking":
                rc.driver.submit(AgentWrapUp(agent_id))
                state = "wrap"
            rc.fed[agent_id] = state
        if not was_ready:
            rc.driver.submit(AgentReady(agent_id))

    def _tell(self, rc: RunningCampaign, agent_id: str, state: str, event: DialerEvent) -> None:
        if rc.fed.get(agent_id) == state and not isinstance(event, AgentWrapDone):
            return
        rc.fed[agent_id] = state
        rc.driver.submit(event)

    def _hold(self, rc: RunningCampaign, agent_id: str, uuid: str | None) -> bool:
        """Take ``agent_id`` from the ACD for the campaign (compare-and-set on the ACD's state)."""
        return self._take(rc.name, agent_id, uuid)

    def _take(self, owner: str, agent_id: str, uuid: str | None) -> bool:
        """Take ``agent_id`` from the ACD for ``owner`` (a campaign, or MANUAL): compare-and-set on his state."""
        hold = self.holds.get(agent_id)
        if hold is not None:
            if hold.campaign == owner and owner != MANUAL:
                hold.uuid = uuid or hold.uuid
                return True
            return False
        a = self.host.acd.world.agents.get(agent_id)
        if a is None or a.state is not AgentState.IDLE or a.offer is not None or a.call is not None:
            return False
        self.holds[agent_id] = _Hold(owner, uuid=uuid)
        pseudo = "manual" if owner == MANUAL else f"campaign:{owner}"
        self.host.driver.submit(AgentInCall(agent_id, pseudo, "", self.host.clock.now()))
        return True

    def _hold_call_ended(self, agent_id: str) -> None:
        hold = self.holds.get(agent_id)
        if hold is not None and hold.phase == "held":
            hold.phase = "wrap"
            self.host.driver.submit(CallEnded(agent_id, by="caller"))

    def _release(self, agent_id: str) -> None:
        hold = self.holds.pop(agent_id, None)
        if hold is None:
            return
        if hold.phase == "held":
            self.host.driver.submit(CallEnded(agent_id, by="system"))
        self.host.driver.submit(WrapUpDone(agent_id))
        rc = self.running.get(hold.campaign)
        if rc is not None:
            rc.fed.pop(agent_id, None)
            self._feed_agent(rc, agent_id)

    def _lost_race(self, rc: RunningCampaign, agent_id: str) -> None:
        """The ACD had the agent first (an inbound offer won the same turn): the Dialer hears he is not ready
        before anything it held him for is undone, then what the ACD says of him (busy, then ready)."""
        self.lost_races += 1
        rc.raced.add(agent_id)
        log.info("campaign %s: agent %s was taken by the ACD first", rc.name, agent_id)
        rc.fed[agent_id] = "not_ready"
        rc.driver.submit(AgentNotReady(agent_id, "taken by the ACD"))

    # ------------------------------------------------------------------ commands
    def _execute(self, rc: RunningCampaign, cmd: DialerCommand) -> None:
        host = self.host
        if isinstance(cmd, Originate):
            self._originate(rc, cmd)
        elif isinstance(cmd, ReserveAgent):
            if not self._hold(rc, cmd.agent_id, None) and cmd.why == "preview":
                self._lost_race(rc, cmd.agent_id)   # ends his preview; the lead waits for the next agent
                self._feed_agent(rc, cmd.agent_id)
        elif isinstance(cmd, ReleaseAgent):
            self._release(cmd.agent_id)
        elif isinstance(cmd, Bridge):
            self._bridge(rc, cmd)
        elif isinstance(cmd, PlayOverflow):
            self.calls.overflow(cmd.uuid, cmd.message)
        elif isinstance(cmd, HangupCall):
            self.calls.hangup(cmd.uuid, cmd.cause)
        elif isinstance(cmd, SetResult):
            self._set_result(rc, cmd.attempt)
        elif isinstance(cmd, LeadChanged):
            self._lead_changed(rc, cmd.lead)
        elif isinstance(cmd, PreviewOffer):
            self._screen(rc, "preview_offered", cmd.agent_id, cmd.lead, None, {"timeout_s": cmd.timeout_s})
        elif isinstance(cmd, PreviewCancel):
            self._emit("preview_cancelled", cmd.agent_id, None, {"campaign": rc.name, "lead_id": cmd.lead_id,
                                                                  "why": cmd.why})
        elif isinstance(cmd, AgentSetNotReady):
            self._release(cmd.agent_id)
            if cmd.agent_id in rc.raced:          # he lost no call: the ACD took him, no break for that
                rc.raced.discard(cmd.agent_id)
                self._feed_agent(rc, cmd.agent_id)
                return
            try:
                host.set_status(cmd.agent_id, AgentStatus.ON_BREAK, cmd.why)
            except CCError as exc:
                log.warning("campaign %s: agent %s not set on break: %s", rc.name, cmd.agent_id, exc)
        elif isinstance(cmd, AddToDnc):
            repos = self.stores.campaigns
            if repos is not None:
                self.writes.submit("dnc", lambda: repos.dnc.add([cmd.number], campaign=rc.name,
                                                                reason="result do_not_call", by="dialer"))
        elif isinstance(cmd, CallbackReminder):
            self._remind(rc, cmd)
        elif isinstance(cmd, DialRefused):
            self._emit("dial_refused", cmd.agent_id, None, {"campaign": rc.name, "lead_id": cmd.lead_id,
                                                             "reasons": list(cmd.reasons)})
        elif isinstance(cmd, CampaignStatusChanged):
            self._status_changed(rc, cmd)

    def _originate(self, rc: RunningCampaign, cmd: Originate) -> None:
        rc.dials += 1
        att = _Attempt(cmd.uuid, cmd.lead_id, cmd.agent_id, self.host.clock.now())
        rc.attempts[cmd.uuid] = att
        self._by_uuid[cmd.uuid] = rc.name
        if cmd.agent_id is not None:
            rc.last_attempt[cmd.agent_id] = cmd.uuid
            if not self._hold(rc, cmd.agent_id, cmd.uuid):   # the ACD took him first: the call is not made
                self._undo_dial(rc, cmd)
                return
        repos = self.stores.campaigns
        if repos is not None:
            row = DialAttempt(cmd.uuid, cmd.lead_id, rc.name, cmd.number, att.started_at, cmd.agent_id)
            self.writes.submit(f"dial attempt {cmd.uuid}", lambda: repos.attempts.save(row))
            cb = rc.callbacks.pop(cmd.lead_id, None)
            if cb is not None:
                self._finish_callback(rc, cb, att.started_at)
        if cmd.agent_id is not None:   # a reserved agent: his screen is wanted before the answer
            self._prefetch(rc, att)
        contact = self._contact(cmd.agent_id) if cmd.agent_first else None
        if cmd.agent_first:
            self._screen_for(rc, att, cmd.agent_id or "")
        self.calls.originate(cmd, agent_contact=contact)

    def _undo_dial(self, rc: RunningCampaign, cmd: Originate) -> None:
        """The Dialer chose an agent the ACD had just taken: the originate is not made. The Dialer settles it
        (LOSE_RACE, no row is written: nothing was dialed) and the lead goes back as it was, its attempt not
        counted; the agent is told busy."""
        agent_id = cmd.agent_id or ""
        self._lost_race(rc, agent_id)
        rc.dials -= 1
        rc.never_sent.add(cmd.uuid)
        lead = rc.dialer.lead(cmd.lead_id)
        rc.driver.submit(OriginateFailed(cmd.uuid, "LOSE_RACE"))
        if lead.state is LeadState.DIALING and cmd.lead_id not in rc.callbacks and not cmd.agent_first:
            back = dataclasses.replace(lead, state=LeadState.RETRY if lead.attempts > 1 else LeadState.NEW,
                                       attempts=max(0, lead.attempts - 1), next_dial_at=None)

            def restore(now: float) -> list[DialerCommand]:
                self._lead_changed(rc, back)    # written after the failure's own lead change
                return rc.dialer.handle(LeadAdded(back), now)

            rc.driver.call(restore)
        self._feed_agent(rc, agent_id)

    def _finish_callback(self, rc: RunningCampaign, cb_id: int, at: float) -> None:
        repos = self.stores.campaigns

        def run() -> None:
            cb = repos.callbacks.get(cb_id)
            kept = at - cb.due_at <= self.config.callback_kept_s
            repos.callbacks.finish(cb_id, "done" if kept else "missed", now=at)

        self.writes.submit(f"callback {cb_id}", run)

    def _contact(self, agent_id: str | None) -> str | None:
        a = self.host.acd.world.agents.get(agent_id or "")
        return a.cfg.contact if a is not None else None

    def _bridge(self, rc: RunningCampaign, cmd: Bridge) -> None:
        att = rc.attempts.get(cmd.uuid)
        if att is not None:
            att.agent_id = cmd.agent_id
        rc.last_attempt[cmd.agent_id] = cmd.uuid
        contact = self._contact(cmd.agent_id)
        if contact is None or not self._hold(rc, cmd.agent_id, cmd.uuid):
            self._lost_race(rc, cmd.agent_id)
            rc.driver.submit(BridgeFailed(cmd.uuid, "agent taken"))
            return
        if att is not None:
            self._screen_for(rc, att, cmd.agent_id)
        self.calls.bridge(cmd.uuid, cmd.agent_id, contact)

    def _report(self, event: DialerEvent) -> None:
        """A switch fact about an attempt, for its campaign's Dialer."""
        uuid = getattr(event, "uuid", "")
        if self.manual.owns(uuid):
            self.manual.report(event)
            return
        name = self._by_uuid.get(uuid)
        rc = self.running.get(name or "")
        if rc is None:
            return
        if isinstance(event, CallHungUp | OriginateFailed):
            rc.ended.add(uuid)
        elif isinstance(event, OriginateAnswered):
            att = rc.attempts.get(uuid)
            if att is not None and att.screen is None and not att.fetching:
                self._prefetch(rc, att)   # a pool call: the screen of whoever takes it, read while he rings
        if isinstance(event, CallHungUp):
            att = rc.attempts.get(uuid)
            if att is not None and att.agent_id is not None:
                self._hold_call_ended(att.agent_id)
        elif isinstance(event, Bridged):
            self._emit("outbound_bridged", event.agent_id, uuid, {"campaign": rc.name})
        rc.driver.submit(event)

    def _set_result(self, rc: RunningCampaign, a: DialAttempt) -> None:
        rc.attempts.pop(a.uuid, None)
        if a.uuid in rc.never_sent:          # a dial the ACD won: no originate, no row
            rc.never_sent.discard(a.uuid)
            rc.ended.discard(a.uuid)
            self._by_uuid.pop(a.uuid, None)
            return
        rc.results[a.result or ""] = rc.results.get(a.result or "", 0) + 1
        rc.ended.discard(a.uuid)
        self._by_uuid.pop(a.uuid, None)
        if a.agent_id is not None and a.bridged_at is not None:
            hold = self.holds.get(a.agent_id)
            if hold is not None and hold.campaign == rc.name:
                self._release(a.agent_id)
        repos = self.stores.campaigns
        if repos is not None:
            self.writes.submit(f"dial attempt {a.uuid}", lambda: repos.attempts.save(a))
        self._emit("dial_result", a.agent_id, a.uuid, {"campaign": rc.name, "lead_id": a.lead_id,
                                                        "result": a.result, "by": a.result_by})

    def _lead_changed(self, rc: RunningCampaign, lead: Lead) -> None:
        repos = self.stores.campaigns
        if repos is None:
            return
        dialed = self.host.clock.now() if lead.state is LeadState.DIALING else None
        self.writes.submit(f"lead {lead.lead_id}", lambda: repos.leads.save_progress(lead, dialed_at=dialed))

    def _status_changed(self, rc: RunningCampaign, cmd: CampaignStatusChanged) -> None:
        self._emit("campaign_status", None, None, {"campaign": rc.name, "status": cmd.status.value})
        repos = self.stores.campaigns
        if cmd.status is CampaignStatus.FINISHED and repos is not None:
            self.writes.submit(f"campaign {rc.name}", lambda: repos.campaigns.change_status(
                rc.name, CampaignEvent.FINISH, now=cmd.at))

    def _remind(self, rc: RunningCampaign, cmd: CallbackReminder) -> None:
        agents = [cmd.agent_id] if cmd.agent_id is not None else sorted(rc.agents)
        data = {"campaign": rc.name, "lead_id": cmd.lead_id, "due_at": cmd.due_at, "kind": cmd.kind,
                "lead": self._lead_view(rc, cmd.lead_id)}
        for agent_id in agents:
            self._emit("callback_reminder", agent_id, None, data)
        repos = self.stores.campaigns
        cb = rc.callbacks.get(cmd.lead_id)
        if repos is not None and cb is not None:
            self.writes.submit(f"callback {cb}", lambda: repos.callbacks.mark_reminded(cb, before=cmd.kind == "before"))

    # ------------------------------------------------------------------ screen events
    def _emit(self, kind: str, agent_id: str | None, uuid: str | None, data: dict[str, Any]) -> None:
        self.host.hooks.emit(HookEvent(kind, self.host.clock.now(), call_uuid=uuid, agent_id=agent_id, data=data))

    def _lead_view(self, rc: RunningCampaign, lead_id: str) -> dict[str, Any]:
        try:
            lead = rc.dialer.lead(lead_id)
        except NotFound:
            return {"lead_id": lead_id}
        d = rc.details.get(lead_id)
        return {"lead_id": lead_id, "campaign": rc.name, "numbers": list(lead.numbers), "name": d.name if d else "",
                "extra": dict(d.extra) if d else {}, "customer_id": lead.customer_id, "priority": lead.priority,
                "attempts": lead.attempts, "last_result": lead.last_result, "owner_agent": lead.owner_agent,
                "tz": lead.tz}

    def _customer_view(self, customer_id: str | None) -> dict[str, Any]:
        out: dict[str, Any] = {"customer": None, "history": []}
        st = self.stores
        if customer_id is None or st.customers is None:
            return out
        try:
            cust = st.customers.get(customer_id)
            out["customer"] = {"id": cust.id, "name": cust.name, "note": cust.note,
                               "phones": [p.number for p in cust.phones]}
            if st.interactions is not None:
                out["history"] = [{"at": i.at, "kind": str(i.kind), "agent_id": i.agent_id,
                                   "disposition": i.disposition, "note": i.note}
                                  for i in st.interactions.for_customer(customer_id, self.config.history_limit)]
        except CCError as exc:
            log.warning("customer %s: not read for a screen: %s", customer_id, exc)
        return out

    def _prefetch(self, rc: RunningCampaign, att: _Attempt) -> None:
        att.fetching = True
        lead = rc.dialer.lead(att.lead_id)
        view = self._lead_view(rc, att.lead_id)

        def fetch() -> None:
            try:
                extra = offload(lambda: self._customer_view(lead.customer_id), timeout_s=5.0)
            except Exception as exc:   # the store is slow or down: the screen shows the lead alone
                log.warning("campaign %s: customer of lead %s not read: %s", rc.name, att.lead_id, exc)
                extra = {"customer": None, "history": []}
            att.screen = {"lead": view, **extra}
            att.fetched.set()
            if att.screen_agent is not None:
                self._emit("customer_connected", att.screen_agent, att.uuid, {"campaign": rc.name, **att.screen})

        gevent.spawn(fetch)

    def _screen_for(self, rc: RunningCampaign, att: _Attempt, agent_id: str) -> None:
        """customer_connected for ``agent_id``: the lead, the customer and his history; now (before his leg
        rings) when they were read already, else as soon as the read is done (as the call connects). Never
        waits: it runs in the dialer's turn."""
        if att.screen is None and att.fetching:
            att.screen_agent = agent_id
            return
        screen = att.screen or {"lead": self._lead_view(rc, att.lead_id), "customer": None, "history": []}
        self._emit("customer_connected", agent_id, att.uuid, {"campaign": rc.name, **screen})

    def _screen(self, rc: RunningCampaign, kind: str, agent_id: str, lead: Lead, uuid: str | None,
                data: dict[str, Any]) -> None:
        view = self._lead_view(rc, lead.lead_id)

        def send() -> None:
            try:
                extra = offload(lambda: self._customer_view(lead.customer_id), timeout_s=5.0)
            except Exception:
                extra = {"customer": None, "history": []}
            self._emit(kind, agent_id, uuid, {"campaign": rc.name, "lead": view, **extra, **data})

        gevent.spawn(send)

    # ------------------------------------------------------------------ reconciliation
    def _reconcile_loop(self, rc: RunningCampaign) -> None:
        while True:
            gevent.sleep(max(1.0, self.host.clock.real(self.config.reconcile_s)))
            self.reconcile(rc.name)

    def reconcile(self, name: str) -> int:
        """Settle the open attempts of campaign ``name`` whose channel the switch no longer has (lost events)."""
        rc = self.running.get(name)
        if rc is None:
            return 0
        # attempts whose end was reported (in wrap-up, waiting for a result) are the Dialer's own timers' business
        mine = [u for u in rc.dialer.open_attempts() if u not in rc.ended]
        if not mine:
            return 0
        live = self.calls.live()
        # gone on two passes in a row: a channel that just ended has its events on the way
        gone = [u for u in mine if u not in live]
        lost = [u for u in gone if u in rc.suspects]
        rc.suspects = set(gone) - set(lost)
        if lost:
            log.warning("campaign %s: %d attempts lost their channel; settled", name, len(lost))
            rc.driver.settle(set(rc.dialer.open_attempts()) - set(lost))
        return len(lost)

    # ------------------------------------------------------------------ agent actions (API, web)
    def _campaign_of_agent(self, agent_id: str, name: str | None) -> RunningCampaign:
        if name is not None:
            rc = self.running.get(name)
            if rc is None:
                raise NotFound("running campaign", name)
            return rc
        for rc in self.running.values():
            if agent_id in rc.agents:
                return rc
        raise NotFound("running campaign of agent", agent_id)

    def _submit(self, rc: RunningCampaign, event: DialerEvent) -> None:
        errors: list[CCError] = []
        rc.driver.submit(event, errors.append)
        if errors:
            raise errors[0]

    def preview_dial(self, agent_id: str, lead_id: str, campaign: str | None = None) -> None:
        """The agent dials the lead he was offered in preview."""
        self._submit(self._campaign_of_agent(agent_id, campaign), PreviewDial(agent_id, str(lead_id)))

    def preview_skip(self, agent_id: str, lead_id: str, reason: str, campaign: str | None = None) -> None:
        """The agent skips the lead he was offered, with a reason (InvalidValue without one)."""
        if not reason.strip():
            raise InvalidValue("reason", reason, "a skip needs a reason")
        self._submit(self._campaign_of_agent(agent_id, campaign), PreviewSkip(agent_id, str(lead_id), reason))

    def click_to_dial(self, agent_id: str, lead_id: str, number: str | None = None,
                      campaign: str | None = None) -> None:
        """Click-to-dial: the agent's leg rings first, then the lead's number (or ``number``, one of the lead's)."""
        self._submit(self._campaign_of_agent(agent_id, campaign), ClickToDial(agent_id, str(lead_id), number))

    def manual_dial(self, agent_id: str, customer_id: str, number: str) -> str:
        """Click-to-dial a customer who is no lead (cc.runtime.manual_dial): the agent's leg rings first, then
        ``number``; returns the call's uuid. Conflict while the agent is in a call, NotFound without his phone."""
        return self.manual.dial(agent_id, customer_id, number).uuid

    def lead_of_customer(self, agent_id: str, customer_id: str, number: str) -> tuple[str, str] | None:
        """(campaign, lead id) of a running campaign the agent works whose lead is this customer at this number."""
        for rc in list(self.running.values()):
            if agent_id not in rc.agents:
                continue
            for lead_id, d in list(rc.details.items()):
                lead = getattr(d, "lead", None)
                if lead is not None and lead.customer_id == customer_id and number in lead.numbers:
                    return rc.name, str(lead_id)
        return None

    def dial_customer(self, agent_id: str, customer_id: str, number: str) -> tuple[str, str]:
        """Click-to-dial a customer's number: through his lead when a running campaign the agent works has him
        at this number (-> ("lead", lead id)), else a manual call (-> ("call", its uuid)). The agent's leg rings
        first either way."""
        found = self.lead_of_customer(agent_id, customer_id, number)
        if found is None:
            return "call", self.manual_dial(agent_id, customer_id, number)
        campaign, lead_id = found
        self.click_to_dial(agent_id, lead_id, number, campaign)
        return "lead", lead_id

    def set_result(self, agent_id: str, code: str, *, uuid: str | None = None, note: str = "",
                   customer_type: str | None = None, callback_at: float | None = None,
                   callback_anyone: bool = False, campaign: str | None = None) -> dict[str, Any]:
        """The agent's result of his call (the latest one when ``uuid`` is None): ends the wrap-up once the call
        is over; the call becomes a CRM interaction; a customer type and a callback go with it."""
        rc = self._campaign_of_agent(agent_id, campaign)
        uuid = uuid or rc.last_attempt.get(agent_id)
        if uuid is None:
            raise NotFound("call of agent", agent_id)
        result = rc.dialer.settings.result(code)
        if result.callback and callback_at is None and code == ResultCode.CALLBACK:
            raise InvalidValue("callback_at", None, "a callback result needs the callback time")
        att = rc.attempts.get(uuid)
        if att is None:
            raise Conflict("call", uuid, "has its result already")
        self._submit(rc, ResultSet(uuid, agent_id, code, callback_at, not callback_anyone, note))
        lead = rc.dialer.lead(att.lead_id)
        st = self.stores
        now = self.host.clock.now()
        if st.interactions is not None:
            inter = Interaction(id=uuid, at=now, kind=InteractionKind.CALL, customer_id=lead.customer_id,
                                agent_id=agent_id, call_uuid=uuid, queue=None, disposition=code, note=note)
            self.writes.submit(f"interaction {uuid}", lambda: st.interactions.put(inter))
        if st.campaigns is not None:
            if customer_type is not None and lead.customer_id is not None:
                cid = lead.customer_id
                self.writes.submit(f"customer type {cid}",
                                   lambda: st.campaigns.customer_types.set_for_customer(cid, customer_type))
            if callback_at is not None and result.callback:
                def add_callback() -> None:
                    cb = st.campaigns.callbacks.add(att.lead_id, callback_at, agent_id=agent_id,
                                                    anyone=callback_anyone, note=note, by=f"agent:{agent_id}")
                    rc.callbacks[att.lead_id] = cb.id
                self.writes.submit(f"callback of lead {att.lead_id}", add_callback)
        return {"uuid": uuid, "lead_id": att.lead_id, "result": code}

    def hang_up(self, name: str, cause: str = "NORMAL_CLEARING") -> int:
        """Hang up every call of campaign ``name`` in progress (its results follow from the hang-ups, as for a
        caller who hangs up); returns how many were asked."""
        rc = self.running.get(name)
        if rc is None:
            raise NotFound("running campaign", name)
        n = 0
        for uuid in rc.dialer.open_attempts():
            if self.calls.kill(uuid, cause):
                n += 1
        return n

    def dnc_added(self, number: str, campaign: str | None = None) -> None:
        """A number went on a do-not-call list (the campaign's, or the global one): never dialed from the next
        decision on."""
        if campaign is None:
            self.global_dnc.add(number)
            return
        rc = self.running.get(campaign)
        if rc is not None:
            rc.driver.submit(DncAdded(number))

    def status(self) -> list[dict[str, Any]]:
        """Every running campaign's live figures."""
        return [rc.status() for rc in self.running.values()]


def _settled_result(a: DialAttempt, wrap_default: str) -> str:
    """The result Dialer.settle gives an open attempt whose channel is gone (docs/dialer.md): dialing ->
    system_error, answered and not bridged -> abandoned, bridged -> the wrap-up's default result."""
    if a.answered_at is None:
        return ResultCode.SYSTEM_ERROR
    if a.bridged_at is None:
        return ResultCode.ABANDONED
    return wrap_default
