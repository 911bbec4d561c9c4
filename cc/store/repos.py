"""Repositories: the only way the rest of cc reads and edits the database; rows in, dataclasses out.

Each method runs in its own transaction: it either commits whole or raises a CCError subclass
(``Conflict``, ``NotFound``, ``InvalidValue`` naming the field and value) with everything rolled
back. Time windows are ``[start, end)`` in epoch seconds; scans are streamed page by page (keyset
pagination on (time, id)), never loaded whole.
"""

from __future__ import annotations

import bisect
import builtins
import dataclasses
import datetime
import itertools
import logging
import uuid as uuidlib
import zoneinfo
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Generic, TypeVar

import phonenumbers
from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Integer,
    Interval,
    and_,
    case,
    cast,
    delete,
    extract,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import Grouping

from cc.errors import Conflict, InvalidValue, NotFound
from cc.model import (
    Agent,
    AgentState,
    AgentStateEvent,
    AgentStatus,
    BusinessCalendar,
    CallLeg,
    CallRecord,
    CallSegment,
    Customer,
    FlowRoute,
    Holiday,
    Interaction,
    OpeningHours,
    PhoneNumber,
    QueueConfig,
    QueueEvent,
    QueueEventType,
    RecordingRecord,
    RecordPolicy,
    Skill,
    Strategy,
    SurveyResult,
    Team,
    Tier,
)
from cc.store import tables as t
from cc.store.codec import KINDS, to_epoch, to_utc
from cc.store.db import Database
from cc.store.queue_calls import QueueCallRepo
from cc.store.repo_base import (
    SLOT_S,
    QueueSlot,
    _db_errors,
    _enum,
    _flag,
    _fsum,
    _HistoryRepo,
    _int,
    _num,
    _number,
    _opt_text,
    _proficiency,
    _window,
    survey_slot_query,
)
from cc.store.repo_base import _Repo as _Repo  # re-exported: tokens.py takes it from here
from cc.store.repo_base import _text as _text  # re-exported: tokens.py takes it from here

__all__ = [
    "SLOT_S",
    "AgentRepo",
    "AgentStateEventRepo",
    "AgentStats",
    "CalendarRepo",
    "CallLegRepo",
    "CallRepo",
    "CustomerRepo",
    "FlowRouteRepo",
    "InteractionRepo",
    "QueueEventRepo",
    "QueueRepo",
    "QueueSlot",
    "QueueStats",
    "RecordingRepo",
    "Repos",
    "SkillRepo",
    "SurveyRepo",
    "SurveyStats",
    "TeamRepo",
    "TierRepo",
    "normalize_phone",
]

log = logging.getLogger(__name__)

T = TypeVar("T")
N = TypeVar("N", Skill, Team)


# ------------------------------------------------------------------------------------------ helpers


def normalize_phone(number: str, region: str | None = None) -> str:
    """``number`` in E.164 (``+4930901820``); an invalid number raises InvalidValue("phone", ...)."""
    if not isinstance(number, str) or not number.strip():
        raise InvalidValue("phone", number, "not a phone number")
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidValue("phone", number, f"not a phone number ({exc})") from None
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidValue(
            "phone",
            number,
            "not a valid phone number" + ("" if region else " (no default region: give it with +country code)"),
        )
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


# ------------------------------------------------------------------------------------ configuration


def _agent(row: t.AgentRow, skills: Mapping[str, int]) -> Agent:
    return Agent(
        id=row.id,
        name=row.name,
        contact=row.contact,
        team=row.team,
        max_no_answer=row.max_no_answer,
        wrap_up_s=row.wrap_up_s,
        reject_delay_s=row.reject_delay_s,
        busy_delay_s=row.busy_delay_s,
        no_answer_delay_s=row.no_answer_delay_s,
        skills=dict(skills),
    )


def _agent_values(a: Agent) -> dict[str, Any]:
    return {
        "id": _text("agent.id", a.id, t.ID),
        "name": _text("agent.name", a.name, t.NAME, empty=True),
        "contact": _text("agent.contact", a.contact, t.TEXT, empty=True),
        "team": _opt_text("agent.team", a.team, t.NAME),
        "max_no_answer": _int("agent.max_no_answer", a.max_no_answer, 0),
        "wrap_up_s": _num("agent.wrap_up_s", a.wrap_up_s),
        "reject_delay_s": _num("agent.reject_delay_s", a.reject_delay_s),
        "busy_delay_s": _num("agent.busy_delay_s", a.busy_delay_s),
        "no_answer_delay_s": _num("agent.no_answer_delay_s", a.no_answer_delay_s),
    }


class AgentRepo(_Repo):
    """Agents and their skills."""

    @staticmethod
    def _skills(agent: Agent) -> dict[str, int]:
        return {
            _text("agent.skills", k, t.NAME): _proficiency(f"agent.skills.{k}", v)
            for k, v in dict(agent.skills).items()
        }

    @staticmethod
    def _check_refs(session: Session, values: dict[str, Any], skills: Mapping[str, int]) -> None:
        """Unknown team or skill -> NotFound, checked before anything is written."""
        if values["team"] is not None and session.get(t.TeamRow, values["team"]) is None:
            raise NotFound("team", values["team"])
        for name in skills:
            if session.get(t.SkillRow, name) is None:
                raise NotFound("skill", name)

    @staticmethod
    def _set_skills(session: Session, agent_id: str, skills: Mapping[str, int]) -> None:
        session.execute(delete(t.AgentSkillRow).where(t.AgentSkillRow.agent_id == agent_id))
        session.add_all(t.AgentSkillRow(agent_id=agent_id, skill=k, proficiency=v) for k, v in skills.items())

    def create(self, agent: Agent) -> Agent:
        """Add an agent; Conflict if the id exists, NotFound for an unknown team or skill."""
        values = _agent_values(agent)
        skills = self._skills(agent)

        def run(session: Session) -> None:
            if session.get(t.AgentRow, agent.id) is not None:
                raise Conflict("agent", agent.id)
            self._check_refs(session, values, skills)
            session.add(t.AgentRow(**values))
            session.flush()
            self._set_skills(session, agent.id, skills)

        self._tx(run, kind="agent", key=agent.id)
        return self.get(agent.id)

    def update(self, agent: Agent) -> Agent:
        """Replace an agent's configuration and skills; NotFound if it does not exist."""
        values = _agent_values(agent)
        skills = self._skills(agent)

        def run(session: Session) -> None:
            row = session.get(t.AgentRow, agent.id)
            if row is None:
                raise NotFound("agent", agent.id)
            self._check_refs(session, values, skills)
            for k, v in values.items():
                setattr(row, k, v)
            self._set_skills(session, agent.id, skills)

        self._tx(run, kind="agent", key=agent.id)
        return self.get(agent.id)

    def get(self, agent_id: str) -> Agent:
        """One agent with its skills; NotFound otherwise."""

        def run(session: Session) -> Agent:
            row = session.get(t.AgentRow, agent_id)
            if row is None:
                raise NotFound("agent", agent_id)
            skills = session.execute(
                select(t.AgentSkillRow.skill, t.AgentSkillRow.proficiency).where(t.AgentSkillRow.agent_id == agent_id)
            )
            return _agent(row, {s: p for s, p in skills})

        return self._read(run)

    def list(self, *, team: str | None = None) -> list[Agent]:
        """Every agent (of ``team``), ordered by id."""

        def run(session: Session) -> list[Agent]:
            q = select(t.AgentRow).order_by(t.AgentRow.id)
            sq = select(t.AgentSkillRow)
            if team is not None:
                q = q.where(t.AgentRow.team == team)
                sq = sq.join(t.AgentRow, t.AgentRow.id == t.AgentSkillRow.agent_id).where(t.AgentRow.team == team)
            skills: dict[str, dict[str, int]] = {}
            for s in session.scalars(sq):
                skills.setdefault(s.agent_id, {})[s.skill] = s.proficiency
            return [_agent(r, skills.get(r.id, {})) for r in session.scalars(q)]

        return self._read(run)

    def delete(self, agent_id: str) -> None:
        """Remove an agent with its skills and tiers; NotFound if it does not exist."""

        def run(session: Session) -> None:
            row = session.get(t.AgentRow, agent_id)
            if row is None:
                raise NotFound("agent", agent_id)
            session.delete(row)

        self._tx(run, kind="agent", key=agent_id)


