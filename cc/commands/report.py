"""`ccctl report`: queue, agent, call and survey reports as tables, CSV, xlsx or JSON; charts as PNG."""

from __future__ import annotations

import datetime
import math
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from cc.commands.acting import Acting, as_option
from cc.commands.admin_common import DB_HELP, config_option, database_url, db_option, require_existing
from cc.commands.output import dumps, out_console
from cc.errors import InvalidValue, NotFound
from cc.reports.charts import agent_chart, queue_chart, wait_histogram
from cc.reports.export import write_csv, write_json, write_xlsx
from cc.reports.intervals import parse_duration, parse_interval, parse_time, zone
from cc.reports.source import ENGINES, REPORTS, ReportOptions, run_reports
from cc.reports.table import Column, Report

__all__ = ["report"]

#: Columns shown in the terminal table unless --wide (files always get every column).
NARROW = {
    "queues": ["interval", "queue", "offered", "answered", "service_level", "abandoned", "abandon_rate", "asa_s",
               "avg_wait_s", "max_wait_s", "aht_s", "transfers", "callbacks_requested", "survey_avg"],
    "agents": ["interval", "agent", "offers", "handled", "no_answers", "talk_s", "wrap_s", "idle_s", "break_s",
               "logged_in_s", "occupancy", "aht_s"],
}


def _options(fn: Callable[..., Any]) -> Callable[..., Any]:
    opts = [
        click.option("--from", "start", metavar="TIME", help="Window start, local to --tz (default: today 00:00)."),
        click.option("--to", "end", metavar="TIME", help="Window end, exclusive (default: --from + 1 day)."),
        click.option("--interval", default="hour", show_default=True, metavar="15m|30m|hour|day|week|month|all",
                     help="Length of each row's interval, in local time (all: one row for the whole window)."),
        click.option("--tz", default="UTC", show_default=True, metavar="ZONE", help="IANA time zone."),
        click.option("--queue", metavar="NAME", help="Only this queue."),
        click.option("--agent", metavar="ID", help="Only this agent."),
        click.option("--short-abandon", default="0s", show_default=True, metavar="DURATION",
                     help="Abandons with a shorter wait are not counted as offered or abandoned."),
        click.option("--db", "db_url", metavar="URL", help=DB_HELP),
        config_option,
        click.option("--progress/--no-progress", default=None, help="Progress bar (default: when stderr is a TTY)."),
        click.option("--engine", default="auto", show_default=True, type=click.Choice(ENGINES),
                     help="Where queue/agent figures are computed: auto (the database on PostgreSQL), sql (the "
                     "database, summed per-call rows), events (the database, queue log only), python (streamed)."),
    ]
    for o in reversed(opts):
        fn = o(fn)
    return fn


def _window(start: str | None, end: str | None, tz_name: str) -> tuple[float, float]:
    tz = zone(tz_name)
    if start is None:
        today = datetime.datetime.now(tz).date()
        t0 = datetime.datetime.combine(today, datetime.time(), tz).timestamp()
    else:
        t0 = parse_time(start, tz, "--from")
    if end is None:
        day = datetime.datetime.fromtimestamp(t0, tz).date() + datetime.timedelta(days=1)
        t1 = datetime.datetime.combine(day, datetime.time(), tz).timestamp()
    else:
        t1 = parse_time(end, tz, "--to")
    if t1 <= t0:
        raise InvalidValue("--to", end, "must be after --from")
    return t0, t1


def _build(start: str | None, end: str | None, interval: str, tz: str, queue: str | None, agent: str | None,
           short_abandon: str, engine: str = "auto") -> ReportOptions:
    t0, t1 = _window(start, end, tz)
    return ReportOptions(t0, t1, interval=parse_interval(interval), tz=tz, queue=queue, agent=agent,
                         short_abandon_s=parse_duration(short_abandon, "--short-abandon"), now=time.time(),
                         engine=engine)


