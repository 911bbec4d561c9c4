"""The outbound campaign schema: campaigns, their results, lead lists, leads, dial attempts, DNC, callbacks.

Revision 0007. Rows map to the dataclasses of cc.dialer.model (CampaignSettings, Lead, Result, DialAttempt
...) in cc.store.campaigns. Indexes serve the dialer's questions: the next dialable leads of a campaign
(campaign, state, next_dial_at), a number's campaign lead (campaign, number), whether a number is on a
do-not-call list (number), due callbacks (state, due_at) and a campaign's dials over a window.
"""

from __future__ import annotations

import datetime
import enum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from cc.dialer.model import CampaignMode, CampaignStatus, LeadState
from cc.store.tables import ID, NAME, TEXT, Base, _enum

__all__ = [
    "CallbackRow",
    "CallbackState",
    "CampaignAgentRow",
    "CampaignResultRow",
    "CampaignRow",
    "CampaignTeamRow",
    "DialAttemptRow",
    "DncRow",
    "LeadListRow",
    "LeadNumberRow",
    "LeadRow",
]

NUMBER = 32  # an E.164 number is at most 16 characters with its '+'


class CallbackState(enum.StrEnum):
    """Where a scheduled callback is: pending until it is done, missed (not kept in time) or cancelled."""

    PENDING = "pending"
    DONE = "done"
    MISSED = "missed"
    CANCELLED = "cancelled"


class CampaignRow(Base):
    """An outbound campaign: its settings (cc.dialer.model.CampaignSettings), status, queue."""

    __tablename__ = "campaigns"
    __table_args__ = (
        CheckConstraint("dial_timeout_s >= 15", name="dial_timeout"),
        CheckConstraint("max_attempts >= 1", name="max_attempts"),
        CheckConstraint("abandon_target >= 0 AND abandon_target < 1", name="abandon_target"),
        CheckConstraint("min_agents_predictive >= 1", name="min_agents_predictive"),
        CheckConstraint("preview_timeout_s > 0 AND skip_delay_s >= 0 AND wrap_up_timeout_s >= 0 "
                        "AND callback_reminder_s >= 0",
                        name="timeouts"),
        CheckConstraint("max_lines_per_agent >= 1", name="max_lines_per_agent"),
    )

    name: Mapped[str] = mapped_column(String(NAME), primary_key=True)
    description: Mapped[str] = mapped_column(String(TEXT), default="")
    mode: Mapped[CampaignMode] = mapped_column(_enum(CampaignMode, "mode"))
    status: Mapped[CampaignStatus] = mapped_column(_enum(CampaignStatus, "status"), index=True)
    queue: Mapped[str | None] = mapped_column(String(NAME), ForeignKey("queues.name", ondelete="SET NULL"))
    caller_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    dial_string: Mapped[str] = mapped_column(String(TEXT))
    gateway: Mapped[str] = mapped_column(String(NAME), default="")
    calendar: Mapped[str | None] = mapped_column(String(NAME), ForeignKey("calendars.name"))
    dial_timeout_s: Mapped[float] = mapped_column(Float)
    max_attempts: Mapped[int] = mapped_column(Integer)
    abandon_target: Mapped[float] = mapped_column(Float)
    overflow_message: Mapped[str] = mapped_column(String(TEXT), default="")
    min_agents_predictive: Mapped[int] = mapped_column(Integer)
    preview_timeout_s: Mapped[float] = mapped_column(Float)
    skip_delay_s: Mapped[float] = mapped_column(Float, default=3600.0)
    wrap_up_timeout_s: Mapped[float] = mapped_column(Float)
    wrap_up_default_result: Mapped[str] = mapped_column(String(NAME))
    callback_reminder_s: Mapped[float] = mapped_column(Float)
    max_lines_per_agent: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime.datetime]
    updated_at: Mapped[datetime.datetime]


class CampaignAgentRow(Base):
    """An agent who works a campaign."""

    __tablename__ = "campaign_agents"

    campaign: Mapped[str] = mapped_column(
        String(NAME), ForeignKey("campaigns.name", ondelete="CASCADE"), primary_key=True)
    agent_id: Mapped[str] = mapped_column(
        String(ID), ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True, index=True)


