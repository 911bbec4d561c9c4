"""Engines, sessions and migrations: the database URL, SQLite pragmas, and alembic run in-process.

The URL comes from an argument (CLI ``--url`` or configuration), else ``CC_DATABASE_URL``, else
``sqlite:///cc.db`` in the working directory. SQLite connections get WAL journaling, foreign keys
and a busy timeout; PostgreSQL goes through psycopg 3 (``postgresql+psycopg://``). Migrations live in
``cc/store/migrations`` and need no alembic.ini in the working directory.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import (
    ArgumentError,
    InterfaceError,
    NoSuchModuleError,
    OperationalError,
    ProgrammingError,
    SQLAlchemyError,
)
from sqlalchemy.orm import Session, sessionmaker

from cc.errors import DatabaseUnavailable, InvalidValue, StoreError

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = [
    "DEFAULT_URL",
    "Database",
    "alembic_config",
    "bounded",
    "current_revision",
    "downgrade",
    "head_revision",
    "make_engine",
    "resolve_url",
    "upgrade",
]

log = logging.getLogger(__name__)

DEFAULT_URL = "sqlite:///cc.db"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: the newest migration's revision id: a database already there is opened without importing alembic (a restart
#: after kill -9 listens sooner); tests/store/test_migrations.py keeps it equal to alembic's head
HEAD_REVISION = "0010_crm"
SUPPORTED = ("sqlite", "postgresql")


def resolve_url(url: str | None = None) -> str:
    """Return ``url`` if given, else ``$CC_DATABASE_URL``, else ``sqlite:///cc.db``."""
    return url or os.environ.get("CC_DATABASE_URL") or DEFAULT_URL


def _check_url(url: str) -> None:
    """Refuse URLs that do not parse or name a backend cc does not support."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise InvalidValue("database url", url, f"not a database URL ({exc})") from exc
    if parsed.get_backend_name() not in SUPPORTED:
        raise InvalidValue("database url", url, "only sqlite:// and postgresql+psycopg:// are supported")


def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    """Turn on WAL, foreign keys and a busy timeout on every new SQLite connection."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """Create an engine for ``url`` (resolved as in :func:`resolve_url`) with cc's connection settings."""
    url = resolve_url(url)
    _check_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    kwargs.setdefault("pool_pre_ping", True)
    if parsed.get_backend_name() == "postgresql":
        kwargs.setdefault("connect_args", {"connect_timeout": 5})
    try:
        engine = create_engine(parsed, **kwargs)
    except (ArgumentError, NoSuchModuleError) as exc:
        raise InvalidValue("database url", url, str(exc)) from exc
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


class Database:
    """An engine and its session factory; repositories and the writer are built on one of these."""

    def __init__(self, url: str | None = None, *, engine: Engine | None = None, **engine_kwargs: Any) -> None:
        self.url = resolve_url(url) if engine is None else engine.url.render_as_string(hide_password=False)
        self.engine = engine if engine is not None else make_engine(self.url, **engine_kwargs)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        """The backend name: ``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session in a transaction: committed on success, rolled back on any exception."""
        with self.sessions() as session, session.begin():
            yield session

    def create_all(self) -> None:
        """Create every table directly from the models (tests and throw-away databases only)."""
        from cc.store.tables import Base

        Base.metadata.create_all(self.engine)

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def alembic_config(url: str | None = None, *, engine: Engine | None = None) -> Config:
    """An alembic Config pointing at cc's migrations, for ``url`` or an existing ``engine``."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if engine is not None:
        cfg.attributes["engine"] = engine
    else:
        resolved = resolve_url(url)
        _check_url(resolved)
        cfg.attributes["url"] = resolved
    return cfg


def _run(what: str, url: str | None, engine: Engine | None, fn: Any, *args: Any) -> None:
    """Run one alembic command, turning database failures into StoreError subclasses."""
    from alembic.util import CommandError

    cfg = alembic_config(url, engine=engine)
    try:
        fn(cfg, *args)
    except CommandError as exc:
        raise InvalidValue("revision", args[0] if args else None, str(exc)) from exc
    except SQLAlchemyError as exc:
        target = _safe(str(engine.url) if engine is not None else resolve_url(url))
        why = " ".join(str(getattr(exc, "orig", None) or exc).split())
        if isinstance(exc, OperationalError | InterfaceError):
            raise DatabaseUnavailable(f"{what}: database {target!r} unavailable: {why}") from exc
        raise StoreError(f"{what} failed on {target!r}: {why}") from exc


def _safe(url: str) -> str:
    """``url`` with the password hidden, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def upgrade(url: str | None = None, revision: str = "head", *, engine: Engine | None = None) -> None:
    """Migrate the database up to ``revision`` (default: the newest).

    A database already at the newest revision is recognised from its ``alembic_version`` row alone, without
    importing alembic (half a second of a restart's start-up).
    """
    if revision == "head" and _at_head(url, engine):
        log.info("database is at the newest revision (%s)", HEAD_REVISION)
        return
    from alembic import command

    log.info("migrating database up to %s", revision)
    _run("upgrade", url, engine, command.upgrade, revision)


