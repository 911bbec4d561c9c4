"""`ccctl demo`: a whole simulated call center — cc.sim, the controller, SQLite, the example flows — for a minute."""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import sys
from typing import TYPE_CHECKING, Any

import click
from click.core import ParameterSource

from cc.commands.options import duration_option, old_spelling, prefer, time_scale_option
from cc.commands.output import dumps, out_console

if TYPE_CHECKING:
    from cc.demo import Demo, History

__all__ = ["demo", "report_command"]



def _fmt_s(v: float | None) -> str:
    return "-" if v is None else f"{v:.0f}s"


def _fmt_pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.0f}%"


def _dashboard(d: Demo, progress: float) -> Any:
    from rich.table import Table

    from cc.demo import plural

    t = Table(title=f"ccctl demo — simulated time {progress * 100:3.0f}% of "
                    f"{d.opts.duration_s / 60:.0f} min, {plural(d.live.calls_started, 'call')} so far",
              caption="offered = waiting + answered + left (abandoned, timed out ...) + callbacks asked; agents: "
                      "those of the queue, one in several queues counted in each; 'all' counts each once",
              expand=False)
    for col in ("queue", "waiting", "longest wait", "agents idle", "busy", "wrap-up", "offered", "answered", "left",
                "callbacks", "SL"):
        t.add_column(col, justify="left" if col == "queue" else "right")
    for r in d.dashboard_rows():
        t.add_row(r["queue"], str(r["waiting"]), _fmt_s(r["longest_wait_s"]), str(r["idle"]), str(r["busy"]),
                  str(r["wrap_up"]), str(r["offered"]), str(r["answered"]), str(r["left"]), str(r["callbacks"]),
                  _fmt_pct(r["service_level"]), end_section=r["queue"] == d.QUEUES[-1])
    return t


def report_command(prog: str, database: str, history: History, report: str = "queues") -> str:
    """The command line that reports on the demo's history (its day, or days, local to its zone)."""
    to = "" if history.until == (dt.date.fromisoformat(history.day) + dt.timedelta(days=1)).isoformat() \
        else f" --to {history.until}"
    return f"{prog} report {report} --db {database} --from {history.day}{to} --tz {history.tz}"


@click.command()
@click.option("--calls-per-hour", "calls_per_hour", type=float, default=300.0, show_default=True,
              help="Arrivals per simulated hour (Poisson), as in `ccctl whatif`.")
@old_spelling("--rate", "--calls-per-hour", "old_rate", type=float)
@click.option("--agents", type=int, default=20, show_default=True, help="Simulated agents logged in.")
@duration_option("1h", "Simulated time to place calls for (90s, 30m, 2h ...).")
@time_scale_option(1 / 60, show_default="1/60: an hour in a minute")
@click.option("--seed", type=int, default=1, show_default=True,
              help="Random seed: the same seed gives the same roster and callers (arrival times, keys, patience, "
              "talk time, survey score); the outcomes (waits, abandons, SL) vary from run to run, as the controller "
              "and the simulator run in real time at the time scale.")
@click.option("--flows", "flows_dir", type=click.Path(file_okay=False, exists=True), default=None,
              help="Folder of the example flows (default: the flows/ shipped with cc).")
@click.option("--keep", is_flag=True,
              help="Keep the working folder (database, recordings) and print the `ccctl report` command for it.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON, no dashboard.")
@click.option("--outbound", is_flag=True,
              help="Run an outbound predictive campaign instead (20 agents, a 3 h morning at 1/90 unless given): "
              "simulated called parties, the campaign's figures at the end.")
