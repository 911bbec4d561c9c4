"""`cc db`: migrate the database schema up or down and show where it stands."""

from __future__ import annotations

import click
from rich.table import Table

from cc.commands.output import dumps, out_console
from cc.store import db as store_db

__all__ = ["db"]

URL_HELP = "Database URL (default: $CC_DATABASE_URL, else sqlite:///cc.db)."


@click.group()
def db() -> None:
    """Database schema migrations.

    \b
    Examples:
      cc db upgrade
      cc db upgrade --url postgresql+psycopg://cc@db.example/cc
      cc db current --json
      cc db downgrade base --url sqlite:///scratch.db
    """


@db.command()
@click.argument("revision", default="head")
@click.option("--url", metavar="URL", help=URL_HELP)
def upgrade(revision: str, url: str | None) -> None:
    """Migrate the database up to REVISION (default: head, the newest).

    \b
    Example:
      cc db upgrade --url sqlite:///cc.db
    """
    resolved = store_db.resolve_url(url)
    store_db.upgrade(resolved, revision)
    click.echo(f"database at {store_db.current_revision(resolved) or 'base'}")


@db.command()
@click.argument("revision", default="-1")
@click.option("--url", metavar="URL", help=URL_HELP)
def downgrade(revision: str, url: str | None) -> None:
    """Migrate the database down to REVISION (default: one step back; `base` drops every table).

    \b
    Example:
      cc db downgrade base --url sqlite:///scratch.db
    """
    resolved = store_db.resolve_url(url)
    store_db.downgrade(resolved, revision)
    click.echo(f"database at {store_db.current_revision(resolved) or 'base'}")


@db.command()
@click.option("--url", metavar="URL", help=URL_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def current(url: str | None, as_json: bool) -> None:
    """Show the database's revision and the newest one this cc knows.

    \b
    Example:
      cc db current --json
    """
    resolved = store_db.resolve_url(url)
    rev = store_db.current_revision(resolved)
    head = store_db.head_revision()
    info = {"url": _masked(resolved), "current": rev, "head": head, "up_to_date": rev == head}
    if as_json:
        click.echo(dumps(info))
        return
    table = Table(title="database schema")
    for col in ("url", "current", "head", "up to date"):
        table.add_column(col)
    table.add_row(str(info["url"]), rev or "(none)", head or "(none)", "yes" if rev == head else "no")
    out_console().print(table)


def _masked(url: str) -> str:
    """The URL with any password hidden."""
    head, sep, tail = url.partition("://")
    if not sep or "@" not in tail:
        return url
    creds, _, rest = tail.rpartition("@")
    user = creds.split(":", 1)[0]
    return f"{head}://{user}{':***' if ':' in creds else ''}@{rest}"