def _queue_values(q: QueueConfig) -> dict[str, Any]:
    return {
        "name": _text("queue.name", q.name, t.NAME),
        "strategy": _enum("queue.strategy", Strategy, q.strategy),
        "moh": _text("queue.moh", q.moh, t.TEXT, empty=True),
        "announce_position": bool(q.announce_position),
        "announce_interval_s": _num("queue.announce_interval_s", q.announce_interval_s),
        "announce_prompt": _opt_text("queue.announce_prompt", q.announce_prompt, t.TEXT),
        "max_wait_s": _number("queue.max_wait_s", q.max_wait_s, optional=True),
        "max_wait_no_agent_s": _number("queue.max_wait_no_agent_s", q.max_wait_no_agent_s, optional=True),
        "max_len": None if q.max_len is None else _int("queue.max_len", q.max_len, 0),
        "offer_timeout_s": _num("queue.offer_timeout_s", q.offer_timeout_s, strict=True),
        "wrap_up_s": _number("queue.wrap_up_s", q.wrap_up_s, optional=True),
        "sl_threshold_s": _num("queue.sl_threshold_s", q.sl_threshold_s),
        "priority_weight": _num("queue.priority_weight", q.priority_weight, minimum=-1e9),
        "tier_rules_apply": bool(q.tier_rules_apply),
        "tier_rule_wait_s": _num("queue.tier_rule_wait_s", q.tier_rule_wait_s),
        "tier_rule_wait_multiply_level": bool(q.tier_rule_wait_multiply_level),
        "tier_rule_no_agent_no_wait": bool(q.tier_rule_no_agent_no_wait),
        "record_policy": _enum("queue.record_policy", RecordPolicy, q.record_policy),
        "record_template": _text("queue.record_template", q.record_template, t.TEXT),
        "overflow_target": _opt_text("queue.overflow_target", q.overflow_target, t.TEXT),
        "record_notice": _opt_text("queue.record_notice", q.record_notice, t.TEXT),
    }


def _queue(row: t.QueueRow) -> QueueConfig:
    columns = t.QueueRow.__table__.c
    return QueueConfig(**{f.name: getattr(row, f.name) for f in dataclasses.fields(QueueConfig) if f.name in columns})


class QueueRepo(_Repo):
    """Queues."""

    def create(self, queue: QueueConfig) -> QueueConfig:
        """Add a queue; Conflict if the name exists."""
        values = _queue_values(queue)

        def run(session: Session) -> None:
            if session.get(t.QueueRow, queue.name) is not None:
                raise Conflict("queue", queue.name)
            session.add(t.QueueRow(**values))

        self._tx(run, kind="queue", key=queue.name)
        return self.get(queue.name)

    def update(self, queue: QueueConfig) -> QueueConfig:
        """Replace a queue's configuration; NotFound if it does not exist."""
        values = _queue_values(queue)

        def run(session: Session) -> None:
            row = session.get(t.QueueRow, queue.name)
            if row is None:
                raise NotFound("queue", queue.name)
            for k, v in values.items():
                setattr(row, k, v)

        self._tx(run, kind="queue", key=queue.name)
        return self.get(queue.name)

    def get(self, name: str) -> QueueConfig:
        """One queue; NotFound otherwise."""
        row = self._read(lambda s: s.get(t.QueueRow, name))
        if row is None:
            raise NotFound("queue", name)
        return _queue(row)

    def list(self) -> list[QueueConfig]:
        """Every queue, ordered by name."""
        return self._read(lambda s: [_queue(r) for r in s.scalars(select(t.QueueRow).order_by(t.QueueRow.name))])

    def delete(self, name: str) -> None:
        """Remove a queue and its tiers; NotFound if it does not exist."""

        def run(session: Session) -> None:
            row = session.get(t.QueueRow, name)
            if row is None:
                raise NotFound("queue", name)
            session.delete(row)

        self._tx(run, kind="queue", key=name)


def _tier(row: t.TierRow) -> Tier:
    return Tier(agent_id=row.agent_id, queue=row.queue, level=row.level, position=row.position)


class TierRepo(_Repo):
    """Agent x queue memberships."""

    def _check(self, session: Session, tier: Tier) -> None:
        if session.get(t.QueueRow, tier.queue) is None:
            raise NotFound("queue", tier.queue)
        if session.get(t.AgentRow, tier.agent_id) is None:
            raise NotFound("agent", tier.agent_id)

    def add(self, tier: Tier) -> Tier:
        """Put an agent in a queue; NotFound for an unknown queue or agent, Conflict if already there."""
        _text("tier.agent_id", tier.agent_id, t.ID)
        _text("tier.queue", tier.queue, t.NAME)
        level = _int("tier.level", tier.level, 1)
        position = _int("tier.position", tier.position, 1)
        key = (tier.agent_id, tier.queue)

        def run(session: Session) -> None:
            self._check(session, tier)
            if session.get(t.TierRow, key) is not None:
                raise Conflict("tier", f"{tier.agent_id}@{tier.queue}")
            session.add(t.TierRow(agent_id=tier.agent_id, queue=tier.queue, level=level, position=position))

        self._tx(run, kind="tier", key=f"{tier.agent_id}@{tier.queue}")
        return tier

    def update(self, tier: Tier) -> Tier:
        """Change a tier's level and position; NotFound if the agent is not in the queue."""
        level = _int("tier.level", tier.level, 1)
        position = _int("tier.position", tier.position, 1)

        def run(session: Session) -> None:
            row = session.get(t.TierRow, (tier.agent_id, tier.queue))
            if row is None:
                raise NotFound("tier", f"{tier.agent_id}@{tier.queue}")
            row.level, row.position = level, position

        self._tx(run, kind="tier", key=f"{tier.agent_id}@{tier.queue}")
        return tier

    def remove(self, agent_id: str, queue: str) -> None:
        """Take an agent out of a queue; NotFound if not there."""

        def run(session: Session) -> None:
            row = session.get(t.TierRow, (agent_id, queue))
            if row is None:
                raise NotFound("tier", f"{agent_id}@{queue}")
            session.delete(row)

        self._tx(run, kind="tier", key=f"{agent_id}@{queue}")

    def for_queue(self, queue: str) -> list[Tier]:
        """A queue's tiers ordered by level, position, agent."""
        q = (
            select(t.TierRow)
            .where(t.TierRow.queue == queue)
            .order_by(t.TierRow.level, t.TierRow.position, t.TierRow.agent_id)
        )
        return self._read(lambda s: [_tier(r) for r in s.scalars(q)])

    def for_agent(self, agent_id: str) -> list[Tier]:
        """An agent's tiers ordered by queue."""
        q = select(t.TierRow).where(t.TierRow.agent_id == agent_id).order_by(t.TierRow.queue)
        return self._read(lambda s: [_tier(r) for r in s.scalars(q)])

    def list(self) -> list[Tier]:
        """Every tier ordered by queue, level, position."""
        q = select(t.TierRow).order_by(t.TierRow.queue, t.TierRow.level, t.TierRow.position, t.TierRow.agent_id)
        return self._read(lambda s: [_tier(r) for r in s.scalars(q)])


