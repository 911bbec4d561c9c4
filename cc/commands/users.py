"""`ccctl user|org|role|audit`: users and their role grants, the org tree, roles, and the audit log.

These commands work on the database directly. Who runs them is named in the audit log: ``--as LOGIN``
(or $CC_USER) makes the command act as that user, and the permission policy decides (as the API does);
without it the command acts as the database's operator (``cli:<os user>``), like every configuration command.
"""

from __future__ import annotations

import csv
import datetime
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import click

from cc.authz import BUILTIN_ROLES, Permission, Resource, ResourceKind, allowed
from cc.commands.acting import Acting, as_option
from cc.commands.admin_common import db_option, emit, open_repos, usage_error
from cc.commands.options import old_spelling, prefer
from cc.commands.output import dumps
from cc.errors import ApiError, InvalidValue
from cc.reports.intervals import parse_time, zone
from cc.store.audit import AuditRepo
from cc.store.db import Database
from cc.store.org import OrgRepo, RoleRepo
from cc.store.users import User, UserRepo, parse_scope

__all__ = ["audit", "org", "role", "user"]

F = TypeVar("F", bound=Callable[..., Any])


class _Session(Acting):
    """The database, who acts, and (with --as) his compiled permissions (cc.commands.acting)."""

    db: Database

    def __init__(self, db_url: str | None, as_login: str | None) -> None:
        db: Database = open_repos(db_url).db
        super().__init__(db, as_login)
        self.db = db
        self.users = UserRepo(db)

    def user_resource(self, login: str) -> Resource:
        """The resource a user is, for --as checks (his agent's unit, himself)."""
        if self.principal is None:
            return Resource.org(ResourceKind.USER)
        target = self.directory.by_login.get(login)
        return self.directory.user_resource(target.id) if target else Resource.org(ResourceKind.USER, login)


def _user_row(u: User) -> dict[str, Any]:
    locked = u.locked_until is not None and u.locked_until > time.time()
    return {"id": u.id, "login": u.login, "name": u.display_name, "agent": u.agent_id, "locale": u.locale,
            "roles": "; ".join(f"{g.role}@{g.scope}" for g in u.grants),
            "state": "disabled" if u.disabled else "locked" if locked else "active",
            "password": u.has_password,
            "grants": [{"role": g.role, "scope": g.scope} for g in u.grants]}


def _show_user(u: User, as_json: bool, message: str) -> None:
    if as_json:
        click.echo(dumps(_user_row(u), indent=2))
    else:
        click.echo(message)


def _read_password(prompt_new: bool) -> str:
    """A password from stdin when it is not a terminal (scripts), else asked twice without echo."""
    if not sys.stdin.isatty():
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            usage_error("--password-stdin: no password on standard input")
        return line
    value: str = click.prompt("new password" if prompt_new else "password", hide_input=True,
                              confirmation_prompt=True, err=True)
    return value


# ====================================================================== user


@click.group("user")
def user() -> None:
    """Users: people (and programs) who sign in. A user may be an agent; his roles, each over a scope (org units,
    '*' for everywhere, or himself only), say what he may do (docs/permissions.md).

    \b
    Examples:
      ccctl user add li --name "Li Wei" --agent 1001 --password-stdin <<< 'a long passphrase'
      ccctl user grant li supervisor --scope sales/east      # a unit and everything under it
      ccctl user grant zhao admin --scope '*'
      ccctl user list
      ccctl user disable li
    """


@user.command("add")
@click.argument("login")
@click.option("--name", "display_name", default="", help="The name shown for him.")
@click.option("--agent", "agent_id", metavar="ID", help="The agent he is (one user per agent).")
@click.option("--locale", default="", metavar="LOCALE", help="His language (e.g. zh_CN, en).")
@click.option("--password-stdin", is_flag=True, help="Read a password (one line) from stdin; else no password "
              "sign-in until `ccctl user passwd` (tokens still work).")
