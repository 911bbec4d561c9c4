"""Outbound campaign repositories: campaigns and their results, lead import and assignment, DNC, callbacks.

Rows in, the dataclasses of cc.dialer.model out (CampaignSettings, Result, RetryRule, Lead, DialAttempt),
plus a few store-side records the dialer model has no type for (:class:`Campaign` wraps the settings with
status, queue, agents and teams; :class:`LeadList`, :class:`LeadDetail`, :class:`DncEntry`,
:class:`ScheduledCallback`, :class:`CustomerType`). Each method is one transaction, as in cc.store.repos:
it commits whole or raises a CCError with everything rolled back. An import is checked whole before
anything is written, so a file is never half-imported.
"""

from __future__ import annotations

import builtins
import dataclasses
import datetime
import uuid as uuidlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import JSON, and_, case, delete, func, insert, or_, select, text, update
from sqlalchemy.orm import Session

from cc.dialer.campaign_state import TABLE, CampaignEvent, transition
from cc.dialer.model import (
    CampaignMode,
    CampaignSettings,
    CampaignStatus,
    DialAttempt,
    Lead,
    LeadState,
    Result,
    ResultCode,
    RetryRule,
    default_results,
    default_retry_rules,
)
from cc.dialstring import contact_problem
from cc.errors import Conflict, InvalidTransition, InvalidValue, NotFound
from cc.leadfile import LeadInput, RowProblem, to_e164
from cc.store import tables as t
from cc.store.campaign_tables import (
    CallbackRow,
    CallbackState,
    CampaignAgentRow,
    CampaignResultRow,
    CampaignRow,
    CampaignTeamRow,
    DialAttemptRow,
    DncRow,
    LeadListRow,
    LeadNumberRow,
    LeadRow,
)
from cc.store.codec import to_epoch, to_utc
from cc.store.db import Database
from cc.store.repo_base import _int, _Repo, _text

__all__ = [
    "DEFAULT_CUSTOMER_TYPES",
    "OPEN_STATES",
    "Campaign",
    "CampaignFigures",
    "CampaignRepos",
    "CustomerType",
    "DncEntry",
    "ImportOutcome",
    "LeadDetail",
    "LeadList",
    "ScheduledCallback",
    "check_dial_string",
]

#: Leads that may still be dialed (and so be handed to another agent).
OPEN_STATES = (LeadState.NEW, LeadState.RETRY, LeadState.CALLBACK)

#: Results the dialer sets itself: a campaign cannot do without them.
_DIALER_RESULTS = (ResultCode.OVERFLOW.value, ResultCode.ABANDONED.value, ResultCode.SYSTEM_ERROR.value)
CHUNK = 900  # values per IN (...) (SQLite allows 999 bound parameters per statement in old builds)
WRITE_CHUNK = 5_000


def check_dial_string(template: str) -> str | None:
    """Why ``template`` is not a dial string template (``sofia/gateway/{gw}/{number}``), or None.

    It must hold ``{number}``, only the placeholders ``{number}`` and ``{gw}``, and be a FreeSWITCH dial
    string once they are filled in.
    """
    if "{number}" not in template:
        return "must contain {number} (e.g. sofia/gateway/{gw}/{number})"
    unknown = [p for p in _placeholders(template) if p not in ("{number}", "{gw}")]
    if unknown:
        return f"unknown placeholder {unknown[0]} (known: {{number}}, {{gw}})"
    problem = contact_problem(template.replace("{gw}", "gw1").replace("{number}", "+8613800138000"))
    return f"not a dial string once filled in: {problem}" if problem else None


def _placeholders(template: str) -> list[str]:
    out, i = [], 0
    while (start := template.find("{", i)) >= 0:
        end = template.find("}", start)
        if end < 0:
            break
        word = template[start:end + 1]
        if word[1:-1].isidentifier():
            out.append(word)
        i = end + 1
    return out


# ------------------------------------------------------------------------------------------ records


@dataclass(frozen=True)
class Campaign:
    """A stored campaign: its dialer settings plus what the store keeps around them."""

    settings: CampaignSettings
    status: CampaignStatus = CampaignStatus.DRAFT
    description: str = ""
    queue: str | None = None
    agents: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()
    created_at: float | None = None
    updated_at: float | None = None

    @property
    def name(self) -> str:
        """The campaign's name (its id)."""
        return self.settings.campaign_id


@dataclass(frozen=True)
class LeadList:
    """One import of a file into a campaign."""

    id: int
    campaign: str
    file_name: str
    rows: int
    imported: int
    rejected: int
    duplicates: int
    dnc: int
    imported_at: float
    imported_by: str


@dataclass(frozen=True)
class LeadDetail:
    """A lead with what the dialer does not need: its name, extra fields, source row and last dial time."""

    lead: Lead
    name: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)
    row_no: int | None = None
    last_dialed_at: float | None = None


@dataclass(frozen=True)
class DncEntry:
    """A do-not-call number: ``campaign`` None for the global list."""

    number: str
    campaign: str | None
    reason: str
    added_at: float
    added_by: str


@dataclass(frozen=True)
class ScheduledCallback:
    """A stored callback: id, lead, due time (to the minute), owner (None: anyone), state, reminders sent."""

    id: int
    campaign: str
    lead_id: str
    due_at: float
    agent_id: str | None
    note: str
    state: CallbackState
    reminded_before: bool
    reminded_due: bool
    created_at: float
    created_by: str
    done_at: float | None


@dataclass(frozen=True)
class CustomerType:
    """A kind of customer kept on the customer (意向客户, 多次跟踪, 成单, 会员 ...)."""

    code: str
    label_zh: str
    label_en: str
    position: int = 0


#: The customer types a store starts with (``CampaignRepos.customer_types.ensure_defaults``).
DEFAULT_CUSTOMER_TYPES = (
    CustomerType("interested", "意向客户", "Interested", 1),
    CustomerType("follow_up", "多次跟踪", "Follow-up", 2),
    CustomerType("sale", "成单", "Sale", 3),
    CustomerType("member", "会员", "Member", 4),
)


@dataclass
class ImportOutcome:
    """What an import did: the list row (None when nothing was written), counts and every row problem."""

    list_id: int | None
    rows: int
    imported: int
    customers_created: int
    customers_matched: int
    problems: list[RowProblem]
    committed: bool

    @property
    def rejected(self) -> int:
        """Rows refused for bad data."""
        return len({p.row for p in self.problems if p.kind == "error"})

    @property
    def duplicates(self) -> int:
        """Rows skipped as duplicates (of an earlier row, or of a lead already in the campaign)."""
        return len({p.row for p in self.problems if p.kind == "duplicate"})

    @property
    def dnc(self) -> int:
        """Numbers scrubbed because they are on a do-not-call list."""
        return sum(1 for p in self.problems if p.kind == "dnc")


@dataclass(frozen=True)
class CampaignFigures:
    """A campaign's figures from the database: leads by state, dials, contacts, abandons (over a window)."""

    leads: Mapping[str, int]
    dials: int
    contacts: int
    abandons: int
    successes: int
    window_s: float
    last_dial_at: float | None
    callbacks_pending: int
    callbacks_overdue: int

    @property
    def abandon_rate(self) -> float | None:
        """Abandons per human contact in the window (None without contacts)."""
        return self.abandons / self.contacts if self.contacts else None

    @property
    def contact_rate(self) -> float | None:
        """Human contacts per dial in the window (None without dials)."""
        return self.contacts / self.dials if self.dials else None


