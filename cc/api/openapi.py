"""The OpenAPI 3.1 document of the control API, built from the route table (served at /openapi.json)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from cc.model import AgentState, AgentStatus, Strategy

__all__ = ["SCHEMAS", "build_document"]

_NUM = {"type": "number"}
_OPT_NUM = {"type": ["number", "null"]}
_STR = {"type": "string"}
_OPT_STR = {"type": ["string", "null"]}
_INT = {"type": "integer"}


def _obj(props: dict[str, Any], required: Iterable[str] | None = None) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": sorted(required if required is not None else props)}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


SCHEMAS: dict[str, Any] = {
    "Error": _obj({"error": _obj({"status": _INT, "kind": _STR, "message": _STR})}),
    "Ok": {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]},
    "Recording": _obj({"ok": {"type": "boolean"}, "uuid": _STR, "action": _STR, "recording": _OPT_STR,
                       "paused": {"type": "boolean"}}),
    "Token": _obj({"name": _STR, "login": _STR, "user_id": _INT, "roles": {"type": "array", "items": _STR},
                   "agent_id": _OPT_STR, "unit": _OPT_STR, "permissions": {"type": "array", "items": _STR}}),
    "Agent": _obj({"id": _STR, "status": {"type": "string", "enum": [s.value for s in AgentStatus]},
                   "state": {"type": "string", "enum": [s.value for s in AgentState]}, "reason": _OPT_STR,
                   "in_state_s": _NUM, "in_status_s": _NUM, "free": {"type": "boolean"}, "ready_in_s": _NUM,
                   "calls_answered": _INT, "talk_time_s": _NUM, "no_answer_count": _INT,
                   "member_uuid": _OPT_STR, "queues": {"type": "array", "items": _STR}}),
    "Member": _obj({"uuid": _STR, "queue": _STR, "state": _STR, "position": {"type": ["integer", "null"]},
                    "waited_s": _NUM, "priority": _INT, "score": _NUM, "step": _INT,
                    "callback_number": _OPT_STR, "offered_to": {"type": "array", "items": _STR},
                    "ewt_s": _OPT_NUM}),
    "Today": {"type": ["object", "null"], "properties": {
        "offered": _INT, "answered": _INT, "abandoned": _INT, "answered_within_sl": _INT,
        "service_level": _OPT_NUM, "abandon_rate": _OPT_NUM, "avg_wait_answered_s": _OPT_NUM}},
    "Queue": _obj({"name": _STR, "strategy": {"type": "string", "enum": [s.value for s in Strategy]},
                   "waiting": _INT, "offering": _INT, "callbacks": _INT, "staffed": _INT, "free_agents": _INT,
                   "longest_wait_s": _NUM, "aht_s": _NUM, "ewt_new_s": _OPT_NUM, "today": _ref("Today")}),
    "Call": _obj({"uuid": _STR, "caller": _STR, "destination": _STR, "node": _STR, "flow": _OPT_STR,
                  "node_in_flow": _OPT_STR, "state": {"type": "string", "enum": ["flow", "queued", "talking"]},
                  "queue": _OPT_STR, "agent": _OPT_STR, "started_at": _NUM, "answered_at": _OPT_NUM,
                  "recording": _OPT_STR}, required=["uuid", "state", "started_at"]),
    "Status": _obj({"at": _NUM, "queues": {"type": "array", "items": _ref("Queue")},
                    "members": {"type": "array", "items": _ref("Member")},
                    "agents": {"type": "array", "items": _ref("Agent")}}),
    "QueueList": {"type": "array", "items": _ref("Queue")},
    "AgentList": {"type": "array", "items": _ref("Agent")},
    "CallList": {"type": "array", "items": _ref("Call")},
    "Reload": _obj({k: {"type": "array", "items": _STR} for k in ("added", "changed", "removed", "refused")}),
    "QaItem": _obj({"id": _INT, "call": _STR, "agent": _STR, "at": _STR, "week": _STR, "why": _STR, "state": _STR,
                    "assigned": _STR, "score": {"type": ["integer", "null"]}}),
    "QaItemList": {"type": "array", "items": _ref("QaItem")},
    "QaScore": _obj({"id": _INT, "item": _INT, "call": _STR, "agent": _STR, "scorecard": _STR, "version": _INT,
                     "qa": _STR, "answers": {"type": "object"}, "total": _OPT_NUM, "scored_total": _OPT_NUM,
                     "raw_total": _OPT_NUM, "critical_failed": {"type": "boolean"}, "scored_at": _NUM,
                     "state": _STR, "comments": {"type": "array", "items": {"type": "object"}},
                     "dispute": {"type": ["object", "null"]}}),
    "QaScoreList": {"type": "array", "items": _ref("QaScore")},
    "Health": _obj({"status": {"type": "string", "enum": ["ok", "degraded", "standby"]},
                    "running": {"type": "boolean"},
                    "role": {"type": "string", "enum": ["single", "standby", "candidate", "leader", "fenced"]},
                    "leader": {"type": ["object", "null"]},
                    "nodes": {"type": "array", "items": _obj({"name": _STR, "up": {"type": "boolean"},
                                                             "reconnects": _INT})},
                    "database": {"type": "object", "properties": {"available": {"type": "boolean"}},
                                 "required": ["available"]},
                    "writer": {"type": ["object", "null"]}},
                   ("status", "running", "role", "nodes", "database", "writer")),
}

_ERRORS = {400: "Bad request (the message names the field and value).", 401: "No or unknown bearer token.",
           403: "The token's user may not do this here (the message says why: permission or scope).",
           404: "No such agent, queue or call.",
           409: "Refused in the current state.", 502: "FreeSWITCH refused the command.",
           503: "Controller or database unavailable, or (a change) this controller is a standby: the error names "
                "the leader."}


def _response(route: Any) -> dict[str, Any]:
    if route.content_type != "application/json":
        return {"description": "OK", "content": {route.content_type: {"schema": {"type": "string"}}}}
    schema = {"type": "object"} if route.response == "object" else _ref(route.response)
    return {"description": "OK", "content": {"application/json": {"schema": schema}}}


def _operation(route: Any) -> dict[str, Any]:
    op: dict[str, Any] = {"operationId": route.handler, "summary": route.summary, "tags": [route.tag]}
    params = [{"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
              for name in re.findall(r"\{(\w+)\}", route.path)]
    for name, typ, desc in route.query:
        schema: dict[str, Any] = {"type": typ}
        if typ == "integer":
            schema["minimum"] = 1
        params.append({"name": name, "in": "query", "required": False, "description": desc, "schema": schema})
    if params:
        op["parameters"] = params
    form = getattr(route, "form", ())
    if form:
        props: dict[str, Any] = {"file": {"type": "string", "format": "binary", "description": "A .csv or .xlsx file."}}
        props.update({name: {"type": typ, "description": desc} for name, typ, desc in form})
        op["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": {
            "type": "object", "properties": props, "required": ["file"], "additionalProperties": False}}}}
    elif route.body is not None:
        body = {"type": "object", "properties": route.body, "additionalProperties": False}
        needed = list(route.required)
        if needed:
            body["required"] = needed
        op["requestBody"] = {"required": bool(needed),
                             "content": {"application/json": {"schema": body}}}
    responses: dict[str, Any] = {"200": _response(route)}
    codes = set(route.statuses)
    if route.auth:
        codes |= {401, 403}
        op["security"] = [{"bearer": []}]
        op["x-cc-permission"] = route.permission.value if route.permission is not None else None
    else:
        op["security"] = []
    if "{" in route.path:
        codes.add(404)
    if route.body is not None or route.query or form:
        codes.add(400)
    if route.method == "POST":
        codes |= {400, 409}
    if route.handler in ("hangup", "transfer", "record"):
        codes.add(502)
    if route.auth:
        codes.add(503)
    for code in sorted(codes):
        if code == 503 and route.handler == "healthz":
            responses["503"] = {"description": "Degraded.", "content": {"application/json": {"schema": _ref("Health")}}}
            continue
        responses[str(code)] = {"description": _ERRORS.get(code, "Error."),
                                "content": {"application/json": {"schema": _ref("Error")}}}
    op["responses"] = responses
    return op


def build_document(routes: Iterable[Any]) -> dict[str, Any]:
    """An OpenAPI 3.1 document describing ``routes``."""
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route)
    return {
        "openapi": "3.1.0",
        "info": {"title": "cc control API", "version": "1",
                 "description": "Live control of the cc call center: agents, queues, calls, events, health."},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {"schemas": SCHEMAS,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }
