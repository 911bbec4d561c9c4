"""Org units (the tree of departments and teams) and roles (named sets of permissions): add, change, list.

Every change is audited in its own transaction (the change and its audit row commit together).
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from cc.authz import BUILTIN_ROLES, CyclicTree, OrgTree, Permission, parse_permissions
from cc.errors import Conflict, InvalidValue, NotFound
from cc.store import tables as t
from cc.store.audit import Actor, write_audit
from cc.store.org_tables import GrantRow, RolePermissionRow, RoleRow
from cc.store.repo_base import _Repo, _text
from cc.store.tokens import ensure_role

__all__ = ["OrgRepo", "OrgUnit", "RoleInfo", "RoleRepo"]


@dataclass(frozen=True)
class OrgUnit:
    """One unit of the tree: its parent (None: a top unit), kind, depth and path, and its agents."""

    name: str
    parent: str | None
    kind: str
    description: str = ""
    depth: int = 0
    path: str = ""
    agents: int = 0


@dataclass(frozen=True)
class RoleInfo:
    """A role: built-in or defined, its permissions, and how many users hold it."""

    name: str
    builtin: bool
    permissions: tuple[str, ...]
    description: str = ""
    holders: int = 0


def _kind(kind: str) -> t.OrgKind:
    try:
        return t.OrgKind(kind)
    except ValueError:
        raise InvalidValue("unit.kind", kind, "must be department or team") from None


#: The key of PostgreSQL's transaction-level advisory lock that serialises moves in the org tree ("cc-org" in hex).
TREE_LOCK = 0x63632D6F7267


def _lock_tree(session: Session) -> None:
    """Serialise changes of the tree's shape until this transaction ends: PostgreSQL's transaction-level advisory
    lock (released by commit or rollback), SQLite's write lock taken up front (BEGIN IMMEDIATE; waits out the
    busy timeout). Two moves then never both check the tree as it was before the other: no cycle from a race."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": TREE_LOCK})
    else:
        session.connection().exec_driver_sql("BEGIN IMMEDIATE")


def _parents(session: Session) -> dict[str, str | None]:
    return {name: parent for name, parent in session.execute(select(t.TeamRow.name, t.TeamRow.parent))}


class OrgRepo(_Repo):
    """The org tree: add a unit under a parent, move it, list the tree."""

    def add(self, name: str, parent: str | None = None, *, kind: str = "team", description: str = "",
            actor: Actor | None = None) -> OrgUnit:
        """Add unit ``name`` under ``parent`` (None: a top unit); Conflict if it exists, NotFound for the parent."""
        name = _text("unit.name", name, t.NAME)
        okind = _kind(kind)
        _text("unit.description", description, t.TEXT, empty=True)

        def run(session: Session) -> None:
            if session.get(t.TeamRow, name) is not None:
                raise Conflict("unit", name)
            if parent is not None and session.get(t.TeamRow, parent) is None:
                raise NotFound("unit", parent)
            session.add(t.TeamRow(name=name, description=description, parent=parent, kind=okind))
            write_audit(session, actor or Actor("system"), "unit.add", "unit", name,
                        {"parent": parent, "kind": okind.value})

        self._tx(run, kind="unit", key=name)
        return self.get(name)

    def move(self, name: str, parent: str | None, *, actor: Actor | None = None) -> OrgUnit:
        """Put unit ``name`` (with its subtree) under ``parent`` (None: make it a top unit); refused into its own
        subtree. Users' scopes follow the tree: a scope over a department covers what is under it now."""

        def run(session: Session) -> None:
            _lock_tree(session)     # first: the checks below read the tree as no other move can change it now
            row = session.get(t.TeamRow, name)
            if row is None:
                raise NotFound("unit", name)
            if parent is not None and session.get(t.TeamRow, parent) is None:
                raise NotFound("unit", parent)
            try:        # the tree after the move must build (this also repairs a tree a cycle had broken)
                OrgTree({**_parents(session), name: parent})
            except CyclicTree as exc:
                if name in exc.cycle:
                    raise InvalidValue("unit.parent", parent, f"lies in {name}'s own subtree") from None
                raise
            before = row.parent
            row.parent = parent
            write_audit(session, actor or Actor("system"), "unit.move", "unit", name, {"from": before, "to": parent})

        self._tx(run, kind="unit", key=name)
        return self.get(name)

    def get(self, name: str) -> OrgUnit:
        """One unit; NotFound otherwise."""
        for unit in self.list():
            if unit.name == name:
                return unit
        raise NotFound("unit", name)

    def list(self) -> builtins.list[OrgUnit]:
        """Every unit, depth first (a parent before its children, siblings by name)."""

        def run(session: Session) -> builtins.list[OrgUnit]:
            rows = {r.name: r for r in session.scalars(select(t.TeamRow))}
            counts: dict[str | None, int] = {
                team: n for team, n in session.execute(select(t.AgentRow.team, func.count())
                                                        .where(t.AgentRow.team.is_not(None)).group_by(t.AgentRow.team))}
            tree = OrgTree({n: r.parent for n, r in rows.items()})
            return [OrgUnit(u, rows[u].parent, t.OrgKind(rows[u].kind).value, rows[u].description, depth,
                            tree.path(u), counts.get(u, 0))
                    for u, depth in tree.walk()]

        return self._read(run)