# ------------------------------------------------------------------------------------------ helpers


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _at(epoch: float | None) -> datetime.datetime:
    return to_utc(epoch) if epoch is not None else _now()


def _opt_epoch(when: datetime.datetime | None) -> float | None:
    return None if when is None else to_epoch(when)


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _result(row: CampaignResultRow) -> Result:
    return Result(row.code, row.label_zh, row.label_en, human_reached=row.human_reached, final=row.final,
                  retry=row.retry, callback=row.callback, dnc=row.dnc, success=row.success, abandon=row.abandon,
                  agent_set=row.agent_set)


def _result_values(campaign: str, r: Result, position: int, rule: RetryRule | None) -> dict[str, Any]:
    _text("result.code", r.code, t.NAME)
    if not r.code.replace("_", "").replace("-", "").isalnum():
        raise InvalidValue("result.code", r.code, "letters, digits, - and _ only")
    return {"campaign": campaign, "code": str(r.code), "position": position,
            "label_zh": _text("result.label_zh", r.label_zh, t.NAME, empty=True),
            "label_en": _text("result.label_en", r.label_en, t.NAME, empty=True),
            "human_reached": r.human_reached, "final": r.final, "retry": r.retry, "callback": r.callback,
            "dnc": r.dnc, "success": r.success, "abandon": r.abandon, "agent_set": r.agent_set,
            "retry_delay_s": rule.delay_s if rule is not None else None,
            "retry_max": rule.max_retries if rule is not None else None}


def _settings_values(s: CampaignSettings) -> dict[str, Any]:
    problem = check_dial_string(s.dial_string)
    if problem:
        raise InvalidValue("dial_string", s.dial_string, problem)
    if "{gw}" in s.dial_string and not s.gateway:
        raise InvalidValue("gateway", s.gateway, "the dial string has {gw}: give the gateway")
    caller_ids = []
    for n in s.caller_ids:
        try:
            caller_ids.append(to_e164(n, "CN"))
        except InvalidValue as exc:
            raise InvalidValue("caller_ids", n, exc.why) from None
    return {"mode": CampaignMode(s.mode), "caller_ids": caller_ids, "dial_string": s.dial_string,
            "gateway": _text("gateway", s.gateway, t.NAME, empty=True), "calendar": s.calendar,
            "dial_timeout_s": s.dial_timeout_s, "max_attempts": s.max_attempts, "abandon_target": s.abandon_target,
            "overflow_message": _text("overflow_message", s.overflow_message, t.TEXT, empty=True),
            "min_agents_predictive": s.min_agents_predictive, "preview_timeout_s": s.preview_timeout_s,
            "skip_delay_s": s.skip_delay_s, "wrap_up_timeout_s": s.wrap_up_timeout_s,
            "wrap_up_default_result": str(s.wrap_up_default_result),
            "callback_reminder_s": s.callback_reminder_s, "max_lines_per_agent": s.max_lines_per_agent}


def _lead(row: LeadRow, numbers: Sequence[str]) -> Lead:
    return Lead(lead_id=str(row.id), campaign_id=row.campaign, numbers=tuple(numbers), tz=row.tz,
                customer_id=row.customer_id, priority=row.priority, owner_agent=row.owner_agent, state=row.state,
                attempts=row.attempts, next_dial_at=_opt_epoch(row.next_dial_at), last_result=row.last_result,
                created_at=to_epoch(row.created_at), number_index=row.number_index,
                list_id=str(row.list_id) if row.list_id is not None else None,
                result_counts=tuple(sorted((str(k), int(v)) for k, v in (row.result_counts or {}).items())))


def _attempt(r: DialAttemptRow) -> DialAttempt:
    return DialAttempt(r.uuid, r.lead_id, r.campaign, r.number, to_epoch(r.started_at), r.agent_id,
                       _opt_epoch(r.answered_at), _opt_epoch(r.bridged_at), _opt_epoch(r.ended_at), r.hangup_cause,
                       r.result, r.set_by)


def _lead_id(lead_id: str | int) -> int:
    try:
        return int(lead_id)
    except (TypeError, ValueError):
        raise InvalidValue("lead", lead_id, "a lead id is a number (see `ccctl campaign leads`)") from None


def _callback(row: CallbackRow) -> ScheduledCallback:
    return ScheduledCallback(row.id, row.campaign, str(row.lead_id), to_epoch(row.due_at), row.agent_id, row.note,
                             row.state, row.reminded_before, row.reminded_due, to_epoch(row.created_at),
                             row.created_by, _opt_epoch(row.done_at))


def _dnc(row: DncRow) -> DncEntry:
    return DncEntry(row.number, row.campaign or None, row.reason, to_epoch(row.added_at), row.added_by)


_CUSTOMER_COLUMNS = ("id", "name", "email", "note", "created_at", "customer_type")
_LEAD_COLUMNS = ("id", "campaign", "list_id", "row_no", "customer_id", "name", "extra", "tz", "priority", "owner_agent",
                 "state", "attempts", "number_index", "result_counts", "created_at")


def _bulk(session: Session, row: type[Any], columns: Sequence[str], values: Sequence[tuple[Any, ...]]) -> None:
    """Insert many rows in the session's transaction: COPY on PostgreSQL, one DB-API executemany elsewhere
    (each value through its column type's own bind processing, as SQLAlchemy would store it)."""
    if not values:
        return
    table = row.__table__
    dialect = session.get_bind().dialect
    raw = session.connection().connection.driver_connection
    assert raw is not None
    names = ", ".join(f'"{c}"' for c in columns)
    if dialect.name == "postgresql":
        from psycopg.types.json import Json

        json_at = [i for i, c in enumerate(columns) if isinstance(table.c[c].type, JSON)]
        with raw.cursor() as cur, cur.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
            for v in values:
                if json_at:
                    v = tuple(Json(x) if i in json_at else x for i, x in enumerate(v))
                copy.write_row(v)
        return
    procs = [table.c[c].type.dialect_impl(dialect).bind_processor(dialect) for c in columns]
    marks = ", ".join("?" for _ in columns)
    cur = raw.cursor()
    try:
        cur.executemany(f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})',
                        [tuple(x if p is None else p(x) for p, x in zip(procs, v, strict=True)) for v in values])
    finally:
        cur.close()


def _require(session: Session, row: type[Any], key: object, kind: str) -> Any:
    found = session.get(row, key)
    if found is None:
        raise NotFound(kind, key)
    return found


def _agents_exist(session: Session, agents: Iterable[str]) -> None:
    wanted = sorted(set(agents))
    have: set[str] = set()
    for part in _chunks(wanted):
        have.update(session.scalars(select(t.AgentRow.id).where(t.AgentRow.id.in_(part))))
    missing = [a for a in wanted if a not in have]
    if missing:
        raise NotFound("agent", missing[0])


# ------------------------------------------------------------------------------------------ campaigns


