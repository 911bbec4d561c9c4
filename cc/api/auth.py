"""Who calls the HTTP API and whether the permission policy lets him: bearer token -> user -> ``allowed()``.

A route names a permission and how to find the resource it acts on (:class:`Locate`); the decision is
cc.authz's one function, over the in-memory :class:`~cc.authz.Directory` (no database round trip per request).
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cc.authz import Directory, Permission, Principal, Resource, ResourceKind, allowed
from cc.errors import ApiError

__all__ = ["Caller", "Locate", "Lookup", "authenticate", "authorize", "locate"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated request's caller: the token used and the user it acts for (compiled)."""

    token: str
    user: Principal


Lookup = Callable[[str], Caller | None]


class Locate(enum.Enum):
    """How a route finds the resource its permission is checked on."""

    SELF = "self"         #: the caller's own user (whoami, his event stream)
    SHARED = "shared"     #: shared by every unit (queues; listings filtered item by item)
    ORG = "org"           #: the organisation's own (configuration): only grants everywhere reach it
    AGENT = "agent"       #: the agent of the path's {agent_id}: his unit, or himself
    CALL = "call"         #: the call of the path's {uuid}: its agent's unit (a call with no agent is shared)


def authenticate(header: str | None, lookup: Lookup) -> Caller:
    """The caller an ``Authorization: Bearer SECRET`` header names; ApiError 401 when missing or unknown."""
    if not header:
        raise ApiError(401, "missing bearer token (Authorization: Bearer TOKEN)", kind="unauthorized")
    scheme, _, secret = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise ApiError(401, "expected Authorization: Bearer TOKEN", kind="unauthorized")
    caller = lookup(secret.strip())
    if caller is None:
        raise ApiError(401, "unknown or revoked token", kind="unauthorized")
    if caller.user.disabled:
        raise ApiError(401, f"user {caller.user.login} is disabled", kind="unauthorized")
    return caller


def locate(how: Locate, params: Mapping[str, str], caller: Caller, directory: Directory,
           call_agent: Callable[[str], str | None] | None = None,
           agent_unit: Callable[[str], str | None] | None = None) -> Resource:
    """The resource a route acts on. ``call_agent(uuid)`` names a live call's agent; ``agent_unit(id)`` is the
    fallback for an agent the directory does not know yet (the controller's own configuration)."""
    if how is Locate.SELF:
        return Resource.of_user(caller.user.id, caller.user.unit, caller.user.agent_id)
    if how is Locate.SHARED:
        return Resource.common(ResourceKind.QUEUE, params.get("queue", ""))
    if how is Locate.ORG:
        return Resource.org(ResourceKind.CONFIG)
    if how is Locate.AGENT:
        return _agent(params["agent_id"], ResourceKind.AGENT, directory, agent_unit)
    agent = call_agent(params["uuid"]) if call_agent is not None else None
    if agent is None:
        return Resource.common(ResourceKind.CALL, params["uuid"])
    return _agent(agent, ResourceKind.CALL, directory, agent_unit)


def _agent(agent_id: str, kind: ResourceKind, directory: Directory,
           agent_unit: Callable[[str], str | None] | None) -> Resource:
    if agent_id in directory.agent_units or agent_unit is None:
        return directory.agent(agent_id, kind)
    return Resource.of_agent(agent_id, agent_unit(agent_id), kind)


def authorize(caller: Caller, permission: Permission, resource: Resource, what: Any = None) -> None:
    """ApiError 403 (with the decision's reason) unless the policy allows ``permission`` on ``resource``."""
    decision = allowed(caller.user, permission, resource)
    if decision:
        return
    log.info("token %s (user %s) refused %s on %s %s: %s", caller.token, caller.user.login, permission,
             resource.kind, resource.id, decision.reason)
    raise ApiError(403, f"token {caller.token!r} (user {caller.user.login}) may not {permission} "
                        f"{what or resource.kind}: {decision.reason}", kind="forbidden")