class _NamedRepo(_Repo, Generic[N]):
    """A table of things known by a unique name with a description (skills, teams): create, get, list, delete."""

    _row: Any
    _kind: str
    _model: Callable[[str, str], N]

    def create(self, item: N) -> N:
        """Add one; Conflict if the name exists."""
        name = _text(f"{self._kind}.name", item.name, t.NAME)
        desc = _text(f"{self._kind}.description", item.description, t.TEXT, empty=True)

        def run(session: Session) -> None:
            if session.get(self._row, name) is not None:
                raise Conflict(self._kind, name)
            session.add(self._row(name=name, description=desc))

        self._tx(run, kind=self._kind, key=name)
        return item

    def get(self, name: str) -> N:
        """One by name; NotFound otherwise."""
        row = self._read(lambda s: s.get(self._row, name))
        if row is None:
            raise NotFound(self._kind, name)
        return self._model(row.name, row.description)

    def list(self) -> list[N]:
        """Every one, ordered by name."""
        q = select(self._row).order_by(self._row.name)
        return self._read(lambda s: [self._model(r.name, r.description) for r in s.scalars(q)])

    def delete(self, name: str) -> None:
        """Remove one; NotFound if unknown (what refers to it is handled by the foreign keys)."""

        def run(session: Session) -> None:
            row = session.get(self._row, name)
            if row is None:
                raise NotFound(self._kind, name)
            session.delete(row)

        self._tx(run, kind=self._kind, key=name)


class SkillRepo(_NamedRepo[Skill]):
    """Skills (deleting one removes every agent's proficiency in it) and agents' proficiencies (1-10)."""

    _row = t.SkillRow
    _kind = "skill"
    _model = Skill

    def set_agent_skill(self, agent_id: str, skill: str, proficiency: int) -> None:
        """Give an agent a skill at ``proficiency`` (1-10), replacing any earlier level."""
        level = _proficiency("proficiency", proficiency)

        def run(session: Session) -> None:
            if session.get(t.AgentRow, agent_id) is None:
                raise NotFound("agent", agent_id)
            if session.get(t.SkillRow, skill) is None:
                raise NotFound("skill", skill)
            row = session.get(t.AgentSkillRow, (agent_id, skill))
            if row is None:
                session.add(t.AgentSkillRow(agent_id=agent_id, skill=skill, proficiency=level))
            else:
                row.proficiency = level

        self._tx(run, kind="agent skill", key=f"{agent_id}:{skill}")

    def remove_agent_skill(self, agent_id: str, skill: str) -> None:
        """Take a skill from an agent; NotFound if the agent does not have it."""

        def run(session: Session) -> None:
            row = session.get(t.AgentSkillRow, (agent_id, skill))
            if row is None:
                raise NotFound("agent skill", f"{agent_id}:{skill}")
            session.delete(row)

        self._tx(run, kind="agent skill", key=f"{agent_id}:{skill}")

    def agent_skills(self, agent_id: str) -> dict[str, int]:
        """An agent's skills and proficiencies."""
        q = select(t.AgentSkillRow.skill, t.AgentSkillRow.proficiency).where(t.AgentSkillRow.agent_id == agent_id)
        return self._read(lambda s: {k: v for k, v in s.execute(q)})

    def agents_with(self, skill: str, min_proficiency: int = 1) -> builtins.list[tuple[str, int]]:
        """(agent id, proficiency) of agents with ``skill`` at ``min_proficiency`` or more, best first."""
        q = (
            select(t.AgentSkillRow.agent_id, t.AgentSkillRow.proficiency)
            .where(t.AgentSkillRow.skill == skill, t.AgentSkillRow.proficiency >= min_proficiency)
            .order_by(t.AgentSkillRow.proficiency.desc(), t.AgentSkillRow.agent_id)
        )
        return self._read(lambda s: [(a, p) for a, p in s.execute(q)])


class TeamRepo(_NamedRepo[Team]):
    """Teams of agents (deleting one leaves its agents working, with no team)."""

    _row = t.TeamRow
    _kind = "team"
    _model = Team

    def members(self, name: str) -> builtins.list[str]:
        """Ids of a team's agents, ordered."""
        q = select(t.AgentRow.id).where(t.AgentRow.team == name).order_by(t.AgentRow.id)
        return self._read(lambda s: list(s.scalars(q)))


class FlowRouteRepo(_Repo):
    """Which flow file answers which number (DNIS)."""

    def set(self, route: FlowRoute) -> FlowRoute:
        """Create or replace the route for ``route.number``."""
        number = _text("flow_route.number", route.number, t.NAME)
        flow = _text("flow_route.flow", route.flow, t.TEXT)
        desc = _text("flow_route.description", route.description, t.TEXT, empty=True)

        def run(session: Session) -> None:
            row = session.get(t.FlowRouteRow, number)
            if row is None:
                session.add(t.FlowRouteRow(number=number, flow=flow, description=desc))
            else:
                row.flow, row.description = flow, desc

        self._tx(run, kind="flow route", key=number)
        return route

    def find(self, number: str) -> FlowRoute | None:
        """The route for a dialed number, or None."""
        row = self._read(lambda s: s.get(t.FlowRouteRow, number))
        return None if row is None else FlowRoute(row.number, row.flow, row.description)

    def get(self, number: str) -> FlowRoute:
        """The route for a number; NotFound otherwise."""
        route = self.find(number)
        if route is None:
            raise NotFound("flow route", number)
        return route

    def list(self) -> list[FlowRoute]:
        """Every route ordered by number."""
        q = select(t.FlowRouteRow).order_by(t.FlowRouteRow.number)
        return self._read(lambda s: [FlowRoute(r.number, r.flow, r.description) for r in s.scalars(q)])

    def delete(self, number: str) -> None:
        """Remove a route; NotFound if unknown."""

        def run(session: Session) -> None:
            row = session.get(t.FlowRouteRow, number)
            if row is None:
                raise NotFound("flow route", number)
            session.delete(row)

        self._tx(run, kind="flow route", key=number)


