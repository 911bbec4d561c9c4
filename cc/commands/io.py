"""`ccctl import agents FILE.csv|FILE.xlsx` and `ccctl export agents|queues`: the roster in bulk, in CSV or Excel.

Columns of an agents file (``id`` is required, and a ``contact`` for a new agent; a header row names them,
in any order; an existing agent keeps what a row leaves empty)::

    id, name, contact, team, max_no_answer, wrap_up_s, reject_delay_s, busy_delay_s, no_answer_delay_s,
    skills   (billing:7;sales:3)      replaces the agent's skills when the column is present
    queues   (support:1:1;sales:2)     QUEUE[:LEVEL[:POSITION]]; the agent is put in (or moved in) each
"""

from __future__ import annotations

import csv
import dataclasses
import io
import os
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import click
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from cc.authz import Permission, ResourceKind
from cc.commands.acting import audited
from cc.commands.admin_common import db_option, emit, notify_reload, open_repos, plain, reload_options
from cc.commands.output import dumps
from cc.dialstring import contact_problem
from cc.errors import CCError, ConfigError, InvalidValue
from cc.model import Agent, QueueConfig, Tier
from cc.store.roster import RosterEntry, RosterRepo
from cc.textdecode import decode_text

__all__ = ["AGENT_COLUMNS", "DELIMITERS", "OLE2_MAGIC", "Rows", "check_agent_row", "export", "import_",
           "parse_agent_row", "read_table"]

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


#: Delimiters a CSV header is sniffed for (Excel in a locale with a decimal comma saves ``;``).
DELIMITERS = (",", ";", "\t")

Rows = Iterator[tuple[int, list[str], list[str]]]
"""(row number, cells, problems found while reading the row) for every non-empty row."""


def _delimiter(header_line: str) -> str:
    """The delimiter used most often in the header line outside quotes (``,`` when none)."""
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for ch in header_line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _split_line(line: str, delimiter: str) -> tuple[list[str], str | None]:
    """One physical line as cells, or a problem (roster fields never span lines)."""
    try:
        return next(csv.reader([line], delimiter=delimiter, strict=True)), None
    except csv.Error as exc:
        if line.count('"') % 2:
            return [], 'malformed CSV: a quote is never closed (a field that starts with " must end with ")'
        return [], f"malformed CSV: {exc}"


def read_table(path: str, encoding: str | None = None) -> tuple[list[str], Rows]:
    """The header and rows of a CSV or XLSX file; ConfigError naming the file (and line:column) otherwise.

    CSV text is UTF-8 (with or without a BOM), UTF-16 with a BOM, or GBK/GB18030 (Excel on a Chinese
    Windows), detected, or ``encoding``; the delimiter (``,`` ``;`` or tab) is sniffed from the header.
    """
    if not os.path.isfile(path):
        raise ConfigError(f"{path}: no such file", file=path)
    with open(path, "rb") as fh:
        data = fh.read()
    if path.lower().endswith(".xls") or data.startswith(OLE2_MAGIC):
        raise ConfigError(f"{path}: an old Excel (.xls) workbook: open it in Excel and save it as .xlsx "
                          "(Excel Workbook) or as CSV UTF-8", file=path)
    if path.lower().endswith((".xlsx", ".xlsm")) or data.startswith(b"PK\x03\x04"):
        return _read_xlsx(path)
    decoded = decode_text(data, encoding)
    if decoded.text is None:
        advice = "" if encoding else "; save it as CSV UTF-8, or give its encoding (e.g. --encoding cp1252)"
        raise ConfigError(f"{path}:{decoded.line}:{decoded.col}: {decoded.problem}{advice}", file=path,
                          line=decoded.line)
    lines = decoded.text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if not lines[0].strip():
        raise ConfigError(f"{path}: empty file (expected a header row)", file=path)
    delimiter = _delimiter(lines[0])
    header, problem = _split_line(lines[0], delimiter)
    if problem:
        raise ConfigError(f"{path}:1: {problem}", file=path, line=1)

    def rows() -> Rows:
        for n, line in enumerate(lines[1:], start=2):
            if not line.strip():
                continue
            cells, problem = _split_line(line, delimiter)
            if problem:
                yield n, [], [problem]
            elif any(c.strip() for c in cells):
                yield n, cells, []

    return [h.strip().lower() for h in header], rows()


#: The first bytes of an OLE2 compound file: an old Excel .xls (or .doc) saved under any name.
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


_FORMULA = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f[\s>/]")