class CampaignRepo(_Repo):
    """Campaigns: settings, status, who works them; a new campaign gets the default results and retry rules."""

    def _campaign(self, session: Session, row: CampaignRow) -> Campaign:
        results = list(session.scalars(select(CampaignResultRow).where(CampaignResultRow.campaign == row.name)
                                       .order_by(CampaignResultRow.position, CampaignResultRow.code)))
        rules = {r.code: RetryRule(r.retry_delay_s, r.retry_max) for r in results
                 if r.retry_delay_s is not None and r.retry_max is not None}
        settings = CampaignSettings(
            campaign_id=row.name, mode=row.mode, caller_ids=tuple(row.caller_ids or ()), dial_string=row.dial_string,
            gateway=row.gateway, calendar=row.calendar, dial_timeout_s=row.dial_timeout_s,
            max_attempts=row.max_attempts, retry_rules=rules, results=tuple(_result(r) for r in results),
            abandon_target=row.abandon_target, overflow_message=row.overflow_message,
            min_agents_predictive=row.min_agents_predictive, preview_timeout_s=row.preview_timeout_s,
            skip_delay_s=row.skip_delay_s, wrap_up_timeout_s=row.wrap_up_timeout_s,
            wrap_up_default_result=row.wrap_up_default_result,
            callback_reminder_s=row.callback_reminder_s, max_lines_per_agent=row.max_lines_per_agent)
        agents = tuple(session.scalars(select(CampaignAgentRow.agent_id).where(CampaignAgentRow.campaign == row.name)
                                       .order_by(CampaignAgentRow.agent_id)))
        teams = tuple(session.scalars(select(CampaignTeamRow.team)
                                      .where(CampaignTeamRow.campaign == row.name).order_by(CampaignTeamRow.team)))
        return Campaign(settings, row.status, row.description, row.queue, agents, teams,
                        to_epoch(row.created_at), to_epoch(row.updated_at))

    @staticmethod
    def _check_refs(session: Session, c: Campaign, values: Mapping[str, Any]) -> None:
        if c.queue is not None and session.get(t.QueueRow, c.queue) is None:
            raise NotFound("queue", c.queue)
        if values["calendar"] is not None and session.get(t.CalendarRow, values["calendar"]) is None:
            raise NotFound("calendar", values["calendar"])
        _agents_exist(session, c.agents)
        for team in c.teams:
            if session.get(t.TeamRow, team) is None:
                raise NotFound("team", team)

    @staticmethod
    def _set_members(session: Session, c: Campaign) -> None:
        session.execute(delete(CampaignAgentRow).where(CampaignAgentRow.campaign == c.name))
        session.execute(delete(CampaignTeamRow).where(CampaignTeamRow.campaign == c.name))
        session.flush()
        session.add_all(CampaignAgentRow(campaign=c.name, agent_id=a) for a in sorted(set(c.agents)))
        session.add_all(CampaignTeamRow(campaign=c.name, team=x) for x in sorted(set(c.teams)))

    def create(self, c: Campaign, *, now: float | None = None) -> Campaign:
        """Add a campaign (status draft); its results are ``c.settings.results`` (the default set unless
        given) with its retry rules; Conflict if the name exists."""
        name = _text("campaign.name", c.name, t.NAME)
        values = _settings_values(c.settings)
        rules = c.settings.retry_rules
        results = [_result_values(name, r, i, rules.get(r.code)) for i, r in enumerate(c.settings.results, 1)]
        when = _at(now)

        def run(session: Session) -> None:
            if session.get(CampaignRow, name) is not None:
                raise Conflict("campaign", name)
            self._check_refs(session, c, values)
            session.add(CampaignRow(name=name, description=_text("description", c.description, t.TEXT, empty=True),
                                    status=CampaignStatus.DRAFT, queue=c.queue, created_at=when, updated_at=when,
                                    **values))
            session.flush()
            session.execute(insert(CampaignResultRow), results)
            self._set_members(session, c)

        self._tx(run, kind="campaign", key=name)
        return self.get(name)

    def update(self, c: Campaign, *, now: float | None = None) -> Campaign:
        """Replace a campaign's settings, description, queue, agents and teams (not its results or status)."""
        values = _settings_values(c.settings)

        def run(session: Session) -> None:
            row = _require(session, CampaignRow, c.name, "campaign")
            codes = set(session.scalars(select(CampaignResultRow.code).where(CampaignResultRow.campaign == c.name)))
            if values["wrap_up_default_result"] not in codes:
                raise InvalidValue("wrap_up_default_result", values["wrap_up_default_result"],
                                   f"is not a result of campaign {c.name}")
            self._check_refs(session, c, values)
            for k, v in values.items():
                setattr(row, k, v)
            row.description = _text("description", c.description, t.TEXT, empty=True)
            row.queue = c.queue
            row.updated_at = _at(now)
            self._set_members(session, c)

        self._tx(run, kind="campaign", key=c.name)
        return self.get(c.name)

    def get(self, name: str) -> Campaign:
        """One campaign; NotFound otherwise."""
        return self._read(lambda s: self._campaign(s, _require(s, CampaignRow, name, "campaign")))

    def list(self) -> list[Campaign]:
        """Every campaign, by name."""
        return self._read(lambda s: [self._campaign(s, r)
                                     for r in s.scalars(select(CampaignRow).order_by(CampaignRow.name))])

    def change_status(self, name: str, event: CampaignEvent, *, now: float | None = None) -> Campaign:
        """Apply ``event`` (start, pause, stop, finish) by the dialer's table (cc.dialer.campaign_state);
        InvalidValue naming what the campaign can do instead.

        A campaign starts only with something to work it: agents, teams or a queue.
        """
        event = CampaignEvent(event)

        def run(session: Session) -> None:
            row = _require(session, CampaignRow, name, "campaign")
            try:
                status = transition(row.status, event, name)
            except InvalidTransition:
                can = sorted(e.value for (s, e) in TABLE if s == row.status) or ["nothing"]
                raise InvalidValue("campaign", name, f"is {row.status.value}: it cannot {event.value} "
                                   f"(it can: {', '.join(can)})") from None
            if status == CampaignStatus.RUNNING:
                staffed = (row.queue is not None
                           or session.scalar(select(func.count()).select_from(CampaignAgentRow)
                                             .where(CampaignAgentRow.campaign == name))
                           or session.scalar(select(func.count()).select_from(CampaignTeamRow)
                                             .where(CampaignTeamRow.campaign == name)))
                if not staffed:
                    raise InvalidValue("campaign", name, "has no agents, teams or queue to work it: "
                                       f"`ccctl campaign set {name} --agent-ids 1001,1002` first")
            row.status = status
            row.updated_at = _at(now)

        self._tx(run, kind="campaign", key=name)
        return self.get(name)

    def delete(self, name: str) -> None:
        """Remove a campaign with its leads, lists, results, callbacks and campaign DNC entries (dials stay)."""

        def run(session: Session) -> None:
            row = _require(session, CampaignRow, name, "campaign")
            if row.status == CampaignStatus.RUNNING:
                raise Conflict("campaign", name, "is running: stop it first")
            session.execute(delete(DncRow).where(DncRow.campaign == name))
            session.execute(delete(CallbackRow).where(CallbackRow.campaign == name))
            session.execute(delete(LeadNumberRow).where(LeadNumberRow.campaign == name))
            session.execute(delete(LeadRow).where(LeadRow.campaign == name))
            session.delete(row)

        self._tx(run, kind="campaign", key=name)

    def lists(self, name: str) -> builtins.list[LeadList]:
        """The imports of a campaign, oldest first."""
        q = select(LeadListRow).where(LeadListRow.campaign == name).order_by(LeadListRow.id)
        return self._read(lambda s: [LeadList(r.id, r.campaign, r.file_name, r.rows, r.imported, r.rejected,
                                              r.duplicates, r.dnc, to_epoch(r.imported_at), r.imported_by)
                                     for r in s.scalars(q)])

    def figures(self, name: str, now: float, window_s: float = 86_400.0) -> CampaignFigures:
        """Leads by state, and dials, human contacts, abandons and successes started in ``[now - window_s, now)``."""
        lo, hi = to_utc(now - window_s), to_utc(now)

        def run(session: Session) -> CampaignFigures:
            _require(session, CampaignRow, name, "campaign")
            leads = {str(state.value): int(n) for state, n in session.execute(
                select(LeadRow.state, func.count()).where(LeadRow.campaign == name).group_by(LeadRow.state))}
            a, r = DialAttemptRow, CampaignResultRow
            joined = and_(r.campaign == a.campaign, r.code == a.result)
            q = (select(func.count(a.uuid), func.sum(case((r.human_reached, 1), else_=0)),
                        func.sum(case((r.abandon, 1), else_=0)), func.sum(case((r.success, 1), else_=0)))
                 .select_from(a).outerjoin(r, joined)
                 .where(a.campaign == name, a.started_at >= lo, a.started_at < hi))
            dials, contacts, abandons, successes = session.execute(q).one()
            last = session.scalar(select(func.max(a.started_at)).where(a.campaign == name))
            c = CallbackRow
            pending = session.scalar(select(func.count()).select_from(c)
                                     .where(c.campaign == name, c.state == CallbackState.PENDING)) or 0
            overdue = session.scalar(select(func.count()).select_from(c)
                                     .where(c.campaign == name, c.state == CallbackState.PENDING, c.due_at < hi)) or 0
            return CampaignFigures(leads, int(dials or 0), int(contacts or 0), int(abandons or 0), int(successes or 0),
                                   window_s, _opt_epoch(last), int(pending), int(overdue))

        return self._read(run)


