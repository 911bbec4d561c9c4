"""The database schema: typed SQLAlchemy 2 declarative models (configuration, history, CRM).

Rows never leave cc/store: repositories map them to the dataclasses of cc.model. Timestamps are
stored as UTC and always come back timezone-aware (also on SQLite, which keeps no zone). Enumerated
columns are non-native Enums with CHECK constraints, so no column holds free text where a fixed set
of values is meant. History tables carry the producer's id as primary key (the writer's idempotent
key) and no foreign keys, so that records may arrive in any order; they are indexed for time-window
scans per queue and per agent.
"""

from __future__ import annotations

import datetime
import enum
from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    DDL,
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    Time,
    event,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from cc.model import (
    AgentState,
    AgentStatus,
    CallDirection,
    InteractionKind,
    QueueEventType,
    RecordPolicy,
    Strategy,
)

__all__ = [
    "HISTORY_TABLES",
    "MIGRATION_ONLY_INDEXES",
    "NAME_GRAMS_SQL",
    "PG_SEARCH_INDEXES",
    "AgentRow",
    "AgentSkillRow",
    "AgentStateEventRow",
    "Base",
    "CalendarHoursRow",
    "CalendarRow",
    "CallLegRow",
    "CallRow",
    "CallSegmentRow",
    "CustomerFieldRow",
    "CustomerPhoneRow",
    "CustomerRow",
    "CustomerTypeRow",
    "FlowRouteRow",
    "HolidayRow",
    "InteractionRow",
    "OrgKind",
    "QueueCallRow",
    "QueueEventRow",
    "QueueRow",
    "RecordingRow",
    "SkillRow",
    "SurveyResultRow",
    "TeamRow",
    "TierRow",
    "UTCDateTime",
    "compared_on",
]

#: Constraint names are deterministic so that migrations can drop and alter them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ID = 64  # length of ids, names and UUID columns
NAME = 128
TEXT = 1024


class UTCDateTime(TypeDecorator[datetime.datetime]):
    """A timestamp stored as UTC that always comes back timezone-aware (UTC), SQLite included."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime.datetime | None,
                           dialect: Dialect) -> datetime.datetime | None:
        """Refuse naive datetimes; convert aware ones to UTC (naive UTC for SQLite)."""
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: cc stores timezone-aware UTC only")
        value = value.astimezone(datetime.UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime.datetime | None,
                             dialect: Dialect) -> datetime.datetime | None:
        """Attach UTC to what SQLite returns naive; normalize other zones to UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=datetime.UTC)
        return value.astimezone(datetime.UTC)


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    """A non-native Enum stored by value with a CHECK constraint named after ``name``."""
    return Enum(cls, name=name, native_enum=False, create_constraint=True, length=32,
                values_callable=lambda e: [m.value for m in e], validate_strings=True)


class Base(DeclarativeBase):
    """Declarative base of every cc table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: dict[Any, Any] = {datetime.datetime: UTCDateTime()}


# --------------------------------------------------------------------------- configuration


class OrgKind(enum.StrEnum):
    """What an org unit is: a department (holds units) or a team (holds agents); both may nest."""

    DEPARTMENT = "department"
    TEAM = "team"


class TeamRow(Base):
    """An org unit: a team of agents or a department, in one tree of any depth (``parent``; None: a top unit).

    The table keeps its historic name ``teams`` so that ``agents.team`` keeps naming an agent's unit.
    """

    __tablename__ = "teams"

    name: Mapped[str] = mapped_column(String(NAME), primary_key=True)
    description: Mapped[str] = mapped_column(String(TEXT), default="")
    parent: Mapped[str | None] = mapped_column(
        String(NAME), ForeignKey("teams.name", ondelete="RESTRICT"), index=True)
    kind: Mapped[OrgKind] = mapped_column(_enum(OrgKind, "kind"), default=OrgKind.TEAM, server_default="team")


class AgentRow(Base):
    """An agent's configuration."""

    __tablename__ = "agents"
    __table_args__ = (
        CheckConstraint("max_no_answer >= 0", name="max_no_answer"),
        CheckConstraint("wrap_up_s >= 0 AND reject_delay_s >= 0 AND busy_delay_s >= 0 "
                        "AND no_answer_delay_s >= 0", name="delays"),
    )

    id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME), default="")
    contact: Mapped[str] = mapped_column(String(TEXT), default="")
    team: Mapped[str | None] = mapped_column(
        String(NAME), ForeignKey("teams.name", ondelete="SET NULL"), index=True)
    max_no_answer: Mapped[int] = mapped_column(Integer, default=3)
    wrap_up_s: Mapped[float] = mapped_column(Float, default=10.0)
    reject_delay_s: Mapped[float] = mapped_column(Float, default=10.0)
    busy_delay_s: Mapped[float] = mapped_column(Float, default=60.0)
    no_answer_delay_s: Mapped[float] = mapped_column(Float, default=30.0)


