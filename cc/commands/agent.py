"""`ccctl agent add|set|del|list|show|skill` (configuration in the store) and `ccctl agent login|logout|ready|break`
(live, through the controller's API)."""

from __future__ import annotations

from typing import Any

import click

from cc.authz import Permission, ResourceKind
from cc.commands.acting import audited, on_agent
from cc.commands.admin_common import (
    apply_options,
    client_from,
    config_options,
    controller_options,
    db_option,
    done,
    emit,
    emit_one,
    open_repos,
    reload_options,
    usage_error,
)
from cc.dialstring import contact_problem
from cc.errors import InvalidValue
from cc.model import Agent

__all__ = ["agent"]

LIST_COLUMNS = ("id", "name", "contact", "team", "wrap_up_s", "max_no_answer", "skills")
LIVE_COLUMNS = ("id", "status", "state", "reason", "in_state_s", "calls_answered")


@click.group("agent")
def agent() -> None:
    """Agents: configure them (stored; a running controller picks changes up) and change their status live.

    \b
    Examples:
      ccctl agent add 1001 --name "Ada" --contact user/1001 --wrap-up 15s
      ccctl agent skill 1001 billing 7
      ccctl agent login 1001
      ccctl agent break 1001 --reason lunch
    """


def _checked(a: Agent) -> Agent:
    """``a`` when its contact is empty or a dial string; InvalidValue (exit 2) otherwise."""
    if a.contact:
        problem = contact_problem(a.contact)
        if problem:
            raise InvalidValue("--contact", a.contact, problem)
    return a


@agent.command("add")
@audited("agent.add", Permission.EDIT_CONFIG, ResourceKind.AGENT, key="agent_id", locate=on_agent())
@click.argument("agent_id", metavar="ID")
@config_options(Agent, skip=("id",))
@db_option
@reload_options
def add(agent_id: str, db_url: str | None, controller_url: str | None, token: str | None, do_reload: bool,
        **values: Any) -> None:
    """Add agent ID (unset options take their defaults).

    \b
    Example:
      ccctl agent add 1001 --name "Ada Lovelace" --contact user/1001 --team support --max-no-answer 2
    """
    new = _checked(apply_options(Agent(agent_id), values))
    repos = open_repos(db_url)
    repos.agents.create(new)
    done(f"agent {agent_id} added", controller_url, token, do_reload)
    if not new.contact:
        click.echo(f"warning: agent {agent_id} has no contact: no call can be offered to it until "
                   f"`ccctl agent set {agent_id} --contact user/{agent_id}` (or another dial string)", err=True)


@agent.command("set")
@audited("agent.set", Permission.EDIT_CONFIG, ResourceKind.AGENT, key="agent_id", locate=on_agent())
@click.argument("agent_id", metavar="ID")
@config_options(Agent, skip=("id",), defaults=False)
@db_option
@reload_options
def set_(agent_id: str, db_url: str | None, controller_url: str | None, token: str | None, do_reload: bool,
         **values: Any) -> None:
    """Change settings of agent ID (only the options given).

    \b
    Example:
      ccctl agent set 1001 --contact sofia/internal/1001 --team none
    """
    repos = open_repos(db_url)
    repos.agents.update(_checked(apply_options(repos.agents.get(agent_id), values)))
    done(f"agent {agent_id} updated", controller_url, token, do_reload)


@agent.command("del")
@audited("agent.del", Permission.EDIT_CONFIG, ResourceKind.AGENT, key="agent_id", locate=on_agent())
@click.argument("agent_id", metavar="ID")
@db_option
@reload_options
def delete(agent_id: str, db_url: str | None, controller_url: str | None, token: str | None,
           do_reload: bool) -> None:
    """Delete agent ID with its skills and tiers.

    \b
    Example:
      ccctl agent del 1001
    """
    open_repos(db_url).agents.delete(agent_id)
    done(f"agent {agent_id} deleted", controller_url, token, do_reload)


@agent.command("list")
@click.option("--team", help="Only agents of this team.")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_(team: str | None, db_url: str | None, as_json: bool) -> None:
    """List agents (configuration; `ccctl queue status` shows them live).

    \b
    Example:
      ccctl agent list --team support --json
    """
    emit(open_repos(db_url).agents.list(team=team), LIST_COLUMNS, as_json=as_json, title="agents",
         empty="no agents")


@agent.command("show")
@click.argument("agent_id", metavar="ID")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show(agent_id: str, db_url: str | None, as_json: bool) -> None:
    """Show agent ID: settings, skills and queues.

    \b
    Example:
      ccctl agent show 1001
    """
    repos = open_repos(db_url)
    a = repos.agents.get(agent_id)
    tiers = repos.tiers.for_agent(agent_id)
    if as_json:
        emit_one({"agent": a, "tiers": tiers}, as_json=True)
        return
    emit_one(a, as_json=False, title=f"agent {agent_id}")
    emit(tiers, ("queue", "level", "position"), as_json=False, title="queues", empty="in no queue")


