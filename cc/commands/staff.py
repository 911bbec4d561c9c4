"""`ccctl staff`: agents needed per interval (Erlang C, or Erlang A with caller patience), from a forecast."""

from __future__ import annotations

import math
import time

import click
from rich.table import Table

from cc.commands.admin_common import database_url, db_option, require_existing
from cc.commands.options import old_spelling, prefer
from cc.commands.output import dumps, out_console
from cc.errors import InvalidValue
from cc.reports.intervals import parse_duration, parse_time, zone
from cc.reports.source import scan_chunked
from cc.wfm.forecast import forecast_from_history
from cc.wfm.staffing import ForecastInterval, StaffingRow, StaffingTarget, staffing_table

__all__ = ["parse_sl", "staff"]

DEFAULT_AHT_S = 180.0


def parse_sl(text: str) -> tuple[float, float]:
    """``80/20`` -> (0.80, 20.0): the share answered within the threshold in seconds."""
    try:
        pct, secs = text.split("/")
        share = float(pct.strip().rstrip("%")) / 100.0
        threshold = parse_duration(secs, "--sl")
    except (ValueError, InvalidValue) as exc:
        raise InvalidValue("--sl", text, "must be PERCENT/SECONDS, e.g. 80/20") from exc
    if not 0 < share < 1:
        raise InvalidValue("--sl", text, "the percentage must be between 0 and 100 (exclusive)")
    return share, threshold


def _pct(text: str, field: str) -> float:
    try:
        v = float(text.strip().rstrip("%"))
    except ValueError as exc:
        raise InvalidValue(field, text, "must be a percentage, e.g. 85") from exc
    return v / 100.0


def _row_json(r: StaffingRow) -> dict[str, object]:
    res = r.result
    return {"interval": r.start, "calls": r.calls, "traffic_erlangs": r.traffic, "agents": r.agents,
            "scheduled": r.scheduled,
            "service_level": None if res is None else res.service_level,
            "p_wait": None if res is None else res.p_wait,
            "asa_s": None if res is None or not math.isfinite(res.asa_s) else res.asa_s,
            "abandon_rate": None if res is None else res.abandon_rate,
            "occupancy": None if res is None else res.occupancy}


@click.command()
@click.option("--calls-per-interval", "calls", metavar="N[,N...]",
              help="Forecast calls in each --interval: one number (one interval), or one per interval, "
                   "comma-separated.")
@old_spelling("--calls", "--calls-per-interval", "old_calls")
@click.option("--interval", default="30m", show_default=True, metavar="DURATION",
              help="Length of each forecast interval (it must divide a day).")
@click.option("--aht", metavar="DURATION",
              help="Average handle time (default: 180s; with --from-history: the queue's own mean talk time).")
@click.option("--sl", default="80/20", show_default=True, metavar="PCT/SECONDS", help="Service level target.")
@click.option("--max-occupancy", default="85", show_default=True, metavar="PCT",
              help="Highest share of time agents may spend on calls; more agents are planned to stay under it.")
@click.option("--shrinkage", default="0", show_default=True, metavar="PCT",
              help="Share of paid time off the phones (breaks, training): scheduled = agents / (1 - shrinkage).")