def _at_head(url: str | None, engine: Engine | None) -> bool:
    """Whether the database's ``alembic_version`` says :data:`HEAD_REVISION` (False on any doubt: alembic decides)."""
    own = engine is None
    try:
        eng = engine if engine is not None else make_engine(url)
    except StoreError:
        return False
    try:
        with eng.connect() as conn:
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        return list(rows) == [HEAD_REVISION]
    except SQLAlchemyError:
        return False
    finally:
        if own:
            eng.dispose()


def downgrade(url: str | None = None, revision: str = "-1", *, engine: Engine | None = None) -> None:
    """Migrate the database down to ``revision`` (``base`` removes every table; default one step)."""
    from alembic import command

    log.info("migrating database down to %s", revision)
    _run("downgrade", url, engine, command.downgrade, revision)


def head_revision() -> str | None:
    """The newest migration's revision id."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def bounded(db: Database, statement_timeout_s: float = 5.0, connect_timeout_s: int = 3) -> Database:
    """A small Database on the same store for callers that must never wait long (the HTTP API's reads).

    On PostgreSQL its connections carry a statement timeout, a short connect timeout and TCP keepalives (a
    partitioned server is noticed in seconds, not at the kernel's default of hours); SQLite has its busy
    timeout already, so ``db`` itself is returned.
    """
    if db.dialect != "postgresql":
        return db
    options = str(db.engine.url.query.get("options") or "")   # e.g. a search_path: kept
    options = f"{options} -c statement_timeout={int(statement_timeout_s * 1000)}".strip()
    args = {"connect_timeout": connect_timeout_s, "keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2,
            "keepalives_count": 3, "options": options}
    return Database(db.url, connect_args=args, pool_size=2, max_overflow=4, pool_timeout=connect_timeout_s)


#: the revision row, read with one statement whatever the connection: alembic's MigrationContext builds a new
#: ``alembic_version`` Table at each call, and each took an entry of its own in the engine's statement cache (the
#: API's check every 5 s filled the 500 entries in 42 minutes, evicting the store's own statements)
_REVISION_SQL = text("SELECT version_num FROM alembic_version")


def current_revision(url: str | None = None, *, engine: Engine | None = None) -> str | None:
    """The revision the database is at (None when it has never been migrated)."""
    own = engine is None
    eng = engine if engine is not None else make_engine(url)
    try:
        with eng.connect() as conn:
            try:
                rows = list(conn.execute(_REVISION_SQL).scalars())
            except (OperationalError, ProgrammingError):
                conn.rollback()
                if not inspect(conn).has_table("alembic_version"):
                    return None   # never migrated
                raise
        if len(rows) > 1:
            raise StoreError(f"database {_safe(str(eng.url))!r} has {len(rows)} alembic revisions (branches): "
                             "ccctl db upgrade expects one")
        return str(rows[0]) if rows else None
    except SQLAlchemyError as exc:
        why = " ".join(str(getattr(exc, "orig", None) or exc).split())
        raise DatabaseUnavailable(f"database {_safe(str(eng.url))!r} unavailable: {why}") from exc
    finally:
        if own:
            eng.dispose()
