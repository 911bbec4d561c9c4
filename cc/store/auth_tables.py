"""The API token table: a token's name, role and agent; only the SHA-256 of the secret is stored."""

from __future__ import annotations

import datetime
import enum

from sqlalchemy import CheckConstraint, Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from cc.store.tables import ID, NAME, Base

__all__ = ["ApiTokenRow", "Role"]


class Role(enum.StrEnum):
    """What an API token may do: admin > supervisor > agent (an agent token acts for one agent only)."""

    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    AGENT = "agent"


class ApiTokenRow(Base):
    """One bearer token of the HTTP API (the secret itself is never stored)."""

    __tablename__ = "api_tokens"
    __table_args__ = (
        CheckConstraint("role <> 'agent' OR agent_id IS NOT NULL", name="agent_token_has_agent"),
    )

    name: Mapped[str] = mapped_column(String(NAME), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(ID), unique=True)
    role: Mapped[Role] = mapped_column(
        Enum(Role, name="role", native_enum=False, create_constraint=True, length=32,
             values_callable=lambda e: [m.value for m in e], validate_strings=True))
    agent_id: Mapped[str | None] = mapped_column(String(ID), ForeignKey("agents.id", ondelete="CASCADE"),
                                                 index=True)
    created_at: Mapped[datetime.datetime]
