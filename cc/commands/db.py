"""`ccctl db`: migrate the database schema up or down and show where it stands."""

from __future__ import annotations

import os

import click
from rich.table import Table

from cc.commands.admin_common import DB_HELP, F, config_option, database_url, require_existing, sqlite_file
from cc.commands.output import dumps, out_console
from cc.store import db as store_db

__all__ = ["db"]

URL_HELP = DB_HELP + " --url is the old name of --db."


def _url_option(fn: F) -> F:
    """``--db URL`` (``--url`` still works) and ``--config FILE``, as every other command takes them."""
    return config_option(click.option("--db", "--url", "url", metavar="URL", help=URL_HELP)(fn))


@click.group()
def db() -> None:
    """Database schema migrations.

    \b
    Examples:
      ccctl db upgrade
      ccctl db upgrade --db postgresql+psycopg://cc@db.example/cc
      ccctl db upgrade --config cc.yaml
      ccctl db current --json
      ccctl db downgrade base --db sqlite:///scratch.db
    """


@db.command()
@click.argument("revision", default="head")
@_url_option
def upgrade(revision: str, url: str | None) -> None:
    """Migrate the database up to REVISION (default: head, the newest).

    \b
    Example:
      ccctl db upgrade --db sqlite:///cc.db
    """
    resolved = database_url(url)
    store_db.upgrade(resolved, revision)
    click.echo(f"database at {store_db.current_revision(resolved) or 'base'}")


@db.command()
@click.argument("revision", default="-1")
@_url_option
def downgrade(revision: str, url: str | None) -> None:
    """Migrate the database down to REVISION (default: one step back; `base` drops every table).

    \b
    Example:
      ccctl db downgrade base --db sqlite:///scratch.db
    """
    resolved = database_url(url)
    require_existing(resolved)
    store_db.downgrade(resolved, revision)
    click.echo(f"database at {store_db.current_revision(resolved) or 'base'}")


@db.command()
@_url_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def current(url: str | None, as_json: bool) -> None:
    """Show the database's revision and the newest one this cc knows.

    \b
    Example:
      ccctl db current --json
    """
    resolved = database_url(url)
    path = sqlite_file(resolved)
    rev = None if path is not None and not os.path.exists(path) else store_db.current_revision(resolved)
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
