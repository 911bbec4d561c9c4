"""The ACD: a pure, in-memory, event-driven call distributor (events and ``now`` in, commands out).

See docs/acd.md for the contract the controller codes against.
"""

from __future__ import annotations

from cc.acd.agent_state import TABLE, AgentEvent, transition
from cc.acd.commands import (
    AcdCommand,
    AgentAutoBreak,
    AgentStateChanged,
    Announce,
    CancelOffer,
    Connect,
    Exit,
    Offer,
    OfferCallback,
)
from cc.acd.engine import Acd
from cc.acd.events import (
    AcdEvent,
    AgentAnswered,
    AgentBusy,
    AgentInCall,
    AgentLogin,
    AgentLogout,
    AgentNoAnswer,
    AgentRejected,
    AgentRinging,
    AgentStatusChanged,
    CallbackRequested,
    CallEnded,
    CountersReset,
    MemberJoined,
    MemberLeft,
    OfferWithdrawn,
    Tick,
    WrapUpDone,
)
from cc.acd.skills import parse_steps
from cc.acd.views import AcdSnapshot, AgentView, MemberView, QueueView

__all__ = [
    "TABLE",
    "Acd",
    "AcdCommand",
    "AcdEvent",
    "AcdSnapshot",
    "AgentAnswered",
    "AgentAutoBreak",
    "AgentBusy",
    "AgentEvent",
    "AgentInCall",
    "AgentLogin",
    "AgentLogout",
    "AgentNoAnswer",
    "AgentRejected",
    "AgentRinging",
    "AgentStateChanged",
    "AgentStatusChanged",
    "AgentView",
    "Announce",
    "CallEnded",
    "CallbackRequested",
    "CancelOffer",
    "Connect",
    "CountersReset",
    "Exit",
    "MemberJoined",
    "MemberLeft",
    "MemberView",
    "Offer",
    "OfferCallback",
    "OfferWithdrawn",
    "QueueView",
    "Tick",
    "WrapUpDone",
    "parse_steps",
    "transition",
]
