"""`ccctl customer export|erase`: a customer's access or erasure request, by any of his numbers or his id."""

from __future__ import annotations

import getpass
import os
from pathlib import Path
from typing import Any

import click

from cc.commands.acting import Acting, as_option
from cc.commands.admin_common import DB_HELP, database_url, require_existing
from cc.commands.output import dumps

__all__ = ["customer"]


def _who(f: Any) -> Any:
    f = click.option("--id", "customer_id", metavar="ID", help="The customer's id (his CRM row).")(f)
    f = click.option("--number", metavar="NUMBER",
                     help="Any of his numbers, with its country code (+8613812341234).")(f)
    f = click.option("--reason", required=True, metavar="TEXT",
                     help="Why (the request's reference): written to the audit log.")(f)
    f = click.option("--db", "db_url", metavar="URL", help=DB_HELP)(f)
    f = click.option("--config", "-c", "config_path", metavar="FILE", type=click.Path(exists=True, dir_okay=False),
                     help="Configuration whose `database:` and `recordings:` are used (default: ./cc.yaml).")(f)
    f = click.option("--json", "as_json", is_flag=True, help="Print one JSON object (what was done).")(f)
    return as_option(f)


def _open(ctx: click.Context, config_path: str | None, db_url: str | None, number: str | None,
          customer_id: str | None, reason: str, as_login: str | None) -> tuple[Any, Any, Any, Path, str, Any, str]:
    """The database, the request's subject, the recordings folder, the reason, the audit sink and the actor's
    name -- after the policy's decision: acting as a user (``--as``), he needs manage_privacy (the operator of
    the database may do it, named ``os:<user>``)."""
    from cc.authz import Permission, Resource, ResourceKind
    from cc.config import ServiceConfig, load_config
    from cc.privacy.reveal import check_reason
    from cc.store.audit_adapter import StoreAudit
    from cc.store.customer_data import CustomerDataRepo
    from cc.store.db import Database

    if (number is None) == (customer_id is None):
        raise click.UsageError("give exactly one of --number and --id")
    why = check_reason(reason)
    if config_path is not None:
        ctx.meta["cc.config"] = config_path
    path = config_path or ("cc.yaml" if os.path.isfile("cc.yaml") else None)
    cfg = load_config(path) if path is not None else ServiceConfig()
    url = database_url(db_url)
    require_existing(url)
    db = Database(url)
    try:
        acting = Acting(db, as_login)
        acting.require(Permission.MANAGE_PRIVACY, Resource.org(ResourceKind.CUSTOMER, customer_id or ""))
        repo = CustomerDataRepo(db)
        subject = repo.resolve(number=number, customer_id=customer_id)
    except BaseException:
        db.dispose()
        raise
    actor = acting.actor.login if as_login else f"os:{getpass.getuser()}"
    return db, repo, subject, Path(cfg.base_dir) / cfg.recordings_dir, why, StoreAudit(db, client="cli"), actor


@click.group()
def customer() -> None:
    """A customer's requests (PIPL): everything held about him, or its erasure; both audited. Acting as a user
    (--as LOGIN, $CC_USER) needs the manage_privacy permission.

    \b
    Examples:
      ccctl customer export --number +8613812341234 --reason "request 2026-117" --out zhang/
      ccctl customer erase --id c-1042 --reason "request 2026-118" --yes --as dpo-li
    """


@customer.command("export")
@_who
@click.option("--out", "out_dir", required=True, metavar="DIR", type=click.Path(file_okay=False),
              help="Folder for customer.json and his recordings (created).")
@click.pass_context
def export_(ctx: click.Context, number: str | None, customer_id: str | None, reason: str, db_url: str | None,
            config_path: str | None, as_json: bool, out_dir: str, as_login: str | None) -> None:
    """Write everything held about one customer: his CRM row and numbers, interactions, calls where any of
    his numbers called or was called, their legs, queue log, recordings (files copied), survey answers,
    leads and dial attempts. Numbers are not masked (it is his own data); the export is audited.

    \b
    Example:
      ccctl customer export --number +8613812341234 --reason "request 2026-117" --out zhang/
    """
    from cc.privacy.customer import export_customer

    db, repo, subject, _rec, why, audit, actor = _open(ctx, config_path, db_url, number, customer_id, reason,
                                                       as_login)
    try:
        result = export_customer(repo, subject, out_dir, audit=audit, actor=actor, reason=why)
    finally:
        db.dispose()
    if as_json:
        click.echo(dumps(result.as_dict()))
        return
    rows = ", ".join(f"{k} {v}" for k, v in sorted(result.counts.items())) or "no rows"
    click.echo(f"{result.path}: {rows}; {result.files} recording files")


@customer.command("erase")
@_who
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def erase(ctx: click.Context, number: str | None, customer_id: str | None, reason: str, db_url: str | None,
          config_path: str | None, as_json: bool, yes: bool, as_login: str | None) -> None:
    """Erase one customer: his numbers and name in history become a pseudonym, his CRM rows, recordings
    (rows and files) and do-not-call entries are deleted. The request and its counts are audited.
    It cannot be undone.

    \b
    Example:
      ccctl customer erase --number +8613812341234 --reason "request 2026-118" --yes
    """
    from cc.privacy.customer import erase_customer

    db, repo, subject, rec_dir, why, audit, actor = _open(ctx, config_path, db_url, number, customer_id, reason,
                                                          as_login)
    try:
        if not yes:
            click.confirm(f"erase {subject.key()} ({len(subject.numbers)} numbers)? this cannot be undone",
                          abort=True, err=True)
        result = erase_customer(repo, subject, rec_dir, audit=audit, actor=actor, reason=why)
    finally:
        db.dispose()
    if as_json:
        click.echo(dumps(result.as_dict()))
        return
    rows = ", ".join(f"{k} {v}" for k, v in sorted(result.counts.items())) or "no rows"
    click.echo(f"erased as {result.pseudonym}: {rows}; {result.files_deleted} recording files deleted")
