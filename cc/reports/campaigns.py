"""Outbound campaign reports per campaign (and agent) and interval, from the dial attempts (pure: rows in, Report out).

``campaigns``: dials, human contacts, contact rate, successes, abandons and abandon rate (in the interval, and
rolling over the 24 h and 30 days before the interval's end), talk time and average talk, callbacks kept and
missed, and one column per result code. ``campaign-agents``: the same per agent (his attempts), with his
wrap-up, logged-in time and occupancy from the agents report of the same interval (the ACD's state log: a
campaign's held agent is in_call, then wrap_up until his result), and calls per agent-hour.
An attempt counts in the interval of its start; talk is bridged -> ended.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cc.dialer import DialAttempt, Result
from cc.reports.intervals import Bucketer
from cc.reports.table import Column, Report

__all__ = ["CAMPAIGN_REPORTS", "campaign_report", "campaign_trend_chart"]

CAMPAIGN_REPORTS = ("campaigns", "campaign-agents")

_DAY = 86400.0

_FIGURES = [
    Column("dials", "Dials", "int", "originates (dial attempts) started in the interval"),
    Column("contacts", "Human contacts", "int", "attempts whose result has human_reached"),
    Column("contact_rate", "Contact rate", "ratio", "human contacts / dials"),
    Column("successes", "Successes", "int", "attempts whose result has success (sale, member ...)"),
    Column("abandons", "Abandons", "int", "answered calls no agent took (overflow message, hung up first)"),
    Column("abandon_rate", "Abandon rate", "ratio", "abandons / human contacts in the interval"),
    Column("talk_s", "Talk", "seconds", "bridged -> ended, summed"),
    Column("avg_talk_s", "Avg talk", "seconds", "talk / bridged calls"),
]
_ROLLING = [
    Column("abandon_rate_24h", "Abandon rate 24 h", "ratio", "abandons / contacts over the 24 h before the end"),
    Column("abandon_rate_30d", "Abandon rate 30 d", "ratio", "abandons / contacts over the 30 days before the end"),
    Column("callbacks_kept", "Callbacks kept", "int", "callbacks dialed in time (closed done in the interval)"),
    Column("callbacks_missed", "Callbacks missed", "int", "callbacks closed missed in the interval"),
]
_AGENT = [
    Column("wrap_s", "Wrap-up", "seconds", "the agent's time in wrap_up (agents report: the ACD's state log)"),
    Column("logged_in_s", "Logged in", "seconds", "the agent's logged-in time (agents report)"),
    Column("occupancy", "Occupancy", "ratio", "(talk + wrap-up) / (talk + wrap-up + reserved/ringing + idle)"),
    Column("calls_per_hour", "Calls per agent-hour", "float", "bridged calls / logged-in hours"),
]


@dataclass
class _Acc:
    dials: int = 0
    contacts: int = 0
    successes: int = 0
    abandons: int = 0
    bridged: int = 0
    talk: float = 0.0
    results: dict[str, int] = field(default_factory=dict)

    def add(self, a: DialAttempt, r: Result | None) -> None:
        self.dials += 1
        code = a.result or "(open)"
        self.results[code] = self.results.get(code, 0) + 1
        if r is not None:
            self.contacts += r.human_reached
            self.successes += r.success
            self.abandons += r.abandon
        if a.bridged_at is not None:
            self.bridged += 1
            if a.ended_at is not None:
                self.talk += max(0.0, a.ended_at - a.bridged_at)

    def row(self) -> dict[str, Any]:
        return {"dials": self.dials, "contacts": self.contacts,
                "contact_rate": self.contacts / self.dials if self.dials else None, "successes": self.successes,
                "abandons": self.abandons, "abandon_rate": self.abandons / self.contacts if self.contacts else None,
                "talk_s": round(self.talk, 1),
                "avg_talk_s": round(self.talk / self.bridged, 1) if self.bridged else None,
                **{f"r_{k}": v for k, v in self.results.items()}}


class _Rolling:
    """Contacts and abandons of one campaign by time, for rolling rates at any moment."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.contacts: list[int] = [0]
        self.abandons: list[int] = [0]

    def add(self, at: float, contact: bool, abandon: bool) -> None:
        self.times.append(at)
        self.contacts.append(self.contacts[-1] + contact)
        self.abandons.append(self.abandons[-1] + abandon)

    def rate(self, end: float, window: float) -> float | None:
        i, j = bisect.bisect_left(self.times, end - window), bisect.bisect_left(self.times, end)
        contacts = self.contacts[j] - self.contacts[i]
        return (self.abandons[j] - self.abandons[i]) / contacts if contacts else None


