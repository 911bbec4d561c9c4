"""The QA tables: scorecards and their versions, the work list, scores with comments, disputes.

A scorecard's content lives in its versions (``qa_scorecard_versions.body``: sections and items as JSON, weights
as exact strings); a score names the version it used, so editing a scorecard that has scores makes a new version
and never changes an old score. One work-list item per call; one score per item; one dispute per score.
"""

from __future__ import annotations

import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cc.qa.worklist import ItemState, Resolution
from cc.store.tables import ID, NAME, TEXT, Base, _enum

__all__ = ["QaCommentRow", "QaDisputeRow", "QaItemRow", "QaScoreRow", "QaScorecardRow", "QaScorecardVersionRow"]


class QaScorecardRow(Base):
    """A scorecard by name; its current version is the one new scores use."""

    __tablename__ = "qa_scorecards"

    name: Mapped[str] = mapped_column(String(NAME), primary_key=True)
    description: Mapped[str] = mapped_column(String(TEXT), default="")
    current_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime.datetime]


class QaScorecardVersionRow(Base):
    """One version of a scorecard's content (sections and items as JSON)."""

    __tablename__ = "qa_scorecard_versions"
    __table_args__ = (UniqueConstraint("scorecard", "version", name="scorecard_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scorecard: Mapped[str] = mapped_column(String(NAME), ForeignKey("qa_scorecards.name", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime.datetime]
    created_by: Mapped[str] = mapped_column(String(NAME), default="")


class QaItemRow(Base):
    """A call on the QA work list: sampled for a week (with why), its state and the QA user it is assigned to."""

    __tablename__ = "qa_items"
    __table_args__ = (
        Index("ix_qa_items_agent_week", "agent_id", "week"),
        Index("ix_qa_items_state_week", "state", "week"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    call_uuid: Mapped[str] = mapped_column(String(ID), unique=True)
    agent_id: Mapped[str] = mapped_column(String(ID))
    call_at: Mapped[datetime.datetime]
    week: Mapped[str] = mapped_column(String(16))
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    seed: Mapped[str] = mapped_column(String(NAME), default="")
    state: Mapped[ItemState] = mapped_column(_enum(ItemState, "state"), default=ItemState.TODO)
    assigned_to: Mapped[str | None] = mapped_column(String(NAME))
    created_at: Mapped[datetime.datetime]
    updated_at: Mapped[datetime.datetime]


class QaScoreRow(Base):
    """A call's score: the scorecard version, the answers, the totals, who scored it and when."""

    __tablename__ = "qa_scores"
    __table_args__ = (Index("ix_qa_scores_agent_scored", "agent_id", "scored_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[int] = mapped_column(Integer, ForeignKey("qa_items.id", ondelete="CASCADE"), unique=True)
    scorecard_version_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("qa_scorecard_versions.id", ondelete="RESTRICT"), index=True)
    call_uuid: Mapped[str] = mapped_column(String(ID), index=True)
    agent_id: Mapped[str] = mapped_column(String(ID))
    qa_login: Mapped[str] = mapped_column(String(NAME))
    answers: Mapped[dict[str, str]] = mapped_column(JSON)
    total: Mapped[float | None] = mapped_column(Float)          #: what counts (after a resolution: its total)
    scored_total: Mapped[float | None] = mapped_column(Float)   #: as the QA user scored it
    raw_total: Mapped[float | None] = mapped_column(Float)      #: before a critical fail's 0
    critical_failed: Mapped[bool] = mapped_column(Boolean, default=False)
    scored_at: Mapped[datetime.datetime] = mapped_column(index=True)


class QaCommentRow(Base):
    """A comment on a score, optionally at a time offset (seconds) in the call's recording."""

    __tablename__ = "qa_comments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    score_id: Mapped[int] = mapped_column(Integer, ForeignKey("qa_scores.id", ondelete="CASCADE"), index=True)
    offset_s: Mapped[float | None] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(NAME))
    created_at: Mapped[datetime.datetime]


class QaDisputeRow(Base):
    """An agent's dispute of a score (one per score) and its resolution."""

    __tablename__ = "qa_disputes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    score_id: Mapped[int] = mapped_column(Integer, ForeignKey("qa_scores.id", ondelete="CASCADE"), unique=True)
    reason: Mapped[str] = mapped_column(Text)
    disputed_by: Mapped[str] = mapped_column(String(NAME))
    disputed_at: Mapped[datetime.datetime]
    resolution: Mapped[Resolution | None] = mapped_column(_enum(Resolution, "resolution"))
    resolved_total: Mapped[float | None] = mapped_column(Float)
    resolved_by: Mapped[str | None] = mapped_column(String(NAME))
    resolved_at: Mapped[datetime.datetime | None]
    note: Mapped[str] = mapped_column(Text, default="")