def _repos(db_url: str | None) -> Any:
    """Repositories on the command's database (see admin_common.database_url); never creates one."""
    from cc.store import Database, Repos

    url = database_url(db_url)
    require_existing(url)
    return Repos(Database(url))


@contextmanager
def _progress(enabled: bool | None, label: str) -> Iterator[Callable[[int], None] | None]:
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        yield None
        return
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed:,} rows"),
                  TimeElapsedColumn(), console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=None)
        yield lambda n: bar.advance(task, n)


def _clock(v: float, hours: bool) -> str:
    """Seconds as ``m:ss`` or (``hours``) ``h:mm:ss``."""
    v = round(v)
    if hours:
        return f"{int(v // 3600)}:{int(v % 3600 // 60):02d}:{int(v % 60):02d}"
    return f"{int(v // 60)}:{int(v % 60):02d}"


def _fmt(col: Column, value: Any, tz: str, clock: str = "") -> str:
    """One cell as the terminal table shows it; ``clock`` (``m:ss`` or ``h:mm:ss``) formats seconds as a time."""
    if value is None:
        return "-"
    if col.kind == "ratio":
        return f"{value * 100:.1f}%"
    if col.kind == "seconds":
        v = float(value)
        if not math.isfinite(v):
            return "-"
        return _clock(v, clock == "h:mm:ss") if clock else f"{v:.1f}"
    if col.kind == "float":
        return f"{float(value):.2f}"
    if col.kind == "datetime":
        return datetime.datetime.fromtimestamp(float(value), zone(tz)).strftime("%Y-%m-%d %H:%M:%S")
    if col.kind == "bool":
        return "yes" if value else ""
    return str(value)


def _clock_format(values: Iterable[Any]) -> str:
    """One format for a seconds column: '' (``8.8``) when all are under a minute, else m:ss or h:mm:ss."""
    top = max((float(v) for v in values if isinstance(v, int | float) and math.isfinite(v)), default=0.0)
    return "h:mm:ss" if top >= 3599.5 else "m:ss" if top >= 60 else ""


def _table(rep: Report, wide: bool, limit: int) -> None:
    """The report as a terminal table, one format per column (its header names the unit)."""
    keys = NARROW.get(rep.name)
    cols = rep.columns if wide or keys is None else [c for c in rep.columns if c.key in keys]
    if rep.name != "calls":
        cols = [c for c in cols if c.key != "start"]
    rows: list[Any] = []
    more = 0
    for row in rep.iter_rows():
        if len(rows) >= limit:
            more += 1
            continue
        rows.append(row)
    clock = {c.key: _clock_format(r.get(c.key) for r in rows) for c in cols if c.kind == "seconds"}
    table = Table(title=f"{rep.name} ({rep.tz})")
    for c in cols:
        title = c.title + (f" ({clock[c.key] or 's'})" if c.kind == "seconds" else "")
        table.add_column(title, justify="left" if c.kind == "text" else "right", no_wrap=c.key == "interval")
    for row in rows:
        table.add_row(*(Text(_fmt(c, row.get(c.key), rep.tz, clock.get(c.key, ""))) for c in cols))
    console = out_console()
    console.print(table)
    if more:
        console.print(f"... {more} more rows (use --csv, --xlsx or --json for all, or --limit)")
    if not rows:
        console.print("no activity in the window")


def _emit(reports: list[Report], csv_file: str | None, xlsx_file: str | None, as_json: bool, wide: bool,
          limit: int, progress: Callable[[int], None] | None) -> None:
    if csv_file and len(reports) != 1:
        raise InvalidValue("--csv", csv_file, "takes one report; use --xlsx for several")
    outputs = sum(bool(x) for x in (csv_file, xlsx_file, as_json))
    if outputs > 1:  # each output consumes the rows: keep them for the next one
        reports = [r.materialize() for r in reports]
    if csv_file:
        n = write_csv(reports[0], csv_file)
        click.echo(f"{n} rows written to {csv_file}", err=True)
    if xlsx_file:
        meta = dict(reports[0].meta) if reports else {}
        n = write_xlsx(reports, xlsx_file, meta=meta, progress=progress)
        click.echo(f"{n} rows written to {xlsx_file}", err=True)
    if as_json:
        write_json(reports, sys.stdout)
    if not outputs:
        for r in reports:
            _table(r, wide, limit)


