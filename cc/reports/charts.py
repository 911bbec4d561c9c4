"""Charts a supervisor expects, drawn with matplotlib's Agg backend into PNG files.

* ``queue_chart``: calls offered / answered / abandoned per interval (bars) with the service level
  (line, right axis);
* ``agent_chart``: agent time per state (talk, wrap-up, ringing, idle, break) as stacked bars;
* ``wait_histogram``: the distribution of waits of answered and abandoned calls.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from cc.errors import InvalidValue
from cc.reports.export import ordinary_mode

__all__ = ["CHARTS", "agent_chart", "queue_chart", "wait_histogram"]

CHARTS = ("queues", "agents", "waits")


def _figure(width_px: int, height_px: int, dpi: int = 100) -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure

    if width_px < 200 or height_px < 150 or width_px > 10_000 or height_px > 10_000:
        raise InvalidValue("size", f"{width_px}x{height_px}", "must be between 200x150 and 10000x10000 pixels")
    return Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)


def _save(fig: Any, path: str | Path, dpi: int = 100) -> None:
    target = Path(path)
    if not target.parent.exists():
        raise InvalidValue("png", str(path), f"directory {str(target.parent)!r} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".png", dir=target.parent)
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=dpi, format="png")
        ordinary_mode(tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _ticks(ax: Any, labels: Sequence[str]) -> None:
    step = max(1, len(labels) // 24)
    ax.set_xticks(range(0, len(labels), step))
    ax.set_xticklabels([labels[i] for i in range(0, len(labels), step)], rotation=60, ha="right", fontsize=7)


def queue_chart(rows: Iterable[Mapping[str, Any]], path: str | Path, *, title: str = "Calls per interval",
                width: int = 1200, height: int = 600) -> int:
    """Offered/answered/abandoned bars per interval (all queues summed) with the SL line; returns bars."""
    per: dict[str, list[float]] = {}
    for r in rows:
        acc = per.setdefault(r["interval"], [0, 0, 0, 0])
        acc[0] += r["offered"]
        acc[1] += r["answered"]
        acc[2] += r["abandoned"]
        acc[3] += r["answered_in_sl"]
    labels = list(per)
    fig = _figure(width, height)
    ax = fig.add_subplot(1, 1, 1)
    xs = list(range(len(labels)))
    w = 0.28
    ax.bar([x - w for x in xs], [per[k][0] for k in labels], w, label="offered", color="#4c72b0")
    ax.bar(xs, [per[k][1] for k in labels], w, label="answered", color="#55a868")
    ax.bar([x + w for x in xs], [per[k][2] for k in labels], w, label="abandoned", color="#c44e52")
    ax.set_ylabel("calls")
    ax2 = ax.twinx()
    sl = [(per[k][3] / per[k][0] * 100.0) if per[k][0] else float("nan") for k in labels]
    ax2.plot(xs, sl, color="#dd8452", marker="o", markersize=3, label="service level %")
    ax2.set_ylim(0, 105)
    ax2.set_ylabel("service level %")
    _ticks(ax, labels)
    ax.set_title(title)
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, loc="upper left", fontsize=8)
    fig.tight_layout()
    _save(fig, path)
    return len(labels)


_STATES = (("talk_s", "talk", "#55a868"), ("wrap_s", "wrap-up", "#8172b3"), ("ringing_s", "ringing", "#ccb974"),
           ("idle_s", "idle", "#64b5cd"), ("break_s", "break", "#c44e52"))


def agent_chart(rows: Iterable[Mapping[str, Any]], path: str | Path, *, title: str = "Agent time by state",
                width: int = 1200, height: int = 600) -> int:
    """Stacked bars of hours per state for each agent (all intervals summed); returns bars."""
    per: dict[str, list[float]] = {}
    for r in rows:
        acc = per.setdefault(r["agent"], [0.0] * len(_STATES))
        for i, (key, _, _) in enumerate(_STATES):
            acc[i] += float(r.get(key) or 0.0) / 3600.0
    labels = sorted(per)
    fig = _figure(width, height)
    ax = fig.add_subplot(1, 1, 1)
    bottom = [0.0] * len(labels)
    for i, (_, name, color) in enumerate(_STATES):
        vals = [per[a][i] for a in labels]
        ax.bar(range(len(labels)), vals, 0.7, bottom=bottom, label=name, color=color)
        bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
    ax.set_ylabel("hours")
    _ticks(ax, labels)
    ax.set_title(title)
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    _save(fig, path)
    return len(labels)


def wait_histogram(answered: Sequence[float], abandoned: Sequence[float], path: str | Path, *,
                   bins: int = 30, title: str = "Wait time", width: int = 1000, height: int = 600) -> int:
    """Histogram of waits (seconds) of answered and abandoned calls; returns the calls drawn."""
    fig = _figure(width, height)
    ax = fig.add_subplot(1, 1, 1)
    top = max([*answered, *abandoned, 1.0])
    edges = [top * i / bins for i in range(bins + 1)]
    ax.hist([list(answered), list(abandoned)], bins=edges, stacked=True, label=["answered", "abandoned"],
            color=["#55a868", "#c44e52"])
    ax.set_xlabel("wait (s)")
    ax.set_ylabel("calls")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    _save(fig, path)
    return len(answered) + len(abandoned)
