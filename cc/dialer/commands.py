"""Commands ``Dialer.handle`` returns for the controller to carry out: frozen dataclasses, in order."""

from __future__ import annotations

from dataclasses import dataclass

from cc.dialer.model import CampaignStatus, DialAttempt, Lead

__all__ = [
    "AddToDnc",
    "AgentSetNotReady",
    "Bridge",
    "CallbackReminder",
    "CampaignStatusChanged",
    "DialRefused",
    "DialerCommand",
    "HangupCall",
    "LeadChanged",
    "Originate",
    "PlayOverflow",
    "PreviewCancel",
    "PreviewOffer",
    "ReleaseAgent",
    "ReserveAgent",
    "SetResult",
]


@dataclass(frozen=True)
class Originate:
    """``bgapi originate`` with ``origination_uuid=uuid``, ``origination_caller_id_number=caller_id``,
    ``originate_timeout=timeout_s`` and ``ignore_early_media=true`` to ``dial_string``.

    ``agent_id`` is the agent reserved for the call (None: predictive, an agent is chosen at answer);
    ``agent_first``: click-to-dial, ring the agent's leg first and bridge it to the customer.
    """

    uuid: str
    campaign_id: str
    lead_id: str
    number: str
    dial_string: str
    caller_id: str
    timeout_s: float
    agent_id: str | None = None
    agent_first: bool = False


@dataclass(frozen=True)
class Bridge:
    """Bridge the answered customer ``uuid`` to ``agent_id`` (report Bridged or BridgeFailed)."""

    uuid: str
    agent_id: str
    lead_id: str


@dataclass(frozen=True)
class PlayOverflow:
    """The customer ``uuid`` answered and no agent is free: play ``message`` now, then hang up."""

    uuid: str
    message: str


@dataclass(frozen=True)
class HangupCall:
    """Hang up ``uuid`` (``uuid_kill``) with ``cause``: a watchdog found it silent."""

    uuid: str
    cause: str


@dataclass(frozen=True)
class ReserveAgent:
    """``agent_id`` is held for ``lead_id`` (``why``: progressive, callback, preview, manual)."""

    agent_id: str
    lead_id: str
    why: str


@dataclass(frozen=True)
class ReleaseAgent:
    """The hold on ``agent_id`` ended without a call (``why``)."""

    agent_id: str
    why: str


@dataclass(frozen=True)
class PreviewOffer:
    """Show ``lead`` (with its customer and history) to ``agent_id``; he dials or skips within ``timeout_s``."""

    agent_id: str
    lead: Lead
    timeout_s: float


@dataclass(frozen=True)
class PreviewCancel:
    """Withdraw the preview of ``lead_id`` from ``agent_id`` (timeout, DNC, campaign paused)."""

    agent_id: str
    lead_id: str
    why: str


@dataclass(frozen=True)
class AgentSetNotReady:
    """The dialer put ``agent_id`` to not ready (``why``: preview-timeout)."""

    agent_id: str
    why: str


@dataclass(frozen=True)
class SetResult:
    """The one result of one originate: write the dial_attempts row (``attempt.result`` is set)."""

    attempt: DialAttempt


@dataclass(frozen=True)
class LeadChanged:
    """A lead's state, attempts, next dial time or last result changed: persist it."""

    lead: Lead


@dataclass(frozen=True)
class AddToDnc:
    """Put ``number`` on the campaign's do-not-call list (the agent set a DNC result on ``lead_id``)."""

    number: str
    lead_id: str


@dataclass(frozen=True)
class CallbackReminder:
    """Remind ``agent_id`` (None: the campaign's agents) of the callback of ``lead_id`` due at ``due_at``;
    ``kind`` is "before" (due - reminder) or "due"."""

    lead_id: str
    agent_id: str | None
    due_at: float
    kind: str


@dataclass(frozen=True)
class DialRefused:
    """A click-to-dial or preview dial was refused; ``reasons`` say why (see Dialer.explain)."""

    agent_id: str
    lead_id: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class CampaignStatusChanged:
    """The campaign's status changed at ``at``."""

    campaign_id: str
    status: CampaignStatus
    at: float


DialerCommand = (
    Originate | Bridge | PlayOverflow | HangupCall | ReserveAgent | ReleaseAgent | PreviewOffer | PreviewCancel
    | AgentSetNotReady | SetResult | LeadChanged | AddToDnc | CallbackReminder | DialRefused
    | CampaignStatusChanged
)
"""Any command ``Dialer.handle`` returns."""