class CalendarRepo(_Repo):
    """Business-hours calendars: timezone, weekly opening hours, holidays."""

    def save(self, cal: BusinessCalendar) -> BusinessCalendar:
        """Create or replace a calendar whole (hours and holidays included)."""
        name = _text("calendar.name", cal.name, t.NAME)
        tz = _text("calendar.timezone", cal.timezone, t.NAME)
        try:
            zoneinfo.ZoneInfo(tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise InvalidValue("calendar.timezone", tz, "not an IANA timezone") from None
        for i, h in enumerate(cal.hours):
            _int(f"calendar.hours[{i}].weekday", h.weekday, 0, 6)
            if not isinstance(h.opens, datetime.time) or not isinstance(h.closes, datetime.time):
                raise InvalidValue(f"calendar.hours[{i}]", h, "opens and closes must be times of day")
            if not h.opens < h.closes:
                raise InvalidValue(
                    f"calendar.hours[{i}].closes",
                    h.closes.isoformat(),
                    f"must be after opens {h.opens.isoformat()}",
                )
        days = [d.date for d in cal.holidays]
        if len(set(days)) != len(days):
            dup = next(d for d in days if days.count(d) > 1)
            raise InvalidValue("calendar.holidays", dup.isoformat(), "listed twice")

        def run(session: Session) -> None:
            row = session.get(t.CalendarRow, name)
            if row is None:
                session.add(t.CalendarRow(name=name, timezone=tz))
            else:
                row.timezone = tz
            session.execute(delete(t.CalendarHoursRow).where(t.CalendarHoursRow.calendar == name))
            session.execute(delete(t.HolidayRow).where(t.HolidayRow.calendar == name))
            session.flush()
            session.add_all(
                t.CalendarHoursRow(calendar=name, weekday=h.weekday, opens=h.opens, closes=h.closes) for h in cal.hours
            )
            session.add_all(t.HolidayRow(calendar=name, date=d.date, name=d.name) for d in cal.holidays)

        self._tx(run, kind="calendar", key=name)
        return self.get(name)

    def get(self, name: str) -> BusinessCalendar:
        """One calendar; NotFound otherwise."""

        def run(session: Session) -> BusinessCalendar:
            row = session.get(t.CalendarRow, name)
            if row is None:
                raise NotFound("calendar", name)
            hours = session.scalars(
                select(t.CalendarHoursRow)
                .where(t.CalendarHoursRow.calendar == name)
                .order_by(t.CalendarHoursRow.weekday, t.CalendarHoursRow.opens)
            )
            days = session.scalars(
                select(t.HolidayRow).where(t.HolidayRow.calendar == name).order_by(t.HolidayRow.date)
            )
            return BusinessCalendar(
                name=row.name,
                timezone=row.timezone,
                hours=tuple(OpeningHours(h.weekday, h.opens, h.closes) for h in hours),
                holidays=tuple(Holiday(d.date, d.name) for d in days),
            )

        return self._read(run)

    def list(self) -> list[str]:
        """Names of every calendar."""
        return self._read(lambda s: list(s.scalars(select(t.CalendarRow.name).order_by(t.CalendarRow.name))))

    def delete(self, name: str) -> None:
        """Remove a calendar; NotFound if unknown."""

        def run(session: Session) -> None:
            row = session.get(t.CalendarRow, name)
            if row is None:
                raise NotFound("calendar", name)
            session.delete(row)

        self._tx(run, kind="calendar", key=name)


# ------------------------------------------------------------------------------------------ CRM


class CustomerRepo(_Repo):
    """Customers and their phone numbers (E.164; lookup by any number through an index)."""

    def __init__(self, db: Database, *, default_region: str | None = None) -> None:
        super().__init__(db)
        self.default_region = default_region

    def normalize(self, number: str) -> str:
        """``number`` in E.164 using this repo's default region; InvalidValue if it is not valid."""
        return normalize_phone(number, self.default_region)

    def _phones(self, phones: Sequence[PhoneNumber]) -> list[tuple[str, str]]:
        out: dict[str, str] = {}
        for p in phones:
            out[self.normalize(p.number)] = _text("phone.label", p.label, t.NAME, empty=True)
        return list(out.items())

    def _customer(self, session: Session, row: t.CustomerRow) -> Customer:
        phones = session.scalars(
            select(t.CustomerPhoneRow)
            .where(t.CustomerPhoneRow.customer_id == row.id)
            .order_by(t.CustomerPhoneRow.number)
        )
        return Customer(
            id=row.id,
            name=row.name,
            email=row.email,
            note=row.note,
            phones=tuple(PhoneNumber(p.number, p.label) for p in phones),
            created_at=to_epoch(row.created_at),
        )

    def create(self, customer: Customer, *, now: float | None = None) -> Customer:
        """Add a customer (an empty id gets a fresh one), numbers normalized; Conflict if the id exists."""
        cid = customer.id or uuidlib.uuid4().hex
        _text("customer.id", cid, t.ID)
        name = _text("customer.name", customer.name, t.NAME, empty=True)
        email = _opt_text("customer.email", customer.email, t.NAME)
        phones = self._phones(customer.phones)
        created = customer.created_at if customer.created_at is not None else now
        created_at = to_utc(created) if created is not None else datetime.datetime.now(datetime.UTC)

        def run(session: Session) -> None:
            if session.get(t.CustomerRow, cid) is not None:
                raise Conflict("customer", cid)
            session.add(t.CustomerRow(id=cid, name=name, email=email, note=customer.note, created_at=created_at))
            session.flush()
            session.add_all(t.CustomerPhoneRow(customer_id=cid, number=n, label=lbl) for n, lbl in phones)

        self._tx(run, kind="customer", key=cid)
        return self.get(cid)

    def update(self, customer: Customer) -> Customer:
        """Replace a customer's name, email, note and numbers; NotFound if unknown."""
        name = _text("customer.name", customer.name, t.NAME, empty=True)
        email = _opt_text("customer.email", customer.email, t.NAME)
        phones = self._phones(customer.phones)

        def run(session: Session) -> None:
            row = session.get(t.CustomerRow, customer.id)
            if row is None:
                raise NotFound("customer", customer.id)
            row.name, row.email, row.note = name, email, customer.note
            session.execute(delete(t.CustomerPhoneRow).where(t.CustomerPhoneRow.customer_id == customer.id))
            session.flush()
            session.add_all(t.CustomerPhoneRow(customer_id=customer.id, number=n, label=lbl) for n, lbl in phones)

        self._tx(run, kind="customer", key=customer.id)
        return self.get(customer.id)

    def get(self, customer_id: str) -> Customer:
        """One customer with their numbers; NotFound otherwise."""

        def run(session: Session) -> Customer:
            row = session.get(t.CustomerRow, customer_id)
            if row is None:
                raise NotFound("customer", customer_id)
            return self._customer(session, row)

        return self._read(run)

    def add_phone(self, customer_id: str, number: str, label: str = "") -> str:
        """Give a customer one more number; returns it in E.164; Conflict if they have it already."""
        e164 = self.normalize(number)
        _text("phone.label", label, t.NAME, empty=True)

        def run(session: Session) -> None:
            if session.get(t.CustomerRow, customer_id) is None:
                raise NotFound("customer", customer_id)
            if session.get(t.CustomerPhoneRow, (customer_id, e164)) is not None:
                raise Conflict("phone", e164, f"already belongs to customer {customer_id}")
            session.add(t.CustomerPhoneRow(customer_id=customer_id, number=e164, label=label))

        self._tx(run, kind="phone", key=e164)
        return e164

    def remove_phone(self, customer_id: str, number: str) -> None:
        """Take a number from a customer; NotFound if they do not have it."""
        e164 = self.normalize(number)

        def run(session: Session) -> None:
            row = session.get(t.CustomerPhoneRow, (customer_id, e164))
            if row is None:
                raise NotFound("phone", e164)
            session.delete(row)

        self._tx(run, kind="phone", key=e164)

    def find_by_phone(self, number: str) -> list[Customer]:
        """Customers having ``number`` (any format; an unparseable caller id finds no one)."""
        try:
            e164 = self.normalize(number)
        except InvalidValue:
            log.debug("customer lookup: a number ending %r is not valid", str(number)[-4:])
            return []

        def run(session: Session) -> list[Customer]:
            q = (
                select(t.CustomerRow)
                .join(t.CustomerPhoneRow, t.CustomerPhoneRow.customer_id == t.CustomerRow.id)
                .where(t.CustomerPhoneRow.number == e164)
                .order_by(t.CustomerRow.id)
            )
            return [self._customer(session, r) for r in session.scalars(q)]

        return self._read(run)

    def search(self, name_prefix: str, limit: int = 50) -> list[Customer]:
        """Customers whose name starts with ``name_prefix`` (case-sensitive on PostgreSQL), by name."""
        _int("limit", limit, 1, 10_000)
        _text("name_prefix", name_prefix, t.NAME, empty=True)
        pattern = name_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"

        def run(session: Session) -> list[Customer]:
            q = (
                select(t.CustomerRow)
                .where(t.CustomerRow.name.like(pattern, escape="\\"))
                .order_by(t.CustomerRow.name, t.CustomerRow.id)
                .limit(limit)
            )
            return [self._customer(session, r) for r in session.scalars(q)]

        return self._read(run)

    def delete(self, customer_id: str) -> None:
        """Remove a customer and their numbers (interactions stay, as history); NotFound if unknown."""

        def run(session: Session) -> None:
            row = session.get(t.CustomerRow, customer_id)
            if row is None:
                raise NotFound("customer", customer_id)
            session.delete(row)

        self._tx(run, kind="customer", key=customer_id)


class InteractionRepo(_HistoryRepo):
    """Contacts with customers (calls, notes ...)."""

    record = Interaction

    def put(self, record: Interaction) -> None:
        """Insert ``record``, or replace the interaction with its id (a call's result saved after its end)."""
        if not isinstance(record, Interaction):
            raise InvalidValue("record", type(record).__name__, "expected Interaction")
        kind = self._kind
        values = kind.to_row(record)

        def run(session: Session) -> None:
            row = session.get(kind.row, values[kind.key])
            if row is None:
                session.add(kind.row(**values))
                return
            for name, value in values.items():
                setattr(row, name, value)

        self._tx(run, kind="interaction", key=values[kind.key])

    def for_customer(self, customer_id: str, limit: int = 50) -> list[Interaction]:
        """A customer's most recent interactions, newest first."""
        _int("limit", limit, 1, 10_000)
        kind = self._kind
        q = (
            select(t.InteractionRow)
            .where(t.InteractionRow.customer_id == customer_id)
            .order_by(t.InteractionRow.at.desc(), t.InteractionRow.id.desc())
            .limit(limit)
        )
        return self._read(lambda s: [kind.from_row(r) for r in s.scalars(q)])


# ------------------------------------------------------------------------------------------ history


class CallRepo(_HistoryRepo):
    """One row per call; scans by start time."""

    record = CallRecord
    time_field = "started_at"

    def legs(self, call_uuid: str) -> list[CallLeg]:
        """The legs of a call in the order they started."""
        kind = KINDS[CallLeg]
        q = (
            select(t.CallLegRow)
            .where(t.CallLegRow.call_uuid == call_uuid)
            .order_by(t.CallLegRow.started_at, t.CallLegRow.uuid)
        )
        return self._read(lambda s: [kind.from_row(r) for r in s.scalars(q)])

    def segments(self, call_uuid: str) -> list[CallSegment]:
        """The later visits of a call that came back under its UUID, in order (the first is its calls row)."""
        kind = KINDS[CallSegment]
        q = select(t.CallSegmentRow).where(t.CallSegmentRow.call_uuid == call_uuid).order_by(
            t.CallSegmentRow.segment)
        return self._read(lambda s: [kind.from_row(r) for r in s.scalars(q)])

    def visits(self, call_uuid: str) -> int:
        """How many visits of a call under ``call_uuid`` the store holds: 0, 1 (its calls row) or its highest
        segment (a later visit is a call_segments row numbered 2, 3 ...)."""

        def read(s: Session) -> int:
            top = s.scalar(select(func.max(t.CallSegmentRow.segment)).where(t.CallSegmentRow.call_uuid == call_uuid))
            if top:
                return int(top)
            return 1 if s.get(t.CallRow, call_uuid) is not None else 0

        return self._read(read)

    def for_caller(self, caller: str, limit: int = 20) -> list[CallRecord]:
        """A caller's most recent calls, newest first."""
        _int("limit", limit, 1, 10_000)
        kind = self._kind
        q = select(t.CallRow).where(t.CallRow.caller == caller).order_by(t.CallRow.started_at.desc()).limit(limit)
        return self._read(lambda s: [kind.from_row(r) for r in s.scalars(q)])


class CallLegRepo(_HistoryRepo):
    """Call legs; scans by start time (filter ``agent_id=`` for an agent's legs)."""

    record = CallLeg
    time_field = "started_at"


@dataclasses.dataclass(frozen=True)
class QueueStats:
    """A queue's figures over a time window, from the queue log."""

    queue: str
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    timed_out: int = 0
    no_agent: int = 0
    full: int = 0
    exit_key: int = 0
    callbacks_requested: int = 0
    answered_within_sl: int = 0
    avg_wait_answered_s: float | None = None
    max_wait_answered_s: float | None = None
    avg_wait_abandoned_s: float | None = None
    completed: int = 0
    talk_s: float = 0.0
    avg_talk_s: float | None = None

    @property
    def service_level(self) -> float | None:
        """Share of offered calls answered within the queue's threshold (None when nothing offered)."""
        return self.answered_within_sl / self.offered if self.offered else None

    @property
    def abandon_rate(self) -> float | None:
        """Share of offered calls the caller abandoned."""
        return self.abandoned / self.offered if self.offered else None


@dataclasses.dataclass(frozen=True)
class AgentStats:
    """An agent's figures over a time window, from the queue log."""

    agent_id: str
    offered: int = 0
    answered: int = 0
    no_answer: int = 0
    rejected: int = 0
    busy: int = 0
    transferred: int = 0
    completed: int = 0
    talk_s: float = 0.0
    avg_talk_s: float | None = None
    avg_wait_answered_s: float | None = None


def _count(event: QueueEventType | tuple[QueueEventType, ...], extra: ColumnElement[bool] | None = None) -> Any:
    events = event if isinstance(event, tuple) else (event,)
    cond: ColumnElement[bool] = t.QueueEventRow.type.in_(events)
    if extra is not None:
        cond = and_(cond, extra)
    return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)