class SkillRow(Base):
    """A skill agents can have."""

    __tablename__ = "skills"

    name: Mapped[str] = mapped_column(String(NAME), primary_key=True)
    description: Mapped[str] = mapped_column(String(TEXT), default="")


class AgentSkillRow(Base):
    """An agent's proficiency (1-10) in a skill."""

    __tablename__ = "agent_skills"
    __table_args__ = (CheckConstraint("proficiency BETWEEN 1 AND 10", name="proficiency"),)

    agent_id: Mapped[str] = mapped_column(
        String(ID), ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True)
    skill: Mapped[str] = mapped_column(
        String(NAME), ForeignKey("skills.name", ondelete="CASCADE"), primary_key=True, index=True)
    proficiency: Mapped[int] = mapped_column(Integer)


class QueueRow(Base):
    """A queue's configuration."""

    __tablename__ = "queues"
    __table_args__ = (
        CheckConstraint("max_len IS NULL OR max_len >= 0", name="max_len"),
        CheckConstraint("offer_timeout_s > 0", name="offer_timeout"),
        CheckConstraint("sl_threshold_s >= 0", name="sl_threshold"),
    )

    name: Mapped[str] = mapped_column(String(NAME), primary_key=True)
    strategy: Mapped[Strategy] = mapped_column(_enum(Strategy, "strategy"))
    moh: Mapped[str] = mapped_column(String(TEXT))
    announce_position: Mapped[bool] = mapped_column(Boolean)
    announce_interval_s: Mapped[float] = mapped_column(Float)
    announce_prompt: Mapped[str | None] = mapped_column(String(TEXT))
    max_wait_s: Mapped[float | None] = mapped_column(Float)
    max_wait_no_agent_s: Mapped[float | None] = mapped_column(Float)
    max_len: Mapped[int | None] = mapped_column(Integer)
    offer_timeout_s: Mapped[float] = mapped_column(Float)
    wrap_up_s: Mapped[float | None] = mapped_column(Float)
    sl_threshold_s: Mapped[float] = mapped_column(Float)
    priority_weight: Mapped[float] = mapped_column(Float)
    tier_rules_apply: Mapped[bool] = mapped_column(Boolean)
    tier_rule_wait_s: Mapped[float] = mapped_column(Float)
    tier_rule_wait_multiply_level: Mapped[bool] = mapped_column(Boolean)
    tier_rule_no_agent_no_wait: Mapped[bool] = mapped_column(Boolean)
    record_policy: Mapped[RecordPolicy] = mapped_column(_enum(RecordPolicy, "record_policy"))
    record_template: Mapped[str] = mapped_column(String(TEXT))
    overflow_target: Mapped[str | None] = mapped_column(String(TEXT))
    record_notice: Mapped[str | None] = mapped_column(String(TEXT))


