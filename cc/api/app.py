"""The HTTP control API as a WSGI application: routes, token checks, JSON in and out, SSE and metrics.

Every route is declared once in :data:`ROUTES` (method, path, the permission it needs and how to find the
resource it acts on, schemas); the dispatcher, the OpenAPI document (/openapi.json) and the route x role
test are all built from that table, so they cannot disagree. Every check is cc.authz's one decision.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from cc.api.auth import Caller, Locate, authenticate, authorize, locate
from cc.api.campaigns import CAMPAIGN_FIELDS, CONTROL_ACTIONS, RESULT_FIELDS, CampaignApi
from cc.api.events import EventHub
from cc.api.metrics import MetricsCollector, render_metrics
from cc.api.offload import Offload, StoreWatch
from cc.api.openapi import build_document
from cc.api.reload import apply_store, read_store
from cc.authz import Permission, Resource, ResourceKind, allowed
from cc.errors import ApiError, CCError, ConfigError, Conflict, ESLError, NotFound, StoreError
from cc.model import AgentStatus
from cc.privacy.mask import mask_payload, mask_text
from cc.privacy.reveal import Disclosure, RevealRefused
from cc.runtime.agent_call import ACTIONS as AGENT_CALL_ACTIONS
from cc.runtime.agent_call import NOTE_MAX, TRANSFER_KINDS
from cc.runtime.agent_call import act as agent_call_act
from cc.runtime.hooks import HookEvent, Hooks
from cc.runtime.monitor import MODES as MONITOR_MODES
from cc.store.audit import Actor, AuditRepo
from cc.store.audit_adapter import StoreAudit
from cc.store.db import bounded
from cc.store.repos import CustomerRepo, QueueEventRepo
from cc.store.tokens import TokenRepo

__all__ = ["ROUTES", "ApiApp", "Request", "Route"]

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
RECORD_ACTIONS = ("start", "pause", "resume", "stop")
_CAUSE = re.compile(r"^[A-Z_]{1,64}$")
_TARGET = re.compile(r"^[A-Za-z0-9_+*#.@:/-]{1,128}$")


@dataclass
class Request:
    """One parsed request: path parameters, query, JSON body and the caller (token and user)."""

    method: str
    path: str
    params: dict[str, str]
    query: dict[str, str]
    body: dict[str, Any]
    caller: Caller | None = None
    #: the client's address (REMOTE_ADDR), for audit rows
    client: str = ""
    #: what every answer passes through before it leaves: number masking, or nothing for an audited reveal
    view: Callable[[Any], Any] = mask_payload
    #: the WSGI environ (a ``form`` route parses its multipart body from it)
    environ: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Route:
    """One endpoint: the permission it needs on which resource, and what goes in and out (also its OpenAPI
    entry). ``auth=False``: no token (health, metrics, this document); ``permission=None``: any signed-in user."""

    method: str
    path: str
    handler: str
    summary: str
    permission: Permission | None = Permission.VIEW_LIVE
    locate: Locate = Locate.SHARED
    auth: bool = True
    body: dict[str, Any] | None = None
    response: str = "Ok"
    query: tuple[tuple[str, str, str], ...] = ()
    content_type: str = "application/json"
    tag: str = "live"
    statuses: tuple[int, ...] = ()
    required: tuple[str, ...] = ()
    #: a multipart/form-data upload (a ``file`` part and these fields: name, type, description), not JSON
    form: tuple[tuple[str, str, str], ...] = ()
    #: the audit action the dispatcher writes after the change succeeded ("": not audited here; a route that
    #: changes something either names one or its service audits in the change's own transaction)
    audit: str = ""
    pattern: re.Pattern[str] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.path))
        object.__setattr__(self, "pattern", re.compile(f"^{regex}$"))


_REASON = {"type": "string", "maxLength": 64, "description": "A reason code (e.g. lunch)."}
#: the JSON types a body field may declare besides string
_JSON_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict), "array": lambda v: isinstance(v, list),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool), "boolean": lambda v: isinstance(v, bool)}
_STATUS = {"type": "string", "enum": [s.value for s in AgentStatus if s is not AgentStatus.LOGGED_OUT]}

_MC, _ML, _VR = Permission.MANAGE_CAMPAIGNS, Permission.MANAGE_LEADS, Permission.VIEW_REPORTS
_STRS = {"type": "array", "description": "A list of strings."}
_LEAD_FIELD = {"type": "string", "maxLength": 32, "description": "A lead's id."}
_CAMPAIGN_FIELD = {"type": "string", "maxLength": 128, "description": "The campaign (default: his running one)."}
_LEAD_NUMBER_FIELD = {"type": "string", "maxLength": 64, "description": "One of the lead's numbers."}
_NUMBER_FIELD = {"type": "string", "maxLength": 64, "description": "A phone number (E.164 or national)."}
_SCOPE_FIELD = {"type": "string", "maxLength": 128, "description": "A campaign's own list (default: global)."}
_REGION_FIELD = {"type": "string", "pattern": "^[A-Za-z]{2}$", "description": "Region of national numbers (CN)."}
_IMPORT_FORM = (("map", "string", "COLUMN=FIELD pairs separated by ';' (as ccctl's --map)."),
                ("region", "string", "Region of national numbers (default CN)."),
                ("tz", "string", "Time zone of leads whose number and row give none."),
                ("partial", "boolean", "Import the good rows even when some rows have errors."),
                ("dry_run", "boolean", "Check only; write nothing."),
                ("encoding", "string", "Text encoding of a CSV (default: detected)."))

#: The campaign administration (docs/campaigns.md, "The HTTP API"); the handlers are cc.api.campaigns'. Each
#: change writes its audit row in its own transaction (cc.api.campaigns.CAMPAIGN_AUDIT names the actions).
CAMPAIGN_ROUTES: tuple[Route, ...] = (
    Route("GET", "/api/v1/campaigns", "campaign_list", "Every campaign with its lead counts.",
          permission=_VR, response="object", tag="campaigns"),
    Route("POST", "/api/v1/campaigns", "campaign_add", "Add a campaign (a draft, with the default results).",
          permission=_MC, locate=Locate.ORG, response="object", tag="campaigns", statuses=(404, 409),
          body={"name": {"type": "string", "maxLength": 128}, **CAMPAIGN_FIELDS}, required=("name",)),
    Route("GET", "/api/v1/campaigns/{name}", "campaign_show", "A campaign's settings, results and imports.",
          permission=_VR, response="object", tag="campaigns"),
    Route("PATCH", "/api/v1/campaigns/{name}", "campaign_set", "Change the settings the body names.",
          permission=_MC, locate=Locate.ORG, response="object", tag="campaigns", body=CAMPAIGN_FIELDS),
    Route("POST", "/api/v1/campaigns/{name}/control", "campaign_control",
          "Start, pause, stop or finish a campaign: through the running dialer when this controller runs one, "
          "else in the store; 409 when its status does not allow it.", permission=_MC, locate=Locate.ORG,
          response="object", tag="campaigns", body={"action": {"type": "string", "enum": list(CONTROL_ACTIONS)}},
          required=("action",)),
    Route("GET", "/api/v1/campaigns/{name}/live", "campaign_live",
          "Live figures: dials, contacts, abandon rate over 24 h, agents working; from the running dialer "
          "(source: dialer) or else the store (source: store).", permission=_VR, response="object",
          tag="campaigns"),
    Route("GET", "/api/v1/campaigns/{name}/leads", "campaign_leads",
          "A page of a campaign's leads by id (numbers masked unless revealed).", permission=_ML,
          response="object", tag="campaigns",
          query=(("state", "string", "Only these states (comma-separated)."),
                 ("owner", "string", "Only this agent's leads."), ("unowned", "boolean", "Only leads nobody owns."),
                 ("result", "string", "Only leads whose last result is this code."),
                 ("limit", "integer", "Leads per page (default 100, at most 1000)."),
                 ("after", "integer", "The next page: leads after this id (next_after of the previous page)."))),
    Route("POST", "/api/v1/campaigns/{name}/leads/import", "campaign_import",
          "A lead file (.xlsx or .csv, multipart part 'file') into a campaign: a per-row report; nothing is "
          "written when a row has an error unless partial=true.", permission=_ML, locate=Locate.ORG,
          response="object", tag="campaigns", form=_IMPORT_FORM, statuses=(413,)),
    Route("POST", "/api/v1/campaigns/{name}/assign", "campaign_assign",
          "Give open leads to agents: even [agents] (per_agent at most), leads [ids] to agent (or unowned), or "
          "from_agent's leads to to_agent, even or unowned.", permission=_ML, locate=Locate.ORG,
          response="object", tag="campaigns",
          body={"even": _STRS, "per_agent": {"type": "integer"}, "leads": {"type": "array"},
                "agent": {"type": "string", "maxLength": 128}, "from_agent": {"type": "string", "maxLength": 128},
                "to_agent": {"type": "string", "maxLength": 128}, "unowned": {"type": "boolean"}}),
    Route("GET", "/api/v1/campaigns/{name}/results", "result_list",
          "A campaign's results (dispositions) with flags and retry rules.", permission=_VR, response="object",
          tag="campaigns"),
    Route("POST", "/api/v1/campaigns/{name}/results", "result_add", "Add a result to a campaign.",
          permission=_MC, locate=Locate.ORG, response="object", tag="campaigns",
          body={"code": {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,63}$"}, **RESULT_FIELDS},
          required=("code",)),
    Route("PATCH", "/api/v1/campaigns/{name}/results/{code}", "result_set",
          "Change a result's labels, flags or retry rule.", permission=_MC, locate=Locate.ORG, response="object",
          tag="campaigns", body=RESULT_FIELDS, statuses=(409,)),
    Route("DELETE", "/api/v1/campaigns/{name}/results/{code}", "result_del",
          "Remove a result (the dialer's own results stay).", permission=_MC, locate=Locate.ORG,
          response="object", tag="campaigns", body={}, statuses=(409,)),
    Route("GET", "/api/v1/dnc", "dnc_list", "The do-not-call list: global, a campaign's, or all.",
          permission=_ML, response="object", tag="campaigns",
          query=(("campaign", "string", "A campaign's own list."), ("all", "boolean", "Every list."),
                 ("limit", "integer", "At most this many (default 1000)."))),
    Route("POST", "/api/v1/dnc", "dnc_add",
          "Put numbers on a do-not-call list (all or none); a running dialer skips them from its next dial.",
          permission=_ML, locate=Locate.ORG, response="object", tag="campaigns",
          body={"numbers": _STRS, "campaign": _SCOPE_FIELD, "reason": {"type": "string", "maxLength": 1000},
                "region": _REGION_FIELD}, required=("numbers",)),
    Route("POST", "/api/v1/dnc/del", "dnc_del", "Take a number off a do-not-call list.",
          permission=_ML, locate=Locate.ORG, response="object", tag="campaigns",
          body={"number": _NUMBER_FIELD, "campaign": _SCOPE_FIELD, "region": _REGION_FIELD}, required=("number",)),
    Route("POST", "/api/v1/dnc/check", "dnc_check",
          "Whether a number may be dialed (globally, or in a campaign); a POST keeps the number out of URLs "
          "(a read: nothing changes, nothing is audited).",
          permission=_ML, response="object", tag="campaigns",
          body={"number": _NUMBER_FIELD, "campaign": _SCOPE_FIELD, "region": _REGION_FIELD}, required=("number",)),
    Route("POST", "/api/v1/dnc/import", "dnc_import",
          "Every number of a file's phone columns onto a list (multipart part 'file'); a bad number is reported "
          "with row and column, and then nothing is added.", permission=_ML, locate=Locate.ORG,
          response="object", tag="campaigns", statuses=(413,),
          form=(("campaign", "string", "A campaign's own list (default: global)."),
                ("reason", "string", "Why (kept with every entry)."),
                ("region", "string", "Region of national numbers (default CN)."),
                ("encoding", "string", "Text encoding of a CSV (default: detected)."))),
    Route("GET", "/api/v1/callbacks", "callback_list", "Scheduled callbacks by due time.",
          permission=_ML, response="object", tag="campaigns",
          query=(("campaign", "string", "Only this campaign's."),
                 ("agent", "string", "Only this agent's (and those anyone may take)."),
                 ("state", "string", "States (comma-separated; default pending)."),
                 ("overdue", "boolean", "Only those already due."), ("limit", "integer", "At most this many."))),
    Route("POST", "/api/v1/callbacks", "callback_add",
          "Schedule a callback of a lead (due_at: epoch seconds, cut to the minute) for an agent, the lead's "
          "owner, or anyone.", permission=_ML, locate=Locate.ORG, response="object", tag="campaigns",
          body={"lead_id": {"type": "integer", "minimum": 1, "maximum": 2**62 - 1}, "due_at": {"type": "number"},
                "agent": {"type": "string", "maxLength": 128}, "anyone": {"type": "boolean"},
                "note": {"type": "string", "maxLength": 4000}}, required=("lead_id", "due_at")),
    Route("POST", "/api/v1/callbacks/{callback_id}/done", "callback_done",
          "Close a pending callback as done (or outcome missed / cancelled).", permission=_ML, locate=Locate.ORG,
          response="object", tag="campaigns",
          body={"outcome": {"type": "string", "enum": ["done", "missed", "cancelled"]}}),
)

ROUTES: tuple[Route, ...] = (
    Route("GET", "/healthz", "healthz", "Health: FreeSWITCH connections, database, writer backlog.", auth=False,
          response="Health", tag="ops", statuses=(503,)),
    Route("GET", "/metrics", "metrics", "Prometheus metrics.", auth=False, response="text",
          content_type="text/plain", tag="ops"),
    Route("GET", "/openapi.json", "openapi", "This document.", auth=False, response="object", tag="ops"),
    Route("GET", "/api/v1/whoami", "whoami", "The token's user: login, roles with scopes, agent, permissions.",
          permission=None, locate=Locate.SELF, response="Token"),
    Route("GET", "/api/v1/status", "status", "Queues (with service level today), waiting members and agents.",
          query=(("queue", "string", "Only this queue."),), response="Status"),
    Route("GET", "/api/v1/queues", "queues", "Every queue's live figures.", response="QueueList"),
    Route("GET", "/api/v1/queues/{queue}", "queue", "One queue with its members and agents.",
          response="Status"),
    Route("GET", "/api/v1/agents", "agents", "Every agent's status and state (those in the caller's scope).",
          response="AgentList"),
    Route("GET", "/api/v1/agents/{agent_id}", "agent", "One agent's status and state.", locate=Locate.AGENT,
          response="Agent"),
    Route("POST", "/api/v1/agents/{agent_id}/login", "login", "Log an agent in.",
          permission=Permission.CONTROL_AGENTS, locate=Locate.AGENT,
          body={"status": _STATUS, "reason": _REASON}, response="Agent", audit="agent.login"),
    Route("POST", "/api/v1/agents/{agent_id}/logout", "logout", "Log an agent out.",
          permission=Permission.CONTROL_AGENTS, locate=Locate.AGENT,
          body={"reason": _REASON}, response="Agent", audit="agent.logout"),
    Route("POST", "/api/v1/agents/{agent_id}/status", "set_status", "Change an agent's status.",
          permission=Permission.CONTROL_AGENTS, locate=Locate.AGENT,
          body={"status": _STATUS, "reason": _REASON}, response="Agent", required=("status",),
          audit="agent.status"),
    Route("POST", "/api/v1/agents/{agent_id}/wrap-up-done", "wrap_up_done", "End an agent's wrap-up now.",
          permission=Permission.CONTROL_AGENTS, locate=Locate.AGENT, response="Agent", audit="agent.wrap_up_done"),
    Route("POST", "/api/v1/agents/{agent_id}/outbound/preview", "outbound_preview",
          "Dial or skip (with a reason) the lead the agent is previewing (docs/dialer.md, runtime); 409 when the "
          "campaign refuses it.", permission=Permission.CONTROL_AGENTS, locate=Locate.AGENT, response="object",
          tag="campaigns", statuses=(404, 409), audit="outbound.preview",
          body={"action": {"type": "string", "enum": ["dial", "skip"]}, "lead_id": _LEAD_FIELD,
                "reason": {"type": "string", "maxLength": 200, "description": "Why the lead is skipped."},
                "campaign": _CAMPAIGN_FIELD}, required=("action", "lead_id")),
    Route("POST", "/api/v1/agents/{agent_id}/outbound/dial", "outbound_dial",
          "Click-to-dial: the agent's phone rings first, then the lead's number (or the given one of its numbers), "
          "or a customer's number by its position (his lead's in a campaign the agent works, else a manual call; "
          "needs view_customers too).",
          permission=Permission.CONTROL_AGENTS, locate=Locate.AGENT, response="object", tag="campaigns",
          statuses=(400, 403, 404, 409), audit="outbound.dial",
          body={"lead_id": _LEAD_FIELD, "number": _LEAD_NUMBER_FIELD, "campaign": _CAMPAIGN_FIELD,
                "customer_id": {"type": "string", "maxLength": 64, "description": "A customer (instead of a lead)."},
                "phone": {"type": "integer", "description": "The position of the customer's number (0: first)."}}),
    Route("POST", "/api/v1/agents/{agent_id}/outbound/result", "outbound_result",
          "The result of the agent's call (his latest, or uuid): note, customer type, callback time; ends the "
          "wrap-up once the call is over; the call becomes a CRM interaction.",
          permission=Permission.CONTROL_AGENTS, locate=Locate.AGENT, response="object", tag="campaigns",
          statuses=(404, 409), audit="outbound.result",
          body={"code": {"type": "string", "maxLength": 64, "description": "A result code of the campaign."},
                "uuid": {"type": "string", "maxLength": 64, "description": "The call (default: his latest)."},
                "note": {"type": "string", "maxLength": 2000}, "customer_type": {"type": "string", "maxLength": 64},
                "callback_at": {"type": "number", "description": "Callback time (epoch seconds)."},
                "callback_anyone": {"type": "boolean", "description": "The callback may go to any agent."},
                "campaign": _CAMPAIGN_FIELD}, required=("code",)),
    Route("GET", "/api/v1/calls", "calls", "Calls in progress (those in the caller's scope).", response="CallList"),
    Route("POST", "/api/v1/calls/{uuid}/hangup", "hangup", "Hang up a call.",
          permission=Permission.CONTROL_CALLS, locate=Locate.CALL,
          body={"cause": {"type": "string", "pattern": _CAUSE.pattern}}, audit="call.hangup"),
    Route("POST", "/api/v1/calls/{uuid}/transfer", "transfer",
          "Transfer a call to a dialplan extension; 409 when the call ends instead of reaching it.", statuses=(409,),
          permission=Permission.CONTROL_CALLS, locate=Locate.CALL,
          body={"target": {"type": "string", "pattern": _TARGET.pattern},
                "context": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"}}, required=("target",),
          audit="call.transfer"),
    Route("POST", "/api/v1/calls/{uuid}/record", "record",
          "Start, pause, resume or stop a call's recording; 409 when the action does not fit its state, or a start "
          "is refused because the recording notice is required and the caller has not heard it.",
          permission=Permission.CONTROL_CALLS, locate=Locate.CALL,
          body={"action": {"type": "string", "enum": list(RECORD_ACTIONS)}}, required=("action",),
          response="Recording", audit="call.record"),
    Route("POST", "/api/v1/agents/{agent_id}/call", "agent_call",
          "Act on the call the agent is talking on: hold / resume (uuid_hold on his leg: the caller hears music; "
          "'held' in the answer is what the switch's CHANNEL_HOLD / CHANNEL_UNHOLD said so far), hangup (his leg), "
          "dtmf (digits to the caller), record_pause / record_resume; transfer (blind: kind agent, queue or number, "
          "target, note for the agent who takes the call: he must be ready), consult (an agent, while the caller "
          "waits), complete / cancel (of the consultation); 404 without a call, 409 when the action does "
          "not fit its state.", permission=Permission.CONTROL_AGENTS, locate=Locate.AGENT, response="object",
          body={"action": {"type": "string", "enum": list(AGENT_CALL_ACTIONS)},
                "digits": {"type": "string", "pattern": "^[0-9*#A-Da-d]{1,32}$"},
                "kind": {"type": "string", "enum": list(TRANSFER_KINDS)},
                "target": {"type": "string", "pattern": "^[0-9A-Za-z*#+_.@-]{1,64}$"},
                "note": {"type": "string", "maxLength": NOTE_MAX}},
          required=("action",), statuses=(404, 409), audit="agent.call"),
    Route("POST", "/api/v1/agents/{agent_id}/monitor", "monitor",
          "Listen in on, whisper to or barge in on an agent's call: the caller's phone (his user's agent's contact) "
          "rings into FreeSWITCH eavesdrop on the agent's leg; 409 when the agent is not in a call or the caller "
          "has no phone.", permission=Permission.MONITOR_CALLS, locate=Locate.AGENT, response="object",
          body={"mode": {"type": "string", "enum": list(MONITOR_MODES)}}, required=("mode",),
          statuses=(404, 409), audit="monitor.start"),
    Route("POST", "/api/v1/monitors/{monitor_id}/mode", "monitor_mode",
          "Switch one's own monitoring to listen, whisper or barge in the call (eavesdrop's DTMF).",
          permission=Permission.MONITOR_CALLS, response="object", statuses=(404, 409),
          body={"mode": {"type": "string", "enum": list(MONITOR_MODES)}}, required=("mode",), audit="monitor.mode"),
    Route("POST", "/api/v1/monitors/{monitor_id}/stop", "monitor_stop",
          "End one's own monitoring (the supervisor's leg hangs up; the call goes on).",
          permission=Permission.MONITOR_CALLS, response="object", statuses=(404,), body={}, audit="monitor.stop"),
    Route("POST", "/api/v1/reload", "reload", "Re-read queues, agents, tiers, routes and calendars from the store.",
          permission=Permission.EDIT_CONFIG, locate=Locate.ORG, response="Reload", tag="admin", audit="config.reload"),
    Route("GET", "/api/v1/qa/items", "qa_items",
          "The QA work list: calls of agents in the caller's scope (score_calls).",
          permission=Permission.SCORE_CALLS, response="QaItemList", tag="qa",
          query=(("week", "string", "Only this ISO week (2026-W49)."), ("state", "string", "Only this state."),
                 ("mine", "boolean", "Only items assigned to the caller."))),
    Route("POST", "/api/v1/qa/items/{item_id}/score", "qa_score",
          "Score a work-list item's call with a scorecard (score_calls on its agent; never one's own).",
          permission=Permission.SCORE_CALLS, response="QaScore", tag="qa", statuses=(403, 404, 409),
          body={"scorecard": {"type": "string", "maxLength": 128},
                "answers": {"type": "object", "description": "item key -> pass | fail | na | points"},
                "comments": {"type": "array", "description": "[{text, offset_s}] (offset in the recording)"}},
          required=("scorecard", "answers")),
    Route("GET", "/api/v1/qa/my-scores", "qa_my_scores",
          "The caller's own agent's scores with comments and disputes (agent_self).",
          permission=Permission.AGENT_SELF, locate=Locate.SELF, response="QaScoreList", tag="qa"),
    Route("GET", "/api/v1/qa/scores/{score_id}", "qa_score_view",
          "One score: for its agent, a QA user or a supervisor over the agent.",
          permission=Permission.AGENT_SELF, locate=Locate.SELF, response="QaScore", tag="qa", statuses=(403, 404)),
    Route("POST", "/api/v1/qa/scores/{score_id}/dispute", "qa_dispute",
          "Dispute one's own score, once, with a reason (agent_self).",
          permission=Permission.AGENT_SELF, locate=Locate.SELF, response="QaScore", tag="qa",
          statuses=(403, 404, 409), body={"reason": {"type": "string", "maxLength": 4000}}, required=("reason",)),
    Route("POST", "/api/v1/qa/scores/{score_id}/resolve", "qa_resolve",
          "Resolve a dispute: upheld, or changed with a new total (resolve_disputes over the agent).",
          permission=Permission.RESOLVE_DISPUTES, response="QaScore", tag="qa", statuses=(403, 404, 409),
          body={"resolution": {"type": "string", "enum": ["upheld", "changed"]},
                "total": {"type": "number", "description": "The new total (0-100) of a changed score."},
                "note": {"type": "string", "maxLength": 4000},
                "keep_critical": {"type": "boolean",
                                  "description": "Keep the critical fail of a changed score (its total is then 0)."}},
          required=("resolution",)),
    Route("GET", "/api/v1/events", "events",
          "Server-sent events: agent status, members, bridges, call ends (only those in the caller's scope).",
          locate=Locate.SELF, content_type="text/event-stream", response="text",
          query=(("kinds", "string", "Comma-separated hook kinds (default: all)."),
                 ("limit", "integer", "End the stream after this many events.")), tag="events"),
    *CAMPAIGN_ROUTES,
)


def _json(obj: Any) -> bytes:
    return json.dumps(obj, default=str, separators=(",", ":"), allow_nan=False).encode()


_FIELDS: dict[type, tuple[str, ...]] = {}


def _view(obj: Any) -> dict[str, Any]:
    """A flat view dataclass as a dict (shallow: its fields are plain values, enums and tuples)."""
    names = _FIELDS.get(type(obj))
    if names is None:
        names = _FIELDS[type(obj)] = tuple(f.name for f in dataclasses.fields(obj))
    return {name: getattr(obj, name) for name in names}


class ApiApp:
    """The WSGI application over a started Service (``controller``, ``db``, ``writer``, ``hooks``)."""

    def __init__(self, service: Any, *, hooks: Hooks | None = None, tokens: TokenRepo | None = None,
                 disclosure: Disclosure | None = None) -> None:
        self.service = service
        #: the API's own small pool on the store (statement timeout, keepalives); used only from threads
        self.db = bounded(service.db)
        #: numbers are masked in every answer unless a permitted user sends X-Reveal-Reason (audited);
        # who may reveal is the policy's (reveal_numbers, checked in _view_for); each reveal is audited first
        self.disclosure = disclosure if disclosure is not None else \
            Disclosure(may_reveal=lambda actor: True, audit=StoreAudit(self.db))
        self.tokens = tokens if tokens is not None else TokenRepo(self.db)
        self.offload = Offload()
        self.watch = StoreWatch(self.db, self.tokens, self.offload)
        self.hub = EventHub(hooks if hooks is not None else service.hooks)
        self.metrics = MetricsCollector(service, self.hub)
        self._document: dict[str, Any] | None = None
        self._qa: Any = None
        #: the campaign administration routes' handlers (cc.api.campaigns)
        self.campaign_api = CampaignApi(service, self.db, self.offload)
        self.requests = 0

    # ------------------------------------------------------------------ WSGI
    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """Dispatch one request."""
        self.requests += 1
        self.watch.start()
        method = environ.get("REQUEST_METHOD", "GET").upper()
        path = environ.get("PATH_INFO", "") or "/"
        try:
            route, params = self._match(method, path)
            req = Request(method, path, params, self._query(environ), {}, client=environ.get("REMOTE_ADDR", ""),
                          environ=environ)
            if route.auth:
                req.caller = caller = authenticate(environ.get("HTTP_AUTHORIZATION"), self.watch.verify)
                resource = self._locate(route, params, caller)
                if route.permission is not None:
                    authorize(caller, route.permission, resource, f"{method} {path}")
                req.view = self._view_for(req, environ.get("HTTP_X_REVEAL_REASON"), resource)
            if route.method != "GET" and not getattr(self.service, "leading", True):
                return self._not_leading(start_response)
            if route.form:
                pass   # the handler parses its multipart form (Werkzeug)
            elif route.body is not None or method == "POST":
                req.body = self._body(environ, route)
            result = self._handler(route)(req)
            if route.audit:
                self._audit(route, req, result)
            if not isinstance(result, tuple):
                result = req.view(result)
        except RevealRefused as exc:
            return self._error(start_response, 403, "forbidden", str(exc))
        except ApiError as exc:
            return self._error(start_response, exc.status, exc.kind or "error", str(exc))
        except NotFound as exc:
            return self._error(start_response, 404, "not_found", str(exc))
        except Conflict as exc:
            return self._error(start_response, 409, "conflict", str(exc))
        except ConfigError as exc:
            return self._error(start_response, 400, "invalid", str(exc))
        except ESLError as exc:
            return self._error(start_response, 502, "freeswitch", str(exc))
        except StoreError as exc:
            return self._error(start_response, 503, "database", str(exc))
        except CCError as exc:
            return self._error(start_response, 409, "refused", str(exc))
        except Exception:
            log.exception("api: %s %s failed", method, path)
            return self._error(start_response, 500, "internal", "internal error (see the controller's log)")
        if isinstance(result, tuple) and len(result) == 3:
            status, ctype, payload = result
            headers = [("Content-Type", ctype), ("Cache-Control", "no-cache")]
            if ctype == "text/event-stream":
                headers.append(("X-Accel-Buffering", "no"))
                start_response(f"{status} OK", headers)
                return payload  # type: ignore[no-any-return]
            start_response(f"{status} {_REASONS.get(status, 'OK')}", headers)
            return [payload]
        body = _json(result)
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    def _handler(self, route: Route) -> Callable[[Request], Any]:
        """The route's handler: this class's ``_<handler>``, else the campaign API's ``<handler>``."""
        own = getattr(self, "_" + route.handler, None)
        return own if own is not None else getattr(self.campaign_api, route.handler)  # type: ignore[no-any-return]

    def _match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        methods = []
        for route in ROUTES:
            m = route.pattern.match(path)
            if m is None:
                continue
            if route.method == method:
                return route, m.groupdict()
            methods.append(route.method)
        if methods:
            raise ApiError(405, f"{method} not allowed on {path} (allowed: {', '.join(methods)})",
                           kind="method_not_allowed")
        raise ApiError(404, f"no such endpoint: {path}", kind="not_found")

    @staticmethod
    def _query(environ: dict[str, Any]) -> dict[str, str]:
        parsed = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        return {k: v[-1] for k, v in parsed.items()}

    @staticmethod
    def _body(environ: dict[str, Any], route: Route) -> dict[str, Any]:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            raise ApiError(400, "bad Content-Length", kind="invalid") from None
        if length > MAX_BODY:
            raise ApiError(413, f"body larger than {MAX_BODY} bytes", kind="too_large")
        if length > 0:
            raw = environ["wsgi.input"].read(length)
        elif environ.get("CONTENT_LENGTH") is None and environ.get("wsgi.input_terminated"):
            # no Content-Length (chunked): the server's input ends the body itself; read one byte past the bound
            raw = environ["wsgi.input"].read(MAX_BODY + 1)
            if len(raw) > MAX_BODY:
                raise ApiError(413, f"body larger than {MAX_BODY} bytes", kind="too_large")
        else:
            raw = b""
        if not raw.strip():
            body: Any = {}
        else:
            try:
                body = json.loads(raw)
            except RecursionError:   # the decoder's own depth bound (the interpreter's recursion limit)
                raise ApiError(400, "body is nested too deeply", kind="invalid") from None
            except (ValueError, UnicodeDecodeError) as exc:
                raise ApiError(400, f"body is not JSON: {exc}", kind="invalid") from None
        if not isinstance(body, dict):
            raise ApiError(400, "body must be a JSON object", kind="invalid")
        schema = route.body or {}
        for key, value in body.items():
            spec = schema.get(key)
            if spec is None:
                raise ApiError(400, f"unknown field {key!r} (known: {', '.join(schema) or 'none'})", kind="invalid")
            kind = spec.get("type", "string")
            if kind != "string":   # structured fields (QA answers, comments, a total): the handler checks them
                if not _JSON_TYPES[kind](value):
                    raise ApiError(400, f"{key}: expected {kind}, not {value!r}", kind="invalid")
                continue
            if not isinstance(value, str):
                raise ApiError(400, f"{key}: expected a string, not {value!r}", kind="invalid")
            if "enum" in spec and value not in spec["enum"]:
                raise ApiError(400, f"{key}={value!r}: expected one of {', '.join(spec['enum'])}", kind="invalid")
            if "pattern" in spec and not re.match(spec["pattern"], value):
                raise ApiError(400, f"{key}={value!r}: does not match {spec['pattern']}", kind="invalid")
            if len(value) > spec.get("maxLength", 1024):
                raise ApiError(400, f"{key}: longer than {spec.get('maxLength')} characters", kind="invalid")
        for key in route.required:
            if key not in body:
                raise ApiError(400, f"missing field {key!r}", kind="invalid")
        return body

    @staticmethod
    def _error(start_response: Callable[..., Any], status: int, kind: str, message: str) -> list[bytes]:
        body = _json({"error": {"status": status, "kind": kind, "message": mask_text(message)}})
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        if status == 401:
            headers.append(("WWW-Authenticate", 'Bearer realm="cc"'))
        start_response(f"{status} {_REASONS.get(status, 'Error')}", headers)
        return [body]

    def _not_leading(self, start_response: Callable[..., Any]) -> list[bytes]:
        """503 for a change asked of a controller that does not lead: the error names the leader (from memory)."""
        leader = self.service.leader()
        where = f" at {leader['api']}" if leader and leader.get("api") else ""
        who = f"the leader is {leader['name']}{where}" if leader else "the leader is not known yet"
        body = _json({"error": {"status": 503, "kind": "standby", "message": f"this controller is "
                                f"{self.service.role}, it does not change anything; {who}"}, "leader": leader})
        start_response("503 Service Unavailable", [("Content-Type", "application/json"),
                                                   ("Content-Length", str(len(body))), ("Retry-After", "1")])
        return [body]

    # ------------------------------------------------------------------ helpers
    def _view_for(self, req: Request, reason: str | None, resource: Resource) -> Callable[[Any], Any]:
        """Masking for this request, or (``X-Reveal-Reason`` from a user the policy lets reveal numbers on the
        route's resource) none, audited in a thread first."""
        if reason is None:
            return mask_payload
        assert req.caller is not None
        actor, what = req.caller.user.login, f"{req.method} {req.path} (token {req.caller.token})"
        if not allowed(req.caller.user, Permission.REVEAL_NUMBERS, resource):
            raise RevealRefused(actor)
        return self.offload.run(lambda: self.disclosure.view(actor, reason, what), "audit of a reveal")

    def _audit(self, route: Route, req: Request, result: Any) -> None:
        """The audit row of a change the route made (after it succeeded), in a thread: who (login, token, client
        address), the action, the resource (the path's agent or call), what was asked and the outcome (masked).
        An agent acting on himself is not audited (his status history is the agent log). A database that cannot
        take the row does not undo the change (a call hung up stays hung up): the failure is logged."""
        assert req.caller is not None
        user = req.caller.user
        agent_id = req.params.get("agent_id")
        if route.locate is Locate.AGENT and agent_id is not None and agent_id == user.agent_id:
            return
        kind = "agent" if agent_id is not None else "call" if "uuid" in req.params else "config"
        resource = agent_id or req.params.get("uuid", "")
        detail = {"token": req.caller.token, "asked": dict(req.body), "result": result}
        actor = Actor(user.login, user.id, req.client)
        try:
            self.offload.run(lambda: AuditRepo(self.db).append(actor, route.audit, kind, resource, detail),
                             f"audit of {route.audit}")
        except CCError as exc:
            log.error("api: %s by %s on %s %s done but not audited: %s", route.audit, user.login, kind,
                      mask_text(resource), exc)

    def _locate(self, route: Route, params: dict[str, str], caller: Caller) -> Resource:
        """The resource ``route`` acts on, from memory (the directory, the controller's calls and agents)."""
        ctl = self.service.controller

        def call_agent(uuid: str) -> str | None:
            session = ctl.sessions.get(uuid) if ctl is not None else None
            return session.last_agent if session is not None else None

        def agent_unit(agent_id: str) -> str | None:
            rt = ctl.acd.world.agents.get(agent_id) if ctl is not None else None
            return rt.cfg.team if rt is not None else None

        return locate(route.locate, params, caller, self.watch.directory, call_agent, agent_unit)

    def _sees_agent(self, req: Request, agent_id: str | None, kind: ResourceKind = ResourceKind.AGENT) -> bool:
        """Whether the caller may view (view_live) this agent's things (a listing keeps only those)."""
        assert req.caller is not None
        if agent_id is None:
            return True
        directory = self.watch.directory
        if agent_id in directory.agent_units:
            resource = directory.agent(agent_id, kind)
        else:
            ctl = self.service.controller
            rt = ctl.acd.world.agents.get(agent_id) if ctl is not None else None
            resource = Resource.of_agent(agent_id, rt.cfg.team if rt is not None else None, kind)
        return bool(allowed(req.caller.user, Permission.VIEW_LIVE, resource))

    @property
    def ctl(self) -> Any:
        """The running controller (503 while the service is not started)."""
        ctl = self.service.controller
        if ctl is None:
            raise ApiError(503, "the controller is not running", kind="unavailable")
        return ctl

    def _agent_view(self, agent_id: str) -> dict[str, Any]:
        ctl = self.ctl
        if agent_id not in ctl.acd.world.agents:
            raise NotFound("agent", agent_id)
        now = ctl.clock.now()
        for view in ctl.acd.agents(now):
            if view.id == agent_id:
                return _view(view)
        raise NotFound("agent", agent_id)

    def _service_levels(self, now: float) -> dict[str, dict[str, Any]]:
        """Today's (UTC) figures per queue from the queue log; empty when the database cannot answer."""
        start = now - now % 86400.0
        if self.watch.available is False:
            return {}
        try:
            stats = self.offload.run(lambda: QueueEventRepo(self.db).queue_stats(start, now + 1.0), "queue stats")
        except StoreError as exc:
            log.warning("api: service level unavailable: %s", exc)
            return {}
        return {s.queue: {"offered": s.offered, "answered": s.answered, "abandoned": s.abandoned,
                          "answered_within_sl": s.answered_within_sl, "service_level": s.service_level,
                          "abandon_rate": s.abandon_rate, "avg_wait_answered_s": s.avg_wait_answered_s}
                for s in stats}

    def _queue_views(self, now: float, only: str | None = None) -> list[dict[str, Any]]:
        levels = self._service_levels(now)
        out = []
        for q in self.ctl.acd.queues(now):
            if only is not None and q.name != only:
                continue
            out.append({**_view(q), "today": levels.get(q.name)})
        return out

    def _agent_op(self, req: Request, op: Callable[[], None]) -> dict[str, Any]:
        """Run an agent status change; 409 when the ACD refused it."""
        ctl = self.ctl
        agent_id = req.params["agent_id"]
        if agent_id not in ctl.acd.world.agents:
            raise NotFound("agent", agent_id)
        refused = ctl.driver.refused
        op()
        if ctl.driver.refused != refused:
            action = req.path.rsplit("/", 1)[-1]
            raise Conflict("agent", agent_id, f"refused by the ACD in its current state ({action})")
        return self._agent_view(agent_id)

    # ------------------------------------------------------------------ handlers
    def _healthz(self, req: Request) -> tuple[int, str, bytes]:
        ctl = self.service.controller
        nodes = [{"name": n.name, "up": n.up, "reconnects": getattr(n.switch, "reconnects", 0)}
                 for n in (ctl.nodes if ctl is not None else ())]
        if self.watch.available is None:
            self.watch.wait_first(self.offload.timeout_s + 1.0)   # only before the very first check
        database = self.watch.as_dict()   # from memory: /healthz never waits for the database
        writer = self.service.writer.stats().as_dict() if self.service.writer is not None else None
        journal_ok = writer is None or writer.get("journal_level", "ok") == "ok"
        ok = ctl is not None and all(n["up"] for n in nodes) and database["available"] and journal_ok
        role = getattr(self.service, "role", "single")
        status = "degraded" if not ok else "standby" if role in ("standby", "candidate") else "ok"
        doc = {"status": status, "running": ctl is not None, "role": role, "nodes": nodes,
               "database": database, "writer": writer}
        if role != "single":
            doc["leader"] = self.service.leader()
        return (200 if ok else 503), "application/json", _json(doc)

    def _metrics(self, req: Request) -> tuple[int, str, bytes]:
        return 200, "text/plain; version=0.0.4; charset=utf-8", render_metrics(self.metrics)

    def _openapi(self, req: Request) -> dict[str, Any]:
        if self._document is None:
            self._document = build_document(ROUTES)
        return self._document

    def _whoami(self, req: Request) -> dict[str, Any]:
        assert req.caller is not None
        user = req.caller.user
        return {"name": req.caller.token, "login": user.login, "user_id": user.id, "roles": list(user.roles),
                "agent_id": user.agent_id, "unit": user.unit,
                "permissions": sorted(p.value for p in user.permissions())}

    def _status(self, req: Request) -> dict[str, Any]:
        ctl = self.ctl
        now = ctl.clock.now()
        only = req.query.get("queue") or None
        if only is not None and only not in ctl.acd.world.queues:
            raise NotFound("queue", only)
        members = [_view(m) for m in ctl.acd.members(only, now)]
        agents = [_view(a) for a in ctl.acd.agents(now)
                  if (only is None or only in a.queues) and self._sees_agent(req, a.id)]
        return {"at": now, "queues": self._queue_views(now, only), "members": members, "agents": agents}

    def _queues(self, req: Request) -> list[dict[str, Any]]:
        return self._queue_views(self.ctl.clock.now())

    def _queue(self, req: Request) -> dict[str, Any]:
        req.query = {"queue": req.params["queue"]}
        return self._status(req)

    def _agents(self, req: Request) -> list[dict[str, Any]]:
        return [_view(a) for a in self.ctl.acd.agents(self.ctl.clock.now()) if self._sees_agent(req, a.id)]

    def _agent(self, req: Request) -> dict[str, Any]:
        return self._agent_view(req.params["agent_id"])

    def _login(self, req: Request) -> dict[str, Any]:
        status = AgentStatus(req.body.get("status", AgentStatus.AVAILABLE.value))
        return self._agent_op(req, lambda: self.ctl.login(req.params["agent_id"], status, req.body.get("reason")))

    def _logout(self, req: Request) -> dict[str, Any]:
        return self._agent_op(req, lambda: self.ctl.logout(req.params["agent_id"], req.body.get("reason")))

    def _set_status(self, req: Request) -> dict[str, Any]:
        status = AgentStatus(req.body["status"])
        return self._agent_op(req, lambda: self.ctl.set_status(req.params["agent_id"], status,
                                                                req.body.get("reason")))

    def _wrap_up_done(self, req: Request) -> dict[str, Any]:
        return self._agent_op(req, lambda: self.ctl.wrap_up_done(req.params["agent_id"]))

    def _outbound(self) -> Any:
        runtime = getattr(self.service, "campaigns", None)
        if runtime is None:
            raise ApiError(409, "this controller runs no outbound campaigns", kind="conflict")
        return runtime

    def _outbound_preview(self, req: Request) -> dict[str, Any]:
        agent, body = req.params["agent_id"], req.body
        if body["action"] == "dial":
            self._outbound().preview_dial(agent, body["lead_id"], body.get("campaign"))
        else:
            self._outbound().preview_skip(agent, body["lead_id"], body.get("reason", ""), body.get("campaign"))
        return {"ok": True, "agent_id": agent, "lead_id": body["lead_id"], "action": body["action"]}

    def _outbound_dial(self, req: Request) -> dict[str, Any]:
        agent, body = req.params["agent_id"], req.body
        if body.get("lead_id"):
            self._outbound().click_to_dial(agent, body["lead_id"], body.get("number"), body.get("campaign"))
            return {"ok": True, "agent_id": agent, "lead_id": body["lead_id"]}
        customer_id, phone = body.get("customer_id"), body.get("phone", 0)
        if not customer_id or phone < 0:
            raise ApiError(400, "give lead_id, or customer_id and phone (the position of his number)", kind="invalid")
        assert req.caller is not None
        authorize(req.caller, Permission.VIEW_CUSTOMERS, Resource.common(ResourceKind.CUSTOMER), "a customer")
        runtime = self._outbound()
        customer = self.offload.run(lambda: CustomerRepo(self.db).get(customer_id), "a customer to dial")
        if phone >= len(customer.phones):
            raise ApiError(404, f"customer {customer_id!r} has no number at position {phone}", kind="not_found")
        kind, ident = runtime.dial_customer(agent, customer_id, customer.phones[phone].number)
        return {"ok": True, "agent_id": agent, "customer_id": customer_id,
                ("lead_id" if kind == "lead" else "uuid"): ident}

    def _outbound_result(self, req: Request) -> dict[str, Any]:
        agent, body = req.params["agent_id"], req.body
        at = body.get("callback_at")
        return dict(self._outbound().set_result(
            agent, body["code"], uuid=body.get("uuid"), note=body.get("note", ""),
            customer_type=body.get("customer_type"), callback_at=float(at) if at is not None else None,
            callback_anyone=bool(body.get("callback_anyone", False)), campaign=body.get("campaign")))

    def _calls(self, req: Request) -> list[dict[str, object]]:
        return [c for c in self.ctl.calls()
                if self._sees_agent(req, c["agent"] if isinstance(c["agent"], str) else None, ResourceKind.CALL)]

    def _hangup(self, req: Request) -> dict[str, Any]:
        cause = req.body.get("cause", "NORMAL_CLEARING")
        self.ctl.hangup_call(req.params["uuid"], cause)
        return {"ok": True, "uuid": req.params["uuid"], "cause": cause}

    def _transfer(self, req: Request) -> dict[str, Any]:
        self.ctl.transfer_call(req.params["uuid"], req.body["target"], req.body.get("context", "default"))
        return {"ok": True, "uuid": req.params["uuid"], "target": req.body["target"]}

    def _record(self, req: Request) -> dict[str, Any]:
        ctl = self.ctl
        uuid, action = req.params["uuid"], req.body["action"]
        session = ctl.sessions.get(uuid)
        if session is None:
            raise NotFound("call", uuid)
        rec = session.recorder
        if action != "start" and not rec.active:
            raise Conflict("recording of call", uuid, "is not running")
        if action == "pause" and rec.paused_at is not None:
            raise Conflict("recording of call", uuid, "is paused already")
        if action == "resume" and rec.paused_at is None:
            raise Conflict("recording of call", uuid, "is not paused")
        if action == "start" and not rec.active and session.notice_missing:
            ctl.record_call(uuid, action)   # refused by the recorder, which logs it and keeps the refusal
            raise Conflict("recording of call", uuid, "refused: the recording notice is required (record_notice) "
                           "and the caller has not heard it")
        before = (rec.active, rec.paused_at is not None)
        ctl.record_call(uuid, action)
        after = (rec.active, rec.paused_at is not None)
        if action != "stop" and before == after and not (action == "start" and before[0]):
            raise ApiError(502, f"call {uuid}: FreeSWITCH refused uuid_record {action} (see the controller's log)",
                           kind="freeswitch")
        return {"ok": True, "uuid": uuid, "action": action, "recording": rec.path if rec.active else None,
                "paused": rec.paused_at is not None}

    def _agent_call(self, req: Request) -> dict[str, Any]:
        body = req.body
        call = agent_call_act(self.ctl, req.params["agent_id"], body["action"], body.get("digits", ""),
                              kind=body.get("kind", ""), target=body.get("target", ""), note=body.get("note", ""))
        return {"ok": True, "action": req.body["action"], **call.view()}

    def _monitor(self, req: Request) -> dict[str, Any]:
        assert req.caller is not None
        ctl, user, agent_id = self.ctl, req.caller.user, req.params["agent_id"]
        if agent_id not in ctl.acd.world.agents:
            raise NotFound("agent", agent_id)
        own = ctl.acd.world.agents.get(user.agent_id) if user.agent_id else None
        if own is None or not own.cfg.contact:
            raise Conflict("user", user.login, "has no phone to listen on (no agent with a contact)")
        return ctl.monitoring.start(agent_id, own.cfg.contact, req.body["mode"], user.login).as_dict()  # type: ignore[no-any-return]

    def _own_monitoring(self, req: Request) -> Any:
        """The caller's own monitoring of the path (403 for another user's: nobody steers another's phone)."""
        assert req.caller is not None
        m = self.ctl.monitoring.get(req.params["monitor_id"])
        if m.supervisor != req.caller.user.login:
            raise ApiError(403, "this monitoring is another user's", kind="forbidden")
        return m

    def _monitor_mode(self, req: Request) -> dict[str, Any]:
        m = self._own_monitoring(req)
        return self.ctl.monitoring.switch(m.uuid, req.body["mode"]).as_dict()  # type: ignore[no-any-return]

    def _monitor_stop(self, req: Request) -> dict[str, Any]:
        m = self._own_monitoring(req)
        return self.ctl.monitoring.stop(m.uuid).as_dict()  # type: ignore[no-any-return]

    def _reload(self, req: Request) -> dict[str, Any]:
        ctl = self.ctl
        snapshot = self.offload.run(lambda: read_store(self.db), "reload", timeout_s=30.0)
        return apply_store(ctl, snapshot).as_dict()

    def _events(self, req: Request) -> tuple[int, str, Iterator[bytes]]:
        assert req.caller is not None
        kinds = None
        if req.query.get("kinds"):
            kinds = frozenset(k.strip() for k in req.query["kinds"].split(",") if k.strip())
            unknown = kinds - set(Hooks.KINDS)
            if unknown:
                raise ApiError(400, f"unknown kinds {', '.join(sorted(unknown))} (known: {', '.join(Hooks.KINDS)})",
                               kind="invalid")
        limit = None
        if req.query.get("limit"):
            try:
                limit = int(req.query["limit"])
            except ValueError:
                raise ApiError(400, f"limit={req.query['limit']!r}: expected an integer", kind="invalid") from None
            if limit < 1:
                raise ApiError(400, f"limit={limit}: must be >= 1", kind="invalid")
        user_id, token = req.caller.user.id, req.caller.token

        def in_scope(ev: HookEvent) -> bool:
            """The policy, per event, on the current directory (a grant taken away stops the flow at once)."""
            directory = self.watch.directory
            user = directory.users.get(user_id)
            if user is None or token not in self.watch.token_names:
                return False
            kind = ResourceKind.EVENTS
            resource = directory.agent(ev.agent_id, kind) if ev.agent_id else Resource.common(kind, ev.kind)
            return bool(allowed(user, Permission.VIEW_LIVE, resource))

        return 200, "text/event-stream", self.hub.stream(kinds=kinds, scope=in_scope, limit=limit, view=req.view)

    # ------------------------------------------------------------------ QA (cc.qa.service decides the scope)
    @property
    def qa(self) -> Any:
        """The QA service on the API's pool, deciding on the in-memory directory."""
        if self._qa is None:
            from cc.qa.service import QaService
            from cc.store.qa import QaRepo

            self._qa = QaService(QaRepo(self.db), lambda: self.watch.directory, client="api")
        return self._qa

    @staticmethod
    def _id(req: Request, name: str) -> int:
        try:
            value = int(req.params[name])
        except ValueError:
            raise ApiError(400, f"{name}={req.params[name]!r}: expected an integer", kind="invalid") from None
        if value < 1:
            raise ApiError(400, f"{name}={value}: expected a positive integer", kind="invalid")
        return value

    def _qa_items(self, req: Request) -> list[dict[str, Any]]:
        from cc.qa.views import item_dict
        from cc.qa.worklist import ItemState

        assert req.caller is not None
        state = req.query.get("state") or None
        if state is not None and state not in {s.value for s in ItemState}:
            raise ApiError(400, f"state={state!r}: expected one of {', '.join(s.value for s in ItemState)}",
                           kind="invalid")
        user, week = req.caller.user, req.query.get("week") or None
        mine = req.query.get("mine", "").lower() in ("1", "true", "yes")
        items = self.offload.run(lambda: self.qa.worklist(user, state=ItemState(state) if state else None,
                                                          week=week, mine=mine), "qa work list")
        return [item_dict(i) for i in items]

    def _qa_score(self, req: Request) -> dict[str, Any]:
        from cc.qa.score import parse_answer
        from cc.qa.views import score_dict
        from cc.store.qa import Comment

        assert req.caller is not None
        item_id, user = self._id(req, "item_id"), req.caller.user
        answers = {str(k): parse_answer(str(k), v) for k, v in req.body["answers"].items()}
        comments = []
        for c in req.body.get("comments", []):
            if not isinstance(c, dict) or not isinstance(c.get("text"), str) or \
                    not isinstance(c.get("offset_s", 0), int | float) or isinstance(c.get("offset_s"), bool):
                raise ApiError(400, f"comments: expected {{text, offset_s}}, not {c!r}", kind="invalid")
            offset = c.get("offset_s")
            comments.append(Comment(c["text"], float(offset) if offset is not None else None))
        card = req.body["scorecard"]
        return score_dict(self.offload.run(lambda: self.qa.score(user, item_id, card, answers, comments), "qa score"))

    def _qa_my_scores(self, req: Request) -> list[dict[str, Any]]:
        from cc.qa.views import score_dict

        assert req.caller is not None
        user = req.caller.user
        return [score_dict(s) for s in self.offload.run(lambda: self.qa.my_scores(user), "qa scores")]

    def _qa_score_view(self, req: Request) -> dict[str, Any]:
        from cc.qa.views import score_dict

        assert req.caller is not None
        sid, user = self._id(req, "score_id"), req.caller.user
        return score_dict(self.offload.run(lambda: self.qa.score_view(user, sid), "qa score"))

    def _qa_dispute(self, req: Request) -> dict[str, Any]:
        from cc.qa.views import score_dict

        assert req.caller is not None
        sid, user, reason = self._id(req, "score_id"), req.caller.user, req.body["reason"]
        return score_dict(self.offload.run(lambda: self.qa.dispute(user, sid, reason), "qa dispute"))

    def _qa_resolve(self, req: Request) -> dict[str, Any]:
        from cc.qa.views import score_dict
        from cc.qa.worklist import Resolution

        assert req.caller is not None
        sid, user = self._id(req, "score_id"), req.caller.user
        resolution, total = Resolution(req.body["resolution"]), req.body.get("total")
        note, keep = req.body.get("note", ""), bool(req.body.get("keep_critical", False))
        return score_dict(self.offload.run(lambda: self.qa.resolve(user, sid, resolution, total=total, note=note,
                                                                   keep_critical=keep), "qa resolve"))

    def close(self) -> None:
        """End the event streams and the background store checks."""
        self.hub.close()
        self.watch.stop()


_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
            405: "Method Not Allowed", 409: "Conflict", 413: "Payload Too Large", 500: "Internal Server Error",
            502: "Bad Gateway", 503: "Service Unavailable"}
