"""`ccctl flow validate|test|graph`: check flow files, run their offline test cases, draw them."""

from __future__ import annotations

import os
import sys
from typing import Any

import click
from rich.table import Table

from cc.commands.output import dumps, out_console
from cc.errors import FlowError
from cc.ivr_dsl.flow import check_file, load_calendars, load_flow
from cc.ivr_dsl.graph import FORMATS, render_graph
from cc.ivr_dsl.loader import read_yaml_file
from cc.ivr_dsl.problems import Problem
from cc.ivr_dsl.testing import load_cases, run_cases
from cc.model import BusinessCalendar

__all__ = ["flow"]

_CASES_SUFFIXES = (".cases.yaml", ".cases.yml")


def _usage_error(ctx: click.Context, message: str) -> None:
    click.echo(f"ccctl {ctx.command_path.split(' ', 1)[-1]}: {message}", err=True)
    ctx.exit(2)


def _calendars(ctx: click.Context, path: str | None) -> dict[str, BusinessCalendar] | None:
    if path is None:
        return None
    if not os.path.isfile(path):
        _usage_error(ctx, f"no such calendars file: {path}")
    return load_calendars(path)


def _flow_files(ctx: click.Context, paths: tuple[str, ...]) -> list[str]:
    files: list[str] = []
    for path in paths:
        if os.path.isdir(path):
            for root, dirs, names in os.walk(path):
                dirs.sort()
                for name in sorted(names):
                    if name.endswith((".yaml", ".yml")) and not name.endswith(_CASES_SUFFIXES):
                        files.append(os.path.join(root, name))
        elif os.path.isfile(path):
            files.append(path)
        else:
            _usage_error(ctx, f"no such file or folder: {path}")
    return files


def _is_calendars_file(path: str) -> bool:
    doc, problems = read_yaml_file(path)
    return not problems and isinstance(doc.value, dict) and set(doc.value) == {"calendars"}


@click.group("flow")
def flow() -> None:
    """Check, test and draw IVR flow files.

    \b
    Examples:
      ccctl flow validate flows/
      ccctl flow test flows/main_menu.yaml --case flows/main_menu.cases.yaml
      ccctl flow graph flows/support.yaml --format dot > support.dot
    """