class CampaignTeamRow(Base):
    """A team whose agents work a campaign."""

    __tablename__ = "campaign_teams"

    campaign: Mapped[str] = mapped_column(
        String(NAME), ForeignKey("campaigns.name", ondelete="CASCADE"), primary_key=True)
    team: Mapped[str] = mapped_column(
        String(NAME), ForeignKey("teams.name", ondelete="CASCADE"), primary_key=True, index=True)


class CampaignResultRow(Base):
    """A result (disposition) of a campaign with its flags, labels and retry rule (cc.dialer.model.Result)."""

    __tablename__ = "campaign_results"
    __table_args__ = (
        CheckConstraint("(retry_delay_s IS NULL) = (retry_max IS NULL)", name="retry_rule"),
        CheckConstraint("retry_delay_s IS NULL OR (retry_delay_s >= 0 AND retry_max >= 0)", name="retry_values"),
    )

    campaign: Mapped[str] = mapped_column(
        String(NAME), ForeignKey("campaigns.name", ondelete="CASCADE"), primary_key=True)
    code: Mapped[str] = mapped_column(String(NAME), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    label_zh: Mapped[str] = mapped_column(String(NAME), default="")
    label_en: Mapped[str] = mapped_column(String(NAME), default="")
    human_reached: Mapped[bool] = mapped_column(Boolean, default=False)
    final: Mapped[bool] = mapped_column(Boolean, default=False)
    retry: Mapped[bool] = mapped_column(Boolean, default=False)
    callback: Mapped[bool] = mapped_column(Boolean, default=False)
    dnc: Mapped[bool] = mapped_column(Boolean, default=False)
    success: Mapped[bool] = mapped_column(Boolean, default=False)
    abandon: Mapped[bool] = mapped_column(Boolean, default=False)
    agent_set: Mapped[bool] = mapped_column(Boolean, default=False)
    retry_delay_s: Mapped[float | None] = mapped_column(Float)
    retry_max: Mapped[int | None] = mapped_column(Integer)


class LeadListRow(Base):
    """One import of a file into a campaign: what it held and what became of it."""

    __tablename__ = "lead_lists"
    __table_args__ = (
        CheckConstraint("rows >= 0 AND imported >= 0 AND rejected >= 0 AND duplicates >= 0 AND dnc >= 0",
                        name="counts"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    campaign: Mapped[str] = mapped_column(
        String(NAME), ForeignKey("campaigns.name", ondelete="CASCADE"), index=True)
    file_name: Mapped[str] = mapped_column(String(TEXT))
    rows: Mapped[int] = mapped_column(Integer, default=0)
    imported: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    dnc: Mapped[int] = mapped_column(Integer, default=0)
    imported_at: Mapped[datetime.datetime]
    imported_by: Mapped[str] = mapped_column(String(NAME), default="")


class LeadRow(Base):
    """A person a campaign calls (cc.dialer.model.Lead); numbers in lead_numbers."""

    __tablename__ = "leads"
    __table_args__ = (
        # the dialer's next-dialable scan: a campaign's leads in a state, by due time
        Index("ix_leads_campaign_state_next", "campaign", "state", "next_dial_at"),
        Index("ix_leads_owner_campaign", "owner_agent", "campaign", "state"),
        Index("ix_leads_created_at", "created_at"),   # retention's pick of old leads
        CheckConstraint("attempts >= 0 AND number_index >= 0", name="counts"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    campaign: Mapped[str] = mapped_column(String(NAME), ForeignKey("campaigns.name", ondelete="CASCADE"))
    list_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("lead_lists.id", ondelete="SET NULL"), index=True)
    row_no: Mapped[int | None] = mapped_column(Integer)
    customer_id: Mapped[str | None] = mapped_column(
        String(ID), ForeignKey("customers.id", ondelete="SET NULL"), index=True)
    name: Mapped[str] = mapped_column(String(NAME), default="")
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    tz: Mapped[str] = mapped_column(String(NAME))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    # no ON DELETE: an agent who owns leads cannot be deleted before they are re-assigned
    owner_agent: Mapped[str | None] = mapped_column(String(ID), ForeignKey("agents.id"))
    state: Mapped[LeadState] = mapped_column(_enum(LeadState, "state"))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    number_index: Mapped[int] = mapped_column(Integer, default=0)
    next_dial_at: Mapped[datetime.datetime | None]
    last_result: Mapped[str | None] = mapped_column(String(NAME))
    result_counts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)   # result code -> attempts
    last_dialed_at: Mapped[datetime.datetime | None]
    created_at: Mapped[datetime.datetime]


class LeadNumberRow(Base):
    """One E.164 number of a lead; unique within its campaign (duplicates are refused at import)."""

    __tablename__ = "lead_numbers"
    __table_args__ = (UniqueConstraint("campaign", "number", name="uq_lead_numbers_campaign_number"),)

    lead_id: Mapped[int] = mapped_column(Integer, ForeignKey("leads.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign: Mapped[str] = mapped_column(String(NAME), ForeignKey("campaigns.name", ondelete="CASCADE"))
    number: Mapped[str] = mapped_column(String(NUMBER), index=True)
    label: Mapped[str] = mapped_column(String(NAME), default="")


class DialAttemptRow(Base):
    """One originate of a campaign (cc.dialer.model.DialAttempt); history: no foreign keys."""

    __tablename__ = "dial_attempts"
    __table_args__ = (
        Index("ix_dial_attempts_campaign_started", "campaign", "started_at"),
        Index("ix_dial_attempts_agent_started", "agent_id", "started_at"),
    )

    uuid: Mapped[str] = mapped_column(String(ID), primary_key=True)
    campaign: Mapped[str] = mapped_column(String(NAME))
    lead_id: Mapped[str] = mapped_column(String(ID), index=True)
    number: Mapped[str] = mapped_column(String(NUMBER))
    agent_id: Mapped[str | None] = mapped_column(String(ID))
    started_at: Mapped[datetime.datetime] = mapped_column(index=True)
    answered_at: Mapped[datetime.datetime | None]
    bridged_at: Mapped[datetime.datetime | None]
    ended_at: Mapped[datetime.datetime | None]
    hangup_cause: Mapped[str | None] = mapped_column(String(NAME))
    result: Mapped[str | None] = mapped_column(String(NAME))
    set_by: Mapped[str | None] = mapped_column(String(NAME))


class DncRow(Base):
    """A do-not-call number: global (campaign '') or for one campaign."""

    __tablename__ = "dnc"

    number: Mapped[str] = mapped_column(String(NUMBER), primary_key=True)
    campaign: Mapped[str] = mapped_column(String(NAME), primary_key=True, default="")
    reason: Mapped[str] = mapped_column(String(TEXT), default="")
    added_at: Mapped[datetime.datetime]
    added_by: Mapped[str] = mapped_column(String(NAME), default="")


class CallbackRow(Base):
    """A scheduled callback of a lead, due to the minute, for its owner agent or anyone."""

    __tablename__ = "callbacks"
    __table_args__ = (
        Index("ix_callbacks_state_due", "state", "due_at"),
        Index("ix_callbacks_agent_state_due", "agent_id", "state", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    campaign: Mapped[str] = mapped_column(String(NAME), ForeignKey("campaigns.name", ondelete="CASCADE"),
                                          index=True)
    lead_id: Mapped[int] = mapped_column(Integer, ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    due_at: Mapped[datetime.datetime]
    agent_id: Mapped[str | None] = mapped_column(String(ID), ForeignKey("agents.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[CallbackState] = mapped_column(_enum(CallbackState, "state"), default=CallbackState.PENDING)
    reminded_before: Mapped[bool] = mapped_column(Boolean, default=False)
    reminded_due: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime.datetime]
    created_by: Mapped[str] = mapped_column(String(NAME), default="")
    done_at: Mapped[datetime.datetime | None]