class TierRow(Base):
    """An agent's membership of a queue (level, position)."""

    __tablename__ = "tiers"
    __table_args__ = (CheckConstraint("level >= 1 AND position >= 1", name="level_position"),)

    agent_id: Mapped[str] = mapped_column(
        String(ID), ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True)
    queue: Mapped[str] = mapped_column(
        String(NAME), ForeignKey("queues.name", ondelete="CASCADE"), primary_key=True, index=True)
    level: Mapped[int] = mapped_column(Integer, default=1)
    position: Mapped[int] = mapped_column(Integer, default=1)


class FlowRouteRow(Base):
    """A number (DNIS) and the flow file that answers it."""

    __tablename__ = "flow_routes"

    number: Mapped[str] = mapped_column(String(NAME), primary_key=True)
    flow: Mapped[str] = mapped_column(String(TEXT))
    description: Mapped[str] = mapped_column(String(TEXT), default="")


class CalendarRow(Base):
    """A business-hours calendar."""

    __tablename__ = "calendars"

    name: Mapped[str] = mapped_column(String(NAME), primary_key=True)
    timezone: Mapped[str] = mapped_column(String(NAME))


class CalendarHoursRow(Base):
    """One opening span of a calendar on a weekday (local time)."""

    __tablename__ = "calendar_hours"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),
        CheckConstraint("opens < closes", name="span"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    calendar: Mapped[str] = mapped_column(
        String(NAME), ForeignKey("calendars.name", ondelete="CASCADE"), index=True)
    weekday: Mapped[int] = mapped_column(Integer)
    opens: Mapped[datetime.time] = mapped_column(Time)
    closes: Mapped[datetime.time] = mapped_column(Time)


class HolidayRow(Base):
    """A day a calendar is closed."""

    __tablename__ = "holidays"

    calendar: Mapped[str] = mapped_column(
        String(NAME), ForeignKey("calendars.name", ondelete="CASCADE"), primary_key=True)
    date: Mapped[datetime.date] = mapped_column(Date, primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME), default="")


# --------------------------------------------------------------------------- history (append-only)


class CallRow(Base):
    """One row per call."""

    __tablename__ = "calls"
    __table_args__ = (Index("ix_calls_caller_started", "caller", "started_at"),)

    uuid: Mapped[str] = mapped_column(String(ID), primary_key=True)
    direction: Mapped[CallDirection] = mapped_column(_enum(CallDirection, "direction"))
    caller: Mapped[str] = mapped_column(String(NAME))
    callee: Mapped[str] = mapped_column(String(NAME))
    node: Mapped[str] = mapped_column(String(NAME), default="")
    started_at: Mapped[datetime.datetime] = mapped_column(index=True)
    answered_at: Mapped[datetime.datetime | None]
    ended_at: Mapped[datetime.datetime | None]
    hangup_cause: Mapped[str | None] = mapped_column(String(NAME))
    flow: Mapped[str | None] = mapped_column(String(TEXT))
    disposition: Mapped[str | None] = mapped_column(String(NAME))
    recording_refused: Mapped[str | None] = mapped_column(String(NAME))


class CallSegmentRow(Base):
    """A later segment of a call that came back under the same channel UUID."""

    __tablename__ = "call_segments"

    id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    call_uuid: Mapped[str] = mapped_column(String(ID), index=True)
    segment: Mapped[int] = mapped_column(Integer)
    caller: Mapped[str] = mapped_column(String(NAME))
    callee: Mapped[str] = mapped_column(String(NAME))
    node: Mapped[str] = mapped_column(String(NAME), default="")
    started_at: Mapped[datetime.datetime] = mapped_column(index=True)
    answered_at: Mapped[datetime.datetime | None]
    ended_at: Mapped[datetime.datetime | None]
    hangup_cause: Mapped[str | None] = mapped_column(String(NAME))
    flow: Mapped[str | None] = mapped_column(String(TEXT))
    disposition: Mapped[str | None] = mapped_column(String(NAME))