@click.option("--json", "as_json", is_flag=True, help="Print the user as JSON.")
@as_option
@db_option
def user_add(login: str, display_name: str, agent_id: str | None, locale: str, password_stdin: bool,
             as_json: bool, as_login: str | None, db_url: str | None) -> None:
    """Add user LOGIN (no roles yet: `ccctl user grant`).

    \b
    Examples:
      ccctl user add li --name "Li Wei" --agent 1001
      echo 'a long passphrase' | ccctl user add wang --password-stdin
    """
    s = _Session(db_url, as_login)
    # a new user who is an agent belongs to the agent's unit; any other is the organisation's
    s.require(Permission.MANAGE_USERS, s.directory.agent(agent_id, ResourceKind.USER) if agent_id
              else Resource.org(ResourceKind.USER))
    password = _read_password(True) if password_stdin else None
    u = s.users.add(login, display_name=display_name, password=password, agent_id=agent_id, locale=locale,
                    actor=s.actor)
    _show_user(u, as_json, f"user {login} added" + (f" (agent {agent_id})" if agent_id else ""))


@user.command("set")
@click.argument("login")
@click.option("--name", "display_name", help="The name shown for him.")
@click.option("--agent", "agent_id", metavar="ID|none", help="The agent he is, or none.")
@click.option("--locale", metavar="LOCALE", help="His language.")
@click.option("--json", "as_json", is_flag=True, help="Print the user as JSON.")
@as_option
@db_option
def user_set(login: str, display_name: str | None, agent_id: str | None, locale: str | None, as_json: bool,
             as_login: str | None, db_url: str | None) -> None:
    """Change user LOGIN's name, agent or locale.

    \b
    Examples:
      ccctl user set li --agent 1002
      ccctl user set li --agent none --locale en
    """
    if display_name is None and agent_id is None and locale is None:
        usage_error("nothing to change: give --name, --agent or --locale")
    s = _Session(db_url, as_login)
    s.require(Permission.MANAGE_USERS, s.user_resource(login))
    clear = agent_id == "none"
    u = s.users.set(login, display_name=display_name, agent_id=None if clear else agent_id, clear_agent=clear,
                    locale=locale, actor=s.actor)
    _show_user(u, as_json, f"user {login} changed")


@user.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@as_option
@db_option
def user_list(as_json: bool, as_login: str | None, db_url: str | None) -> None:
    """List users with their roles (role@scope), agent and state (with --as: those he may manage).

    \b
    Example:
      ccctl user list --json
    """
    s = _Session(db_url, as_login)
    shown = [u for u in s.users.list()
             if s.principal is None or allowed(s.principal, Permission.MANAGE_USERS, s.user_resource(u.login))]
    rows = [_user_row(u) for u in shown]
    if not as_json:
        for r in rows:
            r.pop("grants")
    emit(rows, ("login", "name", "agent", "roles", "state", "password", "locale"), as_json=as_json, title="users",
         empty="no users")


def _toggle(login: str, disabled: bool, as_login: str | None, db_url: str | None) -> None:
    s = _Session(db_url, as_login)
    s.require(Permission.MANAGE_USERS, s.user_resource(login))
    s.users.set_disabled(login, disabled, actor=s.actor)
    click.echo(f"user {login} {'disabled: no sign-in, his tokens refused' if disabled else 'enabled'}")


@user.command("disable")
@click.argument("login")
@as_option
@db_option
def user_disable(login: str, as_login: str | None, db_url: str | None) -> None:
    """Disable user LOGIN: no sign-in, his tokens are refused (within seconds on a running controller).

    \b
    Example:
      ccctl user disable li
    """
    _toggle(login, True, as_login, db_url)


@user.command("enable")
@click.argument("login")
@as_option
@db_option
def user_enable(login: str, as_login: str | None, db_url: str | None) -> None:
    """Enable user LOGIN again (also ends a lock-out).

    \b
    Example:
      ccctl user enable li
    """
    _toggle(login, False, as_login, db_url)


