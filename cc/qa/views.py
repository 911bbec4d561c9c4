"""QA records as plain JSON data: what the API answers, the CLI prints with --json and the web pages render."""

from __future__ import annotations

import datetime
from typing import Any

from cc.store.qa import QaItem, QaScore

__all__ = ["clock", "item_dict", "score_dict", "when"]


def clock(seconds: float | None) -> str:
    """Seconds as ``M:SS`` or ``H:MM:SS`` ('' for None)."""
    if seconds is None:
        return ""
    s = round(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def when(epoch: float) -> str:
    """An instant as ``YYYY-MM-DD HH:MM`` UTC."""
    return datetime.datetime.fromtimestamp(epoch, datetime.UTC).strftime("%Y-%m-%d %H:%M")


def item_dict(i: QaItem) -> dict[str, Any]:
    """A work-list item as plain JSON data (the CLI's --json and the API's answer)."""
    return {"id": i.id, "call": i.call_uuid, "agent": i.agent_id, "at": when(i.call_at), "week": i.week,
            "why": ", ".join(i.reasons), "state": i.state.value, "assigned": i.assigned_to or "",
            "score": i.score_id}


def score_dict(s: QaScore) -> dict[str, Any]:
    """A score as plain JSON data (the CLI's --json and the API's answer)."""
    d = s.dispute
    return {"id": s.id, "item": s.item_id, "call": s.call_uuid, "agent": s.agent_id, "scorecard": s.scorecard,
            "version": s.version, "qa": s.qa_login, "answers": dict(s.answers), "total": s.total,
            "scored_total": s.scored_total, "raw_total": s.raw_total, "critical_failed": s.critical_failed,
            "scored_at": s.scored_at, "state": s.state.value,
            "comments": [{"text": c.text, "offset_s": c.offset_s, "at": clock(c.offset_s), "author": c.author}
                         for c in s.comments],
            "dispute": None if d is None else {
                "reason": d.reason, "by": d.by, "at": d.at, "resolution": d.resolution.value if d.resolution else None,
                "resolved_total": d.resolved_total, "resolved_by": d.resolved_by, "note": d.note}}
