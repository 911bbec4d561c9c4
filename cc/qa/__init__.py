"""Quality assurance of calls: scorecards, their arithmetic, sampling, the work list and the QA service."""

from __future__ import annotations
