"""`ccctl flow route NUMBER FLOW` and `ccctl flow routes`: which flow answers a dialled number (DNIS), in the store."""

from __future__ import annotations

import os

import click

from cc.authz import Permission, ResourceKind
from cc.commands.acting import audited
from cc.commands.admin_common import db_option, done, emit, open_repos, reload_options
from cc.commands.flow import flow
from cc.errors import FlowError
from cc.ivr_dsl.flow import check_file
from cc.model import FlowRoute

__all__ = ["flow", "route", "routes"]


@click.command("route")
@audited("flow.route", Permission.EDIT_CONFIG, ResourceKind.CONFIG, key="number")
@click.argument("number")
@click.argument("flow_ref", metavar="FLOW", required=False)
@click.option("--description", default="", help="What the number is for.")
@click.option("--delete", is_flag=True, help="Remove the route of NUMBER.")
@click.option("--flows-dir", default="flows", show_default=True, metavar="DIR",
              help="Where the controller's flows are; FLOW is checked there when the file is found.")
@db_option
@reload_options
def route(number: str, flow_ref: str | None, description: str, delete: bool, flows_dir: str, db_url: str | None,
          controller_url: str | None, token: str | None, do_reload: bool) -> None:
    """Route calls to NUMBER (DNIS) to flow file FLOW (relative to the controller's flows dir).

    \b
    Examples:
      ccctl flow route 7000 main_menu.yaml --description "Main line"
      ccctl flow route 7000 --delete
    """
    repos = open_repos(db_url)
    if delete:
        if flow_ref is not None:
            raise click.UsageError("give either FLOW or --delete")
        repos.flow_routes.delete(number)
        done(f"route {number} deleted", controller_url, token, do_reload)
        return
    if flow_ref is None:
        raise click.UsageError("missing FLOW (or --delete)")
    local = flow_ref if os.path.isabs(flow_ref) else os.path.join(flows_dir, flow_ref)
    if os.path.isfile(local):
        loaded, problems = check_file(local)
        errors = [p for p in problems if p.is_error]
        if loaded is None or errors:
            raise FlowError("\n".join(str(p) for p in errors) or f"{local}: flow did not load", file=local)
    else:
        click.echo(f"note: {local} not found here; the controller checks it when it reloads", err=True)
    repos.flow_routes.set(FlowRoute(number, flow_ref, description))
    done(f"route {number} -> {flow_ref}", controller_url, token, do_reload)


@click.command("routes")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def routes(db_url: str | None, as_json: bool) -> None:
    """List the number -> flow routes in the store (cc.yaml `flows.routes` override them).

    \b
    Example:
      ccctl flow routes --json
    """
    emit(open_repos(db_url).flow_routes.list(), ("number", "flow", "description"), as_json=as_json,
         title="routes", empty="no routes")


flow.add_command(route)
flow.add_command(routes)