def _reveal_reason(reveal: bool, reason: str | None) -> str | None:
    """The reason of a --reveal (checked before any work), None without --reveal."""
    from cc.privacy.reveal import check_reason

    if not reveal:
        if reason is not None:
            raise InvalidValue("--reason", reason, "goes with --reveal")
        return None
    return check_reason(reason)


def _masked(rep: Report) -> Report:
    """The report with phone numbers masked in its text cells (streamed: rows are masked as they come)."""
    from cc.privacy.mask import mask_text

    keys = [c.key for c in rep.columns if c.kind == "text"]

    def rows() -> Iterator[dict[str, Any]]:
        for row in rep.iter_rows():
            out = dict(row)
            for k in keys:
                if isinstance(out.get(k), str):
                    out[k] = mask_text(out[k])
            yield out

    return Report(rep.name, rep.columns, rows(), rep.tz, rep.meta)


def _disclose(reports: list[Report], repos: Any, reason: str | None, name: str, opts: ReportOptions,
              acting: Acting) -> list[Report]:
    """Masked reports, or (a reason given) the reports as they are, after an audit row for the reveal.

    Acting as a user (--as), the reveal needs reveal_numbers; the database's operator may read it anyway, and
    the reveal is recorded all the same."""
    if reason is None:
        return [_masked(r) for r in reports]
    from cc.authz import Permission, ResourceKind
    from cc.privacy.audit import AuditEntry
    from cc.store.audit_adapter import StoreAudit

    acting.require(Permission.REVEAL_NUMBERS, acting.agent(opts.agent, ResourceKind.REPORT))
    StoreAudit(repos.db, client="cli").append(AuditEntry(
        acting.actor.login, "reveal", f"report {name}",
        {"reason": reason, "from": opts.start, "to": opts.end, "queue": opts.queue, "agent": opts.agent}))
    return reports


#: Reports of one row per call (records about people): writing one out is a large export (the export permission).
RECORD_REPORTS = frozenset({"calls"})


def _guard(repos: Any, as_login: str | None, name: str, names: Sequence[str], opts: ReportOptions,
           outputs: dict[str, str | None], resource: Any = None) -> Acting:
    """Who runs the report: with --as, view_reports on it (the agent's with --agent, else the organisation's),
    and export too for a large export. Every export (--csv, --xlsx, --json) is audited before it is written."""
    from cc.authz import Permission, Resource, ResourceKind
    from cc.store.audit import AuditRepo

    acting = Acting(repos.db, as_login)
    if resource is None:
        resource = acting.agent(opts.agent, ResourceKind.REPORT) if opts.agent else Resource.org(ResourceKind.REPORT,
                                                                                                 name)
    acting.require(Permission.VIEW_REPORTS, resource)
    files = {k: v for k, v in outputs.items() if v}
    if files:
        large = bool(RECORD_REPORTS & set(names))
        if large:
            acting.require(Permission.EXPORT, resource)
        AuditRepo(repos.db).append(acting.actor, "export", "report", name,
                                   {"to": files, "reports": list(names), "large": large,
                                    "window": [opts.start, opts.end], "queue": opts.queue, "agent": opts.agent})
    return acting


def _limit(value: int) -> int:
    if value < 1:
        raise InvalidValue("--limit", value, "must be >= 1")
    return value


@click.group()
def report() -> None:
    """Reports from cc's history: queues, agents, calls, surveys; spreadsheets and charts.

    \b
    Examples:
      ccctl report queues --from 2026-11-01 --to 2026-12-01 --interval day --tz Europe/Berlin
      ccctl report agents --from 2026-11-23 --interval hour --xlsx agents.xlsx
      ccctl report all --from 2026-11-01 --to 2026-12-01 --xlsx november.xlsx
      ccctl report chart queues --from 2026-11-23 --png calls.png
    """