@user.command("passwd")
@click.argument("login")
@click.option("--password-stdin", is_flag=True, help="Read the password (one line) from stdin.")
@click.option("--remove", is_flag=True, help="Remove the password (token-only user).")
@as_option
@db_option
def user_passwd(login: str, password_stdin: bool, remove: bool, as_login: str | None, db_url: str | None) -> None:
    """Set user LOGIN's password (at least 10 characters, not containing the login); ends a lock-out.

    \b
    Examples:
      ccctl user passwd li                       # asks twice, without echo
      echo 'a long passphrase' | ccctl user passwd li --password-stdin
    """
    s = _Session(db_url, as_login)
    if s.principal is None or s.principal.login != login:
        s.require(Permission.MANAGE_USERS, s.user_resource(login))
    password = None if remove else _read_password(True)
    s.users.set_password(login, password, actor=s.actor)
    click.echo(f"user {login}: password {'removed' if remove else 'set'}")


@user.command("grant")
@click.argument("login")
@click.argument("role_name", metavar="ROLE")
@click.option("--scope", default=None, metavar="UNITS|*|self",
              help="Comma-separated org units (each with everything under it), '*' for everywhere, or self "
                   "(default: self: his own things only).")
@click.option("--json", "as_json", is_flag=True, help="Print the user as JSON.")
@as_option
@db_option
def user_grant(login: str, role_name: str, scope: str | None, as_json: bool, as_login: str | None,
               db_url: str | None) -> None:
    """Give user LOGIN role ROLE over a scope (a role he holds gets the units added).

    \b
    Examples:
      ccctl user grant li supervisor --scope A,B
      ccctl user grant zhao qa --scope '*'
      ccctl user grant desk-1001 agent
    """
    s = _Session(db_url, as_login)
    if scope is not None:
        scope = ",".join(part.strip().rsplit("/", 1)[-1] for part in scope.split(","))   # a path names its unit
    if s.principal is not None:
        everywhere, units = parse_scope(scope)
        s.require(Permission.MANAGE_USERS, s.user_resource(login))
        for unit in units:
            s.require(Permission.MANAGE_USERS, Resource.of_unit(ResourceKind.UNIT, unit))
        if everywhere:
            s.require(Permission.MANAGE_USERS, Resource.org(ResourceKind.USER))
        missing = s.directory.roles.get(role_name, frozenset()) - s.principal.permissions()
        if missing:   # nobody hands out more than he holds
            raise ApiError(403, f"{s.principal.login} may not grant {role_name}: he lacks "
                                f"{', '.join(sorted(p.value for p in missing))}", kind="forbidden")
    u = s.users.grant(login, role_name, scope, actor=s.actor)
    held = next(g for g in u.grants if g.role == role_name)
    _show_user(u, as_json, f"user {login}: {role_name} over {held.scope}")


@user.command("revoke")
@click.argument("login")
@click.argument("role_name", metavar="ROLE")
@click.option("--unit", "units", multiple=True, metavar="UNIT", help="Take only this unit from the scope "
              "(repeatable); default: the whole role.")
@as_option
@db_option
def user_revoke(login: str, role_name: str, units: tuple[str, ...], as_login: str | None,
                db_url: str | None) -> None:
    """Take role ROLE (or some units of its scope) from user LOGIN.

    \b
    Examples:
      ccctl user revoke li supervisor
      ccctl user revoke li supervisor --unit B
    """
    s = _Session(db_url, as_login)
    s.require(Permission.MANAGE_USERS, s.user_resource(login))
    u = s.users.revoke(login, role_name, units, actor=s.actor)
    left = next((g.scope for g in u.grants if g.role == role_name), None)
    click.echo(f"user {login}: {role_name} " + (f"now over {left}" if left is not None else "revoked"))


# ====================================================================== org


