"""`cc import agents FILE.csv|FILE.xlsx` and `cc export agents|queues`: the roster in bulk, in CSV or Excel.

Columns of an agents file (only ``id`` is required; a header row names them, in any order)::

    id, name, contact, team, max_no_answer, wrap_up_s, reject_delay_s, busy_delay_s, no_answer_delay_s,
    skills   (billing:7;sales:3)      replaces the agent's skills when the column is present
    queues   (support:1:1;sales:2)     QUEUE[:LEVEL[:POSITION]]; the agent is put in (or moved in) each
"""

from __future__ import annotations

import csv
import dataclasses
import io
import os
import sys
from collections.abc import Iterator
from typing import Any

import click
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from cc.commands.admin_common import emit, notify_reload, open_repos, plain, reload_options
from cc.commands.output import dumps
from cc.errors import CCError, ConfigError, InvalidValue
from cc.model import Agent, QueueConfig, Tier
from cc.store.roster import RosterEntry, RosterRepo

__all__ = ["AGENT_COLUMNS", "export", "import_", "parse_agent_row", "read_table"]

AGENT_COLUMNS = ("id", "name", "contact", "team", "max_no_answer", "wrap_up_s", "reject_delay_s", "busy_delay_s",
                 "no_answer_delay_s", "skills", "queues")
