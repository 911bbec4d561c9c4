"""Charts a supervisor expects, drawn with matplotlib's Agg backend into PNG files.

* ``queue_chart``: calls offered / answered / abandoned per interval (bars, empty intervals included)
  with the service level (line, right axis; a gap where too few calls were offered) and its target;
* ``agent_chart``: agent time per state (talk, wrap-up, ringing, idle, break) as stacked bars;
* ``wait_histogram``: the distribution of waits of answered and abandoned calls (far outliers in one
  overflow bin).
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from cc.errors import InvalidValue
from cc.reports.export import ordinary_mode

__all__ = ["CHARTS", "agent_chart", "histogram_top", "queue_chart", "queue_series", "short_labels", "wait_histogram"]

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


def _ticks(ax: Any, labels: Sequence[str], *, most: int = 16) -> None:
    step = max(1, math.ceil(len(labels) / most))
    ax.set_xticks(range(0, len(labels), step))
    ax.set_xticklabels([labels[i] for i in range(0, len(labels), step)], fontsize=8)


def short_labels(labels: Sequence[str]) -> list[str]:
    """Axis labels from interval labels: ``HH:MM`` (with ``MM-DD`` where the day changes) or ``MM-DD``/``YYYY-MM``.

    Interval labels are local ISO (``2026-11-23T09:15+01:00``, ``2026-11-23``, ``all``).
    """
    out: list[str] = []
    day = ""
    days = {lab[:10] for lab in labels if "T" in lab}
    for lab in labels:
        if "T" not in lab:
            out.append(lab[5:10] if len(lab) >= 10 else lab)
            continue
        hhmm = lab[11:16]
        if len(days) > 1 and lab[:10] != day:
            out.append(f"{lab[5:10]}\n{hhmm}")
        else:
            out.append(hhmm)
        day = lab[:10]
    return out


def queue_series(rows: Iterable[Mapping[str, Any]], intervals: Sequence[tuple[float, str]] | None = None,
                 min_calls: int = 5) -> tuple[list[str], list[int], list[int], list[int], list[float]]:
    """(labels, offered, answered, abandoned, SL %) per interval, all queues summed, in time order.

    With ``intervals`` every interval of the window is there (empty ones as zeros) and rows outside them
    are left out; the SL is NaN (a gap in the line) where fewer than ``min_calls`` calls were offered.
    """
    per: dict[float, list[int]] = {}
    names: dict[float, str] = {}
    for start, label in intervals or ():
        per[start] = [0, 0, 0, 0]
        names[start] = label
    for r in rows:
        key = float(r["start"])
        if intervals is not None and key not in per:
            continue
        acc = per.setdefault(key, [0, 0, 0, 0])
        names.setdefault(key, str(r["interval"]))
        acc[0] += int(r["offered"])
        acc[1] += int(r["answered"])
        acc[2] += int(r["abandoned"])
        acc[3] += int(r["answered_in_sl"])
    keys = sorted(per)
    sl = [per[k][3] / per[k][0] * 100.0 if per[k][0] >= max(1, min_calls) else float("nan") for k in keys]
    return ([names[k] for k in keys], [per[k][0] for k in keys], [per[k][1] for k in keys],
            [per[k][2] for k in keys], sl)


def queue_chart(rows: Iterable[Mapping[str, Any]], path: str | Path, *, title: str = "Calls per interval",
                width: int = 1200, height: int = 600, intervals: Sequence[tuple[float, str]] | None = None,
                sl_target: float | None = 0.8, min_calls: int = 5) -> int:
    """Offered/answered/abandoned bars per interval (all queues summed) with the SL line; returns bars.

    ``intervals`` ((start, label) of every interval of the window) puts the empty ones on the axis too.
    The SL line has a gap where fewer than ``min_calls`` calls were offered (one call is 0 % or 100 %,
    which says nothing); ``sl_target`` (a share) is drawn as a dashed line.
    """
    labels, offered, answered, abandoned, sl = queue_series(rows, intervals, min_calls)
    fig = _figure(width, height)
    ax = fig.add_subplot(1, 1, 1)
    xs = list(range(len(labels)))
    w = 0.28
    ax.bar([x - w for x in xs], offered, w, label="offered", color="#4c72b0")
    ax.bar(xs, answered, w, label="answered", color="#55a868")
    ax.bar([x + w for x in xs], abandoned, w, label="abandoned", color="#c44e52")
    ax.set_ylabel("calls")
    ax2 = ax.twinx()
    ax2.plot(xs, sl, color="#dd8452", marker="o", markersize=3,
             label=f"service level % (intervals with {min_calls}+ calls)" if min_calls > 1 else "service level %")
    if sl_target is not None:
        ax2.axhline(sl_target * 100.0, color="#dd8452", linestyle="--", linewidth=1,
                    label=f"SL target {sl_target * 100:g} %")
    ax2.set_ylim(0, 105)
    ax2.set_ylabel("service level %")
    _ticks(ax, short_labels(labels))
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


def histogram_top(values: Sequence[float], *, quantile: float = 0.99) -> tuple[float, int]:
    """(upper edge, values above it): the ``quantile`` when a few outliers lie far beyond it, else the maximum.

    One 40-minute wait among 2-minute ones would otherwise squash every other call into the first bar.
    """
    if not values:
        return 1.0, 0
    ordered = sorted(values)
    top = max(ordered[-1], 1.0)
    if len(ordered) >= 20:
        q = ordered[min(len(ordered) - 1, math.ceil(quantile * len(ordered)) - 1)]
        if q > 0 and ordered[-1] > 1.5 * q:
            top = q
    return top, sum(1 for v in ordered if v > top)


def wait_histogram(answered: Sequence[float], abandoned: Sequence[float], path: str | Path, *,
                   bins: int = 30, title: str = "Wait time", width: int = 1000, height: int = 600) -> int:
    """Histogram of waits (seconds) of answered and abandoned calls; returns the calls drawn."""
    fig = _figure(width, height)
    ax = fig.add_subplot(1, 1, 1)
    top, over = histogram_top([*answered, *abandoned])
    width_bin = top / bins
    edges = [width_bin * i for i in range(bins + (2 if over else 1))]
    clip = top + width_bin / 2  # the overflow bin's middle

    def clipped(values: Sequence[float]) -> list[float]:
        return [v if v <= top else clip for v in values]

    ax.hist([clipped(answered), clipped(abandoned)], bins=edges, stacked=True, label=["answered", "abandoned"],
            color=["#55a868", "#c44e52"])
    if over:
        ax.annotate(f"> {top:.0f} s: {over}", xy=(clip, 0), xytext=(0, -28), textcoords="offset points",
                    ha="center", fontsize=8)
    ax.set_xlabel("wait (s)")
    ax.set_ylabel("calls")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    _save(fig, path)
    return len(answered) + len(abandoned)
