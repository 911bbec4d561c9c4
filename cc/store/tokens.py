"""API tokens: create one for a user (the secret is shown once), look one up by its secret, list, revoke."""

from __future__ import annotations

import builtins
import datetime
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cc.authz import BUILTIN_ROLES as _BUILTIN
from cc.errors import Conflict, InvalidValue, NotFound
from cc.store import tables as t
from cc.store.auth_tables import ApiTokenRow
from cc.store.codec import to_epoch, to_utc
from cc.store.org_tables import GrantRow, RoleRow, UserRow
from cc.store.repos import _Repo, _text

__all__ = ["BUILTIN_ROLES", "ApiToken", "TokenRepo", "ensure_role", "hash_secret"]

PREFIX = "cct_"

#: the roles every database has (revision 0006 adds their rows; a missing one is added on first use)
BUILTIN_ROLES = tuple(_BUILTIN)


@dataclass(frozen=True)
class ApiToken:
    """A token's identity and the user it acts for, with his roles and agent (never its secret)."""

    name: str
    user_id: int
    login: str = ""
    created_at: float | None = None
    roles: tuple[str, ...] = ()
    agent_id: str | None = None


def hash_secret(secret: str) -> str:
    """The hex SHA-256 of a token secret (what the database keeps)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _tokens(session: Session, q: Any) -> list[ApiToken]:
    rows = session.execute(q).all()
    roles: dict[int, set[str]] = {}
    ids = {r[0].user_id for r in rows}
    if ids:
        for user_id, role in session.execute(select(GrantRow.user_id, GrantRow.role)
                                             .where(GrantRow.user_id.in_(ids))):
            roles.setdefault(user_id, set()).add(role)
    return [ApiToken(r[0].name, r[0].user_id, r[1], to_epoch(r[0].created_at),
                     tuple(sorted(roles.get(r[0].user_id, ()))), r[2]) for r in rows]


def ensure_role(session: Session, role: str) -> RoleRow:
    """The row of role ``role``; a built-in one is added when missing, another is NotFound."""
    row = session.get(RoleRow, role)
    if row is None:
        if role not in BUILTIN_ROLES:
            raise NotFound("role", role)
        row = RoleRow(name=role, builtin=True, description="")
        session.add(row)
        session.flush()
    return row


def _user_for_role(session: Session, name: str, role: str, agent_id: str | None,
                   created: datetime.datetime) -> UserRow:
    """The user a token made with ``--role`` acts for: the agent's own user, else a new user ``name``
    holding the role (everywhere; an agent role covers the agent's own self only)."""
    ensure_role(session, role)
    user = None
    if agent_id is not None:
        if session.get(t.AgentRow, agent_id) is None:
            raise NotFound("agent", agent_id)
        user = session.scalars(select(UserRow).where(UserRow.agent_id == agent_id)).first()
    if user is None:
        if session.scalars(select(UserRow).where(UserRow.login == name)).first() is not None:
            raise Conflict("user", name, "exists already: make the token with --user instead")
        user = UserRow(login=name, display_name="", password_hash=None, disabled=False, failed_attempts=0,
                       agent_id=agent_id, locale="", created_at=created)
        session.add(user)
        session.flush()
    grant = session.scalars(select(GrantRow).where(GrantRow.user_id == user.id, GrantRow.role == role)).first()
    if grant is None:
        session.add(GrantRow(user_id=user.id, role=role, everywhere=agent_id is None))
    return user


class TokenRepo(_Repo):
    """Bearer tokens of the HTTP API; each acts for one user and has that user's rights."""

    def create(self, name: str, role: str | None = None, agent_id: str | None = None, *, user: str | None = None,
               now: float | None = None) -> tuple[ApiToken, str]:
        """Add a token for user ``user`` (a login) -- or, with ``role`` (and ``agent_id`` for an agent role), for
        a user made for it; returns the token and its secret (shown once, only its hash is stored)."""
        name = _text("token.name", name, t.NAME)
        if (user is None) == (role is None):
            raise InvalidValue("token.user", user, "name either a user (--user LOGIN) or a role (--role)")
        if role == "agent" and not agent_id:
            raise InvalidValue("token.agent_id", agent_id, "an agent token needs --agent ID")
        if role is not None and role != "agent" and agent_id:
            raise InvalidValue("token.agent_id", agent_id, f"only agent tokens name an agent, not {role}")
        secret = PREFIX + secrets.token_urlsafe(32)
        created = to_utc(now) if now is not None else datetime.datetime.now(datetime.UTC)

        def run(session: Session) -> None:
            if session.get(ApiTokenRow, name) is not None:
                raise Conflict("token", name)
            if user is not None:
                owner = session.scalars(select(UserRow).where(UserRow.login == user)).first()
                if owner is None:
                    raise NotFound("user", user)
            else:
                assert role is not None
                owner = _user_for_role(session, name, role, agent_id, created)
            session.add(ApiTokenRow(name=name, sha256=hash_secret(secret), user_id=owner.id, created_at=created))

        self._tx(run, kind="token", key=name)
        return self.get(name), secret

    @staticmethod
    def _q() -> Any:
        return (select(ApiTokenRow, UserRow.login, UserRow.agent_id)
                .join(UserRow, UserRow.id == ApiTokenRow.user_id).order_by(ApiTokenRow.name))

    def get(self, name: str) -> ApiToken:
        """One token by name; NotFound otherwise."""
        found = self._read(lambda s: _tokens(s, self._q().where(ApiTokenRow.name == name)))
        if not found:
            raise NotFound("token", name)
        return found[0]

    def verify(self, secret: str) -> ApiToken | None:
        """The token whose secret this is, or None."""
        if not secret or len(secret) > 256:
            return None
        digest = hash_secret(secret)
        found = self._read(lambda s: _tokens(s, self._q().where(ApiTokenRow.sha256 == digest)))
        return found[0] if found else None

    def by_digest(self) -> dict[str, ApiToken]:
        """Every token by the SHA-256 of its secret (for an in-memory cache of the API's token checks)."""

        def run(session: Session) -> dict[str, ApiToken]:
            digests = {name: sha for name, sha in session.execute(select(ApiTokenRow.name, ApiTokenRow.sha256))}
            return {digests[tok.name]: tok for tok in _tokens(session, self._q())}

        return self._read(run)

    def list(self, user: str | None = None) -> builtins.list[ApiToken]:
        """Every token (of one user's login, if given), ordered by name."""
        q = self._q()
        if user is not None:
            q = q.where(UserRow.login == user)
        return self._read(lambda s: _tokens(s, q))

    def delete(self, name: str) -> None:
        """Revoke a token; NotFound if unknown."""

        def run(session: Session) -> None:
            row = session.get(ApiTokenRow, name)
            if row is None:
                raise NotFound("token", name)
            session.delete(row)

        self._tx(run, kind="token", key=name)
