"""Shared pieces of the admin commands: database and controller options, output (JSON or rich tables),
option types (durations, optional values) and the best-effort live reload after a configuration change."""

from __future__ import annotations

import dataclasses
import enum
import math
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import click
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from cc.commands.output import dumps, is_tty, out_console, tsv
from cc.config import parse_duration
from cc.errors import ApiError, CCError, ControllerUnreachable, StoreError
from cc.store import db as store_db
from cc.store.repos import Repos

if TYPE_CHECKING:   # cc.api is imported when a command talks to the controller: the others start faster
    from cc.api.client import ControllerClient

__all__ = [
    "CHANGE_KEY",
    "DURATION",
    "FIELD_HELP",
    "F",
    "OptionalType",
    "client_from",
    "config_option",
    "controller_options",
    "database_url",
    "db_option",
    "emit",
    "notify_reload",
    "open_repos",
    "plain",
    "require_existing",
    "sqlite_file",
    "usage_error",
]

F = TypeVar("F", bound=Callable[..., Any])

DB_HELP = ("Database URL (default: `database:` of --config, else $CC_DATABASE_URL, else sqlite:///cc.db).")
CONFIG_HELP = ("Configuration file whose `database:` is used, read as `ccctl serve` reads it "
               "(default: ./cc.yaml when there is one).")
_CONFIG_KEY = "cc.config"
#: ctx.meta key of the change (cc.store.audit.Change) a running command's writes are audited as; set by
#: cc.commands.acting.audited, read by :func:`open_repos`
CHANGE_KEY = "cc.change"


def usage_error(message: str) -> None:
    """Bad usage: one line on stderr and exit 2."""
    ctx = click.get_current_context()
    click.echo(f"ccctl {ctx.command_path.split(' ', 1)[-1]}: {message}", err=True)
    ctx.exit(2)