class CallLegRow(Base):
    """One channel of a call."""

    __tablename__ = "call_legs"
    __table_args__ = (Index("ix_call_legs_agent_started", "agent_id", "started_at"),)

    uuid: Mapped[str] = mapped_column(String(ID), primary_key=True)
    call_uuid: Mapped[str] = mapped_column(String(ID), index=True)
    role: Mapped[str] = mapped_column(String(32))
    dial_string: Mapped[str] = mapped_column(String(TEXT))
    started_at: Mapped[datetime.datetime] = mapped_column(index=True)
    answered_at: Mapped[datetime.datetime | None]
    ended_at: Mapped[datetime.datetime | None]
    hangup_cause: Mapped[str | None] = mapped_column(String(NAME))
    agent_id: Mapped[str | None] = mapped_column(String(ID))


class QueueEventRow(Base):
    """One line of the queue log."""

    __tablename__ = "queue_events"
    __table_args__ = (
        Index("ix_queue_events_queue_at", "queue", "at"),
        Index("ix_queue_events_agent_at", "agent_id", "at"),
        Index("ix_queue_events_type_at", "type", "at", "queue"),  # ENTER lines per slot: an index-only scan
    )

    id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    at: Mapped[datetime.datetime] = mapped_column(index=True)
    queue: Mapped[str] = mapped_column(String(NAME))
    member_uuid: Mapped[str] = mapped_column(String(ID), index=True)
    type: Mapped[QueueEventType] = mapped_column(_enum(QueueEventType, "type"))
    agent_id: Mapped[str | None] = mapped_column(String(ID))
    wait_s: Mapped[float | None] = mapped_column(Float)
    talk_s: Mapped[float | None] = mapped_column(Float)
    detail: Mapped[str] = mapped_column(String(TEXT), default="")
    hold_s: Mapped[float | None] = mapped_column(Float)


class QueueCallRow(Base):
    """One stay of a call in a queue, summed up (cc.model.QueueCall): the queue report's unit."""

    __tablename__ = "queue_calls"
    __table_args__ = (Index("ix_queue_calls_queue_entered", "queue", "entered_at"),)

    id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    entered_at: Mapped[datetime.datetime] = mapped_column(index=True)
    queue: Mapped[str] = mapped_column(String(NAME))
    member_uuid: Mapped[str] = mapped_column(String(ID), index=True)
    outcome: Mapped[str] = mapped_column(String(32), default="")
    agent_id: Mapped[str | None] = mapped_column(String(ID))
    answered: Mapped[int] = mapped_column(Integer, default=0)
    answer_wait_s: Mapped[float | None] = mapped_column(Float)
    abandon_wait_s: Mapped[float | None] = mapped_column(Float)
    waits: Mapped[int] = mapped_column(Integer, default=0)
    wait_sum: Mapped[float] = mapped_column(Float, default=0.0)
    max_wait_s: Mapped[float | None] = mapped_column(Float)
    handled: Mapped[int] = mapped_column(Integer, default=0)
    talk_s: Mapped[float] = mapped_column(Float, default=0.0)
    hold_s: Mapped[float] = mapped_column(Float, default=0.0)
    wrap_s: Mapped[float] = mapped_column(Float, default=0.0)
    transfers: Mapped[int] = mapped_column(Integer, default=0)
    callbacks_requested: Mapped[int] = mapped_column(Integer, default=0)
    callbacks_completed: Mapped[int] = mapped_column(Integer, default=0)
    callbacks_failed: Mapped[int] = mapped_column(Integer, default=0)
    ended_at: Mapped[datetime.datetime | None]


class AgentStateEventRow(Base):
    """An agent's status/state change."""

    __tablename__ = "agent_state_events"
    __table_args__ = (Index("ix_agent_state_events_agent_at", "agent_id", "at"),)

    id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    at: Mapped[datetime.datetime] = mapped_column(index=True)
    agent_id: Mapped[str] = mapped_column(String(ID))
    status: Mapped[AgentStatus] = mapped_column(_enum(AgentStatus, "status"))
    state: Mapped[AgentState] = mapped_column(_enum(AgentState, "state"))
    reason: Mapped[str | None] = mapped_column(String(NAME))


