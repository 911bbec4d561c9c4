"""The campaign status machine as one table: ``TABLE[(status, event)] -> status``; others raise."""

from __future__ import annotations

import enum

from cc.dialer.model import CampaignStatus
from cc.statetable import step

__all__ = ["TABLE", "CampaignEvent", "transition"]


class CampaignEvent(enum.StrEnum):
    """What an operator (or the dialer, for FINISH) does to a campaign."""

    START = "start"    # begin or resume dialing
    PAUSE = "pause"    # no new dials; calls in progress finish
    STOP = "stop"      # no new dials; the campaign may be started again later
    FINISH = "finish"  # the dialer found nothing left to dial and nothing open


_S = CampaignStatus
_E = CampaignEvent

TABLE: dict[tuple[CampaignStatus, CampaignEvent], CampaignStatus] = {
    (_S.DRAFT, _E.START): _S.RUNNING,
    (_S.DRAFT, _E.STOP): _S.STOPPED,
    (_S.RUNNING, _E.PAUSE): _S.PAUSED,
    (_S.RUNNING, _E.STOP): _S.STOPPED,
    (_S.RUNNING, _E.FINISH): _S.FINISHED,
    (_S.PAUSED, _E.START): _S.RUNNING,
    (_S.PAUSED, _E.STOP): _S.STOPPED,
    (_S.STOPPED, _E.START): _S.RUNNING,
    (_S.FINISHED, _E.START): _S.RUNNING,   # new leads were added to a finished campaign
}
"""Every legal (status, event) pair and the status it leads to; a pair not listed is illegal."""


def transition(status: CampaignStatus, event: CampaignEvent, campaign: str | None = None) -> CampaignStatus:
    """Return the status after ``event``; raise InvalidTransition if the table has no row."""
    return step(TABLE, status, event, campaign, "campaign")