@flow.command("validate")
@click.argument("paths", nargs=-1, metavar="FILE|DIR...")
@click.option("--calendars", "calendars_path", metavar="FILE", help="Calendars file (calendars: ...).")
@click.option("--strict", is_flag=True, help="Treat warnings as errors (exit 1).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
@click.pass_context
def validate(ctx: click.Context, paths: tuple[str, ...], calendars_path: str | None, strict: bool,
             as_json: bool) -> None:
    """Check flow files: every error and warning as file:line:col: path: message; exit 1 on errors.

    Folders are searched for *.yaml files; *.cases.yaml (test cases) are skipped and files holding only
    calendars: are checked as calendars files.

    \b
    Examples:
      ccctl flow validate flows/
      ccctl flow validate flows/support.yaml --json
    """
    if not paths:
        _usage_error(ctx, "give at least one flow file or folder (e.g. ccctl flow validate flows/)")
    calendars = _calendars(ctx, calendars_path)
    report: list[dict[str, Any]] = []
    all_problems: list[Problem] = []
    for path in _flow_files(ctx, paths):
        problems: list[Problem]
        if _is_calendars_file(path):
            try:
                load_calendars(path)
                problems = []
            except FlowError as exc:
                problems = list(exc.problems)
        else:
            _, problems = check_file(path, calendars=calendars)
        all_problems.extend(problems)
        report.append({"file": path, "ok": not any(p.is_error for p in problems),
                       "problems": [p.to_dict() for p in problems]})
    errors = sum(1 for p in all_problems if p.is_error)
    warnings = len(all_problems) - errors
    failed = errors > 0 or (strict and warnings > 0)
    if as_json:
        click.echo(dumps({"ok": not failed, "files": report, "errors": errors, "warnings": warnings},
                              indent=2))
    else:
        console = out_console(highlight=False, soft_wrap=True)
        for p in all_problems:
            style = "red" if p.is_error else "yellow"
            console.print(f"[{style}]{p.severity}[/]: ", end="")
            console.print(str(p), markup=False)
        verdict = "[red]FAILED[/]" if failed else "[green]OK[/]"
        console.print(f"{verdict}: {len(report)} file(s), {errors} error(s), {warnings} warning(s)")
    ctx.exit(1 if failed else 0)


@flow.command("test")
@click.argument("path", metavar="FILE")
@click.option("--case", "case_paths", multiple=True, metavar="CASES.yaml",
              help="Case file(s); default FILE with .cases.yaml instead of .yaml.")
@click.option("--calendars", "calendars_path", metavar="FILE", help="Calendars file (calendars: ...).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
@click.pass_context
def test(ctx: click.Context, path: str, case_paths: tuple[str, ...], calendars_path: str | None,
         as_json: bool) -> None:
    """Run a flow offline against scripted callers and check path, variables and final action.

    Exit 0 when every case passes, 1 when one fails, 2 when the flow or a case file is invalid.

    \b
    Example:
      ccctl flow test flows/main_menu.yaml --case flows/main_menu.cases.yaml
    """
    if not os.path.isfile(path):
        _usage_error(ctx, f"no such flow file: {path}")
    if not case_paths:
        base = path.rsplit(".", 1)[0]
        case_paths = tuple(p for p in (base + s for s in _CASES_SUFFIXES) if os.path.isfile(p))[:1]
        if not case_paths:
            _usage_error(ctx, f"no --case given and no {base}.cases.yaml next to the flow")
    for cp in case_paths:
        if not os.path.isfile(cp):
            _usage_error(ctx, f"no such case file: {cp}")
    loaded = load_flow(path, calendars=_calendars(ctx, calendars_path))
    results = []
    for cp in case_paths:
        for r in run_cases(loaded, load_cases(cp)):
            results.append((cp, r))
    failed = [r for _, r in results if not r.passed]
    if as_json:
        click.echo(dumps({"flow": path, "ok": not failed, "passed": len(results) - len(failed),
                               "failed": len(failed),
                               "cases": [{"file": cp, **r.to_dict()} for cp, r in results]}, indent=2))
    else:
        table = Table(title=f"{loaded.name} ({path})")
        table.add_column("case")
        table.add_column("result")
        table.add_column("path")
        table.add_column("why", overflow="fold")
        for cp, r in results:
            verdict = "[green]PASS[/]" if r.passed else "[red]FAIL[/]"
            where = f"{r.name}\n[dim]{cp}:{r.line}[/]"
            table.add_row(where, verdict, " > ".join(r.path), "\n".join(r.failures))
        console = out_console(highlight=False)
        console.print(table)
        console.print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    ctx.exit(1 if failed else 0)


@flow.command("graph")
@click.argument("path", metavar="FILE")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="mermaid", show_default=True,
              help="Mermaid flowchart or Graphviz DOT.")
@click.option("--output", "-o", metavar="OUT", help="Write to this file instead of stdout.")
@click.option("--calendars", "calendars_path", metavar="FILE", help="Calendars file (calendars: ...).")
@click.pass_context
def graph(ctx: click.Context, path: str, fmt: str, output: str | None, calendars_path: str | None) -> None:
    """Draw a flow as a Mermaid or Graphviz DOT diagram.

    \b
    Examples:
      ccctl flow graph flows/support.yaml
      ccctl flow graph flows/support.yaml --format dot -o support.dot && dot -Tsvg support.dot > support.svg
    """
    if not os.path.isfile(path):
        _usage_error(ctx, f"no such flow file: {path}")
    text = render_graph(load_flow(path, calendars=_calendars(ctx, calendars_path)), fmt)
    if output:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)