@click.group("org")
def org() -> None:
    """The org tree: departments and teams, nested to any depth. An agent belongs to a unit (`ccctl agent set ID
    --team UNIT`); a role granted over a unit reaches everything under it.

    \b
    Examples:
      ccctl org add sales --kind department
      ccctl org add east --parent sales --kind department
      ccctl org add A --parent east
      ccctl org move A --parent sales
      ccctl org list
    """


@org.command("add")
@click.argument("name")
@click.option("--parent", metavar="UNIT", help="The unit it belongs to (default: a top unit).")
@click.option("--kind", type=click.Choice(["department", "team"]), default="team", show_default=True,
              help="A department holds units; a team holds agents (both may nest).")
@click.option("--description", default="", help="What the unit is.")
@as_option
@db_option
def org_add(name: str, parent: str | None, kind: str, description: str, as_login: str | None,
            db_url: str | None) -> None:
    """Add org unit NAME.

    \b
    Example:
      ccctl org add A --parent sales --description "Inbound, morning shift"
    """
    s = _Session(db_url, as_login)
    s.require(Permission.MANAGE_ROLES, Resource.org(ResourceKind.UNIT, name))
    unit = OrgRepo(s.db).add(name, parent, kind=kind, description=description, actor=s.actor)
    click.echo(f"{unit.kind} {unit.path} added")


@org.command("move")
@click.argument("name")
@click.option("--parent", metavar="UNIT|none", required=True, help="The new parent, or none (a top unit).")
@as_option
@db_option
def org_move(name: str, parent: str, as_login: str | None, db_url: str | None) -> None:
    """Move unit NAME (with everything under it) under another unit. Scopes follow the tree.

    \b
    Examples:
      ccctl org move A --parent west
      ccctl org move A --parent none
    """
    s = _Session(db_url, as_login)
    s.require(Permission.MANAGE_ROLES, Resource.org(ResourceKind.UNIT, name))
    unit = OrgRepo(s.db).move(name, None if parent == "none" else parent, actor=s.actor)
    click.echo(f"{unit.kind} {name} is now {unit.path}")


@org.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (one object per unit, depth first).")
@db_option
def org_list(as_json: bool, db_url: str | None) -> None:
    """Show the org tree (indented), with each unit's kind and number of agents.

    \b
    Example:
      ccctl org list
    """
    units = OrgRepo(open_repos(db_url).db).list()
    if as_json:
        emit(units, (), as_json=True)
        return
    rows = [{"unit": "  " * u.depth + u.name, "kind": u.kind, "agents": u.agents, "description": u.description}
            for u in units]
    emit(rows, ("unit", "kind", "agents", "description"), as_json=False, title="org", empty="no org units")


# ====================================================================== role


@click.group("role")
def role() -> None:
    """Roles: named sets of permissions. admin, manager, supervisor, qa and agent are built in (fixed); define
    more with the permissions you need (`ccctl role show admin` lists them all).

    \b
    Examples:
      ccctl role add listener --permission view_recordings --permission view_reports
      ccctl role set listener --add download_recordings
      ccctl role list
      ccctl role show supervisor --json
    """


def _perm_names(values: Iterable[str]) -> list[str]:
    return [p.strip() for v in values for p in v.split(",") if p.strip()]


@role.command("add")
@click.argument("name")
@click.option("--permission", "permissions", multiple=True, required=True, metavar="PERM[,PERM]",
              help="A permission (repeatable, or comma-separated).")
@click.option("--description", default="", help="What the role is for.")
@as_option
@db_option
def role_add(name: str, permissions: tuple[str, ...], description: str, as_login: str | None,
             db_url: str | None) -> None:
    """Define role NAME.

    \b
    Example:
      ccctl role add exporter --permission view_reports,export --description "Monthly figures"
    """
    s = _Session(db_url, as_login)
    s.require(Permission.MANAGE_ROLES, Resource.org(ResourceKind.ROLE, name))
    r = RoleRepo(s.db).add(name, _perm_names(permissions), description=description, actor=s.actor)
    click.echo(f"role {name}: {', '.join(r.permissions)}")


