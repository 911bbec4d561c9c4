"""`ccctl sim`: run the FreeSWITCH simulator standalone (inbound ESL server, outbound sockets, callers, agents)."""

from __future__ import annotations

import logging
import signal
import time
from collections import Counter
from typing import Any

import click

from cc.commands.options import duration_option, old_spelling, prefer, time_scale_option
from cc.commands.output import dumps, out_console
from cc.errors import ConfigError, InvalidValue

__all__ = ["run_sim", "sim", "summarize"]


def _parse_routes(items: tuple[str, ...]) -> dict[str, str]:
    routes: dict[str, str] = {}
    for item in items:
        dest, sep, action = item.partition("=")
        if not sep or not dest or not action:
            raise InvalidValue("--route", item, "expected DEST=park|echo|socket[:HOST:PORT]|hangup[:CAUSE]")
        if action.split(":")[0] not in ("park", "echo", "socket", "hangup"):
            raise InvalidValue("--route", item, "the action must be park, echo, socket[:HOST:PORT] or hangup[:CAUSE]")
        routes[dest] = action
    return routes


def summarize(results: list[Any], stats: dict[str, Any], wall: float) -> dict[str, Any]:
    """A JSON-ready summary of finished calls (CallResult objects) and simulator counters."""
    causes = Counter(r.hangup_cause for r in results)
    waits = [r.bridged_at - r.started for r in results if r.bridged_at is not None]
    return {
        "placed": stats["calls_placed"],
        "calls": len(results),
        "answered": sum(1 for r in results if r.answered),
        "bridged": sum(1 for r in results if r.bridged_to),
        "abandoned": sum(1 for r in results if r.abandoned),
        "hangup_causes": dict(causes),
        "avg_wait_s": round(sum(waits) / len(waits), 2) if waits else None,
        "events": stats["events"],
        "peak_channels": stats["peak_channels"],
        "wall_s": round(wall, 2),
    }


def run_sim(*, listen: str, password: str, socket_addr: str | None, agents_file: str | None,
            callers_file: str | None, time_scale: float, routes: dict[str, str], sounds: str | None,
            recordings: str | None, missing_prompt: float | None, duration: float | None,
            parties_file: str | None = None) -> dict[str, Any]:
    """Start a simulator, play the callers file, return the summary (blocks; Ctrl-C stops it; ``duration``: wall
    seconds)."""
    import gevent
    import gevent.event

    from cc.sim import Simulator, load_agents, load_callers, load_parties

    agents = load_agents(agents_file) if agents_file else []
    groups = load_callers(callers_file) if callers_file else []
    parties = load_parties(parties_file) if parties_file else None
    sim = Simulator(listen=listen, password=password, socket_address=socket_addr, time_scale=time_scale,
                    agents=agents, routes=routes, sounds_dir=sounds, recordings_dir=recordings,
                    missing_prompt=missing_prompt, parties=parties)
    try:
        sim.start()
    except OSError as exc:
        raise ConfigError(f"--listen {listen}: cannot listen: {exc.strerror or exc}", path="--listen") from None
    stop = gevent.event.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        gevent.signal_handler(sig, stop.set)
    host, port = sim.inbound_address
    gws = ", ".join(f"{g} ({s})" for g, s in parties.gateways.items()) if parties is not None else ""
    click.echo(f"ccctl sim: ESL on {host}:{port} (password {'*' * len(password)}), time scale {time_scale:g}, "
               f"{len(agents)} agents, {sum(g.count for g in groups)} callers"
               + (f", called parties through gateway {gws}" if parties is not None else ""), err=True)
    t0 = time.monotonic()
    handles = sim.run_callers(groups)
    total = sum(g.count for g in groups)
    try:
        while not stop.is_set():
            if duration is not None and time.monotonic() - t0 >= duration:
                break
            if total and len(handles) == total and all(h.done for h in handles):
                break
            stop.wait(0.1)
    finally:
        wall = time.monotonic() - t0
        sim.stop()                       # calls still up end with SYSTEM_SHUTDOWN
        gevent.sleep(0.05)
        results = [h.wait(0) for h in handles if h.done]
        stats = sim.stats()
        summary = summarize(results, stats, wall)
        if "parties" in stats:
            summary["parties"] = stats["parties"]
    return summary


