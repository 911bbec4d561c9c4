"""The organisation's tables: users, roles and their permissions, role grants with scopes, and the audit log.

Org units are the rows of ``teams`` (cc/store/tables.py: a ``parent`` and a ``kind``). A grant gives one
user one role over a scope: the whole organisation (``everywhere``), a set of unit subtrees
(``role_grant_units``), or, with neither, the user's own self only. Built-in roles are rows here so that
grants can name them; their permissions are cc.authz's table, not rows (``role_permissions`` holds the
permissions of roles admins define).

The audit log has no foreign key to anything: it outlives the users and the data it describes. Triggers
(installed by revision 0006) refuse every UPDATE and every DELETE of its rows, except a DELETE of rows
older than the newest ``audit_purges`` mark (the retention cut, itself append-only and kept as evidence).
"""

from __future__ import annotations

import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cc.store.tables import ID, NAME, TEXT, Base

__all__ = ["AuditPurgeRow", "AuditRow", "GrantRow", "GrantUnitRow", "RolePermissionRow", "RoleRow", "UserRow"]


class UserRow(Base):
    """A person (or a program) who signs in: password (argon2 hash) for the web, tokens for programs."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    login: Mapped[str] = mapped_column(String(NAME), unique=True)
    display_name: Mapped[str] = mapped_column(String(NAME), default="")
    password_hash: Mapped[str | None] = mapped_column(String(TEXT))   # None: no password sign-in
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime.datetime | None]
    agent_id: Mapped[str | None] = mapped_column(
        String(ID), ForeignKey("agents.id", ondelete="SET NULL"), unique=True)
    locale: Mapped[str] = mapped_column(String(16), default="")
    created_at: Mapped[datetime.datetime]


class RoleRow(Base):
    """A named set of permissions; the built-in ones (admin, manager, supervisor, qa, agent) cannot change."""

    __tablename__ = "roles"

    name: Mapped[str] = mapped_column(String(NAME), primary_key=True)
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str] = mapped_column(String(TEXT), default="")


class RolePermissionRow(Base):
    """One permission of a defined role (a name of cc.authz.Permission; unknown names are ignored on load)."""

    __tablename__ = "role_permissions"

    role: Mapped[str] = mapped_column(String(NAME), ForeignKey("roles.name", ondelete="CASCADE"), primary_key=True)
    permission: Mapped[str] = mapped_column(String(ID), primary_key=True)


class GrantRow(Base):
    """One user holds one role over a scope (everywhere, the units in role_grant_units, or own self only)."""

    __tablename__ = "role_grants"
    __table_args__ = (UniqueConstraint("user_id", "role", name="user_role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(Integer, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(NAME), ForeignKey("roles.name", ondelete="RESTRICT"), index=True)
    everywhere: Mapped[bool] = mapped_column(Boolean, default=False)


class GrantUnitRow(Base):
    """One org-unit subtree of a grant's scope (deleting the unit narrows the scope, never widens it)."""

    __tablename__ = "role_grant_units"

    grant_id: Mapped[int] = mapped_column(Integer, ForeignKey("role_grants.id", ondelete="CASCADE"),
                                          primary_key=True)
    unit: Mapped[str] = mapped_column(String(NAME), ForeignKey("teams.name", ondelete="CASCADE"),
                                      primary_key=True, index=True)


class AuditRow(Base):
    """One audited action: who, what, on which resource, from where (append-only; no foreign keys)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_login_at", "login", "at"),
        Index("ix_audit_log_action_at", "action", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime.datetime] = mapped_column(index=True)
    user_id: Mapped[int | None] = mapped_column(Integer)
    login: Mapped[str] = mapped_column(String(NAME), default="")
    action: Mapped[str] = mapped_column(String(ID))
    kind: Mapped[str] = mapped_column(String(ID), default="")
    resource: Mapped[str] = mapped_column(String(NAME), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    client: Mapped[str] = mapped_column(String(NAME), default="")


class AuditPurgeRow(Base):
    """A retention cut of the audit log: rows older than ``before`` may be deleted (append-only itself)."""

    __tablename__ = "audit_purges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime.datetime]
    before: Mapped[datetime.datetime]
    login: Mapped[str] = mapped_column(String(NAME), default="")