@role.command("set")
@click.argument("name")
@click.option("--add", "plus", multiple=True, metavar="PERM[,PERM]", help="Permissions to add.")
@click.option("--remove-permission", "minus", multiple=True, metavar="PERM[,PERM]", help="Permissions to take away.")
@old_spelling("--remove", "--remove-permission", "old_minus", multiple=True, metavar="PERM[,PERM]")
@click.option("--description", help="A new description.")
@as_option
@db_option
def role_set(name: str, plus: tuple[str, ...], minus: tuple[str, ...], old_minus: tuple[str, ...],
             description: str | None, as_login: str | None, db_url: str | None) -> None:
    """Change a defined role (the built-in ones cannot change). Its holders get it within seconds.

    \b
    Example:
      ccctl role set listener --add download_recordings --remove-permission view_reports
    """
    minus = prefer(click.get_current_context(), "--remove-permission", "minus", minus, "--remove", old_minus or None)
    if not plus and not minus and description is None:
        usage_error("nothing to change: give --add, --remove-permission or --description")
    s = _Session(db_url, as_login)
    s.require(Permission.MANAGE_ROLES, Resource.org(ResourceKind.ROLE, name))
    r = RoleRepo(s.db).set(name, add=_perm_names(plus), remove=_perm_names(minus), description=description,
                           actor=s.actor)
    click.echo(f"role {name}: {', '.join(r.permissions) or 'no permissions'}")


@role.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@db_option
def role_list(as_json: bool, db_url: str | None) -> None:
    """List roles: built-in or defined, how many users hold each, and their permissions.

    \b
    Example:
      ccctl role list
    """
    roles = RoleRepo(open_repos(db_url).db).list()
    rows = [{"name": r.name, "builtin": r.builtin, "holders": r.holders,
             "permissions": list(r.permissions) if as_json else ", ".join(r.permissions),
             "description": r.description} for r in roles]
    emit(rows, ("name", "builtin", "holders", "permissions"), as_json=as_json, title="roles", empty="no roles")


@role.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@db_option
def role_show(name: str, as_json: bool, db_url: str | None) -> None:
    """Show role NAME: every permission, and whether the role has it.

    \b
    Example:
      ccctl role show qa
    """
    r = RoleRepo(open_repos(db_url).db).get(name)
    if as_json:
        click.echo(dumps({"name": r.name, "builtin": r.builtin, "description": r.description,
                          "holders": r.holders, "permissions": list(r.permissions)}, indent=2))
        return
    rows = [{"permission": p.value, "granted": "yes" if p.value in r.permissions else ""} for p in Permission]
    kind = "built-in" if r.name in BUILTIN_ROLES else "defined"
    emit(rows, ("permission", "granted"), as_json=False, title=f"role {r.name} ({kind}, {r.holders} holders)")


# ====================================================================== audit


AUDIT_COLUMNS = ("at", "login", "action", "kind", "resource", "client", "detail")


def _audit_rows(db_url: str | None, as_login: str | None, login: str | None, action: str | None,
                since: str | None, until: str | None, tz_name: str,
                limit: int | None) -> tuple[_Session, Iterable[dict[str, Any]]]:
    """Check the permission and the window now; the rows come lazily (a large export is streamed)."""
    s = _Session(db_url, as_login)
    s.require(Permission.VIEW_AUDIT, Resource.org(ResourceKind.AUDIT))
    tz = zone(tz_name)
    t1 = parse_time(until, tz, "--until") if until else time.time() + 1
    t0 = parse_time(since, tz, "--since") if since else t1 - 7 * 86400
    if t1 <= t0:
        raise InvalidValue("--until", until, "must be after --since")
    return s, _rows(AuditRepo(s.db), t0, t1, login, action, limit, tz)


def _rows(repo: AuditRepo, t0: float, t1: float, login: str | None, action: str | None, limit: int | None,
          tz: datetime.tzinfo) -> Iterable[dict[str, Any]]:
    for rec in repo.search(t0, t1, login=login, action=action, limit=limit):
        yield {"id": rec.id, "at": datetime.datetime.fromtimestamp(rec.at, tz).isoformat(timespec="seconds"),
               "login": rec.login, "action": rec.action, "kind": rec.kind, "resource": rec.resource,
               "client": rec.client, "detail": dict(rec.detail)}


