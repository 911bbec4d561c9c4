"""`ccctl retention`: show the retention periods and run the retention job by hand (or as a dry run)."""

from __future__ import annotations

import dataclasses
import getpass
import os
import sys
from pathlib import Path
from typing import Any

import click

from cc.commands.acting import Acting, as_option
from cc.commands.admin_common import DB_HELP, database_url, require_existing
from cc.commands.options import old_spelling, prefer
from cc.commands.output import dumps
from cc.errors import InvalidValue

__all__ = ["retention"]

_CONFIG_KEY = "cc.config"


def _config(config_path: str | None) -> Any:
    """The ServiceConfig of --config (or ./cc.yaml when there is one), else the defaults."""
    from cc.config import ServiceConfig, load_config

    path = config_path or ("cc.yaml" if os.path.isfile("cc.yaml") else None)
    return load_config(path) if path is not None else ServiceConfig()


def _policy(cfg: Any, keep: tuple[str, ...], batch: int | None) -> Any:
    from cc.privacy.policy import DATA_TYPES, parse_age

    periods = dict(cfg.retention.periods)
    for item in keep:
        kind, sep, value = item.partition("=")
        if not sep or kind not in DATA_TYPES:
            raise InvalidValue("--keep-for", item, f"expected TYPE=PERIOD with TYPE one of {', '.join(DATA_TYPES)}")
        try:
            periods[kind] = parse_age(value)
        except ValueError as exc:
            raise InvalidValue("--keep-for", item, str(exc)) from None
    changes: dict[str, Any] = {"periods": periods}
    if batch is not None:
        changes["batch"] = batch
    return dataclasses.replace(cfg.retention, **changes)


@click.group()
def retention() -> None:
    """Retention of history: recordings, call records, interactions, leads, audit (cc.yaml `retention:`).

    \b
    Examples:
      ccctl retention run --dry-run
      ccctl retention run --keep-for recordings=90d --json
    """


@retention.command("run")
@click.option("--config", "-c", "config_path", metavar="FILE", type=click.Path(exists=True, dir_okay=False),
              help="Configuration whose `retention:`, `recordings:` and `database:` are used (default: ./cc.yaml).")
@click.option("--db", "db_url", metavar="URL", help=DB_HELP)
@click.option("--dry-run", is_flag=True, help="Only show what would go: rows per table, oldest and newest.")
@click.option("--keep-for", "keep", multiple=True, metavar="TYPE=PERIOD",
              help="Override one period for this run (TYPE: recordings, call_records, interactions, leads, audit; "
                   "PERIOD: 180d, 26w, 6m, 2y, forever). Repeatable.")
@old_spelling("--keep", "--keep-for", "old_keep", multiple=True, metavar="TYPE=PERIOD")
@click.option("--batch", type=click.IntRange(min=1), default=None, help="Rows per delete transaction.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (dry_run, rows, types[tables]).")
@as_option
@click.pass_context
def run(ctx: click.Context, config_path: str | None, db_url: str | None, dry_run: bool, keep: tuple[str, ...],
        old_keep: tuple[str, ...], batch: int | None, as_json: bool, as_login: str | None) -> None:
    """Delete the history older than each data type's retention period (what `ccctl serve` runs hourly).

    Recording files go with their rows (rows first, through a journal in the recordings folder, so a
    crash never leaves a row pointing at a missing file). Each data type that lost rows gets an audit
    row, naming who ran it. Acting as a user (--as LOGIN, $CC_USER) needs the manage_privacy permission,
    also for a dry run; without it the operator of the database runs it (``os:<user>``). Exit 0 also when
    nothing was expired.

    \b
    Examples:
      ccctl retention run --dry-run
      ccctl retention run --config cc.yaml --json --as dpo-li
      ccctl retention run --keep-for recordings=90d --keep-for call_records=2y
    """
    from cc.authz import Permission, Resource, ResourceKind
    from cc.privacy.retention import RetentionJob, describe
    from cc.store.audit_adapter import StoreAudit
    from cc.store.db import Database
    from cc.store.retention import RetentionRepo

    if config_path is not None:
        ctx.meta[_CONFIG_KEY] = config_path
    keep = prefer(ctx, "--keep-for", "keep", keep, "--keep", old_keep or None)
    cfg = _config(config_path)
    policy = _policy(cfg, keep, batch)
    url = database_url(db_url)
    require_existing(url)
    db = Database(url)
    try:        # the policy decides before anything is read or deleted
        acting = Acting(db, as_login)
        acting.require(Permission.MANAGE_PRIVACY, Resource.org(ResourceKind.SYSTEM, "retention"))
    except BaseException:
        db.dispose()
        raise
    actor = acting.actor.login if as_login else f"os:{getpass.getuser()}"
    recordings = Path(cfg.base_dir) / cfg.recordings_dir
    shown: dict[str, int] = {}

    def tick(table: str, n: int) -> None:
        shown[table] = shown.get(table, 0) + n
        if sys.stderr.isatty() and not as_json:
            click.echo(f"\r{table}: {shown[table]:,} rows deleted", err=True, nl=False)

    job = RetentionJob(RetentionRepo(db), policy, recordings, audit=None if dry_run else StoreAudit(db, client="cli"),
                       actor=actor, progress=tick)
    try:
        result = job.plan() if dry_run else job.run()
    finally:
        db.dispose()
    if shown and sys.stderr.isatty() and not as_json:
        click.echo("", err=True)
    if as_json:
        click.echo(dumps(result.as_dict()))
        return
    verb = "would delete" if dry_run else "deleted"
    for t in result.types:
        if t.cut is None:
            click.echo(f"{t.kind}: kept {describe(t.period_s)}")
            continue
        click.echo(f"{t.kind}: kept {describe(t.period_s)} (before {t.cut:%Y-%m-%d %H:%M} UTC goes)")
        for tc in t.tables:
            n = tc.rows if dry_run else t.deleted.get(tc.table, 0)
            span = (f", {tc.oldest:%Y-%m-%d} .. {tc.newest:%Y-%m-%d}" if tc.oldest and tc.newest and tc.rows else "")
            click.echo(f"  {tc.table}: {verb} {n:,} rows{span}")
        if t.kind == "recordings" and not dry_run:
            click.echo(f"  files: {t.files_deleted:,} deleted, {t.files_missing:,} already missing")
    click.echo(f"{result.rows:,} rows {verb}")
