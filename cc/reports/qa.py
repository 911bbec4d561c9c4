"""QA reports: per agent, team and item over intervals (average score, critical fails, scored, disputes), and the
agents compared with their team; as :class:`~cc.reports.table.Report` for every exporter and the CLI.

Averages count scorable calls only (a call whose items were all N/A has no total); a resolved dispute's changed
total is the total, and it is no critical fail unless the resolver kept the flag (with the total 0). Periods are
the intervals of the scores' ``scored_at``; ``--interval week`` gives the trend.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from cc.qa.score import FAIL, NA, PASS
from cc.reports.intervals import Bucketer
from cc.reports.table import Column, Report
from cc.store.qa import QaScore

__all__ = ["QA_REPORTS", "qa_report"]

QA_REPORTS = ("agents", "teams", "items", "compare")

_FIGURES = [
    Column("scored", "Scored", "int", "Calls scored in the interval."),
    Column("avg_score", "Avg score", "float", "Mean total of the scorable calls (0-100; a critical fail is 0)."),
    Column("critical_fails", "Critical fails", "int",
           "Calls failed by a critical item (not those a dispute changed, unless the resolver kept the fail)."),
    Column("critical_rate", "Critical fail rate", "ratio", "Critical fails / scored."),
    Column("disputes", "Disputes", "int", "Scores the agent disputed."),
    Column("changed", "Changed", "int", "Disputes resolved with a changed total."),
]


@dataclass
class _Acc:
    scored: int = 0
    totals: float = 0.0
    scorable: int = 0
    critical: int = 0
    disputes: int = 0
    changed: int = 0

    def add(self, s: QaScore) -> None:
        self.scored += 1
        if s.total is not None:
            self.totals += s.total
            self.scorable += 1
        self.critical += s.counts_critical
        if s.dispute is not None:
            self.disputes += 1
            self.changed += s.dispute.resolved_total is not None

    def row(self) -> dict[str, Any]:
        return {"scored": self.scored, "avg_score": round(self.totals / self.scorable, 1) if self.scorable else None,
                "critical_fails": self.critical, "critical_rate": self.critical / self.scored if self.scored else None,
                "disputes": self.disputes, "changed": self.changed}


def _grouped(scores: Iterable[QaScore], key: Callable[[QaScore], tuple[Any, ...]]) -> dict[tuple[Any, ...], _Acc]:
    out: dict[tuple[Any, ...], _Acc] = {}
    for s in scores:
        out.setdefault(key(s), _Acc()).add(s)
    return out


def qa_report(kind: str, scores: Iterable[QaScore], units: Mapping[str, str | None], bucketer: Bucketer,
              tz: str = "UTC") -> Report:
    """One QA report (``kind`` in QA_REPORTS) over these scores (``units``: agent -> team)."""
    rows = list(scores)
    if kind in ("agents", "teams"):
        by_agent = kind == "agents"

        def key(s: QaScore) -> tuple[Any, ...]:
            start, _, label = bucketer.span(s.scored_at)
            team = units.get(s.agent_id) or ""
            return (start, label, s.agent_id if by_agent else team, team)

        cols = [Column("interval", "Interval", "text"), Column("start", "Start", "datetime")]
        cols += [Column("agent", "Agent", "text"), Column("team", "Team", "text")] if by_agent else \
            [Column("team", "Team", "text")]
        out = []
        for (start, label, who, team), acc in sorted(_grouped(rows, key).items(), key=lambda kv: kv[0][:3]):
            row = {"interval": label, "start": start, **acc.row()}
            row.update({"agent": who, "team": team} if by_agent else {"team": who})
            out.append(row)
        return Report(f"qa_{kind}", cols + _FIGURES, out, tz)
    if kind == "compare":
        agents = _grouped(rows, lambda s: (s.agent_id,))
        teams = _grouped(rows, lambda s: (units.get(s.agent_id) or "",))
        ranked = sorted(agents.items(), key=lambda kv: (-(kv[1].row()["avg_score"] or -1), kv[0]))
        out = []
        for n, ((agent,), acc) in enumerate(ranked, 1):
            team = units.get(agent) or ""
            mine, theirs = acc.row()["avg_score"], teams[(team,)].row()["avg_score"]
            out.append({"rank": n, "agent": agent, "team": team, **acc.row(), "team_avg": theirs,
                        "vs_team": round(mine - theirs, 1) if mine is not None and theirs is not None else None})
        cols = [Column("rank", "Rank", "int"), Column("agent", "Agent", "text"), Column("team", "Team", "text"),
                *_FIGURES, Column("team_avg", "Team avg", "float", "The team's mean total."),
                Column("vs_team", "vs team", "float", "The agent's mean minus the team's.")]
        return Report("qa_compare", cols, out, tz)
    if kind == "items":
        items: dict[tuple[str, str], dict[str, Any]] = {}
        for s in rows:
            if s.card is None:
                continue
            for item in s.card.items():
                a = s.answers.get(item.key)
                r = items.setdefault((s.scorecard, item.key), {
                    "scorecard": s.scorecard, "item": item.key, "text": item.text, "critical": item.critical,
                    "answered": 0, "pass": 0, "fail": 0, "na": 0, "_earned": Decimal(0), "_possible": Decimal(0)})
                if a is None or a == NA:
                    r["na"] += a == NA
                    continue
                r["answered"] += 1
                earned = item.weight if a == PASS else Decimal(0) if a == FAIL else Decimal(a)
                r["pass"] += a == PASS or earned == item.weight
                r["fail"] += a == FAIL or earned == 0
                r["_earned"] += earned
                r["_possible"] += item.weight
        out = []
        for r in sorted(items.values(), key=lambda r: (r["scorecard"], r["item"])):
            possible = r.pop("_possible")
            earned = r.pop("_earned")
            r["score_rate"] = float(earned / possible) if possible else None
            out.append(r)
        cols = [Column("scorecard", "Scorecard", "text"), Column("item", "Item", "text"),
                Column("text", "Question", "text"), Column("critical", "Critical", "bool"),
                Column("answered", "Answered", "int", "Scores that answered the item (not N/A)."),
                Column("pass", "Full", "int", "Answers with the full weight."),
                Column("fail", "Zero", "int", "Answers with no points."), Column("na", "N/A", "int"),
                Column("score_rate", "Score rate", "ratio", "Points earned / points possible on the item.")]
        return Report("qa_items", cols, out, tz)
    raise ValueError(f"unknown QA report {kind!r}")


def qa_trend_chart(rows: Iterable[Mapping[str, Any]], path: str, *, key: str = "agent",
                   title: str = "QA score per interval", width: int = 1200, height: int = 600) -> int:
    """Lines of the average score per interval, one per agent (or team: ``key``); returns the number of lines."""
    from cc.reports.charts import _figure, _save, _ticks

    series: dict[str, dict[str, float]] = {}
    labels: dict[str, float] = {}
    for r in rows:
        labels[r["interval"]] = r["start"]
        if r.get("avg_score") is not None:
            series.setdefault(str(r[key]), {})[r["interval"]] = float(r["avg_score"])
    order = sorted(labels, key=labels.__getitem__)
    fig = _figure(width, height)
    ax = fig.add_subplot(1, 1, 1)
    for name in sorted(series):
        xs = [i for i, lab in enumerate(order) if lab in series[name]]
        ax.plot(xs, [series[name][order[i]] for i in xs], marker="o", label=name)
    ax.set_ylim(0, 100)
    ax.set_ylabel("average score")
    _ticks(ax, order)
    ax.set_title(title)
    if series:
        ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    _save(fig, path)
    return len(series)
