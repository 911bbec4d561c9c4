"""Staffing per interval: the fewest agents meeting a service level and a maximum occupancy.

For each interval of a forecast (calls offered in ``interval_s`` seconds) the traffic is
``A = calls / interval_s * aht_s`` Erlangs. Erlang C (or Erlang A when a mean caller patience is
given) is evaluated for increasing agent counts until the service level reaches its target and the
occupancy ``A / n`` is at most ``max_occupancy``; the agents to schedule are that count divided by
``1 - shrinkage`` and rounded up.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from cc.errors import InvalidValue
from cc.wfm.erlang import ErlangResult, erlang_a, erlang_c_result

__all__ = ["ForecastInterval", "StaffingRow", "StaffingTarget", "required_agents", "staffing_table"]

MAX_AGENTS = 100_000


@dataclass(frozen=True)
class StaffingTarget:
    """What to staff for: SL ``service_level`` within ``threshold_s``, occupancy cap and shrinkage."""

    service_level: float = 0.8
    threshold_s: float = 20.0
    max_occupancy: float = 0.85
    shrinkage: float = 0.0
    patience_s: float | None = None

    def __post_init__(self) -> None:
        """Refuse values outside their ranges."""
        if not 0.0 < self.service_level < 1.0:
            raise InvalidValue("service_level", self.service_level, "must be between 0 and 1 (exclusive)")
        if not math.isfinite(self.threshold_s) or self.threshold_s < 0:
            raise InvalidValue("threshold_s", self.threshold_s, "must be >= 0")
        if not 0.0 < self.max_occupancy <= 1.0:
            raise InvalidValue("max_occupancy", self.max_occupancy, "must be in (0, 1]")
        if not 0.0 <= self.shrinkage < 1.0:
            raise InvalidValue("shrinkage", self.shrinkage, "must be in [0, 1)")
        if self.patience_s is not None and (not math.isfinite(self.patience_s) or self.patience_s <= 0):
            raise InvalidValue("patience_s", self.patience_s, "must be > 0")


@dataclass(frozen=True)
class ForecastInterval:
    """Calls expected in one interval starting at ``start`` (a label: epoch seconds or a string)."""

    start: str
    calls: float
    interval_s: float
    aht_s: float


@dataclass(frozen=True)
class StaffingRow:
    """One interval of a staffing table: agents on the phones, agents to schedule, what they achieve."""

    start: str
    calls: float
    traffic: float
    agents: int
    scheduled: int
    result: ErlangResult | None


def _evaluate(n: int, lam: float, aht_s: float, target: StaffingTarget) -> ErlangResult:
    if target.patience_s is None:
        return erlang_c_result(n, lam, aht_s, target.threshold_s)
    return erlang_a(n, lam, aht_s, target.patience_s, target.threshold_s)


def _ok(r: ErlangResult, target: StaffingTarget) -> bool:
    return r.service_level >= target.service_level and r.occupancy <= target.max_occupancy


def required_agents(calls_per_s: float, aht_s: float, target: StaffingTarget) -> ErlangResult | None:
    """The smallest agent count meeting ``target`` and what it achieves; None when no calls."""
    if not math.isfinite(calls_per_s) or calls_per_s < 0:
        raise InvalidValue("calls_per_s", calls_per_s, "must be >= 0")
    if not math.isfinite(aht_s) or aht_s <= 0:
        raise InvalidValue("aht_s", aht_s, "must be > 0")
    if calls_per_s == 0:
        return None
    a = calls_per_s * aht_s
    # Occupancy alone needs n >= A / max_occupancy; Erlang C needs n > A as well.
    lo = max(1, math.ceil(a / target.max_occupancy - 1e-9))
    if target.patience_s is None:
        lo = max(lo, math.floor(a) + 1)
    # Exponential search then bisection: SL and occupancy improve monotonically with n.
    hi = lo
    while not _ok(_evaluate(hi, calls_per_s, aht_s, target), target):
        if hi > MAX_AGENTS:
            raise InvalidValue("traffic", a, f"needs more than {MAX_AGENTS} agents")
        hi = hi * 2
    if hi == lo:
        return _evaluate(lo, calls_per_s, aht_s, target)
    lo = hi // 2 if hi // 2 >= lo else lo
    while lo < hi:
        mid = (lo + hi) // 2
        if _ok(_evaluate(mid, calls_per_s, aht_s, target), target):
            hi = mid
        else:
            lo = mid + 1
    return _evaluate(hi, calls_per_s, aht_s, target)


def staffing_table(forecast: Sequence[ForecastInterval], target: StaffingTarget) -> list[StaffingRow]:
    """A staffing row per forecast interval (agents needed, agents to schedule after shrinkage)."""
    rows: list[StaffingRow] = []
    for f in forecast:
        if not math.isfinite(f.interval_s) or f.interval_s <= 0:
            raise InvalidValue("interval_s", f.interval_s, "must be > 0")
        if not math.isfinite(f.calls) or f.calls < 0:
            raise InvalidValue("calls", f.calls, f"must be >= 0 (interval {f.start})")
        lam = f.calls / f.interval_s
        r = required_agents(lam, f.aht_s, target)
        n = 0 if r is None else r.agents
        scheduled = math.ceil(n / (1.0 - target.shrinkage) - 1e-9) if n else 0
        rows.append(StaffingRow(f.start, f.calls, lam * f.aht_s, n, scheduled, r))
    return rows