def _avg(event: QueueEventType | tuple[QueueEventType, ...], column: Any) -> Any:
    events = event if isinstance(event, tuple) else (event,)
    return func.avg(case((t.QueueEventRow.type.in_(events), column), else_=None))


_DONE = (QueueEventType.COMPLETE_CALLER, QueueEventType.COMPLETE_AGENT, QueueEventType.TRANSFER)


_WAITED_EXITS = (
    QueueEventType.EXIT_TIMEOUT, QueueEventType.EXIT_NO_AGENT, QueueEventType.EXIT_FULL, QueueEventType.EXIT_KEY,
    QueueEventType.EXIT_OTHER,
)
_FLOAT_FIELDS = {"answered_wait", "wait_sum", "max_wait", "talk", "hold", "wrap", "survey_sum"}
_SLOT_FIELDS = (
    "offered", "answered", "answered_in_sl", "answered_wait", "abandoned", "short_abandoned", "timeouts",
    "no_agent", "full", "exit_key", "other_exits", "callbacks_requested", "callbacks_completed", "callbacks_failed",
    "transfers", "waits", "wait_sum", "max_wait", "handled", "talk", "hold", "wrap", "survey_count", "survey_sum",
)


class QueueEventRepo(_HistoryRepo):
    """The queue log: scans per queue / agent / member and the per-queue / per-agent aggregates."""

    record = QueueEvent

    def for_member(self, member_uuid: str) -> list[QueueEvent]:
        """One member's queue log lines in time order."""
        kind = self._kind
        q = (
            select(t.QueueEventRow)
            .where(t.QueueEventRow.member_uuid == member_uuid)
            .order_by(t.QueueEventRow.at, t.QueueEventRow.id)
        )
        return self._read(lambda s: [kind.from_row(r) for r in s.scalars(q)])

    def queue_report_slots(
        self,
        start: float,
        end: float,
        *,
        tail_s: float = 3600.0,
        queue: str | None = None,
        short_abandon_s: float = 0.0,
        default_sl_threshold_s: float = 20.0,
        wrap_match_s: float = 60.0,
        surveys: bool = True,
    ) -> list[QueueSlot]:
        """The queue report's figures computed in the database, per (queue, UTC slot of SLOT_S seconds).

        Calls are the ENTER events in ``[start, end)`` (of ``queue`` if given); their later events up to
        ``end + tail_s`` count in the slot of their ENTER; survey answers in ``[start, end)`` count in the
        slot of their own time; wrap-up is the agent's next wrap_up span (agent log up to ``end + tail_s``)
        when it began within ``wrap_match_s`` of the call's COMPLETE. Definitions: docs/reports.md. The
        caller merges slots into report intervals (every interval of a zone with 15-minute offsets is a
        union of slots). ``start`` must be >= 0 (epoch). ``surveys=False`` leaves the survey figures out.
        """
        lo, hi = _window(start, end)
        if start < 0:
            raise InvalidValue("start", start, "must be >= 0 for the in-database report")
        _num("tail_s", tail_s)
        _num("short_abandon_s", short_abandon_s)
        tail = to_utc(end + tail_s)
        Q = QueueEventType
        e = t.QueueEventRow

        slot = self._slot
        enters = select(e.member_uuid.label("m"), e.queue.label("queue"), e.at.label("at"),
                        slot(e.at).label("slot")).where(e.type == Q.ENTER, e.at >= lo, e.at < hi)
        if queue is not None:
            enters = enters.where(e.queue == queue)
        calls = enters.cte("calls")
        ev_on = [e.member_uuid == calls.c.m, e.at >= calls.c.at, e.at < tail, e.type != Q.ENTER]
        if queue is not None:
            ev_on.append(e.queue == queue)
        w = func.coalesce(e.wait_s, 0.0)
        live = and_(e.type == Q.CONNECT, func.coalesce(e.detail, "") != "callback")
        threshold = func.coalesce(t.QueueRow.sl_threshold_s, default_sl_threshold_s)
        abandon = and_(e.type == Q.ABANDON, w >= short_abandon_s)
        waited = or_(live, abandon, e.type.in_(_WAITED_EXITS), e.type == Q.CALLBACK_REQUESTED)
        complete = e.type.in_((Q.COMPLETE_CALLER, Q.COMPLETE_AGENT))
        figures = (
            select(
                calls.c.queue, calls.c.slot,
                _flag(live), _flag(and_(live, w <= threshold)), _fsum(live, w),
                _flag(abandon), _flag(and_(e.type == Q.ABANDON, w < short_abandon_s)),
                *(_flag(e.type == x) for x in _WAITED_EXITS),
                _flag(e.type == Q.CALLBACK_REQUESTED), _flag(e.type == Q.CALLBACK_COMPLETED),
                _flag(e.type == Q.CALLBACK_FAILED), _flag(e.type == Q.TRANSFER),
                _flag(waited), _fsum(waited, w), func.max(case((waited, w), else_=None)),
                _flag(complete), _fsum(complete, func.coalesce(e.talk_s, 0.0)),
                _fsum(complete, func.coalesce(e.hold_s, 0.0)),
            )
            .select_from(calls.join(e, and_(*ev_on)).outerjoin(t.QueueRow, t.QueueRow.name == calls.c.queue))
            .group_by(calls.c.queue, calls.c.slot)
        )
        offered = select(calls.c.queue, calls.c.slot, func.count()).group_by(calls.c.queue, calls.c.slot)

        # wrap-up: the agent log's wrap_up spans, each matched with the agent's latest COMPLETE before the
        # span's end (a COMPLETE at the same instant comes after it), used once; see QueueReport._agent_event
        a = t.AgentStateEventRow
        is_wrap = case((a.state == AgentState.WRAP_UP, 1), else_=0)
        marked = (
            select(a.agent_id, a.id, a.at, is_wrap.label("w"),
                   func.lag(is_wrap).over(partition_by=a.agent_id, order_by=(a.at, a.id)).label("pw"))
            .where(a.at >= lo, a.at < tail)
            .subquery()
        )
        edges = (
            select(marked.c.agent_id, marked.c.at, marked.c.w,
                   func.lead(marked.c.at).over(partition_by=marked.c.agent_id,
                                               order_by=(marked.c.at, marked.c.id)).label("nxt"))
            .where(or_(and_(marked.c.w == 1, func.coalesce(marked.c.pw, 0) == 0),
                       and_(marked.c.w == 0, marked.c.pw == 1)))
            .subquery()
        )
        null_s = cast(None, e.queue.type)
        null_i = cast(None, Integer)
        ends = select(edges.c.agent_id.label("agent"), edges.c.nxt.label("at"), literal(0).label("kind"),
                      edges.c.at.label("wstart"), null_s.label("queue"), null_i.label("slot")
                      ).where(edges.c.w == 1, edges.c.nxt.is_not(None))
        done = (
            select(e.agent_id.label("agent"), e.at.label("at"), literal(1).label("kind"), cast(None, e.at.type)
                   .label("wstart"), calls.c.queue, calls.c.slot)
            .select_from(calls.join(e, and_(*ev_on)))
            .where(complete, e.agent_id.is_not(None))
        )
        # every COMPLETE of the agents once more without a queue (any queue, calls entered before the window):
        # another call's end takes the agent's next wrap-up. A window call's own copy sorts after it.
        others = select(e.agent_id.label("agent"), e.at.label("at"), literal(1).label("kind"),
                        cast(None, e.at.type).label("wstart"), null_s.label("queue"), null_i.label("slot")
                        ).where(complete, e.agent_id.is_not(None), e.at >= lo, e.at < tail)
        stream = union_all(ends, done, others).subquery()
        own = case((stream.c.queue.is_(None), 0), else_=1)
        numbered = select(
            stream,
            func.sum(stream.c.kind).over(partition_by=stream.c.agent, order_by=(stream.c.at, stream.c.kind, own),
                                         rows=(None, 0)).label("grp"),
        ).cte("numbered")  # a CTE: read twice below, computed once
        span_ends = select(
            numbered.c.agent, numbered.c.at, numbered.c.wstart, numbered.c.grp,
            func.lag(numbered.c.grp).over(partition_by=numbered.c.agent,
                                          order_by=(numbered.c.at, numbered.c.kind)).label("pgrp"),
        ).where(numbered.c.kind == 0).subquery()
        completes = select(numbered).where(numbered.c.kind == 1).subquery()
        span_s = self._epoch(span_ends.c.at) - self._epoch(span_ends.c.wstart)
        gap = self._epoch(span_ends.c.wstart) - self._epoch(completes.c.at)
        wraps = (
            select(completes.c.queue, completes.c.slot, func.sum(case((span_s > 0, span_s), else_=0.0)))
            .select_from(span_ends.join(completes, and_(completes.c.agent == span_ends.c.agent,
                                                        completes.c.grp == span_ends.c.grp)))
            .where(span_ends.c.grp > func.coalesce(span_ends.c.pgrp, 0), gap <= wrap_match_s, gap >= -wrap_match_s,
                   completes.c.queue.is_not(None))
            .group_by(completes.c.queue, completes.c.slot)
        )

        def run(session: Session) -> list[QueueSlot]:
            out: dict[tuple[str, int], QueueSlot] = {}

            def get(q: str, n: Any) -> QueueSlot:
                key = (q, int(n))
                if key not in out:
                    out[key] = QueueSlot(q, float(int(n) * SLOT_S))
                return out[key]

            for q, n, count in session.execute(offered):
                get(q, n).offered += int(count)
            names = _SLOT_FIELDS[1:21]
            for row in session.execute(figures):
                slot_ = get(row[0], row[1])
                for name, value in zip(names, row[2:], strict=True):
                    if value is not None:
                        value = float(value) if name in _FLOAT_FIELDS else int(value)
                    setattr(slot_, name, value)
                slot_.offered -= slot_.short_abandoned
            for q, n, total in session.execute(wraps):
                get(q, n).wrap += float(total)
            if surveys:
                for q, n, count, total in session.execute(survey_slot_query(slot, lo, hi, queue)):
                    sl = get(q, n)
                    sl.survey_count += int(count)
                    sl.survey_sum += float(total)
            return sorted(out.values(), key=lambda x: (x.slot, x.queue))

        return self._read(run)

    def queue_stats(
        self, start: float, end: float, queue: str | None = None, *, default_sl_threshold_s: float = 20.0
    ) -> list[QueueStats]:
        """Per-queue offered/answered/abandoned/exits, waits and talk in ``[start, end)``, by queue."""
        lo, hi = _window(start, end)
        e = t.QueueEventRow
        threshold = func.coalesce(t.QueueRow.sl_threshold_s, default_sl_threshold_s)
        q = (
            select(
                e.queue,
                _count(QueueEventType.ENTER),
                _count(QueueEventType.CONNECT),
                _count(QueueEventType.ABANDON),
                _count(QueueEventType.EXIT_TIMEOUT),
                _count(QueueEventType.EXIT_NO_AGENT),
                _count(QueueEventType.EXIT_FULL),
                _count(QueueEventType.EXIT_KEY),
                _count(QueueEventType.CALLBACK_REQUESTED),
                _count(QueueEventType.CONNECT, e.wait_s <= threshold),
                _avg(QueueEventType.CONNECT, e.wait_s),
                func.max(case((e.type == QueueEventType.CONNECT, e.wait_s), else_=None)),
                _avg(QueueEventType.ABANDON, e.wait_s),
                _count(_DONE),
                func.coalesce(func.sum(case((e.type.in_(_DONE), e.talk_s), else_=None)), 0.0),
                _avg(_DONE, e.talk_s),
            )
            .outerjoin(t.QueueRow, t.QueueRow.name == e.queue)
            .where(e.at >= lo, e.at < hi)
            .group_by(e.queue)
            .order_by(e.queue)
        )
        if queue is not None:
            q = q.where(e.queue == queue)
        return self._read(lambda s: [QueueStats(*(_plain(v) for v in row)) for row in s.execute(q)])

    def queue_intervals(
        self,
        start: float,
        end: float,
        interval_s: float = 900.0,
        queue: str | None = None,
    ) -> list[tuple[float, list[QueueStats]]]:
        """:meth:`queue_stats` per interval (e.g. 15 minutes) of ``[start, end)``: (interval start, stats)."""
        _window(start, end)
        step = _num("interval_s", interval_s, minimum=60.0)
        if (end - start) / step > 10_000:
            raise InvalidValue("interval_s", interval_s, "more than 10,000 intervals in the window")
        out: list[tuple[float, list[QueueStats]]] = []
        at = start
        while at < end:
            out.append((at, self.queue_stats(at, min(at + step, end), queue)))
            at += step
        return out

    def agent_stats(self, start: float, end: float, agent_id: str | None = None) -> list[AgentStats]:
        """Per-agent offers, answers, misses, talk time in ``[start, end)``, by agent id."""
        lo, hi = _window(start, end)
        e = t.QueueEventRow
        q = (
            select(
                e.agent_id,
                _count(QueueEventType.OFFER),
                _count(QueueEventType.CONNECT),
                _count(QueueEventType.RING_NO_ANSWER),
                _count(QueueEventType.AGENT_REJECT),
                _count(QueueEventType.AGENT_BUSY),
                _count(QueueEventType.TRANSFER),
                _count(_DONE),
                func.coalesce(func.sum(case((e.type.in_(_DONE), e.talk_s), else_=None)), 0.0),
                _avg(_DONE, e.talk_s),
                _avg(QueueEventType.CONNECT, e.wait_s),
            )
            .where(e.at >= lo, e.at < hi, e.agent_id.is_not(None))
            .group_by(e.agent_id)
            .order_by(e.agent_id)
        )
        if agent_id is not None:
            q = q.where(e.agent_id == agent_id)
        return self._read(lambda s: [AgentStats(*(_plain(v) for v in row)) for row in s.execute(q)])