# ------------------------------------------------------------------------------------------ results


class ResultRepo(_Repo):
    """A campaign's results (dispositions): flags, labels and retry rules, checked as the dialer checks them."""

    def _validate(self, session: Session, campaign: str, rows: Sequence[CampaignResultRow]) -> None:
        row = _require(session, CampaignRow, campaign, "campaign")
        results = tuple(_result(r) for r in rows)
        rules = {r.code: RetryRule(r.retry_delay_s, r.retry_max) for r in rows
                 if r.retry_delay_s is not None and r.retry_max is not None}
        CampaignSettings(campaign_id=campaign, results=results, retry_rules=rules,
                         wrap_up_default_result=row.wrap_up_default_result)

    def _all(self, session: Session, campaign: str) -> list[CampaignResultRow]:
        return list(session.scalars(select(CampaignResultRow).where(CampaignResultRow.campaign == campaign)
                                    .order_by(CampaignResultRow.position, CampaignResultRow.code)))

    def list(self, campaign: str) -> list[tuple[Result, RetryRule | None]]:
        """The campaign's results in order, each with its retry rule (None: none)."""

        def run(session: Session) -> list[tuple[Result, RetryRule | None]]:
            _require(session, CampaignRow, campaign, "campaign")
            return [(_result(r), RetryRule(r.retry_delay_s, r.retry_max)
                     if r.retry_delay_s is not None and r.retry_max is not None else None)
                    for r in self._all(session, campaign)]

        return self._read(run)

    def save(self, campaign: str, result: Result, rule: RetryRule | None, *, create: bool) -> Result:
        """Add (``create``; Conflict if the code exists) or replace (NotFound if not) a result and its rule."""

        def run(session: Session) -> None:
            existing = session.get(CampaignResultRow, (campaign, result.code))
            if create and existing is not None:
                raise Conflict("result", result.code, f"exists already in campaign {campaign}")
            if not create and existing is None:
                _require(session, CampaignRow, campaign, "campaign")
                raise NotFound("result", result.code)
            rows = self._all(session, campaign)
            position = existing.position if existing is not None else max((r.position for r in rows), default=0) + 1
            values = _result_values(campaign, result, position, rule)
            if existing is None:
                new = CampaignResultRow(**values)
                session.add(new)
                rows.append(new)
            else:
                for k, v in values.items():
                    setattr(existing, k, v)
            self._validate(session, campaign, rows)

        self._tx(run, kind="result", key=result.code)
        return result

    def delete(self, campaign: str, code: str) -> None:
        """Remove a result; InvalidValue when the dialer needs it (overflow, abandoned, system_error, the
        wrap-up default); past dials keep their code."""

        if code in _DIALER_RESULTS:
            raise InvalidValue("result", code, f"the dialer needs it ({', '.join(_DIALER_RESULTS)} stay)")

        def run(session: Session) -> None:
            row = _require(session, CampaignResultRow, (campaign, code), "result")
            rows = [r for r in self._all(session, campaign) if r.code != code]
            self._validate(session, campaign, rows)
            session.delete(row)

        self._tx(run, kind="result", key=code)

    def reset(self, campaign: str) -> None:
        """Replace a campaign's results with the default set and retry rules."""
        rules = default_retry_rules()

        def run(session: Session) -> None:
            _require(session, CampaignRow, campaign, "campaign")
            session.execute(delete(CampaignResultRow).where(CampaignResultRow.campaign == campaign))
            session.execute(insert(CampaignResultRow), [_result_values(campaign, r, i, rules.get(r.code))
                                                        for i, r in enumerate(default_results(), 1)])

        self._tx(run, kind="campaign", key=campaign)


# ------------------------------------------------------------------------------------------ customer types


class CustomerTypeRepo(_Repo):
    """Customer types (configurable) and the type kept on each customer."""

    def list(self) -> list[CustomerType]:
        """Every type, in order."""
        q = select(t.CustomerTypeRow).order_by(t.CustomerTypeRow.position, t.CustomerTypeRow.code)
        return self._read(lambda s: [CustomerType(r.code, r.label_zh, r.label_en, r.position) for r in s.scalars(q)])

    def ensure_defaults(self) -> None:
        """Add the default types (DEFAULT_CUSTOMER_TYPES) when the store has none."""

        def run(session: Session) -> None:
            if session.scalar(select(func.count()).select_from(t.CustomerTypeRow)):
                return
            session.add_all(t.CustomerTypeRow(**dataclasses.asdict(ct)) for ct in DEFAULT_CUSTOMER_TYPES)

        self._tx(run, kind="customer type", key="defaults")

    def save(self, ct: CustomerType) -> CustomerType:
        """Add or replace a customer type."""
        _text("customer_type.code", ct.code, t.NAME)

        def run(session: Session) -> None:
            session.merge(t.CustomerTypeRow(code=ct.code, label_zh=_text("label_zh", ct.label_zh, t.NAME, empty=True),
                                            label_en=_text("label_en", ct.label_en, t.NAME, empty=True),
                                            position=ct.position))

        self._tx(run, kind="customer type", key=ct.code)
        return ct

    def delete(self, code: str) -> None:
        """Remove a customer type (customers of that type keep no type)."""

        def run(session: Session) -> None:
            session.execute(update(t.CustomerRow).where(t.CustomerRow.customer_type == code).values(customer_type=None))
            session.delete(_require(session, t.CustomerTypeRow, code, "customer type"))

        self._tx(run, kind="customer type", key=code)

    def lookup(self) -> dict[str, str]:
        """Code and both labels (lower case) -> code, for matching what a file or an agent writes."""
        out: dict[str, str] = {}
        for ct in self.list():
            for key in (ct.code, ct.label_zh, ct.label_en):
                if key:
                    out[key.lower()] = ct.code
        return out

    def set_for_customer(self, customer_id: str, code: str | None) -> None:
        """Set (None: clear) a customer's type; NotFound for an unknown customer or type."""

        def run(session: Session) -> None:
            row = _require(session, t.CustomerRow, customer_id, "customer")
            if code is not None:
                _require(session, t.CustomerTypeRow, code, "customer type")
            row.customer_type = code

        self._tx(run, kind="customer", key=customer_id)

    def of_customer(self, customer_id: str) -> str | None:
        """A customer's type code (None: none); NotFound for an unknown customer."""

        def run(session: Session) -> str | None:
            row: t.CustomerRow = _require(session, t.CustomerRow, customer_id, "customer")
            return row.customer_type

        return self._read(run)


