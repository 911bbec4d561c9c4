"""Who a ccctl command acts as, the policy's decision on it, and the audit row of each change it makes.

``--as LOGIN`` (or $CC_USER) makes a command act as that user: cc.authz's ``allowed()`` decides, as for the API,
and the audit log names him. Without it the command acts as the database's operator (whoever holds the database
URL can change anything anyway), named ``cli:<os user>``. :func:`audited` gives a configuration command all of
it at once: the option, the check, and one audit row written in the transaction of the change
(:class:`cc.store.audit.AuditedDatabase`, which :func:`cc.commands.admin_common.open_repos` hands out while the
command runs).
"""

from __future__ import annotations

import functools
import getpass
import os
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, TypeVar

import click

from cc.authz import Directory, Permission, Principal, Resource, ResourceKind, allowed
from cc.commands.admin_common import CHANGE_KEY, open_repos, plain
from cc.errors import ApiError, InvalidValue
from cc.privacy.mask import mask_text
from cc.store.audit import Actor, Change
from cc.store.db import Database

__all__ = ["AUDIT_ATTR", "Acting", "Locator", "as_option", "audited", "os_user"]

F = TypeVar("F", bound=Callable[..., Any])

#: The attribute :func:`audited` sets on a command's callback: the audit action it writes (the scan test reads it).
AUDIT_ATTR = "__cc_audit__"

#: Options that say how a command runs, not what it changes: left out of the audit row's detail.
_NOT_DETAIL = frozenset({"db_url", "controller_url", "token", "do_reload", "as_json", "as_login", "progress"})

#: (the acting user, the command's parameters) -> the resources the permission is checked on (all must pass).
Locator = Callable[["Acting", Mapping[str, Any]], Sequence[Resource]]


def os_user() -> str:
    """The operating-system user running the command (for ``cli:<os user>``)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid()) if hasattr(os, "getuid") else "unknown"


def as_option(fn: F) -> F:
    """``--as LOGIN`` ($CC_USER): act as that user under the permission policy."""
    return click.option("--as", "as_login", metavar="LOGIN", envvar="CC_USER",
                        help="Act as this user: the permission policy decides, the audit log names him "
                             "(default: $CC_USER, else the operator of the database).")(fn)


class Acting:
    """Who acts on ``db``: a user (``as_login``, with his compiled permissions) or the database's operator
    (no ``as_login``: then ``db`` is not read and may be None)."""

    def __init__(self, db: Database | None, as_login: str | None, client: str = "cli") -> None:
        self.db = db
        self.principal: Principal | None = None
        self.directory = Directory()
        if as_login:
            if db is None:
                raise InvalidValue("--as", as_login, "acting as a user needs the database")
            from cc.store.users import UserRepo

            self.directory = UserRepo(db).directory()[0]
            self.principal = self.directory.by_login.get(as_login)
            if self.principal is None:
                raise InvalidValue("--as", as_login, "no such user")
            self.actor = Actor(as_login, self.principal.id, client)
        else:
            self.actor = Actor(f"cli:{os_user()}", None, client)

    def require(self, permission: Permission, resource: Resource) -> None:
        """Refuse (exit 1, one line) unless the acting user may; the operator may do anything."""
        if self.principal is None:
            return
        decision = allowed(self.principal, permission, resource)
        if not decision:
            raise ApiError(403, f"{self.principal.login} may not {permission} here: {decision.reason}",
                           kind="forbidden")

    def agent(self, agent_id: str | None, kind: ResourceKind = ResourceKind.AGENT) -> Resource:
        """The resource of an agent's thing (his unit's), or the organisation's when there is no agent."""
        return self.directory.agent(agent_id, kind) if agent_id else Resource.org(kind)


def _detail(params: Mapping[str, Any], hide: Collection[str]) -> dict[str, Any]:
    """What the command was asked to do, as JSON-ready values (write_audit masks the numbers in it)."""
    out: dict[str, Any] = {}
    for name, value in params.items():
        if name in _NOT_DETAIL or value is None or value == () or value is False:
            continue
        out[name] = "(hidden)" if name in hide else plain(value) if not hasattr(value, "read") else \
            getattr(value, "name", "-")
        if not isinstance(out[name], str | int | float | bool | list | dict):
            out[name] = str(value)
    return out


def audited(action: str, permission: Permission, kind: ResourceKind, *, key: str | None = None,
            locate: Locator | None = None, hide: Collection[str] = ()) -> Callable[[F], F]:
    """Decorate a command that changes the database: ``--as LOGIN``, ``permission`` checked on the resource(s)
    (``locate``; default: the organisation's ``kind`` thing), and one audit row ``action`` (resource: the
    parameter ``key``; detail: the other parameters, ``hide`` ones hidden) in the change's transaction."""

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def run(*args: Any, as_login: str | None = None, **params: Any) -> Any:
            ctx = click.get_current_context()
            target = "" if key is None or params.get(key) is None else str(plain(params[key]))
            shown = mask_text(target)   # a number named as the resource (dnc del) is masked in the row
            if as_login:
                db = open_repos(params.get("db_url")).db
                try:
                    acting = Acting(db, as_login)
                finally:
                    db.dispose()
            else:
                acting = Acting(None, None)
            resources = locate(acting, params) if locate is not None else [Resource.org(kind, target)]
            for resource in resources:
                acting.require(permission, resource)
            ctx.meta[CHANGE_KEY] = Change(acting.actor, action, kind.value, shown, _detail(params, hide))
            return fn(*args, **params)

        setattr(run, AUDIT_ATTR, action)
        return as_option(run)  # type: ignore[return-value]

    return decorate


def on_agent(param: str = "agent_id") -> Locator:
    """The agent named by ``param`` (his unit), and the unit a ``--team`` option moves him to."""

    def locate(acting: Acting, params: Mapping[str, Any]) -> Sequence[Resource]:
        out = [acting.agent(params.get(param))]
        team = params.get("team")
        if isinstance(team, str) and team:
            out.append(Resource.of_unit(ResourceKind.AGENT, team))
        return out

    return locate


def on_user(param: str = "login") -> Locator:
    """The user named by ``param`` (his agent's unit, himself), else the organisation's users."""

    def locate(acting: Acting, params: Mapping[str, Any]) -> Sequence[Resource]:
        target = acting.directory.by_login.get(params.get(param) or "")
        return [acting.directory.user_resource(target.id) if target is not None else Resource.org(ResourceKind.USER)]

    return locate
