"""The API token table: a token's name and the user it acts for; only the SHA-256 of the secret is stored."""

from __future__ import annotations

import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cc.store.tables import ID, NAME, Base

__all__ = ["ApiTokenRow"]


class ApiTokenRow(Base):
    """One bearer token of the HTTP API (the secret itself is never stored); it has its user's rights."""

    __tablename__ = "api_tokens"

    name: Mapped[str] = mapped_column(String(NAME), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(ID), unique=True)
    user_id: Mapped[int] = mapped_column(Integer, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime.datetime]
