"""`ccctl token add|list|del`: bearer tokens of the HTTP API; each acts for a user and has his permissions."""

from __future__ import annotations

import datetime

import click

from cc.authz import BUILTIN_ROLES, Permission, ResourceKind
from cc.commands.acting import audited, on_user
from cc.commands.admin_common import db_option, emit, open_repos, usage_error
from cc.store.tokens import TokenRepo

__all__ = ["token"]


@click.group("token")
def token() -> None:
    """API tokens. Only a hash is stored: the token is printed once, when it is made. A token acts for a user
    (ccctl user) and may do what his roles allow in their scopes (docs/permissions.md).

    \b
    Examples:
      ccctl token add li-laptop --user li
      ccctl token add ops --role admin                 # a user "ops" holding admin everywhere
      ccctl token add desk-1001 --role agent --agent 1001
      ccctl token list --user li
      ccctl token del desk-1001
    """


@token.command("add")
@audited("token.add", Permission.MANAGE_USERS, ResourceKind.USER, key="name", locate=on_user())
@click.argument("name")
@click.option("--user", "login", metavar="LOGIN", help="The user the token acts for.")
@click.option("--role", type=click.Choice(list(BUILTIN_ROLES)),
              help="Instead of --user: make a user NAME holding this built-in role everywhere "
                   "(agent: the agent's own user, for itself only).")
@click.option("--agent", "agent_id", metavar="ID", help="With --role agent: the agent the token acts for.")
@db_option
def add(name: str, login: str | None, role: str | None, agent_id: str | None, db_url: str | None) -> None:
    """Make token NAME and print its secret (once).

    \b
    Examples:
      export CC_TOKEN=$(ccctl token add li-cli --user li)
      ccctl token add wallboard --role supervisor
    """
    if (login is None) == (role is None):
        usage_error("name the token's user: --user LOGIN, or --role ROLE for a user made for it")
    if role == "agent" and not agent_id:
        usage_error("--role agent needs --agent ID")
    repos = open_repos(db_url)
    tok, secret = TokenRepo(repos.db).create(name, role, agent_id, user=login)
    click.echo(secret)
    click.echo(f"token {name} for user {tok.login} ({', '.join(tok.roles) or 'no roles'}) made; "
               "it is shown only now", err=True)


@token.command("list")
@click.option("--user", "login", metavar="LOGIN", help="Only this user's tokens.")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_(login: str | None, db_url: str | None, as_json: bool) -> None:
    """List tokens (names, users, roles, agents; never secrets).

    \b
    Example:
      ccctl token list --json
    """
    rows = [{"name": t.name, "user": t.login, "roles": ",".join(t.roles), "agent_id": t.agent_id,
             "created_at": None if t.created_at is None else
             datetime.datetime.fromtimestamp(t.created_at, datetime.UTC).isoformat(timespec="seconds")}
            for t in TokenRepo(open_repos(db_url).db).list(login)]
    emit(rows, ("name", "user", "roles", "agent_id", "created_at"), as_json=as_json, title="tokens",
         empty="no tokens")


@token.command("del")
@audited("token.del", Permission.MANAGE_USERS, ResourceKind.USER, key="name")
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