def _json_help(names: Sequence[str]) -> str:
    """What --json prints: one key per report, named after it."""
    keys = ", ".join(f'"{n}": [rows]' for n in names)
    return f"JSON on stdout: {{{keys}}} (rows keyed by column)."


def _make(name: str, names: Sequence[str], doc: str) -> click.Command:
    @_options
    @click.option("--resolved", default="resolved", show_default=True, metavar="DISPOSITION,...",
                  help="fcr: dispositions that mean the issue was resolved.")
    @click.option("--repeat", default="7d", show_default=True, metavar="DURATION",
                  help="fcr: a repeat call within this time means it was not resolved at first call.")
    @click.option("--csv", "csv_file", metavar="FILE", help="Write CSV to FILE.")
    @click.option("--xlsx", "xlsx_file", metavar="FILE", help="Write an xlsx workbook (with a Definitions sheet).")
    @click.option("--json", "as_json", is_flag=True, help=_json_help(names))
    @click.option("--wide", is_flag=True, help="Every column in the terminal table.")
    @click.option("--limit", default=200, show_default=True, help="Rows shown in the terminal table.")
    @click.option("--reveal", is_flag=True, help="Phone numbers unmasked (needs --reason; written to the audit log).")
    @click.option("--reason", metavar="TEXT", help="Why numbers are revealed (with --reveal).")
    @as_option
    def cmd(start: str | None, end: str | None, interval: str, tz: str, queue: str | None, agent: str | None,
            short_abandon: str, db_url: str | None, progress: bool | None, engine: str, resolved: str,
            repeat: str, csv_file: str | None, xlsx_file: str | None, as_json: bool, wide: bool, limit: int,
            reveal: bool, reason: str | None, as_login: str | None) -> None:
        opts = _build(start, end, interval, tz, queue, agent, short_abandon, engine)
        opts.resolved = tuple(r.strip() for r in resolved.split(",") if r.strip())
        opts.repeat_s = parse_duration(repeat, "--repeat")
        _limit(limit)
        why = _reveal_reason(reveal, reason)
        repos = _repos(db_url)
        acting = _guard(repos, as_login, name, names, opts,
                        {"csv": csv_file, "xlsx": xlsx_file, "json": "stdout" if as_json else None})
        with _progress(progress, f"report {name}") as tick:
            reports = _disclose(run_reports(repos, names, opts, progress=tick), repos, why, name, opts, acting)
            _emit(reports, csv_file, xlsx_file, as_json, wide, limit, tick)

    cmd.__doc__ = doc
    return click.command(name)(cmd)


for _name, _names, _doc in (
    ("queues", ["queues"], "Per queue and interval: offered, answered, SL, abandons, ASA, waits, AHT, surveys.\n\n"
     "\b\nExample:\n  ccctl report queues --from 2026-11-23 --interval 15m --queue support --short-abandon 5s"),
    ("agents", ["agents"], "Per agent and interval: calls, talk, wrap-up, idle, break by reason, occupancy.\n\n"
     "\b\nExample:\n  ccctl report agents --from 2026-11-01 --to 2026-12-01 --interval day --agent 1001"),
    ("calls", ["calls"], "One row per queued call: outcome, agent, wait, talk (streams for large ranges).\n\n"
     "Phone numbers in text cells are masked (138****1234) unless --reveal --reason TEXT (audited).\n\n"
     "\b\nExamples:\n  ccctl report calls --from 2026-11-23 --queue support --csv calls.csv\n"
     "  ccctl report calls --from 2026-11-23 --reveal --reason \"complaint 2026-117\" --json"),
    ("surveys", ["surveys"], "Survey answers per interval, question, queue and agent: count and scores.\n\n"
     "\b\nExample:\n  ccctl report surveys --from 2026-11-01 --to 2026-12-01 --interval week --json"),
    ("fcr", ["fcr"], "First-call resolution per agent from call dispositions (interactions).\n\n"
     "\b\nExample:\n  ccctl report fcr --from 2026-11-01 --to 2026-12-01 --interval week --resolved resolved,fixed"),
    ("all", list(REPORTS), "Every report (one xlsx sheet each).\n\n"
     "\b\nExample:\n  ccctl report all --from 2026-11-01 --to 2026-12-01 --interval day --xlsx november.xlsx"),
):
    report.add_command(_make(_name, _names, _doc))


