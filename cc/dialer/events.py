"""Events the controller feeds into ``Dialer.handle(event, now)``: frozen dataclasses, one per fact."""

from __future__ import annotations

from dataclasses import dataclass

from cc.dialer.campaign_state import CampaignEvent
from cc.dialer.model import Callback, Lead

__all__ = [
    "AgentNotReady",
    "AgentReady",
    "AgentTalking",
    "AgentWrapDone",
    "AgentWrapUp",
    "BridgeFailed",
    "Bridged",
    "CallHungUp",
    "CallbackScheduled",
    "CampaignControl",
    "ClickToDial",
    "DialerEvent",
    "DncAdded",
    "DncRemoved",
    "LeadAdded",
    "LeadRemoved",
    "OriginateAnswered",
    "OriginateFailed",
    "PreviewDial",
    "PreviewSkip",
    "ResultSet",
    "Tick",
]


@dataclass(frozen=True)
class CampaignControl:
    """An operator starts, pauses or stops the campaign."""

    event: CampaignEvent


@dataclass(frozen=True)
class LeadAdded:
    """A lead joins the campaign (import, restore after a restart, re-assignment)."""

    lead: Lead


@dataclass(frozen=True)
class LeadRemoved:
    """A lead leaves the campaign (deleted, moved); an attempt in progress finishes and is settled."""

    lead_id: str


@dataclass(frozen=True)
class DncAdded:
    """``number`` (E.164) goes on the campaign's do-not-call list: it is never dialed from now on."""

    number: str


@dataclass(frozen=True)
class DncRemoved:
    """``number`` leaves the campaign's do-not-call list (leads already marked DNC stay so)."""

    number: str


@dataclass(frozen=True)
class AgentReady:
    """The agent works the campaign and takes calls (logs in, or ends a break)."""

    agent_id: str


@dataclass(frozen=True)
class AgentNotReady:
    """The agent takes no new calls (break, logout); a call or reservation in progress finishes."""

    agent_id: str
    reason: str = ""


@dataclass(frozen=True)
class AgentTalking:
    """The agent is on a call the dialer did not place (inbound, another campaign)."""

    agent_id: str


@dataclass(frozen=True)
class AgentWrapUp:
    """That call (see AgentTalking) ended; the agent is in its wrap-up."""

    agent_id: str


@dataclass(frozen=True)
class AgentWrapDone:
    """That wrap-up (see AgentWrapUp) ended. (Wrap-up after the dialer's own calls ends with ResultSet.)"""

    agent_id: str


@dataclass(frozen=True)
class OriginateAnswered:
    """The customer leg ``uuid`` answered (CHANNEL_ANSWER, or BACKGROUND_JOB ``+OK <uuid>``)."""

    uuid: str


@dataclass(frozen=True)
class OriginateFailed:
    """The originate ``uuid`` failed: BACKGROUND_JOB ``-ERR <cause>``; ``sip_status`` from
    ``variable_sip_term_status`` when the leg's CHANNEL_HANGUP_COMPLETE carried one."""

    uuid: str
    cause: str
    sip_status: int | None = None


@dataclass(frozen=True)
class Bridged:
    """The customer ``uuid`` is bridged to ``agent_id``."""

    uuid: str
    agent_id: str


@dataclass(frozen=True)
class BridgeFailed:
    """The bridge of an answered ``uuid`` to its agent failed (the agent's leg did not come up)."""

    uuid: str
    reason: str = ""


@dataclass(frozen=True)
class CallHungUp:
    """The customer leg ``uuid`` hung up (CHANNEL_HANGUP_COMPLETE) with ``cause``."""

    uuid: str
    cause: str = "NORMAL_CLEARING"
    sip_status: int | None = None


@dataclass(frozen=True)
class ResultSet:
    """The agent sets the result ``code`` of the call ``uuid``; ``callback_at`` with a callback result;
    ``callback_owner_only``: the callback goes to this agent only (else to anyone)."""

    uuid: str
    agent_id: str
    code: str
    callback_at: float | None = None
    callback_owner_only: bool = True
    note: str = ""


@dataclass(frozen=True)
class CallbackScheduled:
    """A callback is scheduled (from the CLI, the API or an agent's screen outside a call's result)."""

    callback: Callback


@dataclass(frozen=True)
class PreviewDial:
    """The agent dials the lead he was offered in preview."""

    agent_id: str
    lead_id: str


@dataclass(frozen=True)
class PreviewSkip:
    """The agent skips the lead he was offered in preview, for ``reason``."""

    agent_id: str
    lead_id: str
    reason: str


@dataclass(frozen=True)
class ClickToDial:
    """Manual dialing: the agent asks to dial ``lead_id`` (or a bare ``number`` of that lead's customer)."""

    agent_id: str
    lead_id: str
    number: str | None = None


@dataclass(frozen=True)
class Tick:
    """Nothing happened but time passed: fire the timers due at ``now`` and pace (see ``next_wakeup``)."""


DialerEvent = (
    CampaignControl | LeadAdded | LeadRemoved | DncAdded | DncRemoved | AgentReady | AgentNotReady
    | AgentTalking | AgentWrapUp | AgentWrapDone | OriginateAnswered | OriginateFailed | Bridged | BridgeFailed
    | CallHungUp | ResultSet | CallbackScheduled | PreviewDial | PreviewSkip | ClickToDial | Tick
)
"""Any event ``Dialer.handle`` accepts."""
