"""`ccctl campaign import NAME FILE.xlsx|FILE.csv`: a lead file into a campaign, checked whole before anything is
written; every problem is reported with its row and column."""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Sequence
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cc.authz import Permission, ResourceKind
from cc.commands.acting import audited
from cc.commands.admin_common import CHANGE_KEY, db_option, open_repos
from cc.commands.io import read_table
from cc.commands.output import dumps
from cc.errors import ConfigError, InvalidValue
from cc.leadfile import LeadInput, RowProblem, check_lead_row, map_columns, parse_map_option
from cc.store.campaigns import CampaignRepos, ImportOutcome

__all__ = ["by_whom", "import_leads", "outcome_record"]



def _default_tz(repos: CampaignRepos, campaign: str, region: str) -> str:
    """The zone of a lead whose number does not tell it: the campaign calendar's, else the region's capital's."""
    c = repos.campaigns.get(campaign)
    if c.settings.calendar:
        return open_repos_calendar_tz(repos, c.settings.calendar)
    return "Asia/Shanghai" if region.upper() == "CN" else "UTC"


def open_repos_calendar_tz(repos: CampaignRepos, calendar: str) -> str:
    """The time zone of a business-hours calendar."""
    from cc.store.repos import CalendarRepo

    return CalendarRepo(repos.db).get(calendar).timezone


def outcome_record(path: str, campaign: str, out: ImportOutcome) -> dict[str, Any]:
    """The JSON summary of an import."""
    return {"file": path, "campaign": campaign, "list_id": out.list_id, "committed": out.committed,
            "rows": out.rows, "imported": out.imported, "rejected": out.rejected, "duplicates": out.duplicates,
            "dnc": out.dnc, "customers_created": out.customers_created, "customers_matched": out.customers_matched,
            "problems": [{"row": p.row, "column": p.column, "kind": p.kind, "reason": p.reason}
                         for p in out.problems]}


def _progress(enabled: bool) -> Progress | None:
    if not enabled:
        return None
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=Console(stderr=True), transient=True)


@click.command("import")
@audited("campaign.import", Permission.MANAGE_LEADS, ResourceKind.CAMPAIGN, key="name")
@click.argument("name")
@click.argument("path", metavar="FILE.xlsx|FILE.csv")
@click.option("--map", "mappings", multiple=True, metavar="COLUMN=FIELD",
              help="Read COLUMN (its header, or its letter) as FIELD: name, phone, mobile, landline, address, note, "
                   "tz, priority, owner, email, customer_type, extra or ignore. Repeatable.")
@click.option("--region", default="CN", show_default=True, metavar="CC",
              help="Country of numbers written without +country code (ISO 3166: CN, US, DE ...).")
@click.option("--tz", "default_tz", metavar="ZONE",
              help="Time zone of leads whose number and row do not give one (default: the campaign calendar's, "
                   "else the region's).")
@click.option("--partial", is_flag=True, help="Import the good rows even when some rows have errors.")
@click.option("--dry-run", is_flag=True, help="Check the file against the campaign; write nothing.")
@click.option("--encoding", metavar="NAME",
              help="Text encoding of a CSV file (default: detected: UTF-8 with or without BOM, UTF-16, GBK/GB18030).")
@click.option("--progress/--no-progress", "show_progress", default=None,
              help="Show a progress bar (default: when stderr is a terminal).")