@click.command("sim", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--listen", default="127.0.0.1:8021", show_default=True, help="inbound ESL address HOST:PORT.")
@click.option("--password", default="ClueCon", show_default=True, help="inbound ESL password.")
@click.option("--socket", "socket_addr", default=None, metavar="HOST:PORT",
              help="cc's outbound socket: calls connect there like `socket HOST:PORT async full`.")
@click.option("--roster", "agents_file", default=None, metavar="FILE",
              help="The simulated agent phones: a YAML file (docs/sim.md).")
@old_spelling("--agents", "--roster FILE", "old_agents_file", metavar="FILE")
@click.option("--callers", "callers_file", default=None, metavar="FILE", help="callers YAML (docs/sim.md).")
@click.option("--parties", "parties_file", default=None, metavar="FILE",
              help="The called parties outbound dials reach (sofia/gateway/GW/NUMBER): a YAML file with the "
                   "population's answer rate, ring and talk times, the mix of busy, invalid, off ... and "
                   "per-number specs (docs/sim.md).")
@time_scale_option(1.0)
@click.option("--route", "route", multiple=True, metavar="DEST=ACTION",
              help="dialplan: DEST=park|echo|socket[:HOST:PORT]|hangup[:CAUSE] (default: socket).")
@click.option("--sounds", default=None, metavar="DIR", help="where relative prompt paths are looked up.")
@click.option("--recordings", default=None, metavar="DIR", help="where relative recording paths are written.")
@click.option("--missing-prompt", "missing_prompt", default=None, metavar="SECONDS",
              help="play missing prompt files this long (default: PLAYBACK ERROR at once).")
@duration_option(None, "Stop after this much simulated time (90s, 30m, 2h; the wall time is that times "
                        "--time-scale); default: when the callers are done, or Ctrl-C.")
@click.option("--json", "as_json", is_flag=True, help="print the summary as JSON.")
@click.option("-v", "--verbose", is_flag=True, help="log every call.")
def sim(listen: str, password: str, socket_addr: str | None, agents_file: str | None, old_agents_file: str | None,
        callers_file: str | None, parties_file: str | None, time_scale: float, route: tuple[str, ...],
        sounds: str | None, recordings: str | None, missing_prompt: str | None, duration: float | None,
        as_json: bool, verbose: bool) -> None:
    """Run the FreeSWITCH simulator: inbound ESL, outbound sockets to cc, simulated callers and agents.

    \b
    Example:
      ccctl sim --listen 127.0.0.1:8021 --password ClueCon --socket 127.0.0.1:8084 \\
             --roster agents.yaml --callers callers.yaml --time-scale 0.01 --duration 2h

    \b
    A campaign's customers (cc dials sofia/gateway/carrier/NUMBER):
      ccctl sim --listen 127.0.0.1:8021 --roster agents.yaml --parties parties.yaml \\
             --time-scale 0.01 --duration 4h --json
    """
    from cc.sim.simulator import parse_address

    def number(name: str, raw: str | None, positive: bool) -> float | None:
        if raw is None:
            return None
        try:
            v = float(raw)
        except ValueError:
            raise InvalidValue(name, raw, "expected a number") from None
        if not v == v or v < 0 or (positive and v == 0):
            raise InvalidValue(name, raw, "expected a number > 0" if positive else "expected a number >= 0")
        return v

    agents_file = prefer(click.get_current_context(), "--roster", "agents_file", agents_file, "--agents",
                         old_agents_file)
    parse_address(listen, "--listen")
    if socket_addr:
        parse_address(socket_addr, "--socket")
    from cc.privacy.logmask import install_log_masking

    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    install_log_masking()   # numbers are masked in log lines (docs/privacy.md)
    summary = run_sim(listen=listen, password=password, socket_addr=socket_addr, agents_file=agents_file,
                      callers_file=callers_file, time_scale=time_scale, routes=_parse_routes(route),
                      sounds=sounds, recordings=recordings, parties_file=parties_file,
                      missing_prompt=number("--missing-prompt", missing_prompt, False),
                      duration=None if duration is None else duration * time_scale)
    if as_json:
        click.echo(dumps(summary))
        return
    from rich.table import Table

    table = Table(title="ccctl sim")
    table.add_column("what")
    table.add_column("value", justify="right")
    for k, v in summary.items():
        if k == "hangup_causes":
            v = ", ".join(f"{c} {n}" for c, n in sorted(v.items())) or "-"
        if k == "parties":
            for pk in ("dials", "outcomes", "causes", "peak_legs", "answered", "bridged", "messaged",
                       "hung_up_waiting", "wait_s"):
                pv = v[pk]
                if isinstance(pv, dict):
                    pv = ", ".join(f"{a} {b}" for a, b in pv.items() if b is not None) or "-"
                table.add_row(f"parties {pk.replace('_', ' ')}", str(pv))
            continue
        table.add_row(k.replace("_", " "), "-" if v is None else str(v))
    out_console().print(table)
