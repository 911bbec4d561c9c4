"""Who may do what: permissions, built-in roles, the org tree, and the one decision ``allowed()``.

Pure: no I/O, no gevent, no SQLAlchemy, no clock. The store loads a :class:`Directory` (users, grants, roles,
units, agents' units); the API, the event stream, the CLI and the web ask :func:`allowed`::

    from cc.authz import Directory, Permission, Resource, ResourceKind, allowed

    d = Directory(units={"sales": None, "a": "sales"}, users=[UserSpec(1, "li")],
                  grants=[GrantSpec(1, "supervisor", units=("sales",))], agents={"1000": "a"})
    allowed(d.users[1], Permission.CONTROL_AGENTS, d.agent("1000"))   # Decision(True, 'in scope')
"""

from __future__ import annotations

from cc.authz.permissions import BUILTIN_ROLES, SELF_SERVICE, Permission, ResourceKind, parse_permissions
from cc.authz.policy import (
    ALLOW,
    Decision,
    Directory,
    GrantSpec,
    Principal,
    Reach,
    Resource,
    UserSpec,
    allowed,
)
from cc.authz.tree import CyclicTree, OrgTree

__all__ = [
    "ALLOW",
    "BUILTIN_ROLES",
    "SELF_SERVICE",
    "CyclicTree",
    "Decision",
    "Directory",
    "GrantSpec",
    "OrgTree",
    "Permission",
    "Principal",
    "Reach",
    "Resource",
    "ResourceKind",
    "UserSpec",
    "allowed",
    "parse_permissions",
]