QUEUE_COLUMNS = tuple(f.name for f in dataclasses.fields(QueueConfig))
_FLOATS = ("wrap_up_s", "reject_delay_s", "busy_delay_s", "no_answer_delay_s")
PROGRESS_FROM = 500


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_table(path: str) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """The header and (row number, cells) of a CSV or XLSX file; ConfigError naming the file otherwise."""
    if not os.path.isfile(path):
        raise ConfigError(f"{path}: no such file", file=path)
    if path.lower().endswith((".xlsx", ".xlsm")):
        return _read_xlsx(path)
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            text = fh.read()
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})", file=path) from None
    reader = csv.reader(io.StringIO(text), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise ConfigError(f"{path}: empty file (expected a header row)", file=path) from None
    except csv.Error as exc:
        raise ConfigError(f"{path}:1: {exc}", file=path, line=1) from None

    def rows() -> Iterator[tuple[int, list[str]]]:
        line = reader.line_num
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield reader.line_num, [f"\x00{exc}"]
                line = reader.line_num
                continue
            start, line = line + 1, reader.line_num
            if cells and any(c.strip() for c in cells):
                yield start, cells

    return [h.strip().lower() for h in header], rows()


def _read_xlsx(path: str) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    import zipfile

    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
        raise ConfigError(f"{path}: not an Excel workbook ({exc})", file=path) from None
    sheet = book.worksheets[0]
    it = sheet.iter_rows(values_only=True)
    try:
        header = [_cell(c).lower() for c in next(it)]
    except StopIteration:
        raise ConfigError(f"{path}: empty sheet (expected a header row)", file=path) from None
    while header and not header[-1]:
        header.pop()

    def rows() -> Iterator[tuple[int, list[str]]]:
        for n, values in enumerate(it, start=2):
            cells = [_cell(c) for c in values]
            while len(cells) > len(header) and not cells[-1]:
                cells.pop()
            if any(cells):
                yield n, cells
        book.close()

    return header, rows()


def _check_header(path: str, header: list[str]) -> None:
    unknown = [h for h in header if h not in AGENT_COLUMNS]
    if unknown:
        raise ConfigError(f"{path}:1: unknown column(s) {', '.join(map(repr, unknown))} "
                          f"(known: {', '.join(AGENT_COLUMNS)})", file=path, line=1)
    if "id" not in header:
        raise ConfigError(f"{path}:1: no 'id' column (known: {', '.join(AGENT_COLUMNS)})", file=path, line=1)
    dup = {h for h in header if header.count(h) > 1}
    if dup:
        raise ConfigError(f"{path}:1: column(s) {', '.join(sorted(dup))} given twice", file=path, line=1)


def _number(field: str, text: str, kind: type) -> Any:
    try:
        return kind(text)
    except ValueError:
        raise InvalidValue(field, text, f"expected {'an integer' if kind is int else 'a number'}") from None


def _pairs(field: str, text: str) -> list[list[str]]:
    return [[p.strip() for p in item.split(":")] for item in text.split(";") if item.strip()]


def parse_agent_row(header: list[str], cells: list[str]) -> RosterEntry:
    """One agents-file row -> RosterEntry; InvalidValue naming the column and value when it does not parse."""
    if cells and cells[0].startswith("\x00"):
        raise InvalidValue("row", "", f"malformed CSV: {cells[0][1:]}")
    if len(cells) > len(header):
        raise InvalidValue("row", len(cells), f"has {len(cells)} fields but the header has {len(header)}")
    row = dict(zip(header, cells + [""] * (len(header) - len(cells)), strict=True))
    if not row.get("id"):
        raise InvalidValue("id", row.get("id", ""), "missing")
    values: dict[str, Any] = {"id": row["id"]}
    for key in ("name", "contact"):
        if row.get(key):
            values[key] = row[key]
    if row.get("team"):
        values["team"] = row["team"]
    if row.get("max_no_answer"):
        values["max_no_answer"] = _number("max_no_answer", row["max_no_answer"], int)
    for key in _FLOATS:
        if row.get(key):
            values[key] = _number(key, row[key], float)
    skills: dict[str, int] = {}
    for parts in _pairs("skills", row.get("skills", "")):
        if len(parts) != 2 or not parts[0]:
            raise InvalidValue("skills", ":".join(parts), "expected SKILL:LEVEL (e.g. billing:7)")
        level = _number(f"skills.{parts[0]}", parts[1], int)
        if not 1 <= level <= 10:
            raise InvalidValue(f"skills.{parts[0]}", level, "must be between 1 and 10")
        skills[parts[0]] = level
    tiers: list[Tier] = []
    for parts in _pairs("queues", row.get("queues", "")):
        if not 1 <= len(parts) <= 3 or not parts[0]:
            raise InvalidValue("queues", ":".join(parts), "expected QUEUE[:LEVEL[:POSITION]]")
        level = _number(f"queues.{parts[0]}.level", parts[1], int) if len(parts) > 1 and parts[1] else 1
        position = _number(f"queues.{parts[0]}.position", parts[2], int) if len(parts) > 2 and parts[2] else 1
        tiers.append(Tier(row["id"], parts[0], level, position))
    return RosterEntry(Agent(**values, skills=skills), replace_skills="skills" in header, tiers=tuple(tiers))


@click.group("import")
def import_() -> None:
    """Bulk import into the store.

    \b
    Example:
      cc import agents roster.csv --all-or-nothing
    """


@import_.command("agents")
@click.argument("path", metavar="FILE.csv|FILE.xlsx")
@click.option("--all-or-nothing", is_flag=True, help="Write nothing when any row is rejected.")
@click.option("--progress/--no-progress", "show_progress", default=None,
              help=f"Show a progress bar (default: for files of {PROGRESS_FROM}+ rows on a terminal).")
@click.option("--db", "db_url", metavar="URL", help="Database URL (default: $CC_DATABASE_URL, else sqlite:///cc.db).")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
@reload_options
def import_agents(path: str, all_or_nothing: bool, show_progress: bool | None, db_url: str | None, as_json: bool,
                  controller_url: str | None, token: str | None, do_reload: bool) -> None:
    """Create or update agents from a CSV or Excel file; rejected rows are listed with their row number.

    Exit 0 when every row was taken, 1 when some were rejected (the valid ones are committed unless
    --all-or-nothing), 2 when the file itself is unusable.

    \b
    Columns: id (required), name, contact, team, max_no_answer, wrap_up_s, reject_delay_s,
             busy_delay_s, no_answer_delay_s, skills (billing:7;sales:3), queues (support:1:1;sales)
    Example:
      cc import agents roster.xlsx --all-or-nothing
    """
    header, rows = read_table(path)
    _check_header(path, header)
    repos = open_repos(db_url)
    entries: list[tuple[int, RosterEntry]] = []
    rejected: list[tuple[int, str]] = []
    for row_no, cells in rows:
        try:
            entries.append((row_no, parse_agent_row(header, cells)))
        except CCError as exc:
            rejected.append((row_no, str(exc)))
    total = len(entries)
    write = not (all_or_nothing and rejected)
    repo = RosterRepo(repos.db)
    bar = show_progress if show_progress is not None else (total >= PROGRESS_FROM and sys.stderr.isatty())
    if bar:
        with Progress(console=Console(stderr=True), transient=True) as progress:
            task = progress.add_task(f"checking {os.path.basename(path)}", total=total)
            result = repo.import_entries(entries, all_or_nothing=all_or_nothing, write=write,
                                         progress=lambda n: progress.advance(task, n))
    else:
        result = repo.import_entries(entries, all_or_nothing=all_or_nothing, write=write)
    all_rejected = sorted(rejected + result.rejected)
    created, updated = result.created, result.updated
    outcome = {"file": path, "created": created, "updated": updated, "committed": result.committed,
               "rejected": [{"row": r, "reason": why} for r, why in all_rejected]}
    if as_json:
        click.echo(dumps(outcome, indent=2))
    else:
        if all_rejected:
            table = Table(title=f"rejected rows of {os.path.basename(path)}")
            table.add_column("row", justify="right")
            table.add_column("reason")
            for r, why in all_rejected:
                table.add_row(str(r), why)
            Console(stderr=True).print(table)
        verdict = (f"{len(created)} created, {len(updated)} updated" if result.committed
                   else "nothing written (--all-or-nothing)")
        click.echo(f"{path}: {verdict}; {len(all_rejected)} row(s) rejected")
    if result.committed and (created or updated):
        click.echo(notify_reload(controller_url, token, enabled=do_reload), err=True)
    if all_rejected:
        click.get_current_context().exit(1)


def _agent_record(a: Agent, tiers: list[Tier]) -> dict[str, Any]:
    return {"id": a.id, "name": a.name, "contact": a.contact, "team": a.team or "", "max_no_answer": a.max_no_answer,
            "wrap_up_s": a.wrap_up_s, "reject_delay_s": a.reject_delay_s, "busy_delay_s": a.busy_delay_s,
            "no_answer_delay_s": a.no_answer_delay_s,
            "skills": ";".join(f"{k}:{v}" for k, v in sorted(a.skills.items())),
            "queues": ";".join(f"{t.queue}:{t.level}:{t.position}" for t in tiers)}


def _write(rows: list[dict[str, Any]], columns: tuple[str, ...], csv_path: str | None, xlsx_path: str | None) -> None:
    if xlsx_path is not None:
        import openpyxl

        book = openpyxl.Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.append(list(columns))
        for row in rows:
            sheet.append(["" if row.get(c) is None else row.get(c) for c in columns])
        tmp = xlsx_path + ".tmp"
        book.save(tmp)
        os.replace(tmp, xlsx_path)
        click.echo(f"{len(rows)} rows written to {xlsx_path}", err=True)
        return
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    if csv_path is None:
        click.echo(out.getvalue(), nl=False)
        return
    tmp = csv_path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        fh.write(out.getvalue())
    os.replace(tmp, csv_path)
    click.echo(f"{len(rows)} rows written to {csv_path}", err=True)


@click.command("export")
@click.argument("what", type=click.Choice(["agents", "queues"]))
@click.option("--csv", "csv_path", metavar="FILE", help="Write CSV to FILE (default: CSV on stdout).")
@click.option("--xlsx", "xlsx_path", metavar="FILE", help="Write an Excel workbook to FILE.")
@click.option("--db", "db_url", metavar="URL", help="Database URL (default: $CC_DATABASE_URL, else sqlite:///cc.db).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead.")
def export(what: str, csv_path: str | None, xlsx_path: str | None, db_url: str | None, as_json: bool) -> None:
    """Export agents (in the import format) or queues (every setting).

    \b
    Examples:
      cc export agents --xlsx roster.xlsx
      cc export queues --csv queues.csv
      cc export agents > roster.csv
    """
    if csv_path and xlsx_path:
        raise click.UsageError("give --csv or --xlsx, not both")
    repos = open_repos(db_url)
    if what == "agents":
        tiers: dict[str, list[Tier]] = {}
        for t in repos.tiers.list():
            tiers.setdefault(t.agent_id, []).append(t)
        rows = [_agent_record(a, tiers.get(a.id, [])) for a in repos.agents.list()]
        columns: tuple[str, ...] = AGENT_COLUMNS
    else:
        rows = [plain(q) for q in repos.queues.list()]
        columns = QUEUE_COLUMNS
    if as_json:
        emit(rows, columns, as_json=True)
        return
    _write(rows, columns, csv_path, xlsx_path)

