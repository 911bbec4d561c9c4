"""`ccctl token add|list|del`: bearer tokens of the HTTP API (roles admin, supervisor, agent)."""

from __future__ import annotations

import datetime

import click

from cc.commands.admin_common import db_option, emit, open_repos, plain
from cc.store.tokens import TokenRepo

__all__ = ["token"]


@click.group("token")
def token() -> None:
    """API tokens. Only a hash is stored: the token is printed once, when it is made.

    \b
    Examples:
      ccctl token add ops --role admin
      ccctl token add wallboard --role supervisor
      ccctl token add desk-1001 --role agent --agent 1001
      ccctl token list
      ccctl token del desk-1001
    """


@token.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["admin", "supervisor", "agent"]), required=True,
              help="admin: everything; supervisor: live control; agent: only its own status.")
@click.option("--agent", "agent_id", metavar="ID", help="The agent an agent token acts for.")
@db_option
def add(name: str, role: str, agent_id: str | None, db_url: str | None) -> None:
    """Make token NAME and print its secret (once).

    \b
    Example:
      export CC_TOKEN=$(ccctl token add ops --role admin)
    """
    repos = open_repos(db_url)
    _, secret = TokenRepo(repos.db).create(name, role, agent_id)
    click.echo(secret)
    click.echo(f"token {name} ({role}) made; it is shown only now", err=True)


@token.command("list")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_(db_url: str | None, as_json: bool) -> None:
    """List tokens (names, roles, agents; never secrets).

    \b
    Example:
      ccctl token list --json
    """
    rows = [{**plain(t), "created_at": None if t.created_at is None else
             datetime.datetime.fromtimestamp(t.created_at, datetime.UTC).isoformat(timespec="seconds")}
            for t in TokenRepo(open_repos(db_url).db).list()]
    emit(rows, ("name", "role", "agent_id", "created_at"), as_json=as_json, title="tokens", empty="no tokens")


@token.command("del")
@click.argument("name")
@db_option
def delete(name: str, db_url: str | None) -> None:
    """Revoke token NAME.

    \b
    Example:
      ccctl token del desk-1001
    """
    TokenRepo(open_repos(db_url).db).delete(name)
    click.echo(f"token {name} revoked")
