"""Alembic environment for cc: runs in-process on the engine or URL that cc.store.db hands over."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from sqlalchemy import Engine

from cc.store.db import make_engine
from cc.store.tables import Base, UTCDateTime, compared_on

config = context.config
target_metadata = Base.metadata


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Render cc's UTCDateTime as a plain timezone-aware DateTime in generated migrations."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure(connection: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        render_item=render_item,
        compare_type=True,
        include_object=compared_on(connection.dialect.name),
    )


def run_migrations_offline() -> None:
    """Emit SQL for the URL without connecting (``alembic upgrade --sql``)."""
    context.configure(url=config.attributes.get("url"), target_metadata=target_metadata,
                      literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Connect and migrate; a passed-in engine is used as is and left open."""
    engine: Engine | None = config.attributes.get("engine")
    own = engine is None
    if engine is None:
        engine = make_engine(config.attributes.get("url"))
    try:
        with engine.connect() as connection:
            sqlite = connection.dialect.name == "sqlite"
            if sqlite:
                # a batch operation copies a table and drops the old one; with foreign keys on, that DROP would
                # delete (or null) the rows referring to it (customer_phones of customers ...). Checked after.
                connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
                connection.commit()
            try:
                _configure(connection)
                with context.begin_transaction():
                    context.run_migrations()
                    if sqlite:
                        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                        if broken:
                            raise RuntimeError(f"the migration left rows whose foreign keys point nowhere: "
                                               f"{broken[:10]}")
                connection.commit()
            finally:
                if sqlite:
                    connection.rollback()
                    connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                    connection.commit()
    finally:
        if own:
            engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
