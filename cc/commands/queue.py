"""`ccctl queue add|set|del|list|show|status`: queue configuration in the store, and the live queue view."""

from __future__ import annotations

import time
from typing import Any

import click
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from cc.authz import Permission, ResourceKind
from cc.commands.acting import audited
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
)
from cc.commands.options import old_spelling, prefer
from cc.commands.output import dumps, out_console
from cc.model import QueueConfig

__all__ = ["queue", "status_tables"]

LIST_COLUMNS = ("name", "strategy", "max_wait_s", "max_len", "offer_timeout_s", "wrap_up_s", "sl_threshold_s",
                "record_policy", "overflow_target")


@click.group("queue")
def queue() -> None:
    """Queues: configure them (stored; a running controller picks changes up) and watch them live.

    \b
    Examples:
      ccctl queue add support --strategy round-robin --max-wait 5m --sl-threshold 20s
      ccctl queue set support --max-len 50 --overflow-target 7100
      ccctl queue list --json
      ccctl queue status support --watch
    """


@queue.command("add")
@audited("queue.add", Permission.EDIT_CONFIG, ResourceKind.QUEUE, key="name")
@click.argument("name")
@config_options(QueueConfig, skip=("name",))
@db_option
@reload_options
def add(name: str, db_url: str | None, controller_url: str | None, token: str | None, do_reload: bool,
        **values: Any) -> None:
    """Add queue NAME (unset options take their defaults).

    \b
    Example:
      ccctl queue add support --strategy longest-idle-agent --max-wait 10m --wrap-up 15s
    """
    repos = open_repos(db_url)
    cfg = repos.queues.create(apply_options(QueueConfig(name), values))
    done(f"queue {cfg.name} added", controller_url, token, do_reload)


@queue.command("set")
@audited("queue.set", Permission.EDIT_CONFIG, ResourceKind.QUEUE, key="name")
@click.argument("name")
@config_options(QueueConfig, skip=("name",), defaults=False)
@db_option
@reload_options
def set_(name: str, db_url: str | None, controller_url: str | None, token: str | None, do_reload: bool,
         **values: Any) -> None:
    """Change settings of queue NAME (only the options given).

    \b
    Example:
      ccctl queue set support --max-wait none --announce-interval 45s
    """
    repos = open_repos(db_url)
    changed = apply_options(repos.queues.get(name), values)
    repos.queues.update(changed)
    done(f"queue {name} updated", controller_url, token, do_reload)


@queue.command("del")
@audited("queue.del", Permission.EDIT_CONFIG, ResourceKind.QUEUE, key="name")
@click.argument("name")
@db_option
@reload_options
def delete(name: str, db_url: str | None, controller_url: str | None, token: str | None, do_reload: bool) -> None:
    """Delete queue NAME and its tiers.

    \b
    Example:
      ccctl queue del old-sales
    """
    open_repos(db_url).queues.delete(name)
    done(f"queue {name} deleted", controller_url, token, do_reload)


@queue.command("list")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_(db_url: str | None, as_json: bool) -> None:
    """List every queue.

    \b
    Example:
      ccctl queue list --json
    """
    emit(open_repos(db_url).queues.list(), LIST_COLUMNS, as_json=as_json, title="queues", empty="no queues")


@queue.command("show")
@click.argument("name")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show(name: str, db_url: str | None, as_json: bool) -> None:
    """Show every setting of queue NAME and its agents (tiers).

    \b
    Example:
      ccctl queue show support
    """
    repos = open_repos(db_url)
    cfg = repos.queues.get(name)
    tiers = repos.tiers.for_queue(name)
    if as_json:
        emit_one({"queue": cfg, "tiers": tiers}, as_json=True)
        return
    emit_one(cfg, as_json=False, title=f"queue {name}")
    emit(tiers, ("agent_id", "level", "position"), as_json=False, title="tiers", empty="no agents in this queue")


def _fmt_s(value: Any) -> str:
    if value is None:
        return "-"
    seconds = int(float(value))
    return f"{seconds // 60}:{seconds % 60:02d}" if seconds < 3600 else f"{seconds // 3600}h{seconds % 3600 // 60:02d}"


def status_tables(status: dict[str, Any]) -> Group:
    """The rich tables of ``ccctl queue status``: queues (with service level today), waiting members, agents."""
    queues = Table(title="queues")
    for col in ("queue", "waiting", "offering", "staffed", "free", "longest wait", "EWT", "offered today",
                "answered", "abandoned", "service level"):
        queues.add_column(col)
    for q in status.get("queues", []):
        today = q.get("today") or {}
        sl = today.get("service_level")
        queues.add_row(q["name"], str(q["waiting"]), str(q["offering"]), str(q["staffed"]), str(q["free_agents"]),
                       _fmt_s(q["longest_wait_s"]), _fmt_s(q.get("ewt_new_s")), str(today.get("offered", 0)),
                       str(today.get("answered", 0)), str(today.get("abandoned", 0)),
                       "-" if sl is None else f"{sl:.0%}")
    members = Table(title="waiting")
    for col in ("queue", "position", "member", "waited", "priority", "state", "offered to"):
        members.add_column(col)
    for m in status.get("members", []):
        members.add_row(m["queue"], str(m["position"] or "-"), m["uuid"], _fmt_s(m["waited_s"]), str(m["priority"]),
                        m["state"], ", ".join(m.get("offered_to") or []) or "-")
    agents = Table(title="agents")
    for col in ("agent", "status", "state", "in state", "reason", "answered", "queues"):
        agents.add_column(col)
    for a in status.get("agents", []):
        agents.add_row(a["id"], a["status"], a["state"], _fmt_s(a["in_state_s"]), a.get("reason") or "-",
                       str(a["calls_answered"]), ", ".join(a.get("queues") or []))
    return Group(queues, members, agents)


@queue.command("status")
@click.argument("name", required=False)
@controller_options
@click.option("--watch", is_flag=True, help="Refresh until interrupted (Ctrl-C).")
@click.option("--refresh", "interval", type=click.FloatRange(min=0.2), default=1.0, show_default=True,
              metavar="SECONDS", help="Seconds between refreshes with --watch.")
@old_spelling("--interval", "--refresh", "old_interval", type=click.FloatRange(min=0.2))
@click.option("--count", type=click.IntRange(min=1), default=None, help="With --watch: stop after N refreshes.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (once).")
def status(name: str | None, controller_url: str | None, token: str | None, watch: bool, interval: float,
           old_interval: float | None, count: int | None, as_json: bool) -> None:
    """Live view of the running controller: waiting members, agents, service level today.

    \b
    Examples:
      ccctl queue status
      ccctl queue status support --watch --refresh 2
      ccctl queue status --json | jq '.queues[].waiting'
    """
    interval = prefer(click.get_current_context(), "--refresh", "interval", interval, "--interval", old_interval)
    client = client_from(controller_url, token)

    def fetch() -> dict[str, Any]:
        result: dict[str, Any] = client.get("/api/v1/status", queue=name) if name else client.get("/api/v1/status")
        return result

    if as_json or not watch:
        data = fetch()
        if as_json:

            click.echo(dumps(data, indent=2))
        else:
            out_console().print(status_tables(data))
        return
    shown = 0
    try:
        with Live(status_tables(fetch()), refresh_per_second=4, console=Console()) as live:
            shown = 1
            while count is None or shown < count:
                time.sleep(interval)
                live.update(status_tables(fetch()))
                shown += 1
    except KeyboardInterrupt:
        pass