# ------------------------------------------------------------------------------------------ leads


class LeadRepo(_Repo):
    """Leads: bulk import (checked whole first), listing, and assignment to agents."""

    def _numbers(self, session: Session, ids: Sequence[int]) -> dict[int, list[str]]:
        out: dict[int, list[str]] = {}
        for part in _chunks(ids):
            q = (select(LeadNumberRow.lead_id, LeadNumberRow.number).where(LeadNumberRow.lead_id.in_(part))
                 .order_by(LeadNumberRow.lead_id, LeadNumberRow.position))
            for lead_id, number in session.execute(q):
                out.setdefault(lead_id, []).append(number)
        return out

    def _details(self, session: Session, rows: Sequence[LeadRow]) -> list[LeadDetail]:
        numbers = self._numbers(session, [r.id for r in rows])
        return [LeadDetail(_lead(r, numbers.get(r.id, ())), r.name, dict(r.extra or {}), r.row_no,
                           _opt_epoch(r.last_dialed_at)) for r in rows if numbers.get(r.id)]

    def get(self, lead_id: str | int) -> LeadDetail:
        """One lead; NotFound otherwise."""
        key = _lead_id(lead_id)

        def run(session: Session) -> LeadDetail:
            return self._details(session, [_require(session, LeadRow, key, "lead")])[0]

        return self._read(run)

    def list(self, campaign: str, *, states: Sequence[LeadState] = (), owner: str | None = None,
             unowned: bool = False, result: str | None = None, limit: int = 1000, offset: int = 0,
             after: int | None = None) -> list[LeadDetail]:
        """A campaign's leads by id, filtered by state(s), owner (or ``unowned``) and last result; ``after``: only
        ids above it (keyset paging)."""
        _int("limit", limit, 1, 1_000_000)
        _int("offset", offset, 0)
        q = select(LeadRow).where(LeadRow.campaign == campaign)
        if after is not None:
            q = q.where(LeadRow.id > after)
        if states:
            q = q.where(LeadRow.state.in_([LeadState(s) for s in states]))
        if owner is not None:
            q = q.where(LeadRow.owner_agent == owner)
        if unowned:
            q = q.where(LeadRow.owner_agent.is_(None))
        if result is not None:
            q = q.where(LeadRow.last_result == result)
        q = q.order_by(LeadRow.id).limit(limit).offset(offset)

        def run(session: Session) -> list[LeadDetail]:
            _require(session, CampaignRow, campaign, "campaign")
            return self._details(session, list(session.scalars(q)))

        return self._read(run)

    def dialable(self, campaign: str, now: float, limit: int = 100) -> builtins.list[Lead]:
        """Open leads whose time has come (new, or retry/callback due by ``now``): priority first, then oldest.

        The index (campaign, state, next_dial_at) answers it; the window, DNC and owner checks are the
        dialer's (cc.dialer), this is only the candidate list.
        """
        due = to_utc(now)
        q = (select(LeadRow)
             .where(LeadRow.campaign == campaign,
                    or_(LeadRow.state == LeadState.NEW,
                        and_(LeadRow.state.in_([LeadState.RETRY, LeadState.CALLBACK]), LeadRow.next_dial_at <= due)))
             .order_by(LeadRow.priority.desc(), LeadRow.id).limit(limit))

        def run(session: Session) -> list[Lead]:
            rows = list(session.scalars(q))
            return [d.lead for d in self._details(session, rows)]

        return self._read(run)

    def import_rows(self, campaign: str, file_name: str, rows: Sequence[LeadInput], problems: Sequence[RowProblem],
                    *, total_rows: int, partial: bool = False, write: bool = True, by: str = "", region: str = "CN",
                    now: float | None = None, progress: Callable[[int], None] | None = None) -> ImportOutcome:
        """Check ``rows`` (already parsed; ``problems`` are those the file reading found) against the store
        and write them in one transaction.

        A row whose numbers are already leads of the campaign, or that repeats a number of an earlier row,
        is a duplicate; numbers on the global or the campaign's do-not-call list are scrubbed (a row left
        with none is skipped). Both are reported, not imported. Rows with errors (here: an owner or a
        customer type that does not exist) are rejected; then nothing is written unless ``partial``.
        Each lead's customer is the existing one owning any of its numbers, else a new one with all of them.
        ``progress(n)`` is called as rows are written.
        """
        found = list(problems)
        when = _at(now)
        outcome = ImportOutcome(None, total_rows, 0, 0, 0, found, False)

        def run(session: Session) -> None:
            _require(session, CampaignRow, campaign, "campaign")
            numbers = sorted({n for r in rows for n, _label in r.numbers})
            in_campaign: dict[str, int] = {}
            dnc: dict[str, str] = {}
            owners: dict[str, str] = {}
            for part in _chunks(numbers):
                in_campaign.update((n, i) for n, i in session.execute(
                    select(LeadNumberRow.number, LeadNumberRow.lead_id)
                    .where(LeadNumberRow.campaign == campaign, LeadNumberRow.number.in_(part))))
                for number, scope, reason in session.execute(
                        select(DncRow.number, DncRow.campaign, DncRow.reason)
                        .where(DncRow.number.in_(part), DncRow.campaign.in_(["", campaign]))):
                    dnc[number] = ("global" if not scope else f"campaign {scope}") + (f": {reason}" if reason else "")
                owners.update((n, cid) for n, cid in session.execute(
                    select(t.CustomerPhoneRow.number, func.min(t.CustomerPhoneRow.customer_id))
                    .where(t.CustomerPhoneRow.number.in_(part)).group_by(t.CustomerPhoneRow.number)))
            agents = {r.owner for r in rows if r.owner}
            known_agents: set[str] = set()
            for part in _chunks(sorted(agents)):
                known_agents.update(session.scalars(select(t.AgentRow.id).where(t.AgentRow.id.in_(part))))
            first_row: dict[str, int] = {}
            good: list[LeadInput] = []
            for r in rows:
                if r.owner and r.owner not in known_agents:
                    found.append(RowProblem(r.row, "", f"owner {r.owner!r}: no such agent"))
                    continue
                scrubbed = [n for n, _l in r.numbers if n in dnc]
                for n in scrubbed:
                    found.append(RowProblem(r.row, r.number_columns.get(n, ""),
                                            f"{n}: on the do-not-call list ({dnc[n]})", "dnc"))
                if len(scrubbed) == len(r.numbers):
                    continue
                if scrubbed:
                    r = dataclasses.replace(r, numbers=[(n, lbl) for n, lbl in r.numbers if n not in dnc])
                dup = [(n, first_row[n]) for n, _l in r.numbers if n in first_row]
                if dup:
                    n, at = dup[0]
                    found.append(RowProblem(r.row, r.number_columns.get(n, ""),
                                            f"{n}: duplicate of row {at}", "duplicate"))
                    continue
                old = [n for n, _l in r.numbers if n in in_campaign]
                if old:
                    found.append(RowProblem(r.row, r.number_columns.get(old[0], ""),
                                            f"{old[0]}: already a lead of campaign {campaign} "
                                            f"(lead {in_campaign[old[0]]})", "duplicate"))
                    continue
                for n, _l in r.numbers:
                    first_row[n] = r.row
                good.append(r)
            if any(p.kind == "error" for p in found) and not partial:
                return
            if not write:
                outcome.imported = len(good)
                return
            lead_list = LeadListRow(campaign=campaign, file_name=_text("file_name", file_name[-t.TEXT:], t.TEXT),
                                    rows=total_rows, imported=len(good), imported_at=when, imported_by=by[:t.NAME],
                                    rejected=len({p.row for p in found if p.kind == "error"}),
                                    duplicates=len({p.row for p in found if p.kind == "duplicate"}),
                                    dnc=sum(1 for p in found if p.kind == "dnc"))
            session.add(lead_list)
            session.flush()
            list_id = lead_list.id
            created = matched = 0
            next_ids = iter(self._lead_ids(session, len(good)))
            for chunk in _chunks(good, WRITE_CHUNK):
                customers: list[tuple[Any, ...]] = []
                phones: list[tuple[Any, ...]] = []
                lead_values: list[tuple[Any, ...]] = []
                lead_numbers: list[tuple[Any, ...]] = []
                for r in chunk:
                    cid = next((owners[n] for n, _l in r.numbers if n in owners), None)
                    if cid is None:
                        cid = uuidlib.uuid4().hex
                        customers.append((cid, r.name, r.email, r.note, when, r.customer_type))
                        created += 1
                    else:
                        matched += 1
                    for n, label in r.numbers:
                        if n not in owners:
                            owners[n] = cid
                            phones.append((cid, n, label))
                    extra = dict(r.extra)
                    if r.note:
                        extra["note"] = r.note
                    if r.email:
                        extra["email"] = r.email
                    lead_id = next(next_ids)
                    lead_values.append((lead_id, campaign, list_id, r.row, cid, r.name, extra, r.tz, r.priority,
                                        r.owner, LeadState.NEW.value, 0, 0, {}, when))
                    lead_numbers.extend((lead_id, i, campaign, n, label) for i, (n, label) in enumerate(r.numbers))
                _bulk(session, t.CustomerRow, _CUSTOMER_COLUMNS, customers)
                _bulk(session, t.CustomerPhoneRow, ("customer_id", "number", "label"), phones)
                _bulk(session, LeadRow, _LEAD_COLUMNS, lead_values)
                _bulk(session, LeadNumberRow, ("lead_id", "position", "campaign", "number", "label"), lead_numbers)
                if progress is not None:
                    progress(len(chunk))
            outcome.list_id, outcome.imported = list_id, len(good)
            outcome.customers_created, outcome.customers_matched = created, matched
            outcome.committed = True

        self._tx(run, kind="import", key=file_name)
        found.sort(key=lambda p: (p.row, p.column))
        return outcome

    @staticmethod
    def _lead_ids(session: Session, n: int) -> builtins.list[int]:
        """``n`` fresh lead ids (from the sequence on PostgreSQL; after the largest on SQLite, whose writer
        holds the database's write lock until the import commits)."""
        if n == 0:
            return []
        if session.get_bind().dialect.name == "postgresql":
            q = text("SELECT nextval(pg_get_serial_sequence('leads', 'id')) FROM generate_series(1, :n)")
            return [int(x) for x in session.scalars(q, {"n": n})]
        top = int(session.scalar(select(func.coalesce(func.max(LeadRow.id), 0))) or 0)
        return list(range(top + 1, top + 1 + n))

    def set_state(self, lead_id: str | int, state: LeadState, *, next_dial_at: float | None = None) -> None:
        """Put a lead in ``state`` (the dialer's transitions are its own; this is the store's write)."""
        key = _lead_id(lead_id)

        def run(session: Session) -> None:
            row = _require(session, LeadRow, key, "lead")
            row.state = LeadState(state)
            row.next_dial_at = to_utc(next_dial_at) if next_dial_at is not None else None

        self._tx(run, kind="lead", key=key)

    def save_progress(self, lead: Lead, *, dialed_at: float | None = None) -> None:
        """Write what the dialer changed on a lead: state, attempts, number in use, next dial time, last result
        and the results per code (``dialed_at``: this change is a dial). A lead deleted meanwhile is skipped."""
        key = _lead_id(lead.lead_id)

        def run(session: Session) -> None:
            row = session.get(LeadRow, key)
            if row is None:
                return
            row.state = LeadState(lead.state)
            row.attempts = lead.attempts
            row.number_index = lead.number_index
            row.next_dial_at = to_utc(lead.next_dial_at) if lead.next_dial_at is not None else None
            row.last_result = lead.last_result
            row.result_counts = dict(lead.result_counts)
            if dialed_at is not None:
                row.last_dialed_at = to_utc(dialed_at)

        self._tx(run, kind="lead", key=key)

    # ---------------------------------------------------------------------------------- assignment

    def _open(self, campaign: str, *, owner: str | None = None, unowned: bool = False,
              lead_ids: Sequence[int] = ()) -> Any:
        q = select(LeadRow.id).where(LeadRow.campaign == campaign, LeadRow.state.in_(OPEN_STATES))
        if owner is not None:
            q = q.where(LeadRow.owner_agent == owner)
        if unowned:
            q = q.where(LeadRow.owner_agent.is_(None))
        if lead_ids:
            q = q.where(LeadRow.id.in_(lead_ids))
        return q.order_by(LeadRow.priority.desc(), LeadRow.id)

    def _give(self, session: Session, campaign: str, plan: Mapping[str | None, Sequence[int]]) -> dict[str, int]:
        """Write ``plan`` (agent or None -> lead ids); pending callbacks of those leads follow their lead."""
        out: dict[str, int] = {}
        for agent, ids in plan.items():
            for part in _chunks(list(ids)):
                session.execute(update(LeadRow).where(LeadRow.id.in_(part)).values(owner_agent=agent))
                session.execute(update(CallbackRow).where(CallbackRow.lead_id.in_(part),
                                                          CallbackRow.state == CallbackState.PENDING,
                                                          CallbackRow.agent_id.is_not(None))
                                .values(agent_id=agent))
            out[agent or ""] = out.get(agent or "", 0) + len(ids)
        return out

    def assign_even(self, campaign: str, agents: Sequence[str], *, per_agent: int | None = None,
                    from_agent: str | None = None) -> dict[str, int]:
        """Deal a campaign's open leads to ``agents`` in turn, by priority (at most ``per_agent`` each).

        The leads dealt are the unowned ones, or, with ``from_agent``, that agent's (he leaves: his leads
        and their pending callbacks go to the others). Returns agent -> leads given.
        """
        if not agents:
            raise InvalidValue("agents", "", "name at least one agent")
        if per_agent is not None:
            _int("per_agent", per_agent, 1)
        order = list(dict.fromkeys(agents))
        if from_agent is not None and from_agent in order:
            raise InvalidValue("agents", from_agent, "leads cannot move from an agent to himself")

        def run(session: Session) -> dict[str, int]:
            _require(session, CampaignRow, campaign, "campaign")
            _agents_exist(session, order + ([from_agent] if from_agent else []))
            q = self._open(campaign, owner=from_agent, unowned=from_agent is None)
            if per_agent is not None:
                q = q.limit(per_agent * len(order))
            ids = list(session.scalars(q))
            plan: dict[str | None, list[int]] = {a: [] for a in order}
            for i, lead in enumerate(ids):
                plan[order[i % len(order)]].append(lead)
            return self._give(session, campaign, plan)

        return self._tx(run, kind="campaign", key=campaign)

    def assign_leads(self, campaign: str, lead_ids: Sequence[str | int], agent: str | None) -> int:
        """Give the named leads to ``agent`` (None: unowned, anyone may take them), whatever their owner."""
        keys = [_lead_id(x) for x in lead_ids]

        def run(session: Session) -> int:
            _require(session, CampaignRow, campaign, "campaign")
            if agent is not None:
                _agents_exist(session, [agent])
            have: set[int] = set()
            for part in _chunks(keys):
                have.update(session.scalars(select(LeadRow.id).where(LeadRow.campaign == campaign,
                                                                     LeadRow.id.in_(part))))
            missing = [k for k in keys if k not in have]
            if missing:
                raise NotFound(f"lead of campaign {campaign}", missing[0])
            return sum(self._give(session, campaign, {agent: keys}).values())

        return self._tx(run, kind="lead", key=keys[0] if keys else None)

    def move(self, campaign: str, from_agent: str, to_agent: str | None) -> int:
        """Move every open lead of ``from_agent`` to ``to_agent`` (None: unowned); returns how many."""
        if from_agent == to_agent:
            raise InvalidValue("to", to_agent, "leads cannot move from an agent to himself")

        def run(session: Session) -> int:
            _require(session, CampaignRow, campaign, "campaign")
            _agents_exist(session, [from_agent] + ([to_agent] if to_agent else []))
            ids = list(session.scalars(self._open(campaign, owner=from_agent)))
            return sum(self._give(session, campaign, {to_agent: ids}).values())

        return self._tx(run, kind="campaign", key=campaign)

    def owner_counts(self, campaign: str) -> dict[str, int]:
        """Open leads per owner ('' for unowned)."""
        q = (select(LeadRow.owner_agent, func.count()).where(LeadRow.campaign == campaign,
                                                             LeadRow.state.in_(OPEN_STATES))
             .group_by(LeadRow.owner_agent))
        return self._read(lambda s: {a or "": int(n) for a, n in s.execute(q)})