def demo(calls_per_hour: float, old_rate: float | None, agents: int, duration: float, time_scale: float, seed: int,
         flows_dir: str | None, keep: bool, as_json: bool, outbound: bool) -> None:
    """Run a simulated call center for a business hour, with a live dashboard and a summary.

    cc.sim plays the switch, the callers and the agents over real ESL on loopback; the controller runs
    the example flows (menu, business hours, queues with skills, announcements, callbacks) and writes
    its history to SQLite. The agents end their calls, and the support line's callers then answer its
    post-call survey (1-5). The history is dated on the latest past office morning (today's when the
    office day allows it, else an earlier one) so that `ccctl report` shows it; the agents log out at the
    end. The summary is the queue report of that day, read back from the database; with --keep the
    command that prints it is shown. The controller writes no call dispositions (a CRM or agent desktop
    does): the demo plays the agents' desktop and gives each answered call one (resolved or follow-up),
    and some callers call again, so that `ccctl report fcr` shows first-call resolution.

    With --outbound, a predictive campaign runs instead: the simulated parties answer (30 %), ring, are busy,
    have invalid numbers, are switched off or do not answer, with the hang-up causes FreeSWITCH gives; the
    figures at the end are the campaign's (dials, contacts, contact rate, results, abandon rate, agent busy %).

    \b
    Example:
      ccctl demo
      ccctl demo --calls-per-hour 600 --agents 30 --duration 2h --time-scale 0.01 --json --keep
      ccctl demo --outbound --json
    """
    if outbound:
        ctx = click.get_current_context()
        src = ctx.get_parameter_source
        _outbound_demo(agents, None if src("duration") is ParameterSource.DEFAULT else duration,
                       None if src("time_scale") is ParameterSource.DEFAULT else time_scale, seed, keep, as_json)
        return
    calls_per_hour = prefer(click.get_current_context(), "--calls-per-hour", "calls_per_hour", calls_per_hour,
                            "--rate", old_rate)
    from rich.live import Live
    from rich.table import Table

    from cc.demo import Demo, DemoOptions, plural
    from cc.privacy.logmask import install_log_masking

    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    install_log_masking()   # numbers are masked in log lines (docs/privacy.md)
    opts = DemoOptions(calls_per_hour=calls_per_hour, agents=agents, duration_s=duration, time_scale=time_scale,
                       seed=seed, flows_dir=flows_dir)
    d = Demo(opts)
    console = out_console(stderr=as_json)
    try:
        d.start()
        if as_json or not console.is_terminal:
            marks = {0.25, 0.5, 0.75}

            def tick(dm: Demo, progress: float) -> None:
                for m in sorted(marks):
                    if progress >= m:
                        marks.discard(m)
                        if not as_json:
                            console.print(f"{int(m * 100)}% of the simulated time: "
                                          f"{plural(dm.live.calls_started, 'call')}, {dm.live.calls_ended} ended")

            d.run(tick)
        else:
            with Live(_dashboard(d, 0.0), console=console, refresh_per_second=4) as live:
                d.run(lambda dm, p: live.update(_dashboard(dm, p)))
    finally:
        d.stop()
    rows = d.summary()
    totals = d.totals()
    history = d.history()
    prog = click.get_current_context().find_root().command.name or "ccctl"
    command = report_command(prog, totals["database"], history) if keep else None
    if as_json:
        click.echo(dumps({"queues": [r.as_dict() for r in rows], **totals, "report_command": command}, indent=2))
    else:
        t = Table(title=f"ccctl demo summary — {plural(totals['calls'], 'call')} in {duration / 60:.0f} simulated "
                        f"minutes on {history.describe()} (the queue report, from the database)")
        for col in ("queue", "offered", "answered", "abandoned", "callbacks", "other exits", "SL", "ASA", "AHT",
                    "surveys"):
            t.add_column(col, justify="left" if col == "queue" else "right")
        for r in rows:
            survey = "-" if not r.surveys else f"{r.surveys} (avg {r.survey_avg:.1f})"
            t.add_row(r.queue, str(r.offered), str(r.answered), str(r.abandoned), str(r.callbacks),
                      str(r.other_exits), _fmt_pct(r.service_level), _fmt_s(r.asa_s), _fmt_s(r.aht_s), survey)
        console.print(t)
        console.print("offered = answered + abandoned + callbacks (asked for one) + other exits (timeout, no agent, "
                      "full, exit key); SL: answered within the queue's threshold (20 s sales/billing, 30 s support) "
                      "/ offered; ASA: average wait of answered calls; AHT: average talk + hold + wrap-up; surveys: "
                      "post-call survey answers (the support line asks).")
    if keep:
        click.echo(f"kept: {totals['workdir']}", err=True)
        click.echo(f"history: {history.describe()}; report on it with\n  {command}\n"
                   "(also: agents, calls, surveys, fcr instead of queues)", err=True)
    else:
        click.echo(f"history: {history.describe()} (the database is removed: --keep keeps it for ccctl report)",
                   err=True)
        shutil.rmtree(d.workdir, ignore_errors=True)
    sys.stdout.flush()


def _outbound_demo(agents: int, duration: float | None, time_scale: float | None, seed: int, keep: bool,
                   as_json: bool) -> None:
    """``ccctl demo --outbound``: one simulated morning of a predictive campaign, then its figures."""
    from rich.table import Table

    from cc.demo_outbound import OutboundDemo, OutboundDemoOptions
    from cc.privacy.logmask import install_log_masking

    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    install_log_masking()
    defaults = OutboundDemoOptions()
    opts = OutboundDemoOptions(agents=agents, seed=seed, duration_s=duration or defaults.duration_s,
                               time_scale=time_scale or defaults.time_scale)
    d = OutboundDemo(opts)
    console = out_console(stderr=as_json)
    marks = [0.25, 0.5, 0.75]

    def tick(dm: OutboundDemo, progress: float) -> None:
        while marks and progress >= marks[0]:
            m = marks.pop(0)
            live = dm.live()
            console.print(f"{int(m * 100)}% of the simulated morning: {live.get('dials', 0)} dials, "
                          f"{live.get('open_attempts', 0)} calls up")

    try:
        d.start()
        d.run(tick)
    finally:
        d.stop()
    f = d.figures()
    if as_json:
        click.echo(dumps({**f.as_dict(), "workdir": str(d.workdir) if keep else None}, indent=2))
    else:
        t = Table(title=f"ccctl demo --outbound — campaign {f.as_dict()['campaign']}: {opts.agents} agents, "
                        f"{opts.duration_s / 3600:g} simulated hours (from the database's dial attempts)")
        t.add_column("figure")
        t.add_column("value", justify="right")
        rate = f.contact_rate
        ab = f.abandon_rate
        for k, v in (("dials", str(f.dials)), ("human contacts", str(f.contacts)),
                     ("contact rate", "-" if rate is None else f"{100 * rate:.1f}%"),
                     ("abandons", str(f.abandons)), ("abandon rate", "-" if ab is None else f"{100 * ab:.1f}%"),
                     ("agent busy", f"{f.agent_busy_pct:.1f}%"), ("failed originates", str(f.failed_originates))):
            t.add_row(k, v)
        console.print(t)
        r = Table(title="results")
        r.add_column("result")
        r.add_column("dials", justify="right")
        for code, n in sorted(f.results.items(), key=lambda kv: -kv[1]):
            r.add_row(code, str(n))
        console.print(r)
    if keep:
        click.echo(f"kept: {d.workdir}", err=True)
    else:
        shutil.rmtree(d.workdir, ignore_errors=True)
