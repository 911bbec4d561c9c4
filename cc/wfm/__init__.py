"""Workforce planning: Erlang B/C/A, staffing per interval, forecasts from history, what-if simulation."""

from __future__ import annotations

from cc.wfm.erlang import ErlangResult, erlang_a, erlang_b, erlang_c, erlang_c_result
from cc.wfm.staffing import ForecastInterval, StaffingRow, StaffingTarget, required_agents, staffing_table

__all__ = [
    "ErlangResult",
    "ForecastInterval",
    "StaffingRow",
    "StaffingTarget",
    "erlang_a",
    "erlang_b",
    "erlang_c",
    "erlang_c_result",
    "required_agents",
    "staffing_table",
]
