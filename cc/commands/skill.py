"""`ccctl skill add|del|list` and `ccctl team add|del|list`: the names agents' skills and teams refer to."""

from __future__ import annotations

import click

from cc.authz import Permission, ResourceKind
from cc.commands.acting import audited
from cc.commands.admin_common import db_option, done, emit, open_repos, reload_options
from cc.model import Skill, Team

__all__ = ["skill", "team"]


@click.group("skill")
def skill() -> None:
    """Skills agents can have (proficiency 1-10 per agent: `ccctl agent skill ID SKILL LEVEL`).

    \b
    Examples:
      ccctl skill add billing --description "Invoices and payments"
      ccctl skill list --json
      ccctl skill del billing
    """


@skill.command("add")
@audited("skill.add", Permission.EDIT_CONFIG, ResourceKind.CONFIG, key="name")
@click.argument("name")
@click.option("--description", default="", help="What the skill is.")
@db_option
def skill_add(name: str, description: str, db_url: str | None) -> None:
    """Add skill NAME.

    \b
    Example:
      ccctl skill add spanish --description "Speaks Spanish"
    """
    open_repos(db_url).skills.create(Skill(name, description))
    click.echo(f"skill {name} added")


@skill.command("del")
@audited("skill.del", Permission.EDIT_CONFIG, ResourceKind.CONFIG, key="name")
@click.argument("name")
@db_option
@reload_options
def skill_del(name: str, db_url: str | None, controller_url: str | None, token: str | None, do_reload: bool) -> None:
    """Delete skill NAME (every agent loses it).

    \b
    Example:
      ccctl skill del spanish
    """
    open_repos(db_url).skills.delete(name)
    done(f"skill {name} deleted", controller_url, token, do_reload)


@skill.command("list")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def skill_list(db_url: str | None, as_json: bool) -> None:
    """List skills.

    \b
    Example:
      ccctl skill list
    """
    emit(open_repos(db_url).skills.list(), ("name", "description"), as_json=as_json, title="skills",
         empty="no skills")


@click.group("team")
def team() -> None:
    """Teams of agents (for reports and supervision; `ccctl agent set ID --team NAME`).

    \b
    Examples:
      ccctl team add support
      ccctl team list
    """


@team.command("add")
@audited("team.add", Permission.EDIT_CONFIG, ResourceKind.UNIT, key="name")
@click.argument("name")
@click.option("--description", default="", help="What the team does.")
@db_option
def team_add(name: str, description: str, db_url: str | None) -> None:
    """Add team NAME.

    \b
    Example:
      ccctl team add support --description "First-level support"
    """
    open_repos(db_url).teams.create(Team(name, description))
    click.echo(f"team {name} added")


@team.command("del")
@audited("team.del", Permission.EDIT_CONFIG, ResourceKind.UNIT, key="name")
@click.argument("name")
@db_option
def team_del(name: str, db_url: str | None) -> None:
    """Delete team NAME (its agents stay, with no team).

    \b
    Example:
      ccctl team del support
    """
    open_repos(db_url).teams.delete(name)
    click.echo(f"team {name} deleted")


@team.command("list")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def team_list(db_url: str | None, as_json: bool) -> None:
    """List teams with their members.

    \b
    Example:
      ccctl team list --json
    """
    repos = open_repos(db_url)
    rows = [{"name": t.name, "description": t.description, "agents": repos.teams.members(t.name)}
            for t in repos.teams.list()]
    emit(rows, ("name", "description", "agents"), as_json=as_json, title="teams", empty="no teams")
