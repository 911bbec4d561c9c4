"""initial schema: configuration, history, CRM

Revision ID: 0001
Revises:
Create Date: 2026-11-23 11:12:05.086633
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agent_state_events",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "logged_out",
                "available",
                "available_on_demand",
                "on_break",
                name="status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "state",
            sa.Enum(
                "idle",
                "reserved",
                "ringing",
                "in_call",
                "wrap_up",
                name="state",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("reason", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_state_events")),
    )
    with op.batch_alter_table("agent_state_events", schema=None) as batch_op:
        batch_op.create_index("ix_agent_state_events_agent_at", ["agent_id", "at"], unique=False)
        batch_op.create_index(batch_op.f("ix_agent_state_events_at"), ["at"], unique=False)

    op.create_table(
        "calendars",
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("timezone", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_calendars")),
    )
    op.create_table(
        "call_legs",
        sa.Column("uuid", sa.String(length=64), nullable=False),
        sa.Column("call_uuid", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("dial_string", sa.String(length=1024), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("hangup_cause", sa.String(length=128), nullable=True),
        sa.Column("agent_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("uuid", name=op.f("pk_call_legs")),
    )
    with op.batch_alter_table("call_legs", schema=None) as batch_op:
        batch_op.create_index("ix_call_legs_agent_started", ["agent_id", "started_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_call_legs_call_uuid"), ["call_uuid"], unique=False)
        batch_op.create_index(batch_op.f("ix_call_legs_started_at"), ["started_at"], unique=False)

    op.create_table(
        "calls",
        sa.Column("uuid", sa.String(length=64), nullable=False),
        sa.Column(
            "direction",
            sa.Enum(
                "inbound", "outbound", name="direction", native_enum=False, create_constraint=True, length=32
            ),
            nullable=False,
        ),
        sa.Column("caller", sa.String(length=128), nullable=False),
        sa.Column("callee", sa.String(length=128), nullable=False),
        sa.Column("node", sa.String(length=128), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("hangup_cause", sa.String(length=128), nullable=True),
        sa.Column("flow", sa.String(length=1024), nullable=True),
        sa.Column("disposition", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint("uuid", name=op.f("pk_calls")),
    )
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.create_index("ix_calls_caller_started", ["caller", "started_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_calls_started_at"), ["started_at"], unique=False)

    op.create_table(
        "customers",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("email", sa.String(length=128), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
    )
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_customers_name"), ["name"], unique=False)

    op.create_table(
        "flow_routes",
        sa.Column("number", sa.String(length=128), nullable=False),
        sa.Column("flow", sa.String(length=1024), nullable=False),
        sa.Column("description", sa.String(length=1024), nullable=False),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_flow_routes")),
    )
    op.create_table(
        "interactions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "call",
                "note",
                "email",
                "callback",
                name="kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("customer_id", sa.String(length=64), nullable=True),
        sa.Column("agent_id", sa.String(length=64), nullable=True),
        sa.Column("call_uuid", sa.String(length=64), nullable=True),
        sa.Column("queue", sa.String(length=128), nullable=True),
        sa.Column("disposition", sa.String(length=128), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interactions")),
    )
    with op.batch_alter_table("interactions", schema=None) as batch_op:
        batch_op.create_index("ix_interactions_agent_at", ["agent_id", "at"], unique=False)
        batch_op.create_index(batch_op.f("ix_interactions_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_interactions_call_uuid"), ["call_uuid"], unique=False)
        batch_op.create_index("ix_interactions_customer_at", ["customer_id", "at"], unique=False)

    op.create_table(
        "queue_events",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("queue", sa.String(length=128), nullable=False),
        sa.Column("member_uuid", sa.String(length=64), nullable=False),
        sa.Column(
            "type",
            sa.Enum(
                "ENTER",
                "OFFER",
                "RING_NO_ANSWER",
                "AGENT_BUSY",
                "AGENT_REJECT",
                "CONNECT",
                "ABANDON",
                "COMPLETE_CALLER",
                "COMPLETE_AGENT",
                "TRANSFER",
                "EXIT_TIMEOUT",
                "EXIT_NO_AGENT",
                "EXIT_FULL",
                "EXIT_KEY",
                "CALLBACK_REQUESTED",
                "CALLBACK_COMPLETED",
                "CALLBACK_FAILED",
                name="type",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("agent_id", sa.String(length=64), nullable=True),
        sa.Column("wait_s", sa.Float(), nullable=True),
        sa.Column("talk_s", sa.Float(), nullable=True),
        sa.Column("detail", sa.String(length=1024), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queue_events")),
    )
    with op.batch_alter_table("queue_events", schema=None) as batch_op:
        batch_op.create_index("ix_queue_events_agent_at", ["agent_id", "at"], unique=False)
        batch_op.create_index(batch_op.f("ix_queue_events_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_queue_events_member_uuid"), ["member_uuid"], unique=False)
        batch_op.create_index("ix_queue_events_queue_at", ["queue", "at"], unique=False)

    op.create_table(
        "queues",
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column(
            "strategy",
            sa.Enum(
                "longest-idle-agent",
                "round-robin",
                "ring-all",
                "top-down",
                "sequentially-by-agent-order",
                "agent-with-fewest-calls",
                "agent-with-least-talk-time",
                "random",
                "skills-based",
                name="strategy",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("moh", sa.String(length=1024), nullable=False),
        sa.Column("announce_position", sa.Boolean(), nullable=False),
        sa.Column("announce_interval_s", sa.Float(), nullable=False),
        sa.Column("announce_prompt", sa.String(length=1024), nullable=True),
        sa.Column("max_wait_s", sa.Float(), nullable=True),
        sa.Column("max_wait_no_agent_s", sa.Float(), nullable=True),
        sa.Column("max_len", sa.Integer(), nullable=True),
        sa.Column("offer_timeout_s", sa.Float(), nullable=False),
        sa.Column("wrap_up_s", sa.Float(), nullable=True),
        sa.Column("sl_threshold_s", sa.Float(), nullable=False),
        sa.Column("priority_weight", sa.Float(), nullable=False),
        sa.Column("tier_rules_apply", sa.Boolean(), nullable=False),
        sa.Column("tier_rule_wait_s", sa.Float(), nullable=False),
        sa.Column("tier_rule_wait_multiply_level", sa.Boolean(), nullable=False),
        sa.Column("tier_rule_no_agent_no_wait", sa.Boolean(), nullable=False),
        sa.Column(
            "record_policy",
            sa.Enum(
                "always",
                "never",
                "on_demand",
                name="record_policy",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("record_template", sa.String(length=1024), nullable=False),
        sa.Column("overflow_target", sa.String(length=1024), nullable=True),
        sa.CheckConstraint("max_len IS NULL OR max_len >= 0", name=op.f("ck_queues_max_len")),
        sa.CheckConstraint("offer_timeout_s > 0", name=op.f("ck_queues_offer_timeout")),
        sa.CheckConstraint("sl_threshold_s >= 0", name=op.f("ck_queues_sl_threshold")),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_queues")),
    )
    op.create_table(
        "recordings",
        sa.Column("uuid", sa.String(length=64), nullable=False),
        sa.Column("call_uuid", sa.String(length=64), nullable=False),
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("paused_spans", sa.JSON(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.CheckConstraint("size_bytes IS NULL OR size_bytes >= 0", name=op.f("ck_recordings_size")),
        sa.PrimaryKeyConstraint("uuid", name=op.f("pk_recordings")),
    )
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recordings_call_uuid"), ["call_uuid"], unique=False)
        batch_op.create_index(batch_op.f("ix_recordings_started_at"), ["started_at"], unique=False)

    op.create_table(
        "skills",
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("description", sa.String(length=1024), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_skills")),
    )
    op.create_table(
        "survey_results",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("call_uuid", sa.String(length=64), nullable=False),
        sa.Column("survey", sa.String(length=128), nullable=False),
        sa.Column("question", sa.String(length=128), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=True),
        sa.Column("queue", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_results")),
    )
    with op.batch_alter_table("survey_results", schema=None) as batch_op:
        batch_op.create_index("ix_survey_results_agent_at", ["agent_id", "at"], unique=False)
        batch_op.create_index(batch_op.f("ix_survey_results_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_survey_results_call_uuid"), ["call_uuid"], unique=False)
        batch_op.create_index("ix_survey_results_queue_at", ["queue", "at"], unique=False)
        batch_op.create_index("ix_survey_results_survey_at", ["survey", "at"], unique=False)

    op.create_table(
        "teams",
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("description", sa.String(length=1024), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_teams")),
    )
    op.create_table(
        "agents",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("contact", sa.String(length=1024), nullable=False),
        sa.Column("team", sa.String(length=128), nullable=True),
        sa.Column("max_no_answer", sa.Integer(), nullable=False),
        sa.Column("wrap_up_s", sa.Float(), nullable=False),
        sa.Column("reject_delay_s", sa.Float(), nullable=False),
        sa.Column("busy_delay_s", sa.Float(), nullable=False),
        sa.Column("no_answer_delay_s", sa.Float(), nullable=False),
        sa.CheckConstraint("max_no_answer >= 0", name=op.f("ck_agents_max_no_answer")),
        sa.CheckConstraint(
            "wrap_up_s >= 0 AND reject_delay_s >= 0 AND busy_delay_s >= 0 AND no_answer_delay_s >= 0",
            name=op.f("ck_agents_delays"),
        ),
        sa.ForeignKeyConstraint(
            ["team"], ["teams.name"], name=op.f("fk_agents_team_teams"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agents")),
    )
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agents_team"), ["team"], unique=False)

    op.create_table(
        "calendar_hours",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("calendar", sa.String(length=128), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("opens", sa.Time(), nullable=False),
        sa.Column("closes", sa.Time(), nullable=False),
        sa.CheckConstraint("opens < closes", name=op.f("ck_calendar_hours_span")),
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name=op.f("ck_calendar_hours_weekday")),
        sa.ForeignKeyConstraint(
            ["calendar"],
            ["calendars.name"],
            name=op.f("fk_calendar_hours_calendar_calendars"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_hours")),
    )
    with op.batch_alter_table("calendar_hours", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_calendar_hours_calendar"), ["calendar"], unique=False)

    op.create_table(
        "customer_phones",
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("label", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_phones_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("customer_id", "number", name=op.f("pk_customer_phones")),
    )
    with op.batch_alter_table("customer_phones", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_customer_phones_number"), ["number"], unique=False)

    op.create_table(
        "holidays",
        sa.Column("calendar", sa.String(length=128), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["calendar"], ["calendars.name"], name=op.f("fk_holidays_calendar_calendars"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("calendar", "date", name=op.f("pk_holidays")),
    )
    op.create_table(
        "agent_skills",
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("skill", sa.String(length=128), nullable=False),
        sa.Column("proficiency", sa.Integer(), nullable=False),
        sa.CheckConstraint("proficiency BETWEEN 1 AND 10", name=op.f("ck_agent_skills_proficiency")),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_agent_skills_agent_id_agents"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["skill"], ["skills.name"], name=op.f("fk_agent_skills_skill_skills"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("agent_id", "skill", name=op.f("pk_agent_skills")),
    )
    with op.batch_alter_table("agent_skills", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agent_skills_skill"), ["skill"], unique=False)

    op.create_table(
        "tiers",
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("queue", sa.String(length=128), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.CheckConstraint("level >= 1 AND position >= 1", name=op.f("ck_tiers_level_position")),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_tiers_agent_id_agents"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["queue"], ["queues.name"], name=op.f("fk_tiers_queue_queues"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("agent_id", "queue", name=op.f("pk_tiers")),
    )
    with op.batch_alter_table("tiers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tiers_queue"), ["queue"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("tiers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tiers_queue"))

    op.drop_table("tiers")
    with op.batch_alter_table("agent_skills", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agent_skills_skill"))

    op.drop_table("agent_skills")
    op.drop_table("holidays")
    with op.batch_alter_table("customer_phones", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_phones_number"))

    op.drop_table("customer_phones")
    with op.batch_alter_table("calendar_hours", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calendar_hours_calendar"))

    op.drop_table("calendar_hours")
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agents_team"))

    op.drop_table("agents")
    op.drop_table("teams")
    with op.batch_alter_table("survey_results", schema=None) as batch_op:
        batch_op.drop_index("ix_survey_results_survey_at")
        batch_op.drop_index("ix_survey_results_queue_at")
        batch_op.drop_index(batch_op.f("ix_survey_results_call_uuid"))
        batch_op.drop_index(batch_op.f("ix_survey_results_at"))
        batch_op.drop_index("ix_survey_results_agent_at")

    op.drop_table("survey_results")
    op.drop_table("skills")
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recordings_started_at"))
        batch_op.drop_index(batch_op.f("ix_recordings_call_uuid"))

    op.drop_table("recordings")
    op.drop_table("queues")
    with op.batch_alter_table("queue_events", schema=None) as batch_op:
        batch_op.drop_index("ix_queue_events_queue_at")
        batch_op.drop_index(batch_op.f("ix_queue_events_member_uuid"))
        batch_op.drop_index(batch_op.f("ix_queue_events_at"))
        batch_op.drop_index("ix_queue_events_agent_at")

    op.drop_table("queue_events")
    with op.batch_alter_table("interactions", schema=None) as batch_op:
        batch_op.drop_index("ix_interactions_customer_at")
        batch_op.drop_index(batch_op.f("ix_interactions_call_uuid"))
        batch_op.drop_index(batch_op.f("ix_interactions_at"))
        batch_op.drop_index("ix_interactions_agent_at")

    op.drop_table("interactions")
    op.drop_table("flow_routes")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customers_name"))

    op.drop_table("customers")
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calls_started_at"))
        batch_op.drop_index("ix_calls_caller_started")

    op.drop_table("calls")
    with op.batch_alter_table("call_legs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_call_legs_started_at"))
        batch_op.drop_index(batch_op.f("ix_call_legs_call_uuid"))
        batch_op.drop_index("ix_call_legs_agent_started")

    op.drop_table("call_legs")
    op.drop_table("calendars")
    with op.batch_alter_table("agent_state_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agent_state_events_at"))
        batch_op.drop_index("ix_agent_state_events_agent_at")

    op.drop_table("agent_state_events")