@click.option("--by", "by", metavar="WHO", help="Who imports (default: the login name).")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as one JSON object.")
def import_leads(name: str, path: str, mappings: Sequence[str], region: str, default_tz: str | None, partial: bool,
                 dry_run: bool, encoding: str | None, show_progress: bool | None, by: str | None, db_url: str | None,
                 as_json: bool) -> None:
    """Import a lead file (Excel .xlsx or CSV) into campaign NAME: one lead per row.

    Headers in Chinese or English are recognised (a trailing number is ignored: 电话2, phone 3):
    姓名/name, 电话/phone, 手机/mobile, 座机/landline, 地址/address, 备注/note, 时区/tz, 优先级/priority,
    坐席/owner, 邮箱/email, 客户类型/customer_type; other columns are kept as the lead's extra fields.
    Several phone columns, and several numbers in one cell (split by ; , / 、), are allowed; numbers
    become E.164 (--region for national ones). A number already in the file or in the campaign makes
    the row a duplicate, numbers on a do-not-call list are scrubbed: both are reported, not imported.
    Rows with errors are listed with row and column; then nothing is imported unless --partial.
    Each lead's customer is the CRM customer owning one of its numbers, else a new one.

    Exit 0 when every row was imported or reported as duplicate/DNC, 1 when rows had errors, 2 when the
    file or the arguments are unusable. CSV may be UTF-8 (with or without BOM), GBK/GB18030 or UTF-16.

    \b
    Examples:
      ccctl campaign import spring leads.xlsx
      ccctl campaign import spring 名单.csv --map 客户电话=phone --map 微信=extra --partial --json
    """
    region = region.upper()
    import phonenumbers

    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise InvalidValue("--region", region, "not a region code phonenumbers knows (e.g. CN, US, DE)")
    mapping = parse_map_option(mappings)
    repos = CampaignRepos(open_repos(db_url).db, region=region)
    if default_tz is None:
        default_tz = _default_tz(repos, name, region)
    else:
        from cc.leadfile import valid_tz

        if valid_tz(default_tz) is None:
            raise InvalidValue("--tz", default_tz, "not an IANA time zone (e.g. Asia/Shanghai)")
        repos.campaigns.get(name)
    header, rows = read_table(path, encoding)
    try:
        cmap = map_columns(header, mapping)
    except InvalidValue as exc:
        raise ConfigError(f"{path}:1: {exc}", file=path, line=1) from None
    from cc.store.repos import AgentRepo

    agents = {a.id for a in AgentRepo(repos.db).list()}
    types = repos.customer_types.lookup()
    bar = _progress(show_progress if show_progress is not None else sys.stderr.isatty())
    leads: list[LeadInput] = []
    problems: list[RowProblem] = []
    total = 0
    base = os.path.basename(path)
    if bar is not None:
        bar.start()
        task = bar.add_task(f"reading {base}", total=None)
    for row_no, cells, read_problems in rows:
        total += 1
        lead, found = check_lead_row(cmap, row_no, cells, region=region, default_tz=default_tz,
                                     read_problems=read_problems, agents=agents, customer_types=types)
        if lead is not None:
            leads.append(lead)
        problems.extend(found)
        if bar is not None and total % 500 == 0:
            bar.update(task, completed=total)
    try:
        if bar is not None:
            bar.update(task, completed=total, total=total)
            wtask = bar.add_task(f"writing {base}", total=len(leads))
        out = repos.leads.import_rows(
            name, base, leads, problems, total_rows=total, partial=partial, write=not dry_run,
            by=by if by is not None else by_whom(),
            progress=(lambda n: bar.advance(wtask, n)) if bar is not None else None)
    finally:
        if bar is not None:
            bar.stop()
    _report(path, name, out, as_json=as_json, dry_run=dry_run, partial=partial)
    if out.rejected:
        click.get_current_context().exit(1)


def by_whom() -> str:
    """Who runs this command, for ``added_by`` / ``imported_by``: the acting user's login (``--as``, or
    ``cli:<os user>``, as the audit row names him) in an audited command, else the OS login name."""
    ctx = click.get_current_context(silent=True)
    change = ctx.meta.get(CHANGE_KEY) if ctx is not None else None
    if change is not None:
        return str(change.actor.login)
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


def _report(path: str, name: str, out: ImportOutcome, *, as_json: bool, dry_run: bool, partial: bool) -> None:
    if as_json:
        click.echo(dumps(outcome_record(path, name, out), indent=2))
        return
    if out.problems:
        table = Table(title=f"rows of {os.path.basename(path)} not imported")
        for col, justify in (("row", "right"), ("column", "left"), ("kind", "left"), ("reason", "left")):
            table.add_column(col, justify=justify)  # type: ignore[arg-type]
        for p in out.problems:
            table.add_row(str(p.row), p.column or "-", p.kind, p.reason)
        Console(stderr=True, width=None if sys.stderr.isatty() else 200).print(table)
    counts = (f"{out.rows} row(s): {out.rejected} with errors, {out.duplicates} duplicate(s), "
              f"{out.dnc} DNC number(s) scrubbed")
    if dry_run:
        verdict = f"dry run: {out.imported} lead(s) would be imported"
    elif out.committed:
        verdict = (f"{out.imported} lead(s) imported into {name} (list {out.list_id}; customers: "
                   f"{out.customers_created} new, {out.customers_matched} matched)")
    else:
        verdict = "nothing imported: fix the rows with errors, or give --partial to import the others"
    click.echo(f"{path}: {verdict}; {counts}")
