"""Who is signed in, and the permission check of a page: the same ``cc.authz.allowed`` decision as the API."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import abort, g, redirect, request, url_for

from cc.authz import Permission, Principal, Resource, allowed
from cc.web.context import WebContext

__all__ = ["agent_resource", "ctx", "current_user", "may", "require", "signed_in"]

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])


def ctx() -> WebContext:
    """The app's context (services, repositories)."""
    return cast(WebContext, g.ctx)


def current_user() -> Principal:
    """The signed-in user (only inside a view decorated with :func:`signed_in`)."""
    user = g.get("user")
    assert user is not None
    return cast(Principal, user)


def signed_in(view: F) -> F:
    """A view for signed-in users: others go to the sign-in page (htmx requests get 401, which reloads it)."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if g.get("user") is None:
            if request.headers.get("HX-Request"):
                return "", 401, {"HX-Redirect": url_for("auth.signin")}
            return redirect(url_for("auth.signin", next=request.path))
        return view(*args, **kwargs)

    return cast(F, wrapper)


def agent_resource(agent_id: str) -> Resource:
    """The resource of an agent, with the unit the permission directory knows for him."""
    return ctx().watch.directory.agent(agent_id)


def may(permission: Permission, resource: Resource) -> bool:
    """Whether the signed-in user may do ``permission`` on ``resource``."""
    return bool(allowed(current_user(), permission, resource))


def require(permission: Permission, resource: Resource) -> None:
    """403 unless the signed-in user may do ``permission`` on ``resource`` (the API's decision, logged alike)."""
    user = current_user()
    decision = allowed(user, permission, resource)
    if not decision:
        log.info("web: user %s refused %s on %s %s: %s", user.login, permission, resource.kind, resource.id,
                 decision.reason)
        abort(403)