@agent.command("skill")
@audited("agent.skill", Permission.EDIT_CONFIG, ResourceKind.AGENT, key="agent_id", locate=on_agent())
@click.argument("agent_id", metavar="ID")
@click.argument("skill")
@click.argument("level", metavar="LEVEL")
@db_option
@reload_options
def skill(agent_id: str, skill: str, level: str, db_url: str | None, controller_url: str | None,
          token: str | None, do_reload: bool) -> None:
    """Give agent ID SKILL at LEVEL 1-10 (0 or `none` takes the skill away).

    \b
    Examples:
      ccctl agent skill 1001 billing 7
      ccctl agent skill 1001 billing none
    """
    text = level.strip().lower()
    if text in ("0", "none"):
        open_repos(db_url).skills.remove_agent_skill(agent_id, skill)
        done(f"agent {agent_id}: {skill} removed", controller_url, token, do_reload)
        return
    if not text.isdigit() or not 1 <= int(text) <= 10:
        usage_error(f"LEVEL {level!r}: expected 1-10 (0 or none removes the skill)")
    open_repos(db_url).skills.set_agent_skill(agent_id, skill, int(text))
    done(f"agent {agent_id}: {skill}={int(text)}", controller_url, token, do_reload)


# ------------------------------------------------------------------ live


def _live(path_tail: str, agent_id: str, controller_url: str | None, token: str | None, as_json: bool,
          body: dict[str, Any] | None = None) -> None:
    client = client_from(controller_url, token)
    view = client.post(f"/api/v1/agents/{client.quote(agent_id)}/{path_tail}", body or {})
    if as_json:
        emit_one(view, as_json=True)
    else:
        reason = f" ({view['reason']})" if view.get("reason") else ""
        click.echo(f"agent {view['id']}: {view['status']}{reason}, {view['state']}")


def _reason_body(reason: str | None, **extra: str) -> dict[str, Any]:
    body: dict[str, Any] = dict(extra)
    if reason is not None:
        body["reason"] = reason
    return body


@agent.command("login")
@click.argument("agent_id", metavar="ID")
@click.option("--on-demand", is_flag=True, help="Log in as available on demand.")
@click.option("--reason", metavar="CODE", help="A reason code.")
@controller_options
@click.option("--json", "as_json", is_flag=True, help="Print the agent as JSON.")
def login(agent_id: str, on_demand: bool, reason: str | None, controller_url: str | None, token: str | None,
          as_json: bool) -> None:
    """Log agent ID in (available).

    \b
    Example:
      ccctl agent login 1001 --url http://cc1:8080
    """
    status = "available_on_demand" if on_demand else "available"
    _live("login", agent_id, controller_url, token, as_json, _reason_body(reason, status=status))


@agent.command("logout")
@click.argument("agent_id", metavar="ID")
@click.option("--reason", metavar="CODE", help="A reason code.")
@controller_options
@click.option("--json", "as_json", is_flag=True, help="Print the agent as JSON.")
def logout(agent_id: str, reason: str | None, controller_url: str | None, token: str | None, as_json: bool) -> None:
    """Log agent ID out.

    \b
    Example:
      ccctl agent logout 1001 --reason end-of-shift
    """
    _live("logout", agent_id, controller_url, token, as_json, _reason_body(reason))


@agent.command("ready")
@click.argument("agent_id", metavar="ID")
@click.option("--reason", metavar="CODE", help="A reason code.")
@controller_options
@click.option("--json", "as_json", is_flag=True, help="Print the agent as JSON.")
def ready(agent_id: str, reason: str | None, controller_url: str | None, token: str | None, as_json: bool) -> None:
    """Make agent ID available for calls.

    \b
    Example:
      ccctl agent ready 1001
    """
    _live("status", agent_id, controller_url, token, as_json, _reason_body(reason, status="available"))


@agent.command("break")
@click.argument("agent_id", metavar="ID")
@click.option("--reason", metavar="CODE", help="A reason code (lunch, training ...).")
@controller_options
@click.option("--json", "as_json", is_flag=True, help="Print the agent as JSON.")
def break_(agent_id: str, reason: str | None, controller_url: str | None, token: str | None, as_json: bool) -> None:
    """Put agent ID on break.

    \b
    Example:
      ccctl agent break 1001 --reason lunch
    """
    _live("status", agent_id, controller_url, token, as_json, _reason_body(reason, status="on_break"))