def _has_formulas(path: str) -> bool:
    """Whether a worksheet of the workbook holds a formula (an ``<f>`` element); True when it cannot tell."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            for name in z.namelist():
                if not (name.startswith("xl/worksheets/") and name.endswith(".xml")):
                    continue
                with z.open(name) as fh:
                    tail = b""
                    while chunk := fh.read(1 << 20):
                        if _FORMULA.search(tail + chunk):
                            return True
                        tail = chunk[-32:]
    except (zipfile.BadZipFile, OSError, KeyError, ValueError):
        return True
    return False


def _read_xlsx_fast(path: str) -> tuple[list[str], Rows] | None:
    """The first sheet through calamine (ten times openpyxl's speed), or None when it cannot read it."""
    try:
        from python_calamine import CalamineWorkbook

        book = CalamineWorkbook.from_path(path)
        try:
            grid = book.get_sheet_by_index(0).to_python(skip_empty_area=False)
        finally:
            book.close()
    except Exception:  # any failure: openpyxl reads the file and names the problem
        return None
    first = next((i for i, r in enumerate(grid) if any(_cell(c) for c in r)), None)
    if first is None:
        return None
    header = [_cell(c).lower() for c in grid[first]]
    while header and not header[-1]:
        header.pop()

    def rows() -> Rows:
        for n, values in enumerate(grid[first + 1:], start=first + 2):
            cells = [_cell(c) for c in values]
            while len(cells) > len(header) and not cells[-1]:
                cells.pop()
            if any(cells):
                yield n, cells, []

    return header, rows()


def _read_xlsx(path: str) -> tuple[list[str], Rows]:
    import zipfile

    if not _has_formulas(path):  # no formula whose saved value could be missing: the fast reader will do
        fast = _read_xlsx_fast(path)
        if fast is not None:
            return fast

    import openpyxl
    from openpyxl.utils import get_column_letter
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        formulas = openpyxl.load_workbook(path, read_only=True, data_only=False)
    except (InvalidFileException, zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
        raise ConfigError(f"{path}: not an Excel workbook ({exc})", file=path) from None
    sheet = book.worksheets[0]
    it = sheet.iter_rows(values_only=True)
    fit = formulas.worksheets[0].iter_rows(values_only=True)
    try:
        header = [_cell(c).lower() for c in next(it)]
        next(fit, None)
    except StopIteration:
        raise ConfigError(f"{path}: empty sheet (expected a header row)", file=path) from None
    while header and not header[-1]:
        header.pop()

    def rows() -> Rows:
        for n, values in enumerate(it, start=2):
            raw = next(fit, ()) or ()
            problems = [f"cell {get_column_letter(i + 1)}{n} ({header[i] if i < len(header) else '?'}): "
                        f"a formula ({f}) with no saved value: open the file in Excel and save it, "
                        "or paste the values"
                        for i, (v, f) in enumerate(zip(values, raw, strict=False))
                        if v is None and isinstance(f, str) and f.startswith("=")]
            cells = [_cell(c) for c in values]
            while len(cells) > len(header) and not cells[-1]:
                cells.pop()
            if any(cells) or problems:
                yield n, cells, problems
        book.close()
        formulas.close()

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


def _column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA (as a spreadsheet names its columns)."""
    out = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(ord("A") + rem) + out
    return out


def _located(header: list[str], problem: str) -> str:
    """``problem`` with the column it is about (``column E: wrap_up_s='soon': ...``) when it names one."""
    field = problem.split("=", 1)[0].split(":", 1)[0].split(".", 1)[0].strip()
    if field in header and not problem.startswith("cell "):
        return f"column {_column_letter(header.index(field))}: {problem}"
    return problem


def check_agent_row(header: list[str], cells: list[str], existing: Mapping[str, Agent] | None = None,
                    problems: Sequence[str] = ()) -> tuple[RosterEntry | None, list[str]]:
    """One agents-file row -> (RosterEntry or None, every problem of the row, not only the first).

    An agent in ``existing`` keeps what the row leaves empty; a new one takes the defaults. Either way
    it needs a contact that is a dial string.
    """
    found = list(problems)
    if len(cells) > len(header):
        found.append(f"row has {len(cells)} fields but the header has {len(header)}")
        cells = cells[:len(header)]
    row = dict(zip(header, cells + [""] * (len(header) - len(cells)), strict=True))
    agent_id = row.get("id", "")
    if not agent_id:
        found.append("id: missing")

    def num(field: str, text: str, kind: type) -> Any:
        try:
            return _number(field, text, kind)
        except CCError as exc:
            found.append(str(exc))
            return None

    values: dict[str, Any] = {}
    for key in ("name", "contact", "team"):
        if row.get(key):
            values[key] = row[key]
    if row.get("max_no_answer"):
        values["max_no_answer"] = num("max_no_answer", row["max_no_answer"], int)
    for key in _FLOATS:
        if row.get(key):
            values[key] = num(key, row[key], float)
    skills: dict[str, int] = {}
    for parts in _pairs("skills", row.get("skills", "")):
        if len(parts) != 2 or not parts[0]:
            found.append(f"skills={':'.join(parts)!r}: expected SKILL:LEVEL (e.g. billing:7)")
            continue
        level = num(f"skills.{parts[0]}", parts[1], int)
        if level is None:
            continue
        if not 1 <= level <= 10:
            found.append(f"skills.{parts[0]}={level!r}: must be between 1 and 10")
            continue
        skills[parts[0]] = level
    tiers: list[Tier] = []
    for parts in _pairs("queues", row.get("queues", "")):
        if not 1 <= len(parts) <= 3 or not parts[0]:
            found.append(f"queues={':'.join(parts)!r}: expected QUEUE[:LEVEL[:POSITION]]")
            continue
        level = num(f"queues.{parts[0]}.level", parts[1], int) if len(parts) > 1 and parts[1] else 1
        position = num(f"queues.{parts[0]}.position", parts[2], int) if len(parts) > 2 and parts[2] else 1
        if level is not None and position is not None:
            tiers.append(Tier(agent_id, parts[0], level, position))
    base = (existing or {}).get(agent_id)
    contact = values.get("contact", base.contact if base is not None else "")
    problem = contact_problem(contact)
    if problem:
        found.append(f"contact={contact!r}: {problem}" if contact else f"contact: {problem}")
    if found or not agent_id:
        return None, [_located(header, p) for p in found]
    fields = {k: v for k, v in values.items() if v is not None}
    agent = (dataclasses.replace(base, **fields, skills=skills if "skills" in header else base.skills)
             if base is not None else Agent(agent_id, **fields, skills=skills))
    return RosterEntry(agent, replace_skills="skills" in header, tiers=tuple(tiers)), []


def parse_agent_row(header: list[str], cells: list[str], existing: Mapping[str, Agent] | None = None) -> RosterEntry:
    """One agents-file row -> RosterEntry; InvalidValue listing every problem of the row otherwise."""
    entry, problems = check_agent_row(header, cells, existing)
    if entry is None:
        raise InvalidValue("row", cells[0] if cells else "", "; ".join(problems))
    return entry


@click.group("import")
def import_() -> None:
    """Bulk import into the store.

    \b
    Example:
      ccctl import agents roster.csv --all-or-nothing
    """


@import_.command("agents")
@audited("import.agents", Permission.EDIT_CONFIG, ResourceKind.AGENT, key="path")
@click.argument("path", metavar="FILE.csv|FILE.xlsx")
@click.option("--all-or-nothing", is_flag=True, help="Write nothing when any row is rejected.")
@click.option("--encoding", metavar="NAME",
              help="Text encoding of a CSV file (default: detected: UTF-8 with or without BOM, UTF-16, GBK/GB18030).")
@click.option("--progress/--no-progress", "show_progress", default=None,
              help=f"Show a progress bar (default: for files of {PROGRESS_FROM}+ rows on a terminal).")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
@reload_options
def import_agents(path: str, all_or_nothing: bool, encoding: str | None, show_progress: bool | None,
                  db_url: str | None, as_json: bool,
                  controller_url: str | None, token: str | None, do_reload: bool) -> None:
    """Create or update agents from a CSV or Excel file; rejected rows are listed with their row number.

    Exit 0 when every row was taken, 1 when some were rejected (the valid ones are committed unless
    --all-or-nothing), 2 when the file itself is unusable. Every problem of a row is listed. CSV may be
    UTF-8 (with or without a BOM), UTF-16 or GBK/GB18030 (detected, or --encoding), separated by
    commas, semicolons or tabs; an old .xls must be saved as .xlsx first.

    \b
    Columns: id (required), name, contact (a dial string such as user/1001; required for a new agent),
             team, max_no_answer, wrap_up_s, reject_delay_s,
             busy_delay_s, no_answer_delay_s, skills (billing:7;sales:3), queues (support:1:1;sales)
    Example:
      ccctl import agents roster.xlsx --all-or-nothing
    """
    header, rows = read_table(path, encoding)
    _check_header(path, header)
    repos = open_repos(db_url)
    existing = {a.id: a for a in repos.agents.list()}
    entries: list[tuple[int, RosterEntry]] = []
    rejected: list[tuple[int, str]] = []
    for row_no, cells, read_problems in rows:
        entry, problems = check_agent_row(header, cells, existing, read_problems)
        if entry is None:
            rejected.append((row_no, "; ".join(problems)))
        else:
            entries.append((row_no, entry))
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
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead.")
def export(what: str, csv_path: str | None, xlsx_path: str | None, db_url: str | None, as_json: bool) -> None:
    """Export agents (in the import format) or queues (every setting).

    \b
    Examples:
      ccctl export agents --xlsx roster.xlsx
      ccctl export queues --csv queues.csv
      ccctl export agents > roster.csv
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

