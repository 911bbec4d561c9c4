"""The one permission decision: ``allowed(user, permission, resource) -> Decision``, and the directory it reads.

A user (:class:`Principal`) is compiled once from his grants: for each permission he holds, where it
reaches (:class:`Reach`: everywhere, or a frozenset of org units -- the union of the granted subtrees).
A decision is then a dict lookup and a set membership test:

1. a disabled user may do nothing;
2. a permission held everywhere allows it on anything;
3. a ``shared`` resource (a queue, a list whose items are filtered one by one) is allowed to anyone who holds
   the permission somewhere;
4. a resource owned by an org unit is allowed when the unit lies in the permission's reach;
5. the holder's own things (his agent, his user) are allowed for any permission he holds, and through
   ``agent_self`` for the permissions of SELF_SERVICE;
6. anything else is refused, with the reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from cc.authz.permissions import BUILTIN_ROLES, SELF_SERVICE, Permission, ResourceKind
from cc.authz.tree import OrgTree

__all__ = ["ALLOW", "Decision", "Directory", "GrantSpec", "Principal", "Reach", "Resource", "UserSpec", "allowed"]


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer of :func:`allowed`: true or false, and why (for logs, 403 bodies and audit rows)."""

    allowed: bool
    reason: str

    def __bool__(self) -> bool:
        """Whether it was allowed."""
        return self.allowed


ALLOW = Decision(True, "allowed")
_EVERYWHERE = Decision(True, "granted everywhere")
_SHARED = Decision(True, "shared resource")
_IN_SCOPE = Decision(True, "in scope")
_OWN = Decision(True, "own")
_SELF = Decision(True, "agent_self")


@dataclass(frozen=True, slots=True)
class Resource:
    """What a decision is about: its kind and who owns it (an org unit, an agent, a user), or ``shared``.

    A resource with no owner and not shared is the organisation's: only a grant everywhere reaches it.
    """

    kind: ResourceKind
    unit: str | None = None
    agent_id: str | None = None
    user_id: int | None = None
    shared: bool = False
    id: str = ""

    @classmethod
    def org(cls, kind: ResourceKind, id: str = "") -> Resource:
        """The organisation's own (configuration, the audit log, roles): only grants everywhere reach it."""
        return cls(kind, id=id)

    @classmethod
    def common(cls, kind: ResourceKind, id: str = "") -> Resource:
        """Shared by every unit (a queue; a listing filtered item by item): any holder of the permission."""
        return cls(kind, shared=True, id=id)

    @classmethod
    def of_agent(cls, agent_id: str, unit: str | None, kind: ResourceKind = ResourceKind.AGENT) -> Resource:
        """An agent's (or his call's, recording's, score's): owned by his unit and by the agent himself."""
        return cls(kind, unit=unit, agent_id=agent_id, id=agent_id)

    @classmethod
    def of_unit(cls, kind: ResourceKind, unit: str | None, id: str = "") -> Resource:
        """Owned by one org unit (a unit's report, a campaign of a department)."""
        return cls(kind, unit=unit, id=id or (unit or ""))

    @classmethod
    def of_user(cls, user_id: int, unit: str | None = None, agent_id: str | None = None) -> Resource:
        """A user (his account, grants, tokens, his own event stream)."""
        return cls(ResourceKind.USER, unit=unit, agent_id=agent_id, user_id=user_id, id=str(user_id))


@dataclass(frozen=True, slots=True)
class Reach:
    """Where one permission of a user applies: everywhere, or these org units (subtrees expanded)."""

    everywhere: bool
    units: frozenset[str]


@dataclass(frozen=True, slots=True)
class Principal:
    """A user as the decision sees him: compiled from his grants (see :meth:`Directory.principal`)."""

    id: int
    login: str
    agent_id: str | None = None
    disabled: bool = False
    reach: Mapping[Permission, Reach] = field(default_factory=dict)
    roles: tuple[str, ...] = ()
    unit: str | None = None      #: his agent's unit (where his own things live)

    def holds(self, permission: Permission) -> bool:
        """Whether any grant gives him ``permission`` (anywhere, own self included)."""
        return permission in self.reach

    def permissions(self) -> frozenset[Permission]:
        """Every permission he holds somewhere."""
        return frozenset(self.reach)


def allowed(user: Principal, permission: Permission, resource: Resource) -> Decision:
    """May ``user`` do ``permission`` on ``resource``? The one decision every route, page, report, export,
    event stream and command goes through (rules in the module docstring)."""
    if user.disabled:
        return Decision(False, f"user {user.login} is disabled")
    reach = user.reach.get(permission)
    if reach is not None:
        if reach.everywhere:
            return _EVERYWHERE
        if resource.shared:
            return _SHARED
        if resource.unit is not None and resource.unit in reach.units:
            return _IN_SCOPE
    own = ((resource.agent_id is not None and resource.agent_id == user.agent_id)
           or (resource.user_id is not None and resource.user_id == user.id))
    if own:
        if reach is not None:
            return _OWN
        if permission in SELF_SERVICE and Permission.AGENT_SELF in user.reach:
            return _SELF
    if reach is None:
        return Decision(False, f"{user.login} holds no role with {permission}")
    where = f"unit {resource.unit}" if resource.unit is not None else "the whole organisation"
    what = f"{resource.kind} {resource.id}".rstrip()
    return Decision(False, f"{user.login} has {permission} only within his scope, not on {what} ({where})")


