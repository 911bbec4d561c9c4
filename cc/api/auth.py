"""Bearer-token checks for the HTTP API: who the caller is and whether their role allows a route."""

from __future__ import annotations

import logging
from collections.abc import Callable

from cc.errors import ApiError
from cc.store.tokens import ApiToken, Role

__all__ = ["RANK", "Lookup", "allowed", "authenticate"]

log = logging.getLogger(__name__)

#: a higher rank may do everything a lower one may
RANK = {Role.AGENT: 1, Role.SUPERVISOR: 2, Role.ADMIN: 3}

Lookup = Callable[[str], ApiToken | None]


def authenticate(header: str | None, lookup: Lookup) -> ApiToken:
    """The token an ``Authorization: Bearer SECRET`` header names; ApiError 401 when missing or unknown."""
    if not header:
        raise ApiError(401, "missing bearer token (Authorization: Bearer TOKEN)", kind="unauthorized")
    scheme, _, secret = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise ApiError(401, "expected Authorization: Bearer TOKEN", kind="unauthorized")
    token = lookup(secret.strip())
    if token is None:
        raise ApiError(401, "unknown or revoked token", kind="unauthorized")
    return token


def allowed(token: ApiToken, need: Role, agent_id: str | None = None, *, self_service: bool = False) -> None:
    """Raise ApiError 403 unless ``token`` may act: its role ranks at least ``need``, or it is an agent
    token acting on its own agent where the route allows ``self_service``."""
    if token.role is not None and RANK[token.role] >= RANK[need]:
        return
    if self_service and token.role is Role.AGENT and agent_id is not None and token.agent_id == agent_id:
        return
    what = f"agent {agent_id!r}" if self_service and agent_id is not None else "this"
    log.info("token %s (%s) refused: needs %s for %s", token.name, token.role, need, what)
    raise ApiError(403, f"token {token.name!r} ({token.role}) may not do {what}: needs {need}",
                   kind="forbidden")