class RecordingRow(Base):
    """A closed recording file."""

    __tablename__ = "recordings"
    __table_args__ = (
        CheckConstraint("size_bytes IS NULL OR size_bytes >= 0", name="size"),
    )

    uuid: Mapped[str] = mapped_column(String(ID), primary_key=True)
    call_uuid: Mapped[str] = mapped_column(String(ID), index=True)
    path: Mapped[str] = mapped_column(String(TEXT))
    started_at: Mapped[datetime.datetime] = mapped_column(index=True)
    stopped_at: Mapped[datetime.datetime | None]
    duration_s: Mapped[float | None] = mapped_column(Float)
    paused_spans: Mapped[list[list[float]]] = mapped_column(JSON, default=list)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))


class SurveyResultRow(Base):
    """A caller's answer to a survey question."""

    __tablename__ = "survey_results"
    __table_args__ = (
        Index("ix_survey_results_survey_at", "survey", "at"),
        Index("ix_survey_results_agent_at", "agent_id", "at"),
        Index("ix_survey_results_queue_at", "queue", "at"),
    )

    id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    at: Mapped[datetime.datetime] = mapped_column(index=True)
    call_uuid: Mapped[str] = mapped_column(String(ID), index=True)
    survey: Mapped[str] = mapped_column(String(NAME))
    question: Mapped[str] = mapped_column(String(NAME))
    score: Mapped[int] = mapped_column(Integer)
    agent_id: Mapped[str | None] = mapped_column(String(ID))
    queue: Mapped[str | None] = mapped_column(String(NAME))


# --------------------------------------------------------------------------- CRM


class CustomerTypeRow(Base):
    """A kind of customer (意向客户 interested, 多次跟踪 follow-up, 成单 sale, 会员 member ...), configurable."""

    __tablename__ = "customer_types"

    code: Mapped[str] = mapped_column(String(NAME), primary_key=True)
    label_zh: Mapped[str] = mapped_column(String(NAME), default="")
    label_en: Mapped[str] = mapped_column(String(NAME), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)


class CustomerRow(Base):
    """A customer."""

    __tablename__ = "customers"
    #: the list's order (name, id): a page by name walks it and stops at the page's end
    __table_args__ = (Index("ix_customers_name_id", "name", "id"),)

    id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME), default="")
    email: Mapped[str | None] = mapped_column(String(NAME))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime.datetime]
    customer_type: Mapped[str | None] = mapped_column(
        String(NAME), ForeignKey("customer_types.code", ondelete="SET NULL"), index=True)
    #: the agent who looks after the customer (the CRM's owner filter); his customers stay when he goes
    owner_agent_id: Mapped[str | None] = mapped_column(
        String(ID), ForeignKey("agents.id", ondelete="SET NULL"), index=True)
    #: the admin's custom fields (customer_fields): key -> str | float (number) | ISO date string
    fields: Mapped[dict[str, Any] | None] = mapped_column(JSON)


#: The GIN indexes of the CRM search, on PostgreSQL only (revision 0010_crm; SQLite searches by scanning):
#: the numbers' trigrams (pg_trgm; LIKE '%digits%') and every 1- and 2-character piece of the lower-cased name
#: (cc_name_grams(), an immutable SQL function of the revision: a name query of any length, CJK included).
PG_SEARCH_INDEXES = ("ix_customer_phones_number_trgm", "ix_customers_name_grams")
#: made by the migration only when the pg_trgm extension could be had (its operator class named with the
#: extension's schema), so the models do not declare it and no comparison expects it
MIGRATION_ONLY_INDEXES = ("ix_customer_phones_number_trgm",)