# ------------------------------------------------------------------------------------------ DNC


class DncRepo(_Repo):
    """Do-not-call numbers (E.164), global or per campaign; checked by number through the primary key."""

    def __init__(self, db: Database, *, region: str = "CN") -> None:
        super().__init__(db)
        self.region = region

    def normalize(self, number: str) -> str:
        """``number`` in E.164 (this repo's region for national numbers); InvalidValue otherwise."""
        return to_e164(number, self.region)

    def add(self, numbers: Sequence[str], *, campaign: str | None = None, reason: str = "", by: str = "",
            now: float | None = None) -> tuple[list[str], list[str]]:
        """Put numbers on the list (all normalized first: one bad number adds none); (added, already there)."""
        e164 = list(dict.fromkeys(self.normalize(n) for n in numbers))
        scope = campaign or ""
        when = _at(now)
        _text("reason", reason, t.TEXT, empty=True)

        def run(session: Session) -> tuple[list[str], list[str]]:
            if campaign is not None:
                _require(session, CampaignRow, campaign, "campaign")
            have: set[str] = set()
            for part in _chunks(e164):
                have.update(session.scalars(select(DncRow.number).where(DncRow.campaign == scope,
                                                                        DncRow.number.in_(part))))
            new = [n for n in e164 if n not in have]
            for part in _chunks(new, WRITE_CHUNK):
                session.execute(insert(DncRow), [{"number": n, "campaign": scope, "reason": reason, "added_at": when,
                                                  "added_by": by[:t.NAME]} for n in part])
            return new, [n for n in e164 if n in have]

        return self._tx(run, kind="dnc", key=scope or "global")

    def remove(self, number: str, *, campaign: str | None = None) -> None:
        """Take a number off the global list (or a campaign's); NotFound if it is not on it."""
        e164 = self.normalize(number)

        def run(session: Session) -> None:
            session.delete(_require(session, DncRow, (e164, campaign or ""), "dnc entry"))

        self._tx(run, kind="dnc", key=e164)

    def check(self, number: str, campaign: str | None = None) -> list[DncEntry]:
        """The entries that forbid dialing ``number``: the global one and, with ``campaign``, that campaign's."""
        e164 = self.normalize(number)
        scopes = ["", campaign] if campaign else [""]
        q = select(DncRow).where(DncRow.number == e164, DncRow.campaign.in_(scopes)).order_by(DncRow.campaign)
        return self._read(lambda s: [_dnc(r) for r in s.scalars(q)])

    def blocked(self, numbers: Sequence[str], campaign: str) -> set[str]:
        """Which of ``numbers`` (E.164) are on the global or ``campaign``'s list (the dialer's check before a dial)."""

        def run(session: Session) -> set[str]:
            out: set[str] = set()
            for part in _chunks(list(numbers)):
                out.update(session.scalars(select(DncRow.number).where(DncRow.number.in_(part),
                                                                       DncRow.campaign.in_(["", campaign]))))
            return out

        return self._read(run)

    def list(self, *, campaign: str | None = None, all_scopes: bool = False, limit: int = 10_000) -> list[DncEntry]:
        """Entries of the global list (or of ``campaign``'s, or of every list), by number."""
        _int("limit", limit, 1, 10_000_000)
        q = select(DncRow)
        if not all_scopes:
            q = q.where(DncRow.campaign == (campaign or ""))
        q = q.order_by(DncRow.number, DncRow.campaign).limit(limit)
        return self._read(lambda s: [_dnc(r) for r in s.scalars(q)])

    def added_since(self, since: float, *, limit: int = 100_000) -> builtins.list[DncEntry]:
        """Entries of every list added at or after ``since`` (epoch s), oldest first: what a running dialer has
        to learn of numbers added by others (the CLI, another process)."""
        _int("limit", limit, 1, 10_000_000)
        q = select(DncRow).where(DncRow.added_at >= to_utc(since)).order_by(DncRow.added_at).limit(limit)
        return self._read(lambda s: [_dnc(r) for r in s.scalars(q)])


