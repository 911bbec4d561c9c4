"""The control API on a real Service (cc.sim): tokens of every role, forbidden cases, live CLI commands,
server-sent events, health, metrics and live reload."""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

import gevent
import pytest

from cc.sim.endpoints import CallerSpec

from .conftest import Live, off_hub

pytestmark = pytest.mark.timeout(60)


def wait_for(cond: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not met in time"
        gevent.sleep(0.02)


# ------------------------------------------------------------------ auth


def test_health_metrics_and_openapi_need_no_token(live: Live) -> None:
    status, health = live.http("GET", "/healthz")
    assert status == 200
    assert health["status"] == "ok"
    assert health["nodes"] == [{"name": "sim", "up": True, "reconnects": 0}]
    assert health["database"]["available"] is True
    assert health["writer"]["backlog"] >= 0
    status, text = live.http("GET", "/metrics", raw=True)
    assert status == 200
    for name in ("cc_calls_in_progress", 'cc_queue_waiting{queue="support"}', "cc_agents{",
                 "cc_routing_decision_seconds_bucket", 'cc_esl_reconnects_total{node="sim"}', "cc_writer_backlog",
                 'cc_hub_lag_seconds_bucket{le="+Inf"}', "cc_greenlets "):
        assert name in text


def test_missing_and_unknown_tokens_are_401(live: Live) -> None:
    status, body = live.http("GET", "/api/v1/agents")
    assert status == 401
    assert body["error"]["kind"] == "unauthorized"
    status, _ = live.http("GET", "/api/v1/agents", token="cct_not-a-token")
    assert status == 401


def test_whoami_for_each_role(live: Live) -> None:
    for role in ("admin", "supervisor", "agent"):
        status, me = live.http("GET", "/api/v1/whoami", live.tokens[role])
        assert status == 200
        assert me["roles"] == [role] and me["login"] == f"t-{role}"
    assert live.http("GET", "/api/v1/whoami", live.tokens["agent"])[1]["agent_id"] == "1000"


def test_agent_token_changes_only_its_own_status(live: Live) -> None:
    tok = live.tokens["agent"]
    status, view = live.http("POST", "/api/v1/agents/1000/login", tok, {})
    assert status == 200 and view["status"] == "available"
    status, view = live.http("POST", "/api/v1/agents/1000/status", tok, {"status": "on_break", "reason": "lunch"})
    assert status == 200 and (view["status"], view["reason"]) == ("on_break", "lunch")
    assert live.http("GET", "/api/v1/agents/1000", tok)[0] == 200
    for path in ("/api/v1/agents/1001/login", "/api/v1/agents/1001/status"):
        status, body = live.http("POST", path, tok, {"status": "available"} if path.endswith("status") else {})
        assert status == 403, path
        assert body["error"]["kind"] == "forbidden"
    assert live.svc.acd.world.agents["1001"].status.value == "logged_out"
    for method, path in (("GET", "/api/v1/agents/1001"), ("GET", "/api/v1/agents"), ("GET", "/api/v1/calls"),
                         ("GET", "/api/v1/status"), ("POST", "/api/v1/reload"),
                         ("POST", "/api/v1/calls/x/hangup")):
        assert live.http(method, path, tok, {} if method == "POST" else None)[0] == 403, path
    live.http("POST", "/api/v1/agents/1000/logout", tok, {})


def test_supervisor_may_control_but_not_reload(live: Live) -> None:
    tok = live.tokens["supervisor"]
    assert live.http("POST", "/api/v1/agents/1002/login", tok, {})[0] == 200
    assert live.http("POST", "/api/v1/agents/1002/logout", tok, {})[0] == 200
    assert live.http("GET", "/api/v1/calls", tok)[0] == 200
    assert live.http("POST", "/api/v1/reload", tok)[0] == 403
    assert live.http("POST", "/api/v1/reload", live.tokens["admin"])[0] == 200


def test_bad_requests_are_named(live: Live) -> None:
    tok = live.tokens["admin"]
    status, body = live.http("POST", "/api/v1/agents/1000/status", tok, {"status": "asleep"})
    assert status == 400 and "asleep" in body["error"]["message"]
    status, body = live.http("POST", "/api/v1/agents/1000/status", tok, {})
    assert status == 400 and "status" in body["error"]["message"]
    status, body = live.http("POST", "/api/v1/agents/1000/status", tok, b"{not json")
    assert status == 400
    status, body = live.http("POST", "/api/v1/agents/1000/status", tok, {"status": "available", "colour": "red"})
    assert status == 400 and "colour" in body["error"]["message"]
    status, body = live.http("POST", "/api/v1/agents/nobody/login", tok, {})
    assert status == 404 and "nobody" in body["error"]["message"]
    assert live.http("DELETE", "/api/v1/agents", tok)[0] == 405
    assert live.http("GET", "/api/v1/nothing", tok)[0] == 404
    assert live.http("GET", "/api/v1/status?queue=nosuch", tok)[0] == 404
    status, body = live.http("POST", "/api/v1/calls/no-such-call/hangup", tok, {})
    assert status == 404 and body["error"]["kind"] == "not_found"


# ------------------------------------------------------------------ live CLI


def test_cli_agent_status_commands(live: Live) -> None:
    r = live.cli("agent", "login", "1001", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["status"] == "available"
    r = live.cli("agent", "break", "1001", "--reason", "lunch")
    assert r.exit_code == 0 and r.output.strip() == "agent 1001: on_break (lunch), idle"
    assert live.cli("agent", "ready", "1001").exit_code == 0
    assert live.svc.acd.world.agents["1001"].status.value == "available"
    r = live.cli("agent", "logout", "1001", "--json")
    assert json.loads(r.output)["status"] == "logged_out"
    r = live.cli("agent", "login", "ghost")
    assert r.exit_code == 1 and "ghost" in r.output
    r = live.cli("agent", "login", "1001", role="other_agent")  # agent 1001's own token
    assert r.exit_code == 0
    r = live.cli("agent", "login", "1002", role="other_agent")
    assert r.exit_code == 1 and "may not" in r.output
    live.cli("agent", "logout", "1001")


def test_cli_queue_status_json_and_watch(live: Live) -> None:
    r = live.cli("queue", "status", "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert {q["name"] for q in data["queues"]} >= {"support", "sales"}
    assert {a["id"] for a in data["agents"]} >= {"1000", "1001", "1002"}
    r = live.cli("queue", "status", "support", "--json")
    assert [q["name"] for q in json.loads(r.output)["queues"]] == ["support"]
    r = live.cli("queue", "status", "support", "--watch", "--interval", "0.2", "--count", "2")
    assert r.exit_code == 0 and "agents" in r.output and "waiting" in r.output and "support" in r.output
    r = live.cli("queue", "status", "nosuch")
    assert r.exit_code == 1 and "nosuch" in r.output


def test_cli_call_list_record_transfer_hangup(live: Live) -> None:
    ctl = live.svc.controller
    assert ctl is not None
    for agent_id in ("1000", "1001", "1002"):
        live.http("POST", f"/api/v1/agents/{agent_id}/logout", live.tokens["admin"], {})
    handle = live.sim.place_call(CallerSpec("7000", caller_id_number="15550001111", patience=10_000))
    wait_for(lambda: any(c["state"] == "queued" for c in ctl.calls()))
    uuid = ctl.calls()[0]["uuid"]
    r = live.cli("call", "list", "--json")
    assert r.exit_code == 0
    listed = json.loads(r.output)
    assert [c["uuid"] for c in listed] == [uuid] and listed[0]["queue"] == "support"
    assert uuid in live.cli("call", "list").output
    status, st = live.http("GET", "/api/v1/status?queue=support", live.tokens["supervisor"])
    assert status == 200
    assert [(m["uuid"], m["position"]) for m in st["members"]] == [(uuid, 1)]
    r = live.cli("record", "pause", "not-a-call")
    assert r.exit_code == 1 and "not-a-call" in r.output
    r = live.cli("record", "pause", uuid)
    assert r.exit_code == 1 and "is not running" in r.output
    rec = json.loads(live.cli("record", "start", uuid, "--json").output)
    assert rec["recording"] and rec["recording"].endswith(f"{uuid}.wav") and rec["paused"] is False
    assert "(paused)" in live.cli("record", "pause", uuid).output
    r = live.cli("record", "pause", uuid)
    assert r.exit_code == 1 and "paused already" in r.output
    assert json.loads(live.cli("record", "resume", uuid, "--json").output)["paused"] is False
    assert live.cli("record", "stop", uuid).output.strip() == f"call {uuid}: not recording"
    r = live.cli("call", "transfer", "not-a-call", "7100")
    assert r.exit_code == 1
    r = live.cli("call", "hangup", uuid, "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output) == {"ok": True, "uuid": uuid, "cause": "NORMAL_CLEARING"}
    off_hub(handle.wait, 10)
    wait_for(lambda: not ctl.calls())
    assert live.cli("call", "list").output.strip() == "no calls in progress"


def _history(live: Live, uuid: str) -> tuple[list[tuple[str, str]], str | None]:
    """The call's queue-log lines (type, detail) and its calls row's disposition, once written."""
    from cc.store import Database, Repos

    assert live.svc.writer.flush(10)
    db = Database(live.db_url)
    try:
        repos = Repos(db)
        lines = [(str(e.type), e.detail) for e in repos.queue_events.for_member(uuid)]
        return lines, repos.calls.get(uuid).disposition
    finally:
        db.dispose()


def _queued_call(live: Live) -> tuple[str, Any]:
    ctl = live.svc.controller
    assert ctl is not None
    for agent_id in ("1000", "1001", "1002"):
        live.http("POST", f"/api/v1/agents/{agent_id}/logout", live.tokens["admin"], {})
    handle = live.sim.place_call(CallerSpec("7000", caller_id_number="15550001111", patience=10_000))
    wait_for(lambda: any(c["state"] == "queued" for c in ctl.calls()))
    return next(c for c in ctl.calls() if c["state"] == "queued")["uuid"], handle


def test_a_failed_transfer_says_so_and_is_no_abandon(live: Live) -> None:
    ctl = live.svc.controller
    live.sim.routes["7100"] = "hangup:NO_ROUTE_DESTINATION"
    uuid, handle = _queued_call(live)
    r = live.cli("call", "transfer", uuid, "7100")
    assert r.exit_code != 0, r.output
    assert len(r.output.strip().splitlines()) == 1 and "failed" in r.output and "NO_ROUTE_DESTINATION" in r.output
    off_hub(handle.wait, 10)
    wait_for(lambda: uuid not in ctl.sessions)
    lines, disposition = _history(live, uuid)
    assert ("EXIT_OTHER", "transfer-failed") in lines and "ABANDON" not in [t for t, _ in lines], lines
    assert disposition == "transfer-failed"


def test_a_transfer_the_dialplan_takes_succeeds(live: Live) -> None:
    live.sim.routes["7200"] = "park"
    uuid, handle = _queued_call(live)
    r = live.cli("call", "transfer", uuid, "7200")
    assert r.exit_code == 0 and r.output.strip() == f"call {uuid}: transferred to 7200", r.output
    # the stay ends at the transfer; the call is the dialplan's (parked), cc does not hang it up
    ctl = live.svc.controller
    wait_for(lambda: uuid not in ctl.sessions)
    lines, disposition = _history(live, uuid)
    assert ("EXIT_OTHER", "transferred-by-supervisor") in lines and "ABANDON" not in [t for t, _ in lines], lines
    assert disposition == "transferred-by-supervisor"
    channel = live.sim.channels[uuid]
    assert not channel.hungup and channel.parked_by == "park"
    channel.hangup()
    off_hub(handle.wait, 10)


def test_a_supervisors_hangup_is_no_abandon(live: Live) -> None:
    ctl = live.svc.controller
    uuid, handle = _queued_call(live)
    r = live.cli("call", "hangup", uuid)
    assert r.exit_code == 0, r.output
    off_hub(handle.wait, 10)
    wait_for(lambda: uuid not in ctl.sessions)
    lines, disposition = _history(live, uuid)
    assert ("EXIT_OTHER", "hangup-by-supervisor") in lines and "ABANDON" not in [t for t, _ in lines], lines
    assert disposition == "hangup-by-supervisor"


def test_cli_live_commands_need_a_token(live: Live) -> None:
    r = live.cli("call", "list", role=None)
    assert r.exit_code == 1 and "token" in r.output


# ------------------------------------------------------------------ events


def _read_events(url: str, token: str, query: str, n: int) -> list[dict[str, Any]]:
    req = urllib.request.Request(f"{url}/api/v1/events?{query}&limit={n}",
                                 headers={"Authorization": f"Bearer {token}"})
    events = []
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.headers["Content-Type"] == "text/event-stream"
        for raw in resp:
            line = raw.decode().rstrip("\n")
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
    return events


def test_event_stream_carries_agent_status_changes(live: Live) -> None:
    pool = gevent.get_hub().threadpool
    sup = pool.spawn(_read_events, live.url, live.tokens["supervisor"], "kinds=agent_status", 2)
    mine = pool.spawn(_read_events, live.url, live.tokens["agent"], "kinds=agent_status", 1)
    assert live.svc.api is not None
    wait_for(lambda: live.svc.api is not None and live.svc.api.app.hub.clients == 2)
    admin = live.tokens["admin"]
    live.http("POST", "/api/v1/agents/1002/login", admin, {})
    live.http("POST", "/api/v1/agents/1000/login", admin, {})
    got = sup.get(timeout=10)
    assert [(e["kind"], e["agent_id"], e["data"]["status"]) for e in got] == [
        ("agent_status", "1002", "available"), ("agent_status", "1000", "available")]
    assert [e["agent_id"] for e in mine.get(timeout=10)] == ["1000"]  # an agent sees only itself
    live.http("POST", "/api/v1/agents/1002/logout", admin, {})
    live.http("POST", "/api/v1/agents/1000/logout", admin, {})
    assert live.http("GET", "/api/v1/events?kinds=bogus", admin, raw=True)[0] == 400


# ------------------------------------------------------------------ reload


def test_config_commands_reload_the_running_controller(live: Live) -> None:
    world = live.svc.acd.world
    r = live.cli("queue", "add", "billing", "--strategy", "round-robin", "--max-wait", "2m")
    assert r.exit_code == 0, r.output
    assert "reloaded" in r.output
    assert world.queues["billing"].cfg.max_wait_s == 120.0
    assert live.cli("queue", "set", "billing", "--max-wait", "none").exit_code == 0
    assert world.queues["billing"].cfg.max_wait_s is None
    assert live.cli("agent", "add", "2001", "--contact", "user/2001@sim").exit_code == 0
    assert live.cli("skill", "add", "french").exit_code == 0
    assert live.cli("agent", "skill", "2001", "french", "8").exit_code == 0
    assert dict(world.agents["2001"].cfg.skills) == {"french": 8}
    assert live.cli("tier", "add", "2001", "billing", "--level", "2").exit_code == 0
    assert world.agents["2001"].tiers["billing"].level == 2
    r = live.cli("tier", "set", "2001", "billing", "--level", "3")
    assert r.exit_code == 0 and world.agents["2001"].tiers["billing"].level == 3
    assert live.cli("tier", "del", "2001", "billing").exit_code == 0
    assert "billing" not in world.agents["2001"].tiers
    assert live.cli("agent", "del", "2001").exit_code == 0
    assert "2001" not in world.agents
    assert live.cli("queue", "del", "billing").exit_code == 0
    assert "billing" not in world.queues
    r = live.cli("reload", "--json")
    assert r.exit_code == 0 and json.loads(r.output)["refused"] == []


def test_reload_keeps_waiting_members_and_refuses_removing_a_busy_queue(live: Live) -> None:
    ctl = live.svc.controller
    assert ctl is not None
    handle = live.sim.place_call(CallerSpec("7000", caller_id_number="15550002222", patience=10_000))
    wait_for(lambda: any(c["state"] == "queued" for c in ctl.calls()))
    uuid = ctl.calls()[0]["uuid"]
    r = live.cli("queue", "set", "support", "--announce-interval", "45s")
    assert r.exit_code == 0
    assert live.svc.acd.world.queues["support"].cfg.announce_interval_s == 45.0
    assert live.svc.acd.position(uuid) == 1   # still waiting, same place
    r = live.cli("queue", "del", "support", "--no-reload")
    assert r.exit_code == 0
    r = live.cli("reload", "--json")
    assert r.exit_code == 1
    assert any("queue support" in x for x in json.loads(r.output)["refused"])
    assert "support" in live.svc.acd.world.queues
    ctl.hangup_call(uuid)
    off_hub(handle.wait, 10)
    wait_for(lambda: not ctl.calls())
    r = live.cli("reload", "--json")
    assert r.exit_code == 0 and "queue support" in json.loads(r.output)["removed"]


def test_routes_and_calendars_reload(live: Live) -> None:
    ctl = live.svc.controller
    assert ctl is not None
    flows_dir = ctl.flows.flows_dir
    r = live.cli("flow", "route", "7001", "flow.yaml", "--flows-dir", flows_dir)
    assert r.exit_code == 0, r.output
    assert ctl.flows.routes["7001"] == "flow.yaml"
    r = live.cli("flow", "route", "7002", "missing.yaml", "--flows-dir", flows_dir, "--no-reload")
    assert r.exit_code == 0
    r = live.cli("reload", "--json")
    assert r.exit_code == 1 and any("7002" in x for x in json.loads(r.output)["refused"])
    assert "7002" not in ctl.flows.routes
    assert live.cli("flow", "route", "7002", "--delete").exit_code == 0
    assert live.cli("flow", "route", "7001", "--delete").exit_code == 0
    assert "7001" not in ctl.flows.routes and ctl.flows.routes["7000"] == "flow.yaml"  # cc.yaml's route stays
    assert live.cli("hours", "set", "office", "--tz", "Europe/Paris", "--day", "mon-fri=09:00-17:00").exit_code == 0
    assert ctl.calendars["office"].timezone == "Europe/Paris"
    assert ctl.flows.calendars["office"].timezone == "Europe/Paris"
    assert live.cli("hours", "del", "office").exit_code == 0
    assert "office" not in ctl.calendars


def _raw_post(url: str, path: str, token: str, chunks: list[bytes] | bytes) -> tuple[int, dict[str, Any]]:
    """One real POST over loopback with http.client: chunked when ``chunks`` is a list (no Content-Length)."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    try:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        if isinstance(chunks, list):
            conn.request("POST", path, body=iter(chunks), headers=headers, encode_chunked=True)
        else:
            conn.request("POST", path, body=chunks, headers=headers)
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()


def test_a_chunked_body_is_read_and_a_deeply_nested_one_is_a_400(live: Live) -> None:
    tok = live.tokens["admin"]
    path = "/api/v1/agents/1002/status"
    try:
        status, body = off_hub(_raw_post, live.url, path, tok, [b'{"status": ', b'"on_break", ', b'"reason": "lunch"}'])
        assert status == 200, body
        assert body["status"] == "on_break"
        big = [b'{"status": "available"}', b" " * 70_000]
        status, body = off_hub(_raw_post, live.url, path, tok, big)
        assert status == 413 and body["error"]["kind"] == "too_large"
        deep = b'{"status": ' + b"[" * 30_000 + b"]" * 30_000 + b"}"
        assert len(deep) == 60_012
        status, body = off_hub(_raw_post, live.url, path, tok, deep)
        assert status == 400 and "nested" in body["error"]["message"], body
        status, body = off_hub(_raw_post, live.url, path, tok, [deep])
        assert status == 400 and "nested" in body["error"]["message"], body
    finally:
        live.http("POST", "/api/v1/agents/1002/logout", tok, {})



def test_agent_call_transfer_actions_are_checked_before_the_call_is_looked_for(live: Live) -> None:
    """The agent_call route's transfer actions: bad input is 400 (schema, then act), no call is 404."""
    tok = live.tokens["admin"]
    path = "/api/v1/agents/1001/call"
    status, body = live.http("POST", path, tok, {"action": "transfer", "kind": "agent", "target": "1002",
                                                 "note": "VIP"})
    assert status == 404 and body["error"]["kind"] == "not_found"
    for bad in ({"action": "transfer", "kind": "fax", "target": "1002"},
                {"action": "transfer", "kind": "agent", "target": "a b"},
                {"action": "transfer", "kind": "agent", "target": "1002", "note": "x" * 501},
                {"action": "consult", "kind": "queue", "target": "support"},
                {"action": "transfer", "kind": "queue"}):
        status, body = live.http("POST", path, tok, bad)
        assert status == 400, (bad, body)
    for action in ("complete", "cancel"):
        assert live.http("POST", path, tok, {"action": action})[0] == 404
