"""`ccctl tier add|set|del|list`: which agents serve which queue, at which level and position."""

from __future__ import annotations

import click

from cc.authz import Permission, ResourceKind
from cc.commands.acting import audited, on_agent
from cc.commands.admin_common import db_option, done, emit, open_repos, reload_options, usage_error
from cc.errors import NotFound
from cc.model import Tier

__all__ = ["tier"]


@click.group("tier")
def tier() -> None:
    """Tiers: agent x queue memberships with a level (lower is tried first) and a position within it.

    \b
    Examples:
      ccctl tier add 1001 support --level 1 --position 1
      ccctl tier set 1001 support --level 2
      ccctl tier list --queue support
      ccctl tier del 1001 support
    """


@tier.command("add")
@audited("tier.add", Permission.EDIT_CONFIG, ResourceKind.QUEUE, key="queue_name", locate=on_agent())
@click.argument("agent_id", metavar="AGENT")
@click.argument("queue_name", metavar="QUEUE")
@click.option("--level", type=click.IntRange(min=1), default=1, show_default=True,
              help="Tier level: level 1 agents are offered calls first.")
@click.option("--position", type=click.IntRange(min=1), default=1, show_default=True,
              help="Order within the level (top-down and round-robin use it).")
@db_option
@reload_options
def add(agent_id: str, queue_name: str, level: int, position: int, db_url: str | None, controller_url: str | None,
        token: str | None, do_reload: bool) -> None:
    """Put AGENT in QUEUE.

    \b
    Example:
      ccctl tier add 1001 support --level 1
    """
    open_repos(db_url).tiers.add(Tier(agent_id, queue_name, level, position))
    done(f"agent {agent_id} in queue {queue_name} (level {level}, position {position})", controller_url, token,
         do_reload)


@tier.command("set")
@audited("tier.set", Permission.EDIT_CONFIG, ResourceKind.QUEUE, key="queue_name", locate=on_agent())
@click.argument("agent_id", metavar="AGENT")
@click.argument("queue_name", metavar="QUEUE")
@click.option("--level", type=click.IntRange(min=1), default=None,
              help="New tier level (level 1 agents are offered calls first).")
@click.option("--position", type=click.IntRange(min=1), default=None, help="New order within the level.")
@db_option
@reload_options
def set_(agent_id: str, queue_name: str, level: int | None, position: int | None, db_url: str | None,
         controller_url: str | None, token: str | None, do_reload: bool) -> None:
    """Change the level or position of AGENT in QUEUE.

    \b
    Example:
      ccctl tier set 1001 support --level 2 --position 3
    """
    if level is None and position is None:
        usage_error("give --level and/or --position")
    repos = open_repos(db_url)
    current = next((t for t in repos.tiers.for_agent(agent_id) if t.queue == queue_name), None)
    if current is None:
        raise NotFound("tier", f"{agent_id}@{queue_name}")
    new = Tier(agent_id, queue_name, level if level is not None else current.level,
               position if position is not None else current.position)
    repos.tiers.update(new)
    done(f"agent {agent_id} in queue {queue_name}: level {new.level}, position {new.position}", controller_url,
         token, do_reload)


@tier.command("del")
@audited("tier.del", Permission.EDIT_CONFIG, ResourceKind.QUEUE, key="queue_name", locate=on_agent())
@click.argument("agent_id", metavar="AGENT")
@click.argument("queue_name", metavar="QUEUE")
@db_option
@reload_options
def delete(agent_id: str, queue_name: str, db_url: str | None, controller_url: str | None, token: str | None,
           do_reload: bool) -> None:
    """Take AGENT out of QUEUE.

    \b
    Example:
      ccctl tier del 1001 support
    """
    open_repos(db_url).tiers.remove(agent_id, queue_name)
    done(f"agent {agent_id} out of queue {queue_name}", controller_url, token, do_reload)


@tier.command("list")
@click.option("--queue", "queue_name", metavar="QUEUE", help="Only this queue.")
@click.option("--agent", "agent_id", metavar="AGENT", help="Only this agent.")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_(queue_name: str | None, agent_id: str | None, db_url: str | None, as_json: bool) -> None:
    """List tiers.

    \b
    Example:
      ccctl tier list --queue support --json
    """
    repos = open_repos(db_url)
    if queue_name is not None:
        repos.queues.get(queue_name)
        rows = repos.tiers.for_queue(queue_name)
    elif agent_id is not None:
        repos.agents.get(agent_id)
        rows = repos.tiers.for_agent(agent_id)
    else:
        rows = repos.tiers.list()
    if queue_name is not None and agent_id is not None:
        rows = [t for t in rows if t.agent_id == agent_id]
    emit(rows, ("queue", "agent_id", "level", "position"), as_json=as_json, title="tiers", empty="no tiers")