# ------------------------------------------------------------------------------------------ callbacks


class CallbackRepo(_Repo):
    """Scheduled callbacks: due to the minute, for the lead's owner or anyone; reminders are flagged once sent."""

    def add(self, lead_id: str | int, due_at: float, *, agent_id: str | None = None, anyone: bool = False,
            note: str = "", by: str = "", now: float | None = None) -> ScheduledCallback:
        """Schedule a callback of a lead at ``due_at`` (cut to the minute): for ``agent_id``, else the lead's
        owner, or anyone when ``anyone``. The lead waits in state callback until then."""
        key = _lead_id(lead_id)
        due = to_utc(due_at - due_at % 60)
        when = _at(now)

        def run(session: Session) -> int:
            lead = _require(session, LeadRow, key, "lead")
            if lead.state in (LeadState.DNC, LeadState.DONE):
                raise InvalidValue("lead", key, f"is {lead.state.value}: no callback can be scheduled")
            agent = None if anyone else (agent_id or lead.owner_agent)
            if agent is not None:
                _agents_exist(session, [agent])
            row = CallbackRow(campaign=lead.campaign, lead_id=key, due_at=due, agent_id=agent, note=note,
                              state=CallbackState.PENDING, created_at=when, created_by=by[:t.NAME])
            session.add(row)
            if lead.state in OPEN_STATES:
                lead.state = LeadState.CALLBACK
                lead.next_dial_at = due
            session.flush()
            return row.id

        return self.get(self._tx(run, kind="callback", key=key))

    def get(self, callback_id: int) -> ScheduledCallback:
        """One callback; NotFound otherwise."""
        return self._read(lambda s: _callback(_require(s, CallbackRow, callback_id, "callback")))

    def list(self, *, campaign: str | None = None, agent_id: str | None = None,
             states: Sequence[CallbackState] = (CallbackState.PENDING,), due_before: float | None = None,
             limit: int = 1000) -> list[ScheduledCallback]:
        """Callbacks by due time; ``agent_id`` also shows those anyone may take."""
        _int("limit", limit, 1, 1_000_000)
        c = CallbackRow
        q = select(c)
        if campaign is not None:
            q = q.where(c.campaign == campaign)
        if agent_id is not None:
            q = q.where(or_(c.agent_id == agent_id, c.agent_id.is_(None)))
        if states:
            q = q.where(c.state.in_([CallbackState(s) for s in states]))
        if due_before is not None:
            q = q.where(c.due_at < to_utc(due_before))
        q = q.order_by(c.due_at, c.id).limit(limit)
        return self._read(lambda s: [_callback(r) for r in s.scalars(q)])

    def finish(self, callback_id: int, state: CallbackState = CallbackState.DONE, *,
               now: float | None = None) -> ScheduledCallback:
        """Close a pending callback as done, missed or cancelled.

        A lead that waited only for this callback leaves state callback: after ``done`` it is done (the agreed
        next step was kept; the result of that call, when the dialer made it, says more); after ``missed`` or
        ``cancelled`` it is dialed again (a retry due now, or new if it was never dialed). With other
        callbacks pending it waits for the earliest of them.
        """
        state = CallbackState(state)
        if state == CallbackState.PENDING:
            raise InvalidValue("state", state.value, "a callback is closed as done, missed or cancelled")

        def run(session: Session) -> None:
            row = _require(session, CallbackRow, callback_id, "callback")
            if row.state != CallbackState.PENDING:
                raise Conflict("callback", callback_id, f"is {row.state.value} already")
            row.state, row.done_at = state, _at(now)
            session.flush()
            lead = session.get(LeadRow, row.lead_id)
            others = session.scalar(select(func.min(CallbackRow.due_at)).where(
                CallbackRow.lead_id == row.lead_id, CallbackRow.state == CallbackState.PENDING))
            if lead is not None and lead.state == LeadState.CALLBACK:
                if others is not None:
                    lead.next_dial_at = others
                elif state == CallbackState.DONE:
                    lead.state, lead.next_dial_at = LeadState.DONE, None
                else:
                    lead.state = LeadState.RETRY if lead.attempts else LeadState.NEW
                    lead.next_dial_at = _at(now) if lead.attempts else None

        self._tx(run, kind="callback", key=callback_id)
        return self.get(callback_id)

    def mark_reminded(self, callback_id: int, *, before: bool) -> bool:
        """Flag the reminder (``before``: at due - 5 min, else at due) as sent; False if it was already."""

        def run(session: Session) -> bool:
            row = _require(session, CallbackRow, callback_id, "callback")
            if (row.reminded_before if before else row.reminded_due):
                return False
            if before:
                row.reminded_before = True
            else:
                row.reminded_due = True
            return True

        return self._tx(run, kind="callback", key=callback_id)