@click.option("--patience", metavar="DURATION", help="Mean caller patience: use Erlang A instead of Erlang C.")
@click.option("--from-history", "queue", metavar="QUEUE", help="Forecast from this queue's history.")
@click.option("--weeks", default=4, show_default=True, help="Weeks of history to average (with --from-history).")
@click.option("--until", metavar="TIME", help="End of the history used (default: now), local to --tz.")
@click.option("--tz", default="UTC", show_default=True, metavar="ZONE", help="Time zone of the history slots.")
@db_option
@click.option("--json", "as_json", is_flag=True, help="JSON on stdout.")
def staff(calls: str | None, old_calls: str | None, interval: str, aht: str | None, sl: str, max_occupancy: str,
          shrinkage: str, patience: str | None, queue: str | None, weeks: int, until: str | None, tz: str,
          db_url: str | None, as_json: bool) -> None:
    """The staffing table: agents needed per interval for a service level target.

    \b
    Examples:
      ccctl staff --calls-per-interval 300 --interval 30m --aht 240s --sl 80/20
      ccctl staff --calls-per-interval 120,180,300,260 --interval 30m --aht 4m --sl 90/15 --patience 60s --shrinkage 30
      ccctl staff --from-history support --weeks 4 --interval 30m --sl 80/20 --tz Europe/Berlin
    """
    calls = prefer(click.get_current_context(), "--calls-per-interval", "calls", calls, "--calls", old_calls)
    share, threshold = parse_sl(sl)
    step = parse_duration(interval, "--interval")
    if step < 60:
        raise InvalidValue("--interval", interval, "must be at least 1 minute")
    target = StaffingTarget(service_level=share, threshold_s=threshold,
                            max_occupancy=_pct(max_occupancy, "--max-occupancy"),
                            shrinkage=_pct(shrinkage, "--shrinkage"),
                            patience_s=parse_duration(patience, "--patience") if patience else None)
    aht_s = parse_duration(aht, "--aht") if aht is not None else DEFAULT_AHT_S
    if aht_s <= 0:
        raise InvalidValue("--aht", aht, "must be > 0")
    if (calls is None) == (queue is None):
        raise InvalidValue("--calls-per-interval", calls, "give either --calls-per-interval or --from-history QUEUE")
    note = ""
    if calls is not None:
        forecast = []
        for i, part in enumerate(calls.split(",")):
            try:
                n = float(part)
            except ValueError as exc:
                raise InvalidValue("--calls-per-interval", part, "must be a number of calls") from exc
            if not math.isfinite(n) or n < 0:
                raise InvalidValue("--calls-per-interval", part, "must be >= 0")
            forecast.append(ForecastInterval(str(i + 1), n, step, aht_s))
    else:
        from cc.store import Database, Repos

        if weeks < 1 or weeks > 104:
            raise InvalidValue("--weeks", weeks, "must be between 1 and 104")
        if 86400 % int(step) or step != int(step):
            raise InvalidValue("--interval", interval, "must divide a day (e.g. 15m, 30m, 1h)")
        url = database_url(db_url)
        require_existing(url)
        repos = Repos(Database(url))
        end = parse_time(until, zone(tz), "--until") if until else time.time()
        start = end - weeks * 7 * 86400
        fc = forecast_from_history(scan_chunked(repos.queue_events, start, end, queue=queue), queue=str(queue),
                                   tz=zone(tz), weeks=weeks, interval_s=int(step),
                                   aht_s=aht_s if aht is not None else None, default_aht_s=DEFAULT_AHT_S)
        forecast = fc.intervals
        note = f"{fc.calls_seen} calls of {queue} over {weeks} weeks; AHT {fc.aht_s:.0f} s"
    rows = staffing_table(forecast, target)
    model = "Erlang A" if target.patience_s else "Erlang C"
    if as_json:
        click.echo(dumps({"model": model, "service_level_target": share, "threshold_s": threshold,
                               "max_occupancy": target.max_occupancy, "shrinkage": target.shrinkage,
                               "patience_s": target.patience_s, "note": note,
                               "intervals": [_row_json(r) for r in rows]}, indent=1))
        return
    table = Table(title=f"staffing ({model}, SL {share * 100:g}/{threshold:g}, interval {step / 60:g} min)")
    for title in ("Interval", "Calls", "Erlangs", "Agents", "Scheduled", "SL", "P(wait)", "ASA", "Abandon",
                  "Occupancy"):
        table.add_column(title, justify="left" if title == "Interval" else "right")
    for r in rows:
        res = r.result
        if res is None:
            table.add_row(r.start, f"{r.calls:g}", "0", "0", "0", "-", "-", "-", "-", "-")
            continue
        table.add_row(r.start, f"{r.calls:.1f}", f"{r.traffic:.2f}", str(r.agents), str(r.scheduled),
                      f"{res.service_level * 100:.1f}%", f"{res.p_wait * 100:.1f}%", f"{res.asa_s:.1f}",
                      f"{res.abandon_rate * 100:.1f}%", f"{res.occupancy * 100:.1f}%")
    console = out_console()
    console.print(table)
    if note:
        console.print(note)
    if not rows:
        console.print("no calls in the forecast")