def _share(text: str) -> float | None:
    """``80%``, ``80`` or ``0.8`` -> 0.8; ``none`` -> None."""
    t = text.strip().lower().rstrip("%").strip()
    if t in ("none", "off", ""):
        return None
    try:
        v = float(t)
    except ValueError:
        raise InvalidValue("--sl-target", text, "must be a percentage such as 80%, or none") from None
    v = v / 100.0 if v > 1 or text.strip().endswith("%") else v
    if not 0 < v <= 1:
        raise InvalidValue("--sl-target", text, "must be between 0 and 100 %")
    return v


def _intervals(opts: ReportOptions, most: int = 5000) -> list[tuple[float, str]] | None:
    """(start, label) of every interval of the window, so that empty ones are drawn too (None: too many)."""
    bucketer = opts.bucketer()
    out: list[tuple[float, str]] = []
    at = opts.start
    while at < opts.end and len(out) < most:
        lo, hi, label = bucketer.span(at)
        if not math.isfinite(lo):
            return None
        out.append((lo, label))
        at = hi
    return out if at >= opts.end else None


@report.command()
@click.argument("kind", metavar="queues|agents|waits")
@_options
@click.option("--png", "png", required=True, metavar="FILE", help="The PNG file to write.")
@click.option("--size", default="1200x600", show_default=True, metavar="WxH", help="Image size in pixels.")
@click.option("--sl-target", default="80%", show_default=True, metavar="PCT",
              help="queues: the service-level target drawn as a dashed line (none: no line).")
@click.option("--min-calls", default=5, show_default=True, type=click.IntRange(min=1),
              help="queues: intervals with fewer offered calls leave a gap in the SL line (1 call is 0 or 100 %).")
def chart(kind: str, start: str | None, end: str | None, interval: str, tz: str, queue: str | None,
          agent: str | None, short_abandon: str, db_url: str | None, progress: bool | None, engine: str, png: str,
          size: str, sl_target: str, min_calls: int) -> None:
    """Draw a chart: calls per interval with the SL line, agent time by state, or the wait histogram.

    \b
    Examples:
      ccctl report chart queues --from 2026-11-23 --interval hour --png calls.png
      ccctl report chart agents --from 2026-11-01 --to 2026-12-01 --png agents.png
      ccctl report chart waits --from 2026-11-23 --queue support --png waits.png
    """
    if kind not in ("queues", "agents", "waits"):
        raise InvalidValue("chart", kind, "must be queues, agents or waits")
    try:
        w, h = (int(x) for x in size.lower().split("x"))
    except ValueError as exc:
        raise InvalidValue("--size", size, "must be WIDTHxHEIGHT, e.g. 1200x600") from exc
    opts = _build(start, end, interval, tz, queue, agent, short_abandon, engine)
    repos = _repos(db_url)
    with _progress(progress, f"chart {kind}") as tick:
        if kind == "queues":
            rep = run_reports(repos, ["queues"], opts, progress=tick)[0]
            n = queue_chart(list(rep.iter_rows()), png, width=w, height=h,
                            title=f"Calls per {opts.interval} ({opts.tz_name})", intervals=_intervals(opts),
                            sl_target=_share(sl_target), min_calls=min_calls)
        elif kind == "agents":
            rep = run_reports(repos, ["agents"], opts, progress=tick)[0]
            n = agent_chart(list(rep.iter_rows()), png, width=w, height=h)
        else:
            rep = run_reports(repos, ["calls"], opts, progress=tick)[0]
            answered: list[float] = []
            abandoned: list[float] = []
            for row in rep.iter_rows():
                if row["wait_s"] is None:
                    continue
                if row["outcome"] == "answered":
                    answered.append(float(row["wait_s"]))
                elif row["outcome"] == "abandoned":
                    abandoned.append(float(row["wait_s"]))
            n = wait_histogram(answered, abandoned, png, width=w, height=h)
    click.echo(f"{png}: {kind} chart, {n} {'calls' if kind == 'waits' else 'bars'}", err=True)