def campaign_report(kind: str, attempts: Iterable[DialAttempt], results: Mapping[str, Mapping[str, Result]],
                    bucketer: Bucketer, start: float, end: float, *, tz: str = "UTC",
                    callbacks: Iterable[tuple[str, str | None, str, float]] = (),
                    agent_rows: Mapping[tuple[str, float], Mapping[str, Any]] | None = None) -> Report:
    """One campaign report (``kind`` in CAMPAIGN_REPORTS) over ``attempts`` (those before ``start`` feed only
    the rolling rates); ``results``: campaign -> code -> Result; ``callbacks``: (campaign, agent, state, done_at)
    of closed callbacks; ``agent_rows``: the agents report's rows by (agent, interval start)."""
    by_agent = kind == "campaign-agents"
    accs: dict[tuple[Any, ...], _Acc] = {}
    rolling: dict[str, _Rolling] = {}
    for a in sorted(attempts, key=lambda x: x.started_at):
        r = results.get(a.campaign_id, {}).get(a.result or "")
        if r is not None:
            rolling.setdefault(a.campaign_id, _Rolling()).add(a.started_at, r.human_reached, r.abandon)
        if not start <= a.started_at < end or (by_agent and a.agent_id is None):
            continue
        s0, _e, label = bucketer.span(a.started_at)
        key = (s0, label, a.campaign_id, a.agent_id if by_agent else "")
        accs.setdefault(key, _Acc()).add(a, r)
    kept: dict[tuple[Any, ...], list[int]] = {}
    for campaign, agent, state, done_at in callbacks:
        if not start <= done_at < end:
            continue
        s0, _e, label = bucketer.span(done_at)
        key = (s0, label, campaign, (agent or "") if by_agent else "")
        k = kept.setdefault(key, [0, 0])
        k[0 if state == "done" else 1] += state in ("done", "missed")
        accs.setdefault(key, _Acc())
    codes = sorted({c for acc in accs.values() for c in acc.results})
    out = []
    for key in sorted(accs):
        s0, label, campaign, agent = key
        _s, e0, _l = bucketer.span(s0)
        row: dict[str, Any] = {"interval": label, "start": s0, "campaign": campaign, **accs[key].row()}
        for c in codes:
            row.setdefault(f"r_{c}", 0)
        roll = rolling.get(campaign)
        row["abandon_rate_24h"] = roll.rate(min(e0, end), _DAY) if roll else None
        row["abandon_rate_30d"] = roll.rate(min(e0, end), 30 * _DAY) if roll else None
        row["callbacks_kept"], row["callbacks_missed"] = kept.get(key, [0, 0])
        if by_agent:
            row["agent"] = agent
            ar = (agent_rows or {}).get((str(agent), s0), {})
            row["wrap_s"] = ar.get("wrap_s")
            row["logged_in_s"] = ar.get("logged_in_s")
            row["occupancy"] = ar.get("occupancy")
            hours = (ar.get("logged_in_s") or 0) / 3600
            row["calls_per_hour"] = round(accs[key].bridged / hours, 2) if hours else None
        out.append(row)
    cols = [Column("interval", "Interval", "text", "local start of the interval"),
            Column("start", "Start", "datetime", "the same, as a date/time"),
            Column("campaign", "Campaign", "text")]
    if by_agent:
        cols.append(Column("agent", "Agent", "text"))
    cols += _FIGURES + _ROLLING + (_AGENT if by_agent else [])
    cols += [Column(f"r_{c}", c, "int", f"attempts with result {c}") for c in codes]
    return Report(kind.replace("-", "_"), cols, out, tz)


def campaign_trend_chart(rows: Iterable[Mapping[str, Any]], path: str, *, key: str = "campaign",
                         title: str = "Campaigns per interval", width: int = 1200, height: int = 600) -> int:
    """Contact rate (solid) and abandon rate (dashed) per interval, one pair of lines per campaign (or agent:
    ``key``); returns the number of campaigns (agents) drawn."""
    from cc.reports.charts import _figure, _save, _ticks

    contact: dict[str, dict[str, float]] = {}
    abandon: dict[str, dict[str, float]] = {}
    labels: dict[str, float] = {}
    for r in rows:
        labels[r["interval"]] = r["start"]
        who = str(r[key])
        if r.get("contact_rate") is not None:
            contact.setdefault(who, {})[r["interval"]] = 100.0 * float(r["contact_rate"])
        if r.get("abandon_rate") is not None:
            abandon.setdefault(who, {})[r["interval"]] = 100.0 * float(r["abandon_rate"])
    order = sorted(labels, key=labels.__getitem__)
    fig = _figure(width, height)
    ax = fig.add_subplot(1, 1, 1)
    names = sorted(set(contact) | set(abandon))
    for name in names:
        for series, style, what in ((contact, "-", "contact"), (abandon, "--", "abandon")):
            pts = series.get(name, {})
            xs = [i for i, lab in enumerate(order) if lab in pts]
            if xs:
                ax.plot(xs, [pts[order[i]] for i in xs], style, marker="o", label=f"{name} {what} %")
    ax.set_ylabel("%")
    _ticks(ax, order)
    ax.set_title(title)
    if names:
        ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    _save(fig, path)
    return len(names)
