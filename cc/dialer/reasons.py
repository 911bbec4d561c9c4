"""Why a lead is not dialed now: the reasons ``Dialer.explain`` gives, and its answer."""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["Explanation", "Why"]


class Why(enum.StrEnum):
    """One reason a lead is not dialable at a given time."""

    UNKNOWN_LEAD = "unknown-lead"          # not in this campaign
    FINAL_RESULT = "final-result"          # a final result was set (sale, invalid number ...)
    DNC = "dnc"                            # every number of the lead is on a do-not-call list
    MAX_ATTEMPTS = "max-attempts"          # max attempts, or the result's max retries, reached
    IN_PROGRESS = "in-progress"            # reserved, being dialed, talking or in wrap-up
    CAMPAIGN_DRAFT = "campaign-draft"
    CAMPAIGN_PAUSED = "campaign-paused"
    CAMPAIGN_STOPPED = "campaign-stopped"
    CAMPAIGN_FINISHED = "campaign-finished"
    RETRY_NOT_DUE = "retry-not-due"        # waits for its retry rule's delay (``until``)
    CALLBACK_NOT_DUE = "callback-not-due"  # a callback is scheduled later (``until``)
    WINDOW_CLOSED = "window-closed"        # outside the calling window in the lead's local time (``until``)
    OWNER_NOT_READY = "owner-not-ready"    # only its owner (or callback agent) may take it, and he is not free
    NO_AGENT_READY = "no-agent-ready"      # no agent of the campaign is ready
    MANUAL_MODE = "manual-mode"            # a manual campaign dials only when an agent clicks


@dataclass(frozen=True)
class Explanation:
    """``dialable`` or not, every reason that holds, and ``until``: the earliest time one may lift."""

    lead_id: str
    dialable: bool
    reasons: tuple[Why, ...] = ()
    until: float | None = None
