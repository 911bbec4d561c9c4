"""Users: add, change, list, disable/enable, passwords and sign-in (lock-out), role grants with scopes, and the
snapshot the permission decision runs on (:meth:`UserRepo.directory`).

Every change and every sign-in attempt writes an audit row in the same transaction.
"""

from __future__ import annotations

import builtins
import datetime
import enum
import functools
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from cc.authz import Directory, GrantSpec, Permission, UserSpec
from cc.authz.passwords import Lockout, check_password, hash_password, needs_rehash, verify_password
from cc.errors import Conflict, InvalidValue, NotFound
from cc.store import tables as t
from cc.store.audit import Actor, write_audit
from cc.store.auth_tables import ApiTokenRow
from cc.store.codec import to_epoch, to_utc
from cc.store.org_tables import GrantRow, GrantUnitRow, RolePermissionRow, RoleRow, UserRow
from cc.store.repo_base import _opt_text, _Repo, _text
from cc.store.tokens import ensure_role

__all__ = ["EVERYWHERE", "Grant", "SignIn", "SignInOutcome", "User", "UserRepo"]

#: the scope word for the whole organisation (``--scope '*'``)
EVERYWHERE = "*"

@functools.cache
def _dummy_hash() -> str:
    """A real argon2 hash of nothing anyone knows: an unknown login costs a verification too (no timing
    oracle). Made at the first sign-in, not at import: every process that imports the store (a restarting
    controller, each CLI command) would pay for the hash before doing anything."""
    return hash_password("not a password of anybody 7f3c")


@dataclass(frozen=True)
class Grant:
    """One role a user holds and where: everywhere, these unit subtrees, or (neither) himself only."""

    role: str
    everywhere: bool = False
    units: tuple[str, ...] = ()

    @property
    def scope(self) -> str:
        """The scope as the CLI shows it: ``*``, ``a,b`` or ``self``."""
        return EVERYWHERE if self.everywhere else ",".join(self.units) or "self"


@dataclass(frozen=True)
class User:
    """A user as the rest of cc sees him (never his password hash)."""

    id: int
    login: str
    display_name: str = ""
    agent_id: str | None = None
    locale: str = ""
    disabled: bool = False
    has_password: bool = False
    failed_attempts: int = 0
    locked_until: float | None = None
    created_at: float | None = None
    grants: tuple[Grant, ...] = ()


class SignInOutcome(enum.StrEnum):
    """How a sign-in attempt ended (also the audit row's ``detail.outcome``)."""

    OK = "ok"
    BAD_CREDENTIALS = "bad_credentials"   # unknown login or wrong password: the caller is not told which
    LOCKED = "locked"
    DISABLED = "disabled"


@dataclass(frozen=True)
class SignIn:
    """The answer of :meth:`UserRepo.sign_in`: the user when it succeeded, else why not (and until when)."""

    outcome: SignInOutcome
    user: User | None = None
    locked_until: float | None = None

    @property
    def ok(self) -> bool:
        """Whether the user is signed in."""
        return self.outcome is SignInOutcome.OK


def _now(now: float | None) -> datetime.datetime:
    return to_utc(now) if now is not None else datetime.datetime.now(datetime.UTC)


def _grants(session: Session, user_ids: Iterable[int] | None = None) -> dict[int, list[Grant]]:
    q = select(GrantRow).order_by(GrantRow.role)
    if user_ids is not None:
        q = q.where(GrantRow.user_id.in_(list(user_ids)))
    rows = list(session.scalars(q))
    units: dict[int, list[str]] = {}
    if rows:
        uq = select(GrantUnitRow).where(GrantUnitRow.grant_id.in_([g.id for g in rows])).order_by(GrantUnitRow.unit)
        for gu in session.scalars(uq):
            units.setdefault(gu.grant_id, []).append(gu.unit)
    out: dict[int, list[Grant]] = {}
    for g in rows:
        out.setdefault(g.user_id, []).append(Grant(g.role, g.everywhere, tuple(units.get(g.id, ()))))
    return out


def _user(row: UserRow, grants: Iterable[Grant] = ()) -> User:
    return User(row.id, row.login, row.display_name, row.agent_id, row.locale, row.disabled,
                row.password_hash is not None, row.failed_attempts,
                to_epoch(row.locked_until) if row.locked_until is not None else None,
                to_epoch(row.created_at), tuple(grants))