def _plain(value: Any) -> Any:
    """Decimal (PostgreSQL sums/averages) -> int/float, so both backends give the same types."""
    if value is None or isinstance(value, int | float | str):
        return value
    as_float = float(value)
    return int(as_float) if as_float.is_integer() and "." not in str(value) else as_float


class AgentStateEventRepo(_HistoryRepo):
    """Agents' status/state changes: scans, the latest per agent, time spent per status."""

    record = AgentStateEvent

    #: Rows fetched per round trip when agent_report_parts streams a result.
    STREAM_ROWS = 5_000
    #: The queue events the agent report counts.
    COUNTED = (QueueEventType.OFFER, QueueEventType.RING_NO_ANSWER, QueueEventType.AGENT_REJECT,
               QueueEventType.AGENT_BUSY, QueueEventType.TRANSFER, QueueEventType.COMPLETE_CALLER,
               QueueEventType.COMPLETE_AGENT)

    def agent_report_parts(
        self, start: float, end: float, *, cuts: Sequence[float] = (), scan_end: float | None = None,
        lookback_s: float = 86400.0, agent: str | None = None,
    ) -> tuple[Iterator[tuple[str, int, QueueEventType, int, float]], Iterator[tuple[str, int, AgentStateEvent, float]],
               Iterator[tuple[AgentStateEvent, float | None]]]:
        """The agent report's inputs reduced in the database per agent and interval, as three lazy streams.

        ``cuts`` (strictly increasing, inside the window) cut ``[start, end)`` into intervals numbered from 0:
        interval ``k`` runs from ``cuts[k - 1]`` (or ``start``) to ``cuts[k]`` (or ``end``). Returns (counts,
        times, rest): ``counts`` are (agent, k, queue event type, n, hold seconds summed) for the agents' queue
        events in the window; ``times`` are (agent, k, event, seconds): time spent logged in (any status but logged_out)
        within interval k with ``event``'s status, state and reason; ``rest`` are spans (event, next event's
        time or None for an agent's last one) left for the caller to cut (AgentReport.add_parts). Spans run
        between consecutive events (time, id order) of the agent log read over ``[start - lookback_s,
        scan_end)`` (``scan_end`` defaults to ``end``), clipped to the window. Nothing is read until a stream is
        iterated; each reads in its own transaction, STREAM_ROWS rows at a time (a server-side cursor on
        PostgreSQL).

        On PostgreSQL every span is cut at the interval bounds in SQL: ``rest`` is empty. Elsewhere (SQLite)
        only spans lying within one SLOT_S-second UTC slot are summed in SQL, the others come back in
        ``rest``; there ``start`` must be >= 0 and every cut a multiple of SLOT_S.
        """
        lo, hi = _window(start, end)
        _num("lookback_s", lookback_s)
        edges = [float(start), *(_num("cuts", c, minimum=-1e11) for c in cuts), float(end)]
        if any(not b > a for a, b in itertools.pairwise(edges)):
            raise InvalidValue("cuts", list(cuts), f"must increase strictly inside the window [{start}, {end})")
        first = to_utc(start - lookback_s)
        last = to_utc(scan_end if scan_end is not None else end)
        e = t.QueueEventRow
        a = t.AgentStateEventRow
        spans = select(
            a.id, a.at, a.agent_id, a.status, a.state, a.reason,
            func.lead(a.at, type_=a.at.type).over(partition_by=a.agent_id, order_by=(a.at, a.id)).label("nxt"),
        ).where(a.at >= first, a.at < last)
        counted: list[ColumnElement[bool]] = [e.at >= lo, e.at < hi, e.agent_id.is_not(None),
                                              e.type.in_(self.COUNTED)]
        if agent is not None:
            counted.append(e.agent_id == agent)
            spans = spans.where(a.agent_id == agent)
        sp = spans.subquery("spans")
        if self.db.dialect == "postgresql":
            return self._agent_parts_cut(edges, counted, sp)
        if start < 0:
            raise InvalidValue("start", start, "must be >= 0 for the in-database report")
        if any(c % SLOT_S for c in cuts):
            raise InvalidValue("cuts", list(cuts), f"must be multiples of {SLOT_S} s on {self.db.dialect}")
        inner = list(edges[1:-1])
        counts = (
            select(e.agent_id, self._slot(e.at).label("slot"), e.type, func.count(),
                   func.coalesce(func.sum(e.hold_s), 0.0))
            .where(*counted)
            .group_by(e.agent_id, "slot", e.type)
        )
        inside_cond = and_(sp.c.nxt.is_not(None), sp.c.at >= lo, sp.c.nxt <= hi,
                           self._slot(sp.c.at) == self._slot(sp.c.nxt), sp.c.nxt > sp.c.at)
        inside = (
            select(sp.c.agent_id, self._slot(sp.c.at).label("slot"), sp.c.status, sp.c.state, sp.c.reason,
                   func.sum(self._epoch(sp.c.nxt) - self._epoch(sp.c.at)))
            .where(inside_cond, sp.c.status != AgentStatus.LOGGED_OUT)
            .group_by(sp.c.agent_id, "slot", sp.c.status, sp.c.state, sp.c.reason)
        )
        rest = select(sp).where(~inside_cond, or_(sp.c.nxt.is_(None), sp.c.nxt > lo))
        kind = self._kind
        event = self._events()

        def interval(slot: Any) -> int:  # every cut is a slot boundary: a slot lies in one interval
            return bisect.bisect_right(inner, int(slot) * SLOT_S)

        return (
            self._stream(counts, lambda r: (r[0], interval(r[1]), r[2], int(r[3]), float(r[4]))),
            self._stream(inside, lambda r: (r[0], interval(r[1]), event(r[0], r[2], r[3], r[4]), float(r[5]))),
            self._stream(rest, lambda r: (kind.from_row(r), None if r.nxt is None else to_epoch(r.nxt))),
        )

    def _agent_parts_cut(
        self, edges: Sequence[float], counted: Sequence[ColumnElement[bool]], sp: Any,
    ) -> tuple[Iterator[tuple[str, int, QueueEventType, int, float]], Iterator[tuple[str, int, AgentStateEvent, float]],
               Iterator[tuple[AgentStateEvent, float | None]]]:
        """PostgreSQL: counts and span time per interval, every span cut at the interval bounds in SQL.

        ``width_bucket`` finds the intervals holding a span's first and last instants (the bounds as one
        timestamptz array), ``generate_series`` repeats the span once per interval it touches, and each copy
        counts its overlap with its interval; summed as intervals (exact to the microsecond).
        """
        e = t.QueueEventRow
        ts = t.AgentStateEventRow.at.type
        bounds = literal([to_utc(x) for x in edges], ARRAY(ts))
        lo, hi = literal(to_utc(edges[0]), ts), literal(to_utc(edges[-1]), ts)
        counts = (
            select(e.agent_id, func.width_bucket(e.at, bounds, type_=Integer).label("k"), e.type, func.count(),
                   func.coalesce(func.sum(e.hold_s), 0.0))
            .where(*counted)
            .group_by(e.agent_id, "k", e.type)
        )
        s = func.greatest(sp.c.at, lo, type_=ts)
        end = func.least(func.coalesce(sp.c.nxt, hi, type_=ts), hi, type_=ts)  # an agent's last span: to the end
        final = end - literal(datetime.timedelta(microseconds=1), Interval())  # the span's last instant
        k = func.generate_series(func.width_bucket(s, bounds, type_=Integer),
                                 func.width_bucket(final, bounds, type_=Integer), type_=Integer)
        pieces = (
            select(sp.c.agent_id, sp.c.status, sp.c.state, sp.c.reason, s.label("s"), end.label("e"), k.label("k"))
            .where(sp.c.status != AgentStatus.LOGGED_OUT, end > s)
            .subquery("pieces")
        )
        p = pieces.c
        b = Grouping(bounds)  # (array)[k]; PostgreSQL arrays count from 1
        seconds = func.least(p.e, b[p.k + 1], type_=ts) - func.greatest(p.s, b[p.k], type_=ts)
        times = (
            select(p.agent_id, p.k, p.status, p.state, p.reason, extract("epoch", func.sum(seconds)))
            .group_by(p.agent_id, p.k, p.status, p.state, p.reason)
        )
        none: tuple[tuple[AgentStateEvent, float | None], ...] = ()
        event = self._events()
        return (
            self._stream(counts, lambda r: (r[0], int(r[1]) - 1, r[2], int(r[3]), float(r[4]))),
            self._stream(times, lambda r: (r[0], int(r[1]) - 1, event(r[0], r[2], r[3], r[4]), float(r[5]))),
            iter(none),
        )

    @staticmethod
    def _events() -> Callable[[str, AgentStatus, AgentState, str | None], AgentStateEvent]:
        """(agent, status, state, reason) -> an event saying so, one shared per combination (rows repeat them)."""
        made: dict[tuple[str, AgentStatus, AgentState, str | None], AgentStateEvent] = {}

        def event(agent: str, status: AgentStatus, state: AgentState, reason: str | None) -> AgentStateEvent:
            key = (agent, status, state, reason)
            ev = made.get(key)
            if ev is None:
                ev = made[key] = AgentStateEvent("", 0.0, agent, status, state, reason)
            return ev

        return event

    def _stream(self, q: Any, convert: Callable[[Any], T]) -> Iterator[T]:
        """The rows of ``q``, converted, read lazily STREAM_ROWS at a time in one transaction (Core rows)."""
        with _db_errors("row", None), self.db.sessions() as session:
            conn = session.connection()
            if self.db.dialect == "postgresql":
                # A server-side cursor read to its end: plan for all rows. The planner guesses 1000 rows per
                # generate_series call and cannot know how few groups there are (agents x intervals x states): it
                # would sort millions of rows and JIT-compile for a second where hashing them is right.
                settings = {"cursor_tuple_fraction": "1", "enable_sort": "off", "jit": "off"}
                conn.execute(select(*(func.set_config(k, v, True) for k, v in settings.items())))
            for rows in conn.execute(q.execution_options(yield_per=self.STREAM_ROWS)).partitions():
                for r in rows:
                    yield convert(r)

    def latest(self, agent_id: str) -> AgentStateEvent | None:
        """An agent's most recent event (to restore state after a restart), or None."""
        kind = self._kind
        e = t.AgentStateEventRow
        q = select(e).where(e.agent_id == agent_id).order_by(e.at.desc(), e.id.desc()).limit(1)
        rows = self._read(lambda s: list(s.scalars(q)))
        return kind.from_row(rows[0]) if rows else None

    def latest_all(self) -> dict[str, AgentStateEvent]:
        """The most recent event of every agent, by agent id."""
        kind = self._kind
        e = t.AgentStateEventRow
        last = select(e.agent_id, func.max(e.at).label("at")).group_by(e.agent_id).subquery()
        q = select(e).join(last, and_(e.agent_id == last.c.agent_id, e.at == last.c.at)).order_by(e.id)
        out: dict[str, AgentStateEvent] = {}
        for row in self._read(lambda s: list(s.scalars(q))):
            out[row.agent_id] = kind.from_row(row)
        return out

    def time_in_status(self, agent_id: str, start: float, end: float) -> dict[AgentStatus, float]:
        """Seconds the agent spent in each status within ``[start, end)`` (streamed over the events)."""
        lo, _ = _window(start, end)
        e = t.AgentStateEventRow
        q = select(e).where(e.agent_id == agent_id, e.at < lo).order_by(e.at.desc(), e.id.desc()).limit(1)
        before = self._read(lambda s: list(s.scalars(q)))
        status = before[0].status if before else AgentStatus.LOGGED_OUT
        since = start
        out: dict[AgentStatus, float] = {}
        for ev in self.scan(start, end, agent_id=agent_id):
            out[status] = out.get(status, 0.0) + (ev.at - since)
            status, since = ev.status, ev.at
        out[status] = out.get(status, 0.0) + (end - since)
        return {k: v for k, v in out.items() if v > 0}


