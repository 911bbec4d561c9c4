"""outbound campaigns: campaigns (settings, status, agents and teams), their results with retry rules, lead lists,
leads with their numbers, dial attempts, do-not-call numbers, scheduled callbacks, and customer types kept on
the customer (customers.customer_type), seeded with 意向客户 / 多次跟踪 / 成单 / 会员

Revision ID: 0007_campaigns
Revises: 0006_org_permissions
Create Date: 2026-12-07 04:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_campaigns"
down_revision: str | None = "0006_org_permissions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    types = op.create_table(
        "customer_types",
        sa.Column("code", sa.String(length=128), nullable=False),
        sa.Column("label_zh", sa.String(length=128), nullable=False),
        sa.Column("label_en", sa.String(length=128), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_customer_types")),
    )
    op.create_table(
        "dial_attempts",
        sa.Column("uuid", sa.String(length=64), nullable=False),
        sa.Column("campaign", sa.String(length=128), nullable=False),
        sa.Column("lead_id", sa.String(length=64), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("bridged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("hangup_cause", sa.String(length=128), nullable=True),
        sa.Column("result", sa.String(length=128), nullable=True),
        sa.Column("set_by", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint("uuid", name=op.f("pk_dial_attempts")),
    )
    with op.batch_alter_table("dial_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_dial_attempts_agent_started", ["agent_id", "started_at"], unique=False)
        batch_op.create_index("ix_dial_attempts_campaign_started", ["campaign", "started_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_dial_attempts_lead_id"), ["lead_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_dial_attempts_started_at"), ["started_at"], unique=False)

    op.create_table(
        "dnc",
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("campaign", sa.String(length=128), nullable=False),
        sa.Column("reason", sa.String(length=1024), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("added_by", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("number", "campaign", name=op.f("pk_dnc")),
    )
    op.create_table(
        "campaigns",
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("description", sa.String(length=1024), nullable=False),
        sa.Column(
            "mode",
            sa.Enum(
                "manual",
                "preview",
                "progressive",
                "predictive",
                name="mode",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "running",
                "paused",
                "stopped",
                "finished",
                name="status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("queue", sa.String(length=128), nullable=True),
        sa.Column("caller_ids", sa.JSON(), nullable=False),
        sa.Column("dial_string", sa.String(length=1024), nullable=False),
        sa.Column("gateway", sa.String(length=128), nullable=False),
        sa.Column("calendar", sa.String(length=128), nullable=True),
        sa.Column("dial_timeout_s", sa.Float(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("abandon_target", sa.Float(), nullable=False),
        sa.Column("overflow_message", sa.String(length=1024), nullable=False),
        sa.Column("min_agents_predictive", sa.Integer(), nullable=False),
        sa.Column("preview_timeout_s", sa.Float(), nullable=False),
        sa.Column("skip_delay_s", sa.Float(), nullable=False),
        sa.Column("wrap_up_timeout_s", sa.Float(), nullable=False),
        sa.Column("wrap_up_default_result", sa.String(length=128), nullable=False),
        sa.Column("callback_reminder_s", sa.Float(), nullable=False),
        sa.Column("max_lines_per_agent", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("abandon_target >= 0 AND abandon_target < 1", name=op.f("ck_campaigns_abandon_target")),
        sa.CheckConstraint("dial_timeout_s >= 15", name=op.f("ck_campaigns_dial_timeout")),
        sa.CheckConstraint("max_attempts >= 1", name=op.f("ck_campaigns_max_attempts")),
        sa.CheckConstraint("max_lines_per_agent >= 1", name=op.f("ck_campaigns_max_lines_per_agent")),
        sa.CheckConstraint("min_agents_predictive >= 1", name=op.f("ck_campaigns_min_agents_predictive")),
        sa.CheckConstraint(
            "preview_timeout_s > 0 AND skip_delay_s >= 0 AND wrap_up_timeout_s >= 0 AND callback_reminder_s >= 0",
            name=op.f("ck_campaigns_timeouts"),
        ),
        sa.ForeignKeyConstraint(["calendar"], ["calendars.name"], name=op.f("fk_campaigns_calendar_calendars")),
        sa.ForeignKeyConstraint(
            ["queue"], ["queues.name"], name=op.f("fk_campaigns_queue_queues"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_campaigns")),
    )
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_campaigns_status"), ["status"], unique=False)

    op.create_table(
        "campaign_agents",
        sa.Column("campaign", sa.String(length=128), nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_campaign_agents_agent_id_agents"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["campaign"], ["campaigns.name"], name=op.f("fk_campaign_agents_campaign_campaigns"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("campaign", "agent_id", name=op.f("pk_campaign_agents")),
    )
    with op.batch_alter_table("campaign_agents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_campaign_agents_agent_id"), ["agent_id"], unique=False)

    op.create_table(
        "campaign_results",
        sa.Column("campaign", sa.String(length=128), nullable=False),
        sa.Column("code", sa.String(length=128), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("label_zh", sa.String(length=128), nullable=False),
        sa.Column("label_en", sa.String(length=128), nullable=False),
        sa.Column("human_reached", sa.Boolean(), nullable=False),
        sa.Column("final", sa.Boolean(), nullable=False),
        sa.Column("retry", sa.Boolean(), nullable=False),
        sa.Column("callback", sa.Boolean(), nullable=False),
        sa.Column("dnc", sa.Boolean(), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.Column("abandon", sa.Boolean(), nullable=False),
        sa.Column("agent_set", sa.Boolean(), nullable=False),
        sa.Column("retry_delay_s", sa.Float(), nullable=True),
        sa.Column("retry_max", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "(retry_delay_s IS NULL) = (retry_max IS NULL)", name=op.f("ck_campaign_results_retry_rule")
        ),
        sa.CheckConstraint(
            "retry_delay_s IS NULL OR (retry_delay_s >= 0 AND retry_max >= 0)",
            name=op.f("ck_campaign_results_retry_values"),
        ),
        sa.ForeignKeyConstraint(
            ["campaign"], ["campaigns.name"], name=op.f("fk_campaign_results_campaign_campaigns"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("campaign", "code", name=op.f("pk_campaign_results")),
    )
    op.create_table(
        "campaign_teams",
        sa.Column("campaign", sa.String(length=128), nullable=False),
        sa.Column("team", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign"], ["campaigns.name"], name=op.f("fk_campaign_teams_campaign_campaigns"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["team"], ["teams.name"], name=op.f("fk_campaign_teams_team_teams"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("campaign", "team", name=op.f("pk_campaign_teams")),
    )
    with op.batch_alter_table("campaign_teams", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_campaign_teams_team"), ["team"], unique=False)

    op.create_table(
        "lead_lists",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("campaign", sa.String(length=128), nullable=False),
        sa.Column("file_name", sa.String(length=1024), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("imported", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("dnc", sa.Integer(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("imported_by", sa.String(length=128), nullable=False),
        sa.CheckConstraint(
            "rows >= 0 AND imported >= 0 AND rejected >= 0 AND duplicates >= 0 AND dnc >= 0",
            name=op.f("ck_lead_lists_counts"),
        ),
        sa.ForeignKeyConstraint(
            ["campaign"], ["campaigns.name"], name=op.f("fk_lead_lists_campaign_campaigns"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_lists")),
    )
    with op.batch_alter_table("lead_lists", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lead_lists_campaign"), ["campaign"], unique=False)

    op.create_table(
        "leads",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("campaign", sa.String(length=128), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=True),
        sa.Column("row_no", sa.Integer(), nullable=True),
        sa.Column("customer_id", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.Column("tz", sa.String(length=128), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("owner_agent", sa.String(length=64), nullable=True),
        sa.Column(
            "state",
            sa.Enum(
                "new",
                "retry",
                "callback",
                "reserved",
                "dialing",
                "answered",
                "wrap_up",
                "done",
                "dnc",
                "exhausted",
                name="state",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("number_index", sa.Integer(), nullable=False),
        sa.Column("next_dial_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_result", sa.String(length=128), nullable=True),
        sa.Column("result_counts", sa.JSON(), nullable=False),
        sa.Column("last_dialed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("attempts >= 0 AND number_index >= 0", name=op.f("ck_leads_counts")),
        sa.ForeignKeyConstraint(
            ["campaign"], ["campaigns.name"], name=op.f("fk_leads_campaign_campaigns"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_leads_customer_id_customers"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["list_id"], ["lead_lists.id"], name=op.f("fk_leads_list_id_lead_lists"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(["owner_agent"], ["agents.id"], name=op.f("fk_leads_owner_agent_agents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leads")),
    )
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.create_index("ix_leads_campaign_state_next", ["campaign", "state", "next_dial_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_leads_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_leads_list_id"), ["list_id"], unique=False)
        batch_op.create_index("ix_leads_owner_campaign", ["owner_agent", "campaign", "state"], unique=False)

    op.create_table(
        "callbacks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("campaign", sa.String(length=128), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "pending",
                "done",
                "missed",
                "cancelled",
                name="state",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("reminded_before", sa.Boolean(), nullable=False),
        sa.Column("reminded_due", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], name=op.f("fk_callbacks_agent_id_agents")),
        sa.ForeignKeyConstraint(
            ["campaign"], ["campaigns.name"], name=op.f("fk_callbacks_campaign_campaigns"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], name=op.f("fk_callbacks_lead_id_leads"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callbacks")),
    )
    with op.batch_alter_table("callbacks", schema=None) as batch_op:
        batch_op.create_index("ix_callbacks_agent_state_due", ["agent_id", "state", "due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_callbacks_campaign"), ["campaign"], unique=False)
        batch_op.create_index(batch_op.f("ix_callbacks_lead_id"), ["lead_id"], unique=False)
        batch_op.create_index("ix_callbacks_state_due", ["state", "due_at"], unique=False)

    op.create_table(
        "lead_numbers",
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("campaign", sa.String(length=128), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("label", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign"], ["campaigns.name"], name=op.f("fk_lead_numbers_campaign_campaigns"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["leads.id"], name=op.f("fk_lead_numbers_lead_id_leads"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("lead_id", "position", name=op.f("pk_lead_numbers")),
        sa.UniqueConstraint("campaign", "number", name="uq_lead_numbers_campaign_number"),
    )
    with op.batch_alter_table("lead_numbers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lead_numbers_number"), ["number"], unique=False)

    op.bulk_insert(
        types,
        [
            {"code": "interested", "label_zh": "意向客户", "label_en": "Interested", "position": 1},
            {"code": "follow_up", "label_zh": "多次跟踪", "label_en": "Follow-up", "position": 2},
            {"code": "sale", "label_zh": "成单", "label_en": "Sale", "position": 3},
            {"code": "member", "label_zh": "会员", "label_en": "Member", "position": 4},
        ],
    )
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("customer_type", sa.String(length=128), nullable=True))
        batch_op.create_index(batch_op.f("ix_customers_customer_type"), ["customer_type"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_customers_customer_type_customer_types"),
            "customer_types",
            ["customer_type"],
            ["code"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_customers_customer_type_customer_types"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_customers_customer_type"))
        batch_op.drop_column("customer_type")

    with op.batch_alter_table("lead_numbers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lead_numbers_number"))

    op.drop_table("lead_numbers")
    with op.batch_alter_table("callbacks", schema=None) as batch_op:
        batch_op.drop_index("ix_callbacks_state_due")
        batch_op.drop_index(batch_op.f("ix_callbacks_lead_id"))
        batch_op.drop_index(batch_op.f("ix_callbacks_campaign"))
        batch_op.drop_index("ix_callbacks_agent_state_due")

    op.drop_table("callbacks")
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_index("ix_leads_owner_campaign")
        batch_op.drop_index(batch_op.f("ix_leads_list_id"))
        batch_op.drop_index(batch_op.f("ix_leads_customer_id"))
        batch_op.drop_index("ix_leads_campaign_state_next")

    op.drop_table("leads")
    with op.batch_alter_table("lead_lists", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lead_lists_campaign"))

    op.drop_table("lead_lists")
    with op.batch_alter_table("campaign_teams", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaign_teams_team"))

    op.drop_table("campaign_teams")
    op.drop_table("campaign_results")
    with op.batch_alter_table("campaign_agents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaign_agents_agent_id"))

    op.drop_table("campaign_agents")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaigns_status"))

    op.drop_table("campaigns")
    op.drop_table("dnc")
    with op.batch_alter_table("dial_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dial_attempts_started_at"))
        batch_op.drop_index(batch_op.f("ix_dial_attempts_lead_id"))
        batch_op.drop_index("ix_dial_attempts_campaign_started")
        batch_op.drop_index("ix_dial_attempts_agent_started")

    op.drop_table("dial_attempts")
    op.drop_table("customer_types")