@report.command()
@click.option("--from", "start", metavar="TIME", help="Calls entering from here, local to --tz (default: today 00:00).")
@click.option("--to", "end", metavar="TIME", help="... up to here, exclusive (default: --from + 1 day).")
@click.option("--tz", default="UTC", show_default=True, metavar="ZONE", help="IANA time zone of --from/--to.")
@db_option
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: when stderr is a TTY).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: {calls, seconds, from, to}.")
def summarize(start: str | None, end: str | None, tz: str, db_url: str | None, progress: bool | None,
              as_json: bool) -> None:
    """(Re)build the per-call rows (queue_calls) that the queue report sums, from the queue and agent logs.

    The controller writes these rows as calls end; run this for history logged before database
    revision 0003, or to repair a window. Until then the queue report computes such days from the
    queue log (same figures, slower). Safe to run again: rows are replaced, not duplicated.

    \b
    Example:
      ccctl report summarize --from 2026-10-01 --to 2026-11-01 --tz Europe/Berlin
    """

    from cc.reports.source import summarize_history

    t0, t1 = _window(start, end, tz)
    repos = _repos(db_url)
    began = time.perf_counter()
    with _progress(progress, "summarize") as tick:
        n = repos.queue_calls.put(summarize_history(repos, t0, t1, progress=tick))
    took = time.perf_counter() - began
    if as_json:
        click.echo(dumps({"calls": n, "seconds": round(took, 3), "from": t0, "to": t1}))
    else:
        click.echo(f"{n} calls summarized in {took:.1f} s")


@report.command("qa")
@click.argument("kind", metavar="agents|teams|items|compare")
@click.option("--from", "start", metavar="TIME", help="Scores from here, local to --tz (default: today 00:00).")
@click.option("--to", "end", metavar="TIME", help="... up to here, exclusive (default: --from + 1 day).")
@click.option("--interval", default="week", show_default=True, metavar="day|week|month|all",
              help="Length of each row's interval (week: the trend per ISO week).")