class RoleRepo(_Repo):
    """Roles: the built-in ones (fixed) and those admins define (a name and a set of permissions)."""

    def add(self, name: str, permissions: Iterable[str], *, description: str = "",
            actor: Actor | None = None) -> RoleInfo:
        """Define role ``name``; Conflict if it exists (a built-in name included)."""
        name = _text("role.name", name, t.NAME)
        perms = self._perms(permissions)
        _text("role.description", description, t.TEXT, empty=True)

        def run(session: Session) -> None:
            if name in BUILTIN_ROLES or session.get(RoleRow, name) is not None:
                raise Conflict("role", name)
            session.add(RoleRow(name=name, builtin=False, description=description))
            session.flush()
            session.add_all(RolePermissionRow(role=name, permission=p.value) for p in sorted(perms))
            write_audit(session, actor or Actor("system"), "role.add", "role", name,
                        {"permissions": sorted(p.value for p in perms)})

        self._tx(run, kind="role", key=name)
        return self.get(name)

    def set(self, name: str, *, add: Iterable[str] = (), remove: Iterable[str] = (),
            permissions: Iterable[str] | None = None, description: str | None = None,
            actor: Actor | None = None) -> RoleInfo:
        """Change a defined role: replace its permissions, or add/remove some, or its description; a built-in
        role cannot change (InvalidValue)."""
        if name in BUILTIN_ROLES:
            raise InvalidValue("role", name, "is built in and cannot change (define a new role instead)")
        plus, minus = self._perms(add), self._perms(remove)
        whole = self._perms(permissions) if permissions is not None else None
        if description is not None:
            _text("role.description", description, t.TEXT, empty=True)

        def run(session: Session) -> None:
            row = session.get(RoleRow, name)
            if row is None:
                raise NotFound("role", name)
            before = {r for (r,) in session.execute(select(RolePermissionRow.permission)
                                                     .where(RolePermissionRow.role == name))}
            after = {p.value for p in whole} if whole is not None else set(before)
            after = (after | {p.value for p in plus}) - {p.value for p in minus}
            session.execute(delete(RolePermissionRow).where(RolePermissionRow.role == name))
            session.add_all(RolePermissionRow(role=name, permission=p) for p in sorted(after))
            if description is not None:
                row.description = description
            write_audit(session, actor or Actor("system"), "role.set", "role", name,
                        {"added": sorted(after - before), "removed": sorted(before - after),
                         **({"description": description} if description is not None else {})})

        self._tx(run, kind="role", key=name)
        return self.get(name)

    def get(self, name: str) -> RoleInfo:
        """One role; NotFound otherwise."""
        for role in self.list():
            if role.name == name:
                return role
        raise NotFound("role", name)

    def list(self) -> builtins.list[RoleInfo]:
        """Every role: the built-in ones first (in the table's order), then defined ones by name."""

        def run(session: Session) -> builtins.list[RoleInfo]:
            for builtin in BUILTIN_ROLES:
                ensure_role(session, builtin)
            rows = {r.name: r for r in session.scalars(select(RoleRow))}
            perms: dict[str, builtins.list[str]] = {}
            for role, perm in session.execute(select(RolePermissionRow.role, RolePermissionRow.permission)):
                perms.setdefault(role, []).append(perm)
            holders: dict[str, int] = {
                role: n for role, n in session.execute(select(GrantRow.role, func.count()).group_by(GrantRow.role))}
            names = [*BUILTIN_ROLES, *sorted(n for n in rows if n not in BUILTIN_ROLES)]
            out = []
            for n in names:
                if n in BUILTIN_ROLES:
                    granted = tuple(p.value for p in Permission if p in BUILTIN_ROLES[n])
                else:
                    granted = tuple(p.value for p in Permission if p.value in perms.get(n, ()))
                row = rows.get(n)
                out.append(RoleInfo(n, n in BUILTIN_ROLES, granted, row.description if row else "",
                                    holders.get(n, 0)))
            return out

        return self._tx(run, kind="role", key=None)

    @staticmethod
    def _perms(names: Iterable[str]) -> frozenset[Permission]:
        try:
            return parse_permissions(list(names))
        except ValueError as exc:
            raise InvalidValue("role.permissions", ",".join(map(str, names)), str(exc)) from None