class RecordingRepo(_HistoryRepo):
    """Recordings: by call, by start time."""

    record = RecordingRecord
    time_field = "started_at"

    def for_call(self, call_uuid: str) -> list[RecordingRecord]:
        """A call's recordings in the order they started."""
        kind = self._kind
        q = (
            select(t.RecordingRow)
            .where(t.RecordingRow.call_uuid == call_uuid)
            .order_by(t.RecordingRow.started_at, t.RecordingRow.uuid)
        )
        return self._read(lambda s: [kind.from_row(r) for r in s.scalars(q)])


@dataclasses.dataclass(frozen=True)
class SurveyStats:
    """Answers to one survey question for one agent or queue over a window."""

    key: str | None
    question: str
    answers: int
    avg_score: float


class SurveyRepo(_HistoryRepo):
    """Post-call survey answers: scans and average scores per agent or queue."""

    record = SurveyResult

    def averages(self, start: float, end: float, *, by: str = "agent", survey: str | None = None) -> list[SurveyStats]:
        """Average score per (agent|queue, question) in ``[start, end)``."""
        if by not in ("agent", "queue"):
            raise InvalidValue("by", by, "must be agent or queue")
        lo, hi = _window(start, end)
        r = t.SurveyResultRow
        key = r.agent_id if by == "agent" else r.queue
        q = (
            select(key, r.question, func.count(), func.avg(r.score))
            .where(r.at >= lo, r.at < hi)
            .group_by(key, r.question)
            .order_by(key, r.question)
        )
        if survey is not None:
            q = q.where(r.survey == survey)
        return self._read(lambda s: [SurveyStats(k, qn, int(n), float(a)) for k, qn, n, a in s.execute(q)])


class Repos:
    """Every repository over one Database (what the composition root hands out)."""

    def __init__(self, db: Database, *, default_region: str | None = None) -> None:
        self.db = db
        self.agents = AgentRepo(db)
        self.queues = QueueRepo(db)
        self.tiers = TierRepo(db)
        self.skills = SkillRepo(db)
        self.teams = TeamRepo(db)
        self.flow_routes = FlowRouteRepo(db)
        self.calendars = CalendarRepo(db)
        self.customers = CustomerRepo(db, default_region=default_region)
        self.interactions = InteractionRepo(db)
        self.calls = CallRepo(db)
        self.call_legs = CallLegRepo(db)
        self.queue_events = QueueEventRepo(db)
        self.queue_calls = QueueCallRepo(db)
        self.agent_state_events = AgentStateEventRepo(db)
        self.recordings = RecordingRepo(db)
        self.surveys = SurveyRepo(db)