def _audit_filters(fn: F) -> F:
    opts = [
        click.option("--user", "login", metavar="LOGIN", help="Only what this user did (or tried)."),
        click.option("--action", metavar="ACTION", help="Only this action (sign_in, sign_in_failed, lockout, "
                     "reveal, export, user.grant, role.set, unit.move ...)."),
        click.option("--since", metavar="TIME", help="From this time, local to --tz (default: 7 days back)."),
        click.option("--until", metavar="TIME", help="Until this time, exclusive (default: now)."),
        click.option("--tz", "tz_name", default="UTC", show_default=True, metavar="ZONE", help="IANA time zone."),
        as_option,
        db_option,
    ]
    for o in reversed(opts):
        fn = o(fn)
    return fn


@click.group("audit")
def audit() -> None:
    """The audit log: sign-ins, reveals, exports, recording access, configuration and permission changes,
    deletions. Append-only (the database refuses changes); reading it needs view_audit.

    \b
    Examples:
      ccctl audit list --user li --since 2026-12-01
      ccctl audit list --action sign_in_failed --json
      ccctl audit export --since 2026-11-01 --until 2026-12-01 --format csv -o audit-nov.csv
    """


@audit.command("list")
@_audit_filters
@click.option("--limit", type=click.IntRange(min=1), default=200, show_default=True, help="At most this many rows.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def audit_list(login: str | None, action: str | None, since: str | None, until: str | None, tz_name: str,
               as_login: str | None, db_url: str | None, limit: int, as_json: bool) -> None:
    """Show audit rows, newest first.

    \b
    Example:
      ccctl audit list --user li --action reveal --since "2026-12-01 08:00" --tz Asia/Shanghai
    """
    rows = list(_audit_rows(db_url, as_login, login, action, since, until, tz_name, limit)[1])
    if not as_json:
        for r in rows:
            r["detail"] = dumps(r["detail"]) if r["detail"] else ""
    emit(rows, AUDIT_COLUMNS, as_json=as_json, title="audit", empty="no audit rows")


@audit.command("export")
@_audit_filters
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True,
              help="csv (one row per line) or json (one object per line).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), default="-", show_default=True,
              help="File to write (- : standard output).")
def audit_export(login: str | None, action: str | None, since: str | None, until: str | None, tz_name: str,
                 as_login: str | None, db_url: str | None, fmt: str, output: str) -> None:
    """Write every matching audit row (streamed; newest first) as CSV or JSON lines. The export itself is
    audited.

    \b
    Example:
      ccctl audit export --since 2026-11-01 --until 2026-12-01 -o audit-nov.csv
    """
    s, rows = _audit_rows(db_url, as_login, login, action, since, until, tz_name, None)
    out: Any = sys.stdout if output == "-" else open(output, "w", encoding="utf-8", newline="")
    n = 0
    try:
        writer = csv.writer(out) if fmt == "csv" else None
        if writer is not None:
            writer.writerow(("id", *AUDIT_COLUMNS))
        for r in rows:
            if writer is not None:
                writer.writerow((r["id"], *(dumps(r[c]) if c == "detail" else r[c] for c in AUDIT_COLUMNS)))
            else:
                out.write(dumps(r) + "\n")
            n += 1
            if n % 10_000 == 0 and output != "-":
                click.echo(f"{n:,} rows ...", err=True)
    finally:
        if out is not sys.stdout:
            out.close()
    AuditRepo(s.db).append(s.actor, "export", "audit", output if output != "-" else "stdout",
                           {"rows": n, "format": fmt, "user": login, "action": action, "since": since, "until": until})
    click.echo(f"{n:,} audit rows written to {'standard output' if output == '-' else output}", err=True)

