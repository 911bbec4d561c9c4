"""Reports: pure streaming metrics over history (queues, agents, calls, surveys), exports and charts.

See docs/reports.md for every definition (formulas, which rows count).
"""

from __future__ import annotations

from cc.reports.intervals import INTERVALS, Bucketer, parse_interval, parse_time, zone
from cc.reports.metrics import AgentReport, CallsReport, QueueReport, SurveyReport, merge_by_time
from cc.reports.table import Column, Report

__all__ = [
    "INTERVALS",
    "AgentReport",
    "Bucketer",
    "CallsReport",
    "Column",
    "QueueReport",
    "Report",
    "SurveyReport",
    "merge_by_time",
    "parse_interval",
    "parse_time",
    "zone",
]