def _by_login(session: Session, login: str) -> UserRow:
    row = session.scalars(select(UserRow).where(UserRow.login == login)).first()
    if row is None:
        raise NotFound("user", login)
    return row


def parse_scope(scope: str | Iterable[str] | None) -> tuple[bool, tuple[str, ...]]:
    """``*`` -> everywhere; ``a,b`` (or a list) -> those units; None, ``''`` or ``self`` -> own self only."""
    if scope is None:
        return False, ()
    items = [s.strip() for s in (scope.split(",") if isinstance(scope, str) else scope) if s.strip()]
    if items == ["self"]:
        return False, ()
    if EVERYWHERE in items:
        if len(items) > 1:
            raise InvalidValue("scope", ",".join(items), "'*' (everywhere) stands alone")
        return True, ()
    return False, tuple(dict.fromkeys(items))


class UserRepo(_Repo):
    """Users, their passwords and their role grants."""

    lockout = Lockout()

    # ------------------------------------------------------------------ accounts
    def add(self, login: str, *, display_name: str = "", password: str | None = None, agent_id: str | None = None,
            locale: str = "", now: float | None = None, actor: Actor | None = None) -> User:
        """Add user ``login`` (a password is checked against the rules, then only its argon2 hash is kept)."""
        login = _text("user.login", login, t.NAME)
        if any(c.isspace() for c in login) or login in (EVERYWHERE, "self"):
            raise InvalidValue("user.login", login, "must be one word (no spaces) and not '*' or 'self'")
        _text("user.display_name", display_name, t.NAME, empty=True)
        _text("user.locale", locale, 16, empty=True)
        _opt_text("user.agent_id", agent_id, t.ID)
        if password is not None:
            check_password(login, password)
        digest = hash_password(password) if password is not None else None

        def run(session: Session) -> None:
            if session.scalars(select(UserRow).where(UserRow.login == login)).first() is not None:
                raise Conflict("user", login)
            self._check_agent(session, agent_id, None)
            session.add(UserRow(login=login, display_name=display_name, password_hash=digest, disabled=False,
                                failed_attempts=0, agent_id=agent_id, locale=locale, created_at=_now(now)))
            write_audit(session, actor or Actor("system"), "user.add", "user", login,
                        {"agent_id": agent_id, "password": digest is not None}, at=now)

        self._tx(run, kind="user", key=login)
        return self.get(login)

    @staticmethod
    def _check_agent(session: Session, agent_id: str | None, user_id: int | None) -> None:
        if agent_id is None:
            return
        if session.get(t.AgentRow, agent_id) is None:
            raise NotFound("agent", agent_id)
        other = session.scalars(select(UserRow).where(UserRow.agent_id == agent_id)).first()
        if other is not None and other.id != user_id:
            raise Conflict("agent", agent_id, f"is user {other.login} already")

    def set(self, login: str, *, display_name: str | None = None, agent_id: str | None = None,
            clear_agent: bool = False, locale: str | None = None, actor: Actor | None = None) -> User:
        """Change a user's display name, agent (or none: ``clear_agent``) or locale."""
        if display_name is not None:
            _text("user.display_name", display_name, t.NAME, empty=True)
        if locale is not None:
            _text("user.locale", locale, 16, empty=True)

        def run(session: Session) -> None:
            row = _by_login(session, login)
            changed: dict[str, object] = {}
            if display_name is not None:
                row.display_name = changed["display_name"] = display_name
            if clear_agent:
                row.agent_id = changed["agent_id"] = None
            elif agent_id is not None:
                self._check_agent(session, agent_id, row.id)
                row.agent_id = changed["agent_id"] = agent_id
            if locale is not None:
                row.locale = changed["locale"] = locale
            write_audit(session, actor or Actor("system"), "user.set", "user", login, changed)

        self._tx(run, kind="user", key=login)
        return self.get(login)

    def set_disabled(self, login: str, disabled: bool, *, actor: Actor | None = None) -> User:
        """Disable (no sign-in, no token works, no permission) or enable a user; enabling also unlocks."""

        def run(session: Session) -> None:
            row = _by_login(session, login)
            row.disabled = disabled
            if not disabled:
                row.failed_attempts, row.locked_until = 0, None
            write_audit(session, actor or Actor("system"), "user.disable" if disabled else "user.enable", "user",
                        login)

        self._tx(run, kind="user", key=login)
        return self.get(login)

    def set_password(self, login: str, password: str | None, *, actor: Actor | None = None) -> User:
        """Set (rules checked) or remove (None: token-only user) a user's password; unlocks the account."""

        def run(session: Session) -> None:
            row = _by_login(session, login)
            if password is not None:
                check_password(login, password)
            row.password_hash = hash_password(password) if password is not None else None
            row.failed_attempts, row.locked_until = 0, None
            write_audit(session, actor or Actor("system"), "user.passwd", "user", login,
                        {"password": password is not None})

        self._tx(run, kind="user", key=login)
        return self.get(login)

    def get(self, login: str) -> User:
        """One user with his grants; NotFound otherwise."""

        def run(session: Session) -> User:
            row = _by_login(session, login)
            return _user(row, _grants(session, [row.id]).get(row.id, ()))

        return self._read(run)

    def list(self) -> builtins.list[User]:
        """Every user with his grants, by login."""

        def run(session: Session) -> builtins.list[User]:
            grants = _grants(session)
            return [_user(r, grants.get(r.id, ())) for r in session.scalars(select(UserRow).order_by(UserRow.login))]

        return self._read(run)

    # ------------------------------------------------------------------ grants
    def grant(self, login: str, role: str, scope: str | Iterable[str] | None = None, *,
              actor: Actor | None = None) -> User:
        """Give ``login`` the role ``role`` over ``scope`` (``*``, unit names, or own self); a role he holds
        already gets the units added (``*`` makes it everywhere)."""
        everywhere, units = parse_scope(scope)

        def run(session: Session) -> None:
            row = _by_login(session, login)
            ensure_role(session, role)
            for unit in units:
                if session.get(t.TeamRow, unit) is None:
                    raise NotFound("unit", unit)
            grant = session.scalars(select(GrantRow).where(GrantRow.user_id == row.id, GrantRow.role == role)).first()
            if grant is None:
                grant = GrantRow(user_id=row.id, role=role, everywhere=everywhere)
                session.add(grant)
                session.flush()
                had: set[str] = set()
            else:
                grant.everywhere = grant.everywhere or everywhere
                had = {u for (u,) in session.execute(select(GrantUnitRow.unit)
                                                     .where(GrantUnitRow.grant_id == grant.id))}
            session.add_all(GrantUnitRow(grant_id=grant.id, unit=u) for u in units if u not in had)
            write_audit(session, actor or Actor("system"), "user.grant", "user", login,
                        {"role": role, "everywhere": everywhere, "units": list(units)})

        self._tx(run, kind="grant", key=f"{login}:{role}")
        return self.get(login)

    def revoke(self, login: str, role: str, units: Iterable[str] | None = None, *,
               actor: Actor | None = None) -> User:
        """Take ``role`` from ``login`` -- whole, or only these units of its scope; NotFound if he lacks it."""
        only = tuple(units or ())

        def run(session: Session) -> None:
            row = _by_login(session, login)
            grant = session.scalars(select(GrantRow).where(GrantRow.user_id == row.id, GrantRow.role == role)).first()
            if grant is None:
                raise NotFound("grant", f"{login}:{role}")
            if only:
                session.execute(delete(GrantUnitRow).where(GrantUnitRow.grant_id == grant.id,
                                                           GrantUnitRow.unit.in_(only)))
            else:
                session.delete(grant)
            write_audit(session, actor or Actor("system"), "user.revoke", "user", login,
                        {"role": role, "units": list(only)})

        self._tx(run, kind="grant", key=f"{login}:{role}")
        return self.get(login)

    # ------------------------------------------------------------------ sign-in
    def sign_in(self, login: str, password: str, *, now: float | None = None, client: str = "",
                lockout: Lockout | None = None) -> SignIn:
        """Check a password sign-in, count failures, lock the account after too many (``lockout``), and audit
        every attempt (``sign_in`` ok / ``sign_in_failed`` with the outcome / ``lockout``)."""
        rule = lockout or self.lockout
        when = _now(now)
        epoch = when.timestamp()
        name = login[: t.NAME]
        stored = self._read(lambda s: s.scalars(select(UserRow.password_hash).where(UserRow.login == name)).first())
        # the password is checked outside any transaction (argon2 takes tens of ms: no lock is held meanwhile)
        matched = verify_password(stored or _dummy_hash(), password) and stored is not None

        def run(session: Session) -> SignIn:
            # take the row's write lock before reading it (a no-op UPDATE: a row lock on PostgreSQL, the write
            # lock on SQLite): a parallel attempt waits and then reads this one's count, so every failure counts
            session.execute(update(UserRow).where(UserRow.login == name)
                            .values(failed_attempts=UserRow.failed_attempts))
            row = session.scalars(select(UserRow).where(UserRow.login == name)).first()
            who = Actor(name, row.id if row is not None else None, client)
            if row is None:
                write_audit(session, who, "sign_in_failed", "user", who.login,
                            {"outcome": SignInOutcome.BAD_CREDENTIALS.value, "known": False}, at=epoch)
                return SignIn(SignInOutcome.BAD_CREDENTIALS)
            locked_until = to_epoch(row.locked_until) if row.locked_until is not None else None
            if row.disabled:
                write_audit(session, who, "sign_in_failed", "user", login,
                            {"outcome": SignInOutcome.DISABLED.value}, at=epoch)
                return SignIn(SignInOutcome.DISABLED)
            if rule.locked(locked_until, epoch):
                write_audit(session, who, "sign_in_failed", "user", login,
                            {"outcome": SignInOutcome.LOCKED.value, "locked_until": locked_until}, at=epoch)
                return SignIn(SignInOutcome.LOCKED, locked_until=locked_until)
            ok = matched if row.password_hash == stored else verify_password(row.password_hash, password)
            if not ok:
                failures, until = rule.after_failure(row.failed_attempts, epoch)
                row.failed_attempts = failures
                row.locked_until = to_utc(until) if until is not None else None
                write_audit(session, who, "sign_in_failed", "user", login,
                            {"outcome": SignInOutcome.BAD_CREDENTIALS.value, "failures": failures}, at=epoch)
                if until is not None:
                    write_audit(session, who, "lockout", "user", login,
                                {"locked_until": until, "after_failures": rule.max_failures}, at=epoch)
                    return SignIn(SignInOutcome.LOCKED, locked_until=until)
                return SignIn(SignInOutcome.BAD_CREDENTIALS)
            assert row.password_hash is not None
            if needs_rehash(row.password_hash):
                row.password_hash = hash_password(password)
            row.failed_attempts, row.locked_until = 0, None
            write_audit(session, who, "sign_in", "user", login, {"outcome": SignInOutcome.OK.value}, at=epoch)
            session.flush()
            return SignIn(SignInOutcome.OK, _user(row, _grants(session, [row.id]).get(row.id, ())))

        return self._tx(run, kind="user", key=login)

    # ------------------------------------------------------------------ the decision's snapshot
    def directory(self) -> tuple[Directory, dict[str, tuple[str, int]]]:
        """The permission decision's data in one read: units, roles, users with grants, agents' units -- and
        every API token's SHA-256 mapped to (its name, its user's id)."""

        def run(session: Session) -> tuple[Directory, dict[str, tuple[str, int]]]:
            units = {n: p for n, p in session.execute(select(t.TeamRow.name, t.TeamRow.parent))}
            roles: dict[str, set[Permission]] = {name: set() for name in session.scalars(select(RoleRow.name))}
            for role, perm in session.execute(select(RolePermissionRow.role, RolePermissionRow.permission)):
                try:
                    roles.setdefault(role, set()).add(Permission(perm))
                except ValueError:      # a permission this version does not know: ignored (never widens)
                    roles.setdefault(role, set())
            users = [UserSpec(r.id, r.login, r.agent_id, r.disabled, r.display_name)
                     for r in session.scalars(select(UserRow))]
            grants = [GrantSpec(uid, g.role, g.everywhere, g.units)
                      for uid, gs in _grants(session).items() for g in gs]
            agents = {a: team for a, team in session.execute(select(t.AgentRow.id, t.AgentRow.team))}
            tokens = {sha: (name, uid) for name, sha, uid in
                      session.execute(select(ApiTokenRow.name, ApiTokenRow.sha256, ApiTokenRow.user_id))}
            return Directory(units=units, roles=roles, users=users, grants=grants, agents=agents), tokens

        return self._read(run)