# ------------------------------------------------------------------------------------------ dial attempts


class DialAttemptRepo(_Repo):
    """Dial attempts: one row per originate, written as it progresses (an upsert by uuid)."""

    def save(self, a: DialAttempt) -> None:
        """Insert or replace the row of ``a.uuid``."""
        values = {"uuid": _text("uuid", a.uuid, t.ID), "campaign": a.campaign_id, "lead_id": str(a.lead_id),
                  "number": a.number, "agent_id": a.agent_id, "started_at": to_utc(a.started_at),
                  "answered_at": to_utc(a.answered_at) if a.answered_at is not None else None,
                  "bridged_at": to_utc(a.bridged_at) if a.bridged_at is not None else None,
                  "ended_at": to_utc(a.ended_at) if a.ended_at is not None else None,
                  "hangup_cause": a.hangup_cause, "result": a.result, "set_by": a.result_by}

        def run(session: Session) -> None:
            session.merge(DialAttemptRow(**values))

        self._tx(run, kind="dial attempt", key=a.uuid)

    def scan(self, start: float, end: float, *, campaign: str | None = None,
             agent_id: str | None = None) -> list[DialAttempt]:
        """Attempts started in [start, end), oldest first (for reports; the (campaign|agent, started) indexes)."""
        q = select(DialAttemptRow).where(DialAttemptRow.started_at >= to_utc(start),
                                         DialAttemptRow.started_at < to_utc(end))
        if campaign is not None:
            q = q.where(DialAttemptRow.campaign == campaign)
        if agent_id is not None:
            q = q.where(DialAttemptRow.agent_id == agent_id)
        q = q.order_by(DialAttemptRow.started_at, DialAttemptRow.uuid)
        return self._read(lambda s: [_attempt(r) for r in s.scalars(q)])

    def open(self, campaign: str) -> list[DialAttempt]:
        """A campaign's attempts without a result (an originate whose end this store never heard), oldest first."""
        q = (select(DialAttemptRow).where(DialAttemptRow.campaign == campaign, DialAttemptRow.result.is_(None))
             .order_by(DialAttemptRow.started_at))
        return self._read(lambda s: [_attempt(r) for r in s.scalars(q)])

    def for_lead(self, lead_id: str | int) -> list[DialAttempt]:
        """A lead's attempts, oldest first."""
        q = select(DialAttemptRow).where(DialAttemptRow.lead_id == str(lead_id)).order_by(DialAttemptRow.started_at)
        return self._read(lambda s: [_attempt(r) for r in s.scalars(q)])


class CampaignRepos:
    """Every campaign repository over one Database."""

    def __init__(self, db: Database, *, region: str = "CN") -> None:
        self.db = db
        self.campaigns = CampaignRepo(db)
        self.results = ResultRepo(db)
        self.leads = LeadRepo(db)
        self.dnc = DncRepo(db, region=region)
        self.callbacks = CallbackRepo(db)
        self.attempts = DialAttemptRepo(db)
        self.customer_types = CustomerTypeRepo(db)
