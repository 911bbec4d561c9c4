"""Outbound dialing core: lead order, calling windows, DNC and pacing; pure like cc.acd (events in, commands out).

```python
from cc.dialer import Dialer, CampaignSettings, CampaignMode, LeadAdded, AgentReady, CampaignControl

d = Dialer(CampaignSettings("spring", mode=CampaignMode.PREDICTIVE, caller_ids=("+8610...",)), now=clock.now())
for c in d.handle(LeadAdded(lead), clock.now()): dispatch(c)      # Originate, Bridge, PlayOverflow, SetResult ...
wake = d.next_wakeup()                                             # then d.handle(Tick(), t)
```
See docs/dialer.md.
"""

from __future__ import annotations

from cc.dialer.campaign_state import CampaignEvent
from cc.dialer.causes import CAUSE_RESULTS, SIP_RESULTS, result_for_failure
from cc.dialer.commands import (
    AddToDnc,
    AgentSetNotReady,
    Bridge,
    CallbackReminder,
    CampaignStatusChanged,
    DialerCommand,
    DialRefused,
    HangupCall,
    LeadChanged,
    Originate,
    PlayOverflow,
    PreviewCancel,
    PreviewOffer,
    ReleaseAgent,
    ReserveAgent,
    SetResult,
)
from cc.dialer.dnc import DncList
from cc.dialer.engine import Dialer, PacingConfig
from cc.dialer.events import (
    AgentNotReady,
    AgentReady,
    AgentTalking,
    AgentWrapDone,
    AgentWrapUp,
    Bridged,
    BridgeFailed,
    CallbackScheduled,
    CallHungUp,
    CampaignControl,
    ClickToDial,
    DialerEvent,
    DncAdded,
    DncRemoved,
    LeadAdded,
    LeadRemoved,
    OriginateAnswered,
    OriginateFailed,
    PreviewDial,
    PreviewSkip,
    ResultSet,
    Tick,
)
from cc.dialer.model import (
    DEFAULT_RESULTS,
    Callback,
    CampaignMode,
    CampaignSettings,
    CampaignStatus,
    DialAttempt,
    Lead,
    LeadState,
    Result,
    ResultCode,
    RetryRule,
)
from cc.dialer.reasons import Explanation, Why

__all__ = [
    "CAUSE_RESULTS", "DEFAULT_RESULTS", "SIP_RESULTS", "AddToDnc", "AgentNotReady", "AgentReady",
    "AgentSetNotReady", "AgentTalking", "AgentWrapDone", "AgentWrapUp", "Bridge", "BridgeFailed", "Bridged",
    "CallHungUp", "Callback", "CallbackReminder", "CallbackScheduled", "CampaignControl", "CampaignEvent",
    "CampaignMode", "CampaignSettings", "CampaignStatus", "CampaignStatusChanged", "ClickToDial", "DialAttempt",
    "DialRefused", "Dialer", "DialerCommand", "DialerEvent", "DncAdded", "DncList", "DncRemoved", "Explanation",
    "HangupCall", "Lead", "LeadAdded", "LeadChanged", "LeadRemoved", "LeadState", "Originate", "OriginateAnswered",
    "OriginateFailed", "PacingConfig", "PlayOverflow", "PreviewCancel", "PreviewDial", "PreviewOffer",
    "PreviewSkip", "ReleaseAgent", "ReserveAgent", "Result", "ResultCode", "ResultSet", "RetryRule", "SetResult",
    "Tick", "Why", "result_for_failure",
]
