"""`ccctl whatif`: run the real ACD over simulated calls and compare with Erlang C / Erlang A."""

from __future__ import annotations

import math
import re
import time
from dataclasses import asdict

import click
from rich.table import Table

from cc.commands.options import old_spelling, prefer
from cc.commands.output import dumps, out_console
from cc.commands.staff import parse_sl
from cc.errors import InvalidValue
from cc.model import SkillRequirement, Strategy
from cc.reports.intervals import parse_duration
from cc.wfm.erlang import ErlangResult, erlang_a, erlang_c_result
from cc.wfm.whatif import AgentGroup, CallType, service_level_interval, simulate_until_sure, verdict

__all__ = ["whatif"]

_REQ = re.compile(r"^\s*([A-Za-z0-9_.-]+)\s*(>=|<=|==|>|<)\s*(\d+)\s*$")


def _skills(text: str, field: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, level = part.partition("=")
        if not sep or not name.strip() or not level.strip().isdigit() or not 1 <= int(level) <= 10:
            raise InvalidValue(field, part, "must be NAME=LEVEL with LEVEL 1-10, e.g. billing=7")
        out[name.strip()] = int(level)
    return out


def _group(text: str) -> AgentGroup:
    count, _, skills = text.partition(":")
    if not count.strip().isdigit():
        raise InvalidValue("--add-agents", text, "must be COUNT[:NAME=LEVEL,...], e.g. 2:billing=7")
    return AgentGroup(int(count), _skills(skills, "--add-agents"))


def _call_type(text: str) -> CallType:
    req, _, share = text.rpartition(":")
    if not req:
        raise InvalidValue("--require", text, "must be NAME>=LEVEL[,...]:PERCENT, e.g. billing>=5:30")
    reqs = []
    for part in req.split(","):
        m = _REQ.match(part)
        if m is None:
            raise InvalidValue("--require", part, "must be NAME OP LEVEL, e.g. billing>=5")
        reqs.append(SkillRequirement(m.group(1), m.group(2), int(m.group(3))))
    try:
        pct = float(share.strip().rstrip("%"))
    except ValueError as exc:
        raise InvalidValue("--require", text, "the share must be a percentage, e.g. :30") from exc
    if not 0 <= pct <= 100:
        raise InvalidValue("--require", text, "the share must be 0-100 %")
    return CallType(pct / 100.0, tuple(reqs))


def _num(v: float | None, scale: float = 1.0, fmt: str = ".1f", suffix: str = "") -> str:
    if v is None or not math.isfinite(v):
        return "-"
    return f"{v * scale:{fmt}}{suffix}"


@click.command()
@click.option("--agents", type=int, required=True, help="Agents logged in and available.")
@click.option("--skills", default="", metavar="NAME=LEVEL,...", help="Skills of those agents.")
@click.option("--add-agents", multiple=True, metavar="COUNT[:NAME=LEVEL,...]", help="More agents (repeatable).")
@click.option("--require", multiple=True, metavar="NAME>=LEVEL[,...]:PCT",
              help="PCT of the calls need these skills (repeatable).")
@click.option("--calls-per-hour", "calls_per_hour", type=float, default=None,
              help="Arrival rate: calls per hour (Poisson), as in `ccctl demo`. Required.")
@old_spelling("--rate", "--calls-per-hour", "old_rate", type=float)
@click.option("--aht", default="180s", show_default=True, metavar="DURATION", help="Mean handle time incl. wrap-up.")
@click.option("--wrap-up", default="0s", show_default=True, metavar="DURATION", help="Fixed wrap-up, part of the AHT.")
@click.option("--patience", metavar="DURATION", help="Mean caller patience (exponential); none: callers wait forever.")
@click.option("--sl", default="80/20", show_default=True, metavar="PCT/SECONDS", help="Service level threshold.")
@click.option("--strategy", default="longest-idle-agent", show_default=True,
              type=click.Choice([s.value for s in Strategy]), help="How the ACD picks a free agent for a call.")
@click.option("--hours", default=100.0, show_default=True,
              help="Simulated hours measured, split into the replications (each after its own 30 min warm-up).")
@click.option("--seed", default=1, show_default=True, help="Random seed (same seed, same result).")
@click.option("--replications", default=10, show_default=True,
              help="Independent runs the hours are split into; their spread gives the 95 % interval of the SL.")
@click.option("--max-hours", default=400.0, show_default=True,
              help="While the interval straddles the target, run more batches like the first, up to this many "
                   "simulated hours in all (0: never).")
@click.option("--workers", type=int, metavar="N", help="Processes running the replications (default: one per CPU).")
@click.option("--json", "as_json", is_flag=True, help="JSON on stdout.")
def whatif(agents: int, skills: str, add_agents: tuple[str, ...], require: tuple[str, ...],
           calls_per_hour: float | None, old_rate: float | None, aht: str, wrap_up: str, patience: str | None,
           sl: str, strategy: str, hours: float, seed: int,
           replications: int, max_hours: float, workers: int | None, as_json: bool) -> None:
    """Simulate the center with the real ACD engine and compare with Erlang C (or Erlang A).

    \b
    Examples:
      ccctl whatif --agents 14 --calls-per-hour 200 --aht 180s
      ccctl whatif --agents 12 --add-agents 2 --calls-per-hour 200 --aht 3m --patience 60s
      ccctl whatif --agents 10 --skills billing=5 --add-agents 3:billing=9,spanish=8 \\
                --require spanish>=5:15 --calls-per-hour 180 --aht 240s --sl 80/20
    """
    calls_per_hour = prefer(click.get_current_context(), "--calls-per-hour", "calls_per_hour", calls_per_hour,
                            "--rate", old_rate)
    if calls_per_hour is None:
        raise InvalidValue("--calls-per-hour", None, "is required (calls per hour, e.g. --calls-per-hour 200)")
    if agents < 0:
        raise InvalidValue("--agents", agents, "must be >= 0")
    share, threshold = parse_sl(sl)
    groups = [AgentGroup(agents, _skills(skills, "--skills")), *(_group(g) for g in add_agents)]
    types = [_call_type(r) for r in require]
    aht_s = parse_duration(aht, "--aht")
    pat = parse_duration(patience, "--patience") if patience else None
    if not math.isfinite(calls_per_hour) or calls_per_hour <= 0:
        raise InvalidValue("--calls-per-hour", calls_per_hour, "must be > 0")
    if not 0 < hours <= 100_000:
        raise InvalidValue("--hours", hours, "must be > 0 and at most 100000")
    if not 1 <= replications <= 1000:
        raise InvalidValue("--replications", replications, "must be 1 to 1000")
    if workers is not None and workers < 1:
        raise InvalidValue("--workers", workers, "must be >= 1")
    t0 = time.perf_counter()
    if not math.isfinite(max_hours) or max_hours < 0 or max_hours > 100_000:
        raise InvalidValue("--max-hours", max_hours, "must be 0 to 100000")
    sim = simulate_until_sure(groups, target=share, calls_per_hour=calls_per_hour, aht_s=aht_s, hours=hours,
                              patience_s=pat, threshold_s=threshold, wrap_up_s=parse_duration(wrap_up, "--wrap-up"),
                              call_types=types, strategy=Strategy(strategy), seed=seed, replications=replications,
                              max_hours=max_hours or None, workers=workers)
    ci = service_level_interval(sim)
    said = verdict(sim, share)
    elapsed = time.perf_counter() - t0
    total = sum(g.count for g in groups)
    lam = calls_per_hour / 3600.0
    model: ErlangResult = (erlang_a(total, lam, aht_s, pat, threshold) if pat is not None
                           else erlang_c_result(total, lam, aht_s, threshold))
    notes = []
    if types or any(g.skills for g in groups):
        notes.append("skills split the agents: Erlang assumes every agent takes every call")
    if model.traffic >= total and pat is None:
        notes.append("traffic exceeds the agents: Erlang C has no steady state (the queue grows without end)")
    if as_json:
        click.echo(dumps({"agents": total, "traffic_erlangs": model.traffic, "target_sl": share,
                               "simulated": asdict(sim), "model": {k: (v if not isinstance(v, float) or
                                                                       math.isfinite(v) else None)
                                                                   for k, v in asdict(model).items()},
                               "service_level_interval": None if ci is None else
                               {"confidence": 0.95, "low": ci.low, "high": ci.high, "mean": ci.mean,
                                "replications": ci.n},
                               "verdict": said,
                               "sim_hours_per_s": sim.hours / elapsed if elapsed else None, "notes": notes}, indent=1))
        return
    table = Table(title=f"what-if: {total} agents, {calls_per_hour:g} calls/h, AHT {aht_s:g} s"
                        f" ({model.traffic:.2f} Erlangs)")
    table.add_column("")
    table.add_column("simulated (ACD)", justify="right")
    table.add_column("Erlang A" if model.model == "erlang-a" else "Erlang C", justify="right")
    rows = [
        (f"service level ({threshold:g} s)", _num(sim.service_level, 100, ".1f", "%"),
         _num(model.service_level, 100, ".1f", "%")),
        ("ASA (s)", _num(sim.asa_s), _num(model.asa_s)),
        ("abandon rate", _num(sim.abandon_rate, 100, ".1f", "%"), _num(model.abandon_rate, 100, ".1f", "%")),
        ("occupancy", _num(sim.occupancy, 100, ".1f", "%"), _num(model.occupancy, 100, ".1f", "%")),
        ("calls offered", str(sim.offered), "-"),
        ("max wait (s)", _num(sim.max_wait_s), "-"),
    ]
    if ci is not None:
        rows.insert(1, (f"  95 % interval ({ci.n} replications)", f"{ci.low * 100:.1f}-{ci.high * 100:.1f}%", "-"))
    for r in rows:
        table.add_row(*r)
    console = out_console()
    console.print(table)
    target = f"the {share * 100:g}/{threshold:g} target"
    took = f"({sim.hours:g} h simulated in {elapsed:.1f} s)"
    if said == "inconclusive" and ci is not None:
        console.print(f"inconclusive: the 95 % interval of the simulated SL ({ci.low * 100:.1f}-{ci.high * 100:.1f}%) "
                      f"contains {target}; more --hours (or --max-hours) narrow it {took}")
    elif said == "inconclusive":
        console.print(f"inconclusive: one replication gives no interval; use --replications 2 or more {took}")
    else:
        console.print(f"the simulated center {said} {target} (the whole 95 % interval is "
                      f"{'above' if said == 'meets' else 'below'} it) {took}")
    for n in notes:
        console.print(f"note: {n}")