#: cc_name_grams(): the same function revision 0010_crm creates, made before ``customers`` when the schema is
#: built from these models (tests, ``create_all``) so that its index and the name search work there too
NAME_GRAMS_SQL = """
CREATE OR REPLACE FUNCTION cc_name_grams(name text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT coalesce(array_agg(DISTINCT g), '{}'::text[]) FROM (
    SELECT substr(lower(name), i, 1) AS g FROM generate_series(1, char_length(name)) AS i
    UNION ALL
    SELECT substr(lower(name), i, 2) FROM generate_series(1, char_length(name) - 1) AS i) AS grams
$$
"""


def compared_on(dialect: str) -> Callable[[Any, str | None, str, bool, Any], bool]:
    """An alembic ``include_object`` for comparing the models with a ``dialect`` database: the PostgreSQL-only
    search indexes (PG_SEARCH_INDEXES) are left out elsewhere, and the one the migration makes only when it can
    (MIGRATION_ONLY_INDEXES) everywhere."""

    def include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        if type_ != "index":
            return True
        if name in MIGRATION_ONLY_INDEXES:
            return False
        return not (name in PG_SEARCH_INDEXES and dialect != "postgresql")

    return include


class CustomerFieldRow(Base):
    """A custom field of customers, defined by the admin (ccctl customer-field): its key in customers.fields,
    labels, type (text, number, date, choice), the choices of a choice, whether it is required, its place."""

    __tablename__ = "customer_fields"
    __table_args__ = (CheckConstraint("type IN ('text', 'number', 'date', 'choice')", name="type"),)

    key: Mapped[str] = mapped_column(String(ID), primary_key=True)
    label_zh: Mapped[str] = mapped_column(String(NAME), default="")
    label_en: Mapped[str] = mapped_column(String(NAME), default="")
    type: Mapped[str] = mapped_column(String(16))
    choices: Mapped[list[str]] = mapped_column(JSON, default=list)
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)


class CustomerPhoneRow(Base):
    """One E.164 number of a customer; the unique index on ``number`` makes caller lookup O(log n) and keeps a
    number to one customer only."""

    __tablename__ = "customer_phones"

    customer_id: Mapped[str] = mapped_column(
        String(ID), ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True)
    number: Mapped[str] = mapped_column(String(32), primary_key=True, index=True, unique=True)
    label: Mapped[str] = mapped_column(String(NAME), default="")


event.listen(CustomerRow.__table__, "before_create",
             DDL(NAME_GRAMS_SQL).execute_if(dialect="postgresql"))  # type: ignore[no-untyped-call]
Index("ix_customers_name_grams", func.cc_name_grams(CustomerRow.name), postgresql_using="gin").ddl_if(
    dialect="postgresql")


class InteractionRow(Base):
    """A contact with a customer (append-only; written by the writer or the CRM)."""

    __tablename__ = "interactions"
    __table_args__ = (
        Index("ix_interactions_customer_at", "customer_id", "at"),
        Index("ix_interactions_agent_at", "agent_id", "at"),
        Index("ix_interactions_kind_at", "kind", "at"),   # the callback reminders' read
    )

    id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    at: Mapped[datetime.datetime] = mapped_column(index=True)
    kind: Mapped[InteractionKind] = mapped_column(_enum(InteractionKind, "kind"))
    customer_id: Mapped[str | None] = mapped_column(String(ID))
    agent_id: Mapped[str | None] = mapped_column(String(ID))
    call_uuid: Mapped[str | None] = mapped_column(String(ID), index=True)
    queue: Mapped[str | None] = mapped_column(String(NAME))
    disposition: Mapped[str | None] = mapped_column(String(NAME))
    note: Mapped[str] = mapped_column(Text, default="")


#: The append-only tables the writer inserts into, keyed by table name.
HISTORY_TABLES: dict[str, type[Base]] = {
    cls.__tablename__: cls
    for cls in (CallRow, CallSegmentRow, CallLegRow, QueueEventRow, QueueCallRow, AgentStateEventRow, RecordingRow,
                SurveyResultRow, InteractionRow)
}