@click.option("--tz", default="UTC", show_default=True, metavar="ZONE", help="IANA time zone.")
@click.option("--agent", metavar="ID", help="Only this agent.")
@click.option("--team", metavar="UNIT", help="Only agents of this team.")
@as_option
@click.option("--csv", "csv_file", metavar="FILE", help="Write CSV to FILE.")
@click.option("--xlsx", "xlsx_file", metavar="FILE", help="Write an xlsx workbook (with a Definitions sheet).")
@click.option("--json", "as_json", is_flag=True, help='JSON on stdout: {"qa_<kind>": [rows]}.')
@click.option("--png", metavar="FILE", help="agents|teams: a chart of the average score per interval.")
@click.option("--wide", is_flag=True, help="Every column in the terminal table.")
@click.option("--limit", default=200, show_default=True, help="Rows shown in the terminal table.")
@db_option
def qa_report_cmd(kind: str, start: str | None, end: str | None, interval: str, tz: str, agent: str | None,
                  team: str | None, as_login: str | None, csv_file: str | None, xlsx_file: str | None, as_json: bool,
                  png: str | None, wide: bool, limit: int, db_url: str | None) -> None:
    """QA: per agent, team or item per interval (average score, critical fails, scored, disputes), or the
    agents compared with their team.

    \b
    Examples:
      ccctl report qa agents --from 2026-11-01 --to 2026-12-01 --interval week --png trend.png
      ccctl report qa compare --from 2026-11-01 --to 2026-12-01 --team A --xlsx qa.xlsx
      ccctl report qa items --from 2026-11-01 --to 2026-12-01 --json
    """
    from cc.authz import Permission, Resource, ResourceKind, allowed
    from cc.reports.qa import QA_REPORTS, qa_report, qa_trend_chart
    from cc.store.qa import QaRepo

    if kind not in QA_REPORTS:
        raise InvalidValue("report qa", kind, f"must be one of {', '.join(QA_REPORTS)}")
    if png and kind not in ("agents", "teams"):
        raise InvalidValue("--png", png, "charts are drawn for agents and teams")
    _limit(limit)
    opts = _build(start, end, interval, tz, None, agent, "0s")
    repos = _repos(db_url)
    qa_repo = QaRepo(repos.db)
    units = qa_repo.agent_units()
    keep = None
    acting = _guard(repos, as_login, f"qa {kind}", [f"qa_{kind}"], opts,
                    {"csv": csv_file, "xlsx": xlsx_file, "json": "stdout" if as_json else None, "png": png},
                    resource=None if agent else Resource.common(ResourceKind.REPORT, f"qa {kind}"))
    user, directory = acting.principal, acting.directory
    if user is not None:   # with --as: only agents he may see reports of (view_reports in his scope)

        def keep(agent_id: str) -> bool:
            assert user is not None
            return bool(allowed(user, Permission.VIEW_REPORTS, directory.agent(agent_id)))

    scores = [s for s in qa_repo.scores(agent_id=agent, start=opts.start, end=opts.end, with_cards=kind == "items")
              if (team is None or units.get(s.agent_id) == team) and (keep is None or keep(s.agent_id))]
    rep = qa_report(kind, scores, units, opts.bucketer(), opts.tz_name)
    rep.meta = opts.meta()
    rep.materialize()
    if png:
        n = qa_trend_chart(list(rep.iter_rows()), png, key="agent" if kind == "agents" else "team",
                           title=f"QA score per {opts.interval} ({opts.tz_name})")
        click.echo(f"{png}: {n} lines", err=True)
    _emit([rep], csv_file, xlsx_file, as_json, wide, limit, None)


def _campaign_command(kind: str, doc: str) -> click.Command:
    """``ccctl report campaigns`` (kind campaigns) or ``ccctl report campaign-agents``."""

    @click.option("--from", "start", metavar="TIME", help="Attempts from here, local to --tz (default: today 00:00).")
    @click.option("--to", "end", metavar="TIME", help="... up to here, exclusive (default: --from + 1 day).")
    @click.option("--interval", default="day", show_default=True, metavar="hour|day|week|month|all",
                  help="Length of each row's interval.")
    @click.option("--tz", default="UTC", show_default=True, metavar="ZONE", help="IANA time zone.")
    @click.option("--campaign", metavar="NAME", help="Only this campaign.")
    @click.option("--agent", metavar="ID", help="Only this agent's attempts.")
    @as_option
    @click.option("--csv", "csv_file", metavar="FILE", help="Write CSV to FILE.")
    @click.option("--xlsx", "xlsx_file", metavar="FILE", help="Write an xlsx workbook (with a Definitions sheet).")
    @click.option("--json", "as_json", is_flag=True, help=_json_help([kind.replace("-", "_")]))
    @click.option("--png", metavar="FILE", help="A chart of the contact and abandon rates per interval.")
    @click.option("--wide", is_flag=True, help="Every column in the terminal table.")
    @click.option("--limit", default=200, show_default=True, help="Rows shown in the terminal table.")
    @db_option
    def cmd(start: str | None, end: str | None, interval: str, tz: str, campaign: str | None, agent: str | None,
            as_login: str | None, csv_file: str | None, xlsx_file: str | None, as_json: bool, png: str | None,
            wide: bool, limit: int, db_url: str | None) -> None:
        _campaign_report(kind, start, end, interval, tz, campaign, agent, as_login, csv_file, xlsx_file, as_json,
                         png, wide, limit, db_url)

    cmd.__doc__ = doc
    return click.command(kind)(cmd)


