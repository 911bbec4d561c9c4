"""API tokens: create one (the secret is shown once), look one up by its secret, list, revoke."""

from __future__ import annotations

import builtins
import datetime
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from cc.errors import Conflict, InvalidValue, NotFound
from cc.store import tables as t
from cc.store.auth_tables import ApiTokenRow, Role
from cc.store.codec import to_epoch, to_utc
from cc.store.repos import _Repo, _text

__all__ = ["ApiToken", "Role", "TokenRepo", "hash_secret"]

PREFIX = "cct_"


@dataclass(frozen=True)
class ApiToken:
    """A token's identity and rights (never its secret)."""

    name: str
    role: Role
    agent_id: str | None = None
    created_at: float | None = None


def hash_secret(secret: str) -> str:
    """The hex SHA-256 of a token secret (what the database keeps)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _token(row: ApiTokenRow) -> ApiToken:
    return ApiToken(row.name, Role(row.role), row.agent_id, to_epoch(row.created_at))


class TokenRepo(_Repo):
    """Bearer tokens of the HTTP API with roles admin, supervisor and agent."""

    def create(self, name: str, role: Role | str, agent_id: str | None = None, *,
               now: float | None = None) -> tuple[ApiToken, str]:
        """Add a token; returns it and its secret (shown once, only its hash is stored)."""
        name = _text("token.name", name, t.NAME)
        try:
            role = Role(role)
        except ValueError:
            raise InvalidValue("token.role", role, "must be one of admin, supervisor, agent") from None
        if role is Role.AGENT and not agent_id:
            raise InvalidValue("token.agent_id", agent_id, "an agent token needs --agent ID")
        if role is not Role.AGENT and agent_id:
            raise InvalidValue("token.agent_id", agent_id, f"only agent tokens name an agent, not {role}")
        secret = PREFIX + secrets.token_urlsafe(32)
        created = to_utc(now) if now is not None else datetime.datetime.now(datetime.UTC)

        def run(session: Session) -> None:
            if session.get(ApiTokenRow, name) is not None:
                raise Conflict("token", name)
            if agent_id is not None and session.get(t.AgentRow, agent_id) is None:
                raise NotFound("agent", agent_id)
            session.add(ApiTokenRow(name=name, sha256=hash_secret(secret), role=role, agent_id=agent_id,
                                    created_at=created))

        self._tx(run, kind="token", key=name)
        return self.get(name), secret

    def get(self, name: str) -> ApiToken:
        """One token by name; NotFound otherwise."""
        row = self._read(lambda s: s.get(ApiTokenRow, name))
        if row is None:
            raise NotFound("token", name)
        return _token(row)

    def verify(self, secret: str) -> ApiToken | None:
        """The token whose secret this is, or None."""
        if not secret or len(secret) > 256:
            return None
        digest = hash_secret(secret)
        row = self._read(lambda s: s.scalars(select(ApiTokenRow).where(ApiTokenRow.sha256 == digest)).first())
        if row is None or not secrets.compare_digest(row.sha256, digest):
            return None
        return _token(row)

    def by_digest(self) -> dict[str, ApiToken]:
        """Every token by the SHA-256 of its secret (for an in-memory cache of the API's token checks)."""
        return self._read(lambda s: {r.sha256: _token(r) for r in s.scalars(select(ApiTokenRow))})

    def list(self) -> builtins.list[ApiToken]:
        """Every token, ordered by name."""
        q = select(ApiTokenRow).order_by(ApiTokenRow.name)
        return self._read(lambda s: [_token(r) for r in s.scalars(q)])

    def delete(self, name: str) -> None:
        """Revoke a token; NotFound if unknown."""

        def run(session: Session) -> None:
            row = session.get(ApiTokenRow, name)
            if row is None:
                raise NotFound("token", name)
            session.delete(row)

        self._tx(run, kind="token", key=name)