class DurationType(click.ParamType[float, Any]):
    """Seconds from ``30``, ``30s``, ``250ms``, ``2m`` or ``1h``."""

    name = "DURATION"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        """Parse a duration."""
        if isinstance(value, float):
            return value
        try:
            return parse_duration(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


DURATION = DurationType()


class OptionalType(click.ParamType[Any, Any]):
    """Another type, or ``none`` to clear the value."""

    def __init__(self, inner: click.ParamType[Any, Any]) -> None:
        self.inner = inner
        self.name = f"{inner.name}|none"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """``none`` -> None, else the inner conversion."""
        if value is None or (isinstance(value, str) and value.strip().lower() in ("none", "null", "")):
            return _CLEAR
        return self.inner.convert(value, param, ctx)


class _Clear:
    """The user asked to clear an optional setting."""

    def __repr__(self) -> str:
        return "none"


_CLEAR = _Clear()


def _remember_config(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None:
        ctx.meta[_CONFIG_KEY] = value  # meta is shared by the whole context chain
    return value


def config_option(fn: F) -> F:
    """``--config FILE`` / ``-c FILE``: where :func:`database_url` looks for ``database:`` (not passed to ``fn``)."""
    return click.option("--config", "-c", "config_path", metavar="FILE", expose_value=False,
                        callback=_remember_config, type=click.Path(exists=True, dir_okay=False),
                        help=CONFIG_HELP)(fn)


def db_option(fn: F) -> F:
    """``--db URL`` and ``--config FILE``: the database, found as :func:`database_url` says."""
    return config_option(click.option("--db", "db_url", metavar="URL", help=DB_HELP)(fn))


def database_url(db_url: str | None = None) -> str:
    """The database of a command: ``--db``, else ``database:`` of ``--config`` (or of ./cc.yaml when there
    is one), read by cc.config as `ccctl serve` reads it (its default is $CC_DATABASE_URL, else sqlite:///cc.db)."""
    if db_url:
        return db_url
    ctx = click.get_current_context(silent=True)
    path = ctx.meta.get(_CONFIG_KEY) if ctx is not None else None
    if path is None and os.path.isfile("cc.yaml"):
        path = "cc.yaml"
    if path is not None:
        from cc.config import load_config

        return load_config(path).database_url
    return store_db.resolve_url(None)


def sqlite_file(url: str) -> str | None:
    """The file a ``sqlite:///path`` URL names (None for other URLs and in-memory SQLite)."""
    if not url.startswith("sqlite:///"):
        return None
    path = url[len("sqlite:///"):].split("?", 1)[0]
    return path if path and path != ":memory:" else None


def require_existing(url: str) -> None:
    """StoreError when ``url`` is an SQLite file that does not exist: reading must not create a database."""
    path = sqlite_file(url)
    if path is not None and not os.path.exists(path):
        raise StoreError(f"no database at {path}: create it with `ccctl db upgrade --db {url}`, "
                         "or name another with --db or --config")


def controller_options(fn: F) -> F:
    """``--url URL`` ($CC_URL) and ``--token TOKEN`` ($CC_TOKEN) of the running controller."""
    fn = click.option("--token", metavar="TOKEN", help="API bearer token (default: $CC_TOKEN).")(fn)
    fn = click.option("--url", "controller_url", metavar="URL",
                      help="Controller API (default: $CC_URL, else http://127.0.0.1:8080).")(fn)
    return fn


def client_from(controller_url: str | None, token: str | None, timeout: float = 5.0) -> ControllerClient:
    """A client for the controller named by the options."""
    from cc.api.client import ControllerClient

    return ControllerClient(controller_url, token, timeout=timeout)


def open_repos(db_url: str | None) -> Repos:
    """Repositories on an existing, migrated database (see :func:`database_url`); StoreError naming the URL
    otherwise (a missing SQLite file is not created). In an audited command (cc.commands.acting.audited) the
    first transaction that changes something also writes the command's audit row."""
    url = database_url(db_url)
    require_existing(url)
    db = store_db.Database(url)
    current = store_db.current_revision(engine=db.engine)
    head = store_db.head_revision()
    if current != head:
        db.dispose()
        raise StoreError(f"database {url} is at revision {current or 'base'}, not {head}: "
                         f"run `ccctl db upgrade --db {url}` first")
    ctx = click.get_current_context(silent=True)
    change = ctx.meta.get(CHANGE_KEY) if ctx is not None else None
    if change is not None:
        from cc.store.audit import AuditedDatabase

        db = AuditedDatabase(db, change)
    return Repos(db)


def plain(value: Any) -> Any:
    """A value as JSON-ready data (dataclasses, enums, mappings, tuples)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict) or hasattr(value, "items"):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return "-" if math.isnan(value) else f"{value:g}"
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items()) or "-"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "-"
    return str(value)


#: Above this many rows a terminal table is printed as plain aligned columns instead of a rich table.
RICH_ROWS = 500


def aligned(columns: Sequence[str], cells: Sequence[Sequence[str]]) -> str:
    """Plain columns padded to their widest cell (East Asian wide characters count two)."""
    widths = [cell_len(c) for c in columns]
    for row in cells:
        for i, value in enumerate(row):
            n = cell_len(value)
            if n > widths[i]:
                widths[i] = n
    out = []
    for row in (list(columns), *cells):
        out.append("  ".join(v + " " * (w - cell_len(v)) for v, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(out) + "\n"


def emit(rows: Sequence[Any], columns: Sequence[str], *, as_json: bool, title: str | None = None,
         empty: str = "nothing to show") -> None:
    """Print rows as JSON (a list) or as a rich table of ``columns``."""
    data = [plain(r) for r in rows]
    if as_json:
        click.echo(dumps(data, indent=2))
        return
    if not data:
        click.echo(empty)
        return
    cells = [[_cell(row.get(col)) for col in columns] for row in data]
    if not is_tty():  # a pipe or a file gets every row whole, as TSV (no cut columns, no box drawing)
        click.echo(tsv(columns, cells), nl=False)
        return
    if len(cells) > RICH_ROWS:  # rich measures every cell of every row: fine for a screen, slow for 10,000
        click.echo(aligned(columns, cells), nl=False)
        return
    table = Table(title=title)
    for i, col in enumerate(columns):
        table.add_column(col, no_wrap=i == 0)
    for row_cells in cells:
        table.add_row(*(Text(c) for c in row_cells))
    Console().print(table)


def emit_one(obj: Any, *, as_json: bool, title: str | None = None) -> None:
    """Print one object as JSON or as a two-column rich table."""
    data = plain(obj)
    if as_json:
        click.echo(dumps(data, indent=2))
        return
    table = Table(title=title, show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    for key, value in data.items():
        table.add_row(Text(key), Text(_cell(value)))
    out_console().print(table)


def notify_reload(controller_url: str | None, token: str | None, *, enabled: bool = True) -> str:
    """Ask a running controller to reload from the store (best effort); returns what happened, in words."""
    if not enabled:
        return "not reloaded (--no-reload)"
    from cc.api.client import resolve_controller_url

    url = resolve_controller_url(controller_url)
    try:
        report = client_from(controller_url, token, timeout=2.0).post("/api/v1/reload")
    except ControllerUnreachable:
        return f"saved; no controller reachable at {url} (it picks this up when it starts or reloads)"
    except ApiError as exc:
        return f"saved; the controller at {url} did not reload: {exc}"
    except CCError as exc:
        return f"saved; reload failed: {exc}"
    refused = report.get("refused") or [] if isinstance(report, dict) else []
    if refused:
        return f"saved; controller reloaded, but refused: {'; '.join(refused)}"
    return f"saved; controller at {url} reloaded"


def reload_options(fn: F) -> F:
    """Controller options plus ``--no-reload`` for configuration commands."""
    fn = click.option("--reload/--no-reload", "do_reload", default=True,
                      help="Ask a running controller to apply the change now (default: yes, best effort).")(fn)
    return controller_options(fn)


def done(message: str, controller_url: str | None, token: str | None, do_reload: bool) -> None:
    """Report a configuration change and the live reload outcome (on stderr)."""
    click.echo(message)
    click.echo(notify_reload(controller_url, token, enabled=do_reload), err=True)


_ENUMS: dict[str, type[enum.Enum]] = {}


def _field_type(f: dataclasses.Field[Any]) -> tuple[click.ParamType[Any, Any] | None, bool]:
    """(click type, is a flag) for a config dataclass field; (None, False) for fields left out."""
    from cc.model import RecordPolicy, Strategy

    annotation = str(f.type).replace(" ", "")
    optional = annotation.endswith("|None")
    base = annotation.removesuffix("|None")
    inner: click.ParamType[Any, Any]
    if base == "bool":
        return None, True
    if base == "float":
        inner = DURATION if f.name.endswith("_s") else click.FLOAT
    elif base == "int":
        inner = click.IntRange(min=0)
    elif base == "str":
        inner = click.STRING
    elif base in ("Strategy", "RecordPolicy"):
        cls = {"Strategy": Strategy, "RecordPolicy": RecordPolicy}[base]
        _ENUMS[f.name] = cls
        inner = click.Choice([m.value for m in cls])
    else:
        return None, False
    return (OptionalType(inner) if optional else inner), False


#: What each configuration field means, for its option's help (the field name alone says too little).
FIELD_HELP: dict[str, str] = {
    # Agent
    "name": "Display name (any text).",
    "contact": "Dial string the agent is called on: user/1001, user/1001@domain, sofia/gateway/GW/NUMBER ...",
    "team": "Team the agent belongs to (`ccctl team add` first).",
    "max_no_answer": "Missed offers in a row that put the agent on break (reason no-answer); 0: never.",
    "wrap_up_s": "Wrap-up time after each call, before the next offer.",
    "reject_delay_s": "Pause before the next offer after the agent rejects one.",
    "busy_delay_s": "Pause before the next offer after the agent's phone was busy.",
    "no_answer_delay_s": "Pause before the next offer after the agent did not answer.",
    # QueueConfig
    "strategy": "How a free agent is chosen among the eligible ones.",
    "moh": "Music on hold played to waiting callers (a FreeSWITCH sound or stream).",
    "announce_position": "Tell waiting callers their position now and then.",
    "announce_interval_s": "Time between position announcements.",
    "announce_prompt": "Prompt played before the position (a sound file).",
    "max_wait_s": "Longest wait; then the caller leaves the queue (timeout).",
    "max_wait_no_agent_s": "Leave the queue (no_agent) after nobody has been logged in for this long.",
    "max_len": "Most callers waiting; more are turned away at once (full).",
    "offer_timeout_s": "How long an agent's phone rings before the offer counts as not answered.",
    "sl_threshold_s": "Service-level threshold: calls answered within it count as in SL.",
    "priority_weight": "Seconds of waiting one point of caller priority is worth.",
    "tier_rules_apply": "Open higher tier levels only after waiting (mod_callcenter's tier rules).",
    "tier_rule_wait_s": "Wait before the next tier level opens.",
    "tier_rule_wait_multiply_level": "Level L waits L times tier-rule-wait.",
    "tier_rule_no_agent_no_wait": "Open the next level at once when no agent of the open levels is logged in.",
    "record_policy": "When the queue's calls are recorded.",
    "record_template": "Recording file name ({yyyy} {mm} {dd} {queue} {uuid} are filled in).",
    "overflow_target": "Overflow destination kept with the queue (shown by `ccctl queue show`).",
    "record_notice": "Prompt telling the caller the call may be recorded, played on entering a queue that records "
                     "always when the flow did not play it ({language} is the call's language); none: no prompt.",
}
#: Fields whose meaning differs between the agent and the queue.
_QUEUE_HELP = {"wrap_up_s": "Wrap-up after calls of this queue, instead of the agent's own."}


def config_options(cls: type[Any], skip: Sequence[str] = (), *, defaults: bool = True) -> Callable[[F], F]:
    """One option per field of the config dataclass ``cls`` (``--max-wait 2m`` for ``max_wait_s`` ...).

    ``defaults``: say what an option left out becomes (for ``add``); ``set`` commands change only the
    options given, so their help shows no default.
    """

    def decorate(fn: F) -> F:
        for f in reversed(dataclasses.fields(cls)):
            if f.name in skip:
                continue
            typ, flag = _field_type(f)
            name = f.name.removesuffix("_s").replace("_", "-")
            default = f.default if f.default is not dataclasses.MISSING else None
            shown = default.value if isinstance(default, enum.Enum) else default
            text = (_QUEUE_HELP.get(f.name) if cls.__name__ == "QueueConfig" else None) \
                or FIELD_HELP.get(f.name, f.name.replace("_", " ") + ".")
            if flag:
                if defaults:
                    text += f" Default: {'yes' if shown else 'no'}."
                fn = click.option(f"--{name}/--no-{name}", f.name, default=None, help=text)(fn)
            elif typ is not None:
                if typ.name.startswith("DURATION"):
                    text += " A duration: 30s, 2m ..."
                if defaults:
                    text += " Default: " + ("none" if shown is None or shown == "" else f"{shown:g}"
                                            if isinstance(shown, float) else str(shown)) + "."
                if isinstance(typ, OptionalType):
                    text += " `none` clears it."
                fn = click.option(f"--{name}", f.name, type=typ, default=None, help=text)(fn)
        return fn

    return decorate


def apply_options(base: Any, values: dict[str, Any]) -> Any:
    """``base`` with the options that were given (None: not given; ``none``: cleared)."""
    changes: dict[str, Any] = {}
    names = {f.name for f in dataclasses.fields(base)}
    for key, value in values.items():
        if key not in names or value is None:
            continue
        if value is _CLEAR:
            value = None
        elif key in _ENUMS:
            value = _ENUMS[key](value)
        changes[key] = value
    return dataclasses.replace(base, **changes)