def _campaign_report(kind: str, start: str | None, end: str | None, interval: str, tz: str, campaign: str | None,
                     agent: str | None, as_login: str | None, csv_file: str | None, xlsx_file: str | None,
                     as_json: bool, png: str | None, wide: bool, limit: int, db_url: str | None) -> None:
    """Compute and emit one campaign report (cc.reports.campaigns) from the store's dial attempts."""
    from cc.authz import Permission, allowed
    from cc.reports.campaigns import campaign_report, campaign_trend_chart
    from cc.store.campaign_tables import CallbackState
    from cc.store.campaigns import CampaignRepos

    _limit(limit)
    opts = _build(start, end, interval, tz, None, agent, "0s")
    repos = _repos(db_url)
    crepos = CampaignRepos(repos.db)
    acting = _guard(repos, as_login, kind, [kind.replace("-", "_")], opts,
                    {"csv": csv_file, "xlsx": xlsx_file, "json": "stdout" if as_json else None, "png": png})
    user, directory = acting.principal, acting.directory
    attempts = crepos.attempts.scan(opts.start - 30 * 86400.0, opts.end, campaign=campaign)
    if agent is not None:
        attempts = [a for a in attempts if a.agent_id == agent or a.started_at < opts.start]
    if user is not None:   # with --as: only agents he may see reports of (view_reports in his scope)
        seen: dict[str, bool] = {}

        def keep(agent_id: str | None) -> bool:
            if agent_id is None:
                return True
            if agent_id not in seen:
                seen[agent_id] = bool(allowed(user, Permission.VIEW_REPORTS, directory.agent(agent_id)))
            return seen[agent_id]

        attempts = [a for a in attempts if keep(a.agent_id)]
    names = sorted({a.campaign_id for a in attempts} | ({campaign} if campaign else set()))
    results = {}
    callbacks = []
    for c in names:
        try:
            results[c] = {r.code: r for r in crepos.campaigns.get(c).settings.results}
        except NotFound:
            if c == campaign:
                raise
            continue
        for cb in crepos.callbacks.list(campaign=c, states=(CallbackState.DONE, CallbackState.MISSED),
                                        limit=1_000_000):
            if cb.done_at is not None:
                callbacks.append((c, cb.agent_id, cb.state.value, cb.done_at))
    agent_rows = None
    if kind == "campaign-agents":
        rep_a = run_reports(repos, ["agents"], opts)[0]
        agent_rows = {(str(r["agent"]), float(r["start"])): r for r in rep_a.iter_rows()}
    rep = campaign_report(kind, attempts, results, opts.bucketer(), opts.start, opts.end, tz=opts.tz_name,
                          callbacks=callbacks, agent_rows=agent_rows)
    rep.meta = opts.meta()
    rep.materialize()
    if png:
        n = campaign_trend_chart(list(rep.iter_rows()), png, key="agent" if kind == "campaign-agents" else "campaign",
                                 title=f"Contact and abandon rate per {opts.interval} ({opts.tz_name})")
        click.echo(f"{png}: {n} series", err=True)
    _emit([rep], csv_file, xlsx_file, as_json, wide, limit, None)


for _kind, _doc in (
    ("campaigns", "Outbound campaigns per campaign and interval: dials, human contacts, contact rate, results, "
     "successes, abandons and abandon rate (also rolling 24 h and 30 days), talk, average talk, callbacks kept "
     "and missed.\n\n\b\nExamples:\n  ccctl report campaigns --from 2026-12-01 --to 2026-12-08 --interval day\n"
     "  ccctl report campaigns --from 2026-11-01 --to 2026-12-01 --interval week --png rates.png --json"),
    ("campaign-agents", "Outbound campaigns per campaign, agent and interval: the campaign figures of his "
     "attempts, with his wrap-up, logged-in time, occupancy (the agents report) and calls per agent-hour.\n\n"
     "\b\nExample:\n  ccctl report campaign-agents --from 2026-12-01 --interval week --campaign spring "
     "--xlsx spring.xlsx"),
):
    report.add_command(_campaign_command(_kind, _doc))
