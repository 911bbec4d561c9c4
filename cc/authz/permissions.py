"""The permission names, the built-in roles as a table, and what ``agent_self`` allows on one's own things."""

from __future__ import annotations

import enum
from collections.abc import Mapping

__all__ = ["BUILTIN_ROLES", "SELF_SERVICE", "Permission", "ResourceKind", "parse_permissions"]


class Permission(enum.StrEnum):
    """One thing a role may allow (stored by value; a value is never renamed)."""

    VIEW_CONFIG = "view_config"                  #: read queues, agents, tiers, flows, calendars
    EDIT_CONFIG = "edit_config"                  #: change configuration, reload the controller
    VIEW_LIVE = "view_live"                      #: live status: queues, agents, calls, the event stream
    CONTROL_AGENTS = "control_agents"            #: log agents in and out, change their status
    CONTROL_CALLS = "control_calls"              #: hang up, transfer, start/stop a call's recording
    MONITOR_CALLS = "monitor_calls"              #: listen in, whisper, barge
    VIEW_REPORTS = "view_reports"                #: reports and statistics
    VIEW_RECORDINGS = "view_recordings"          #: list and play recordings
    DOWNLOAD_RECORDINGS = "download_recordings"  #: download recording files
    REVEAL_NUMBERS = "reveal_numbers"            #: see phone numbers unmasked (with a reason; audited)
    EXPORT = "export"                            #: large exports (files of records; audited)
    VIEW_CUSTOMERS = "view_customers"            #: read CRM customers and their interactions
    EDIT_CUSTOMERS = "edit_customers"            #: change CRM customers
    MANAGE_CAMPAIGNS = "manage_campaigns"        #: outbound campaigns
    MANAGE_LEADS = "manage_leads"                #: campaign leads
    SCORE_CALLS = "score_calls"                  #: QA: score calls, comment
    MANAGE_SCORECARDS = "manage_scorecards"      #: QA: define scorecards and sampling
    RESOLVE_DISPUTES = "resolve_disputes"        #: QA: settle an agent's dispute of a score
    MANAGE_USERS = "manage_users"                #: users, their grants and tokens (within the scope)
    MANAGE_ROLES = "manage_roles"                #: define roles, change the org tree
    MANAGE_PRIVACY = "manage_privacy"            #: retention, a customer's export or erasure request
    VIEW_AUDIT = "view_audit"                    #: search and export the audit log
    AGENT_SELF = "agent_self"                    #: act for one's own agent (see SELF_SERVICE)


class ResourceKind(enum.StrEnum):
    """What a decision is about (for messages, audit rows and per-kind rules)."""

    SYSTEM = "system"
    CONFIG = "config"
    QUEUE = "queue"
    AGENT = "agent"
    CALL = "call"
    RECORDING = "recording"
    REPORT = "report"
    CUSTOMER = "customer"
    CAMPAIGN = "campaign"
    LEAD = "lead"
    SCORE = "score"
    USER = "user"
    ROLE = "role"
    UNIT = "unit"
    AUDIT = "audit"
    EVENTS = "events"


P = Permission

#: What ``agent_self`` allows on the holder's own agent and own user, whatever the scope of his other grants;
#: the customers permissions reach the customer of his own call (the web desk's screen pop, adding a caller).
SELF_SERVICE: frozenset[Permission] = frozenset({P.VIEW_LIVE, P.CONTROL_AGENTS, P.VIEW_REPORTS, P.VIEW_RECORDINGS,
                                                 P.VIEW_CUSTOMERS, P.EDIT_CUSTOMERS})

_SUPERVISOR = frozenset({P.VIEW_CONFIG, P.VIEW_LIVE, P.CONTROL_AGENTS, P.CONTROL_CALLS, P.MONITOR_CALLS,
                         P.VIEW_REPORTS, P.VIEW_RECORDINGS, P.VIEW_CUSTOMERS, P.RESOLVE_DISPUTES, P.AGENT_SELF})

#: The built-in roles (name -> permissions). They ship with cc, cannot be edited, and their permissions come
#: from this table (not from rows), so a new cc version's permissions reach existing databases.
BUILTIN_ROLES: Mapping[str, frozenset[Permission]] = {
    "admin": frozenset(Permission),
    "manager": _SUPERVISOR | {P.DOWNLOAD_RECORDINGS, P.EXPORT, P.EDIT_CUSTOMERS, P.MANAGE_CAMPAIGNS, P.MANAGE_LEADS,
                              P.SCORE_CALLS, P.MANAGE_USERS},
    "supervisor": _SUPERVISOR,
    "qa": frozenset({P.VIEW_CONFIG, P.VIEW_REPORTS, P.VIEW_RECORDINGS, P.MONITOR_CALLS, P.SCORE_CALLS,
                     P.MANAGE_SCORECARDS, P.AGENT_SELF}),
    "agent": frozenset({P.AGENT_SELF}),
}


def parse_permissions(names: object) -> frozenset[Permission]:
    """Permission names (an iterable of strings) -> the set; ValueError naming the unknown ones."""
    if isinstance(names, str) or not hasattr(names, "__iter__"):
        raise ValueError(f"expected a list of permission names, not {names!r}")
    out, unknown = set(), []
    for name in names:
        try:
            out.add(Permission(str(name).strip()))
        except ValueError:
            unknown.append(str(name))
    if unknown:
        known = ", ".join(p.value for p in Permission)
        raise ValueError(f"unknown permission(s) {', '.join(unknown)} (known: {known})")
    return frozenset(out)
