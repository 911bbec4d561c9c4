"""`ccctl call list|hangup|transfer`, `ccctl record start|pause|resume|stop` and `ccctl reload`: live control of the
running controller through its HTTP API."""

from __future__ import annotations

import datetime

import click

from cc.commands.admin_common import client_from, controller_options, emit, emit_one

__all__ = ["call", "record", "reload"]


def _hms(epoch: object) -> str:
    if not isinstance(epoch, int | float):
        return "-"
    return datetime.datetime.fromtimestamp(epoch, datetime.UTC).strftime("%H:%M:%S")


@click.group("call")
def call() -> None:
    """Calls in progress on the running controller.

    \b
    Examples:
      ccctl call list
      ccctl call hangup 3f1c...e9
      ccctl call transfer 3f1c...e9 7100
    """


@call.command("list")
@controller_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def call_list(controller_url: str | None, token: str | None, as_json: bool) -> None:
    """List calls in progress, oldest first.

    \b
    Example:
      ccctl call list --json
    """
    calls = client_from(controller_url, token).get("/api/v1/calls")
    if not as_json:
        for c in calls:
            c["started"] = _hms(c.get("started_at"))
    emit(calls, ("uuid", "caller", "destination", "state", "queue", "agent", "started", "recording"),
         as_json=as_json, title="calls", empty="no calls in progress")


@call.command("hangup")
@click.argument("uuid")
@click.option("--cause", default="NORMAL_CLEARING", show_default=True,
              help="FreeSWITCH hang-up cause given to the call.")
@controller_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def call_hangup(uuid: str, cause: str, controller_url: str | None, token: str | None, as_json: bool) -> None:
    """Hang up call UUID.

    \b
    Example:
      ccctl call hangup 3f1c0b8e-... --cause CALL_REJECTED
    """
    client = client_from(controller_url, token)
    result = client.post(f"/api/v1/calls/{client.quote(uuid)}/hangup", {"cause": cause})
    emit_one(result, as_json=True) if as_json else click.echo(f"call {uuid}: hung up ({cause})")


@call.command("transfer")
@click.argument("uuid")
@click.argument("target")
@click.option("--context", default="default", show_default=True, help="Dialplan context the number is looked up in.")
@controller_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def call_transfer(uuid: str, target: str, context: str, controller_url: str | None, token: str | None,
                  as_json: bool) -> None:
    """Transfer call UUID to dialplan extension TARGET (exit 1 when the call ends instead of reaching it).

    \b
    Example:
      ccctl call transfer 3f1c0b8e-... 7100 --context public
    """
    client = client_from(controller_url, token)
    result = client.post(f"/api/v1/calls/{client.quote(uuid)}/transfer", {"target": target, "context": context})
    emit_one(result, as_json=True) if as_json else click.echo(f"call {uuid}: transferred to {target}")


@click.command("record")
@click.argument("action", type=click.Choice(["start", "pause", "resume", "stop"]))
@click.argument("uuid")
@controller_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def record(action: str, uuid: str, controller_url: str | None, token: str | None, as_json: bool) -> None:
    """Start, pause, resume or stop the recording of call UUID (pause for card numbers, say).

    \b
    Examples:
      ccctl record pause 3f1c0b8e-...
      ccctl record resume 3f1c0b8e-...
    """
    client = client_from(controller_url, token)
    result = client.post(f"/api/v1/calls/{client.quote(uuid)}/record", {"action": action})
    if as_json:
        emit_one(result, as_json=True)
    elif result.get("recording"):
        click.echo(f"call {uuid}: recording {result['recording']}" + (" (paused)" if result.get("paused") else ""))
    else:
        click.echo(f"call {uuid}: not recording")


@click.command("reload")
@controller_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def reload(controller_url: str | None, token: str | None, as_json: bool) -> None:
    """Make the running controller re-read queues, agents, tiers, routes and calendars from the store.

    Exits 1 when the controller refused part of it (e.g. removing a queue that still has callers).

    \b
    Example:
      ccctl reload --url http://cc1:8080 --token $ADMIN_TOKEN
    """
    report = client_from(controller_url, token).post("/api/v1/reload")
    if as_json:
        emit_one(report, as_json=True)
    else:
        rows = [{"change": kind, "what": item} for kind in ("added", "changed", "removed", "refused")
                for item in report.get(kind, [])]
        emit(rows, ("change", "what"), as_json=False, title="reload", empty="reloaded: nothing changed")
    if report.get("refused"):
        click.get_current_context().exit(1)