@dataclass(frozen=True, slots=True)
class UserSpec:
    """A user as the store hands it over (no password hash: the decision never needs it)."""

    id: int
    login: str
    agent_id: str | None = None
    disabled: bool = False
    display_name: str = ""


@dataclass(frozen=True, slots=True)
class GrantSpec:
    """One grant: ``user_id`` holds ``role`` everywhere, over these unit subtrees, or (neither) on himself."""

    user_id: int
    role: str
    everywhere: bool = False
    units: tuple[str, ...] = ()


class Directory:
    """Everything the decision needs, in memory: the tree, the roles, every user compiled, the agents' units.

    Built in one go from plain data (the store's snapshot) and never changed: a refresh builds a new one
    and swaps it in, so a request sees one consistent directory.
    """

    def __init__(self, *, units: Mapping[str, str | None] | None = None,
                 roles: Mapping[str, Iterable[Permission]] | None = None,
                 users: Iterable[UserSpec] = (), grants: Iterable[GrantSpec] = (),
                 agents: Mapping[str, str | None] | None = None) -> None:
        self.tree = OrgTree(units or {})
        self.roles: dict[str, frozenset[Permission]] = {n: frozenset(p) for n, p in (roles or {}).items()}
        self.roles.update(BUILTIN_ROLES)            # built-in roles are the code's table, whatever rows say
        self.agent_units: dict[str, str | None] = dict(agents or {})
        by_user: dict[int, list[GrantSpec]] = {}
        for g in grants:
            by_user.setdefault(g.user_id, []).append(g)
        self.users: dict[int, Principal] = {}
        self.by_login: dict[str, Principal] = {}
        for spec in users:
            principal = self.principal(spec, by_user.get(spec.id, ()))
            self.users[spec.id] = principal
            self.by_login[spec.login] = principal

    def principal(self, user: UserSpec, grants: Iterable[GrantSpec]) -> Principal:
        """Compile one user: for each permission of each granted role, the union of its reaches.

        A grant of a role this directory does not know, or over units it does not know, adds nothing there
        (least privilege: a scope never widens because something is missing)."""
        everywhere: set[Permission] = set()
        units: dict[Permission, set[str]] = {}
        roles = []
        for g in grants:
            perms = self.roles.get(g.role)
            if perms is None:
                continue
            roles.append(g.role)
            covered: frozenset[str] = frozenset().union(
                *(self.tree.subtrees[u] for u in g.units if u in self.tree))
            for p in perms:
                if g.everywhere:
                    everywhere.add(p)
                else:
                    units.setdefault(p, set()).update(covered)
        reach: dict[Permission, Reach] = {}
        cache: dict[frozenset[str], Reach] = {}
        for p in everywhere:
            reach[p] = Reach(True, frozenset())
        for p, us in units.items():
            if p in reach:
                continue
            key = frozenset(us)
            reach[p] = cache.setdefault(key, Reach(False, key))
        unit = self.agent_units.get(user.agent_id) if user.agent_id is not None else None
        return Principal(user.id, user.login, user.agent_id, user.disabled, reach, tuple(sorted(roles)), unit)

    def agent(self, agent_id: str, kind: ResourceKind = ResourceKind.AGENT) -> Resource:
        """The resource of an agent (or his call, recording ...) with the unit the directory knows for him."""
        return Resource.of_agent(agent_id, self.agent_units.get(agent_id), kind)

    def visible_agents(self, user: Principal, permission: Permission) -> frozenset[str] | None:
        """The agents on whose things ``user`` may do ``permission`` -- None for all of them (held everywhere) --
        for a query that filters rows by agent instead of asking :func:`allowed` row by row. It agrees with
        ``allowed(user, permission, self.agent(a))`` for every agent ``a`` the directory knows."""
        if user.disabled:
            return frozenset()
        reach = user.reach.get(permission)
        if reach is not None and reach.everywhere:
            return None
        units = reach.units if reach is not None else frozenset()
        out = {a for a, unit in self.agent_units.items() if unit is not None and unit in units}
        if user.agent_id is not None and allowed(user, permission, self.agent(user.agent_id)):
            out.add(user.agent_id)
        return frozenset(out)

    def user_resource(self, user_id: int) -> Resource:
        """The resource of a user: owned by his agent's unit (if he is an agent) and by himself."""
        p = self.users.get(user_id)
        return Resource.of_user(user_id, p.unit if p else None, p.agent_id if p else None)
