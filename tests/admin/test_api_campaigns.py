"""The campaign administration over HTTP, on a live Service (cc.sim): campaigns, status changes through the running
dialer or the store, live figures, lead files as multipart uploads (per-row report, nothing half-imported), masked
lead numbers, keyset paging, assignment, DNC, results and callbacks; refusals, bad bodies, and the audit rows."""

from __future__ import annotations

import io
import json
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

import openpyxl
import pytest

from cc.store.audit import AuditRepo
from cc.store.db import Database
from cc.store.tokens import TokenRepo

from .conftest import Live, off_hub

GOOD_CSV = "姓名,手机,备注\n张三,13800138001,老客户\n李四,13800138002,\n王五,13800138003,\n"
BAD_CSV = "姓名,手机\n张三,13800138004\n李四,12345\n王五,13800138005\n"


def upload(live: Live, path: str, token: str, files: dict[str, tuple[str, bytes]],
           fields: dict[str, str] | None = None) -> tuple[int, Any]:
    """A multipart/form-data POST (the client side of the upload; the server parses it with Werkzeug)."""
    boundary = uuid.uuid4().hex
    parts: list[bytes] = []
    for name, value in (fields or {}).items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, (file_name, data) in files.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{file_name}"\r\n'
                     f"Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()

    def run() -> tuple[int, Any]:
        req = urllib.request.Request(live.url + path, data=body, method="POST", headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}", "Authorization": f"Bearer {token}"})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    result: tuple[int, Any] = off_hub(run)
    return result


def get_raw(live: Live, path: str, token: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    def run() -> tuple[int, str]:
        req = urllib.request.Request(live.url + path, headers={"Authorization": f"Bearer {token}", **(headers or {})})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    result: tuple[int, str] = off_hub(run)
    return result


def audit_actions(live: Live, since: float) -> list[tuple[str, str, str]]:
    db = Database(live.db_url)
    try:
        return [(r.login, r.action, r.resource) for r in off_hub(lambda: list(AuditRepo(db).search(since, 2e9)))][::-1]
    finally:
        db.dispose()


def add(live: Live, name: str, **settings: Any) -> dict[str, Any]:
    status, made = live.http("POST", "/api/v1/campaigns", live.tokens["admin"],
                             {"name": name, "gateway": "carrier1", **settings})
    assert status == 200, made
    return dict(made)


@pytest.fixture(scope="module")
def manager(live: Live) -> str:
    """A manager's token: manage_campaigns and manage_leads, no reveal_numbers."""
    db = Database(live.db_url)
    try:
        return str(off_hub(lambda: TokenRepo(db).create("t-manager", "manager")[1]))
    finally:
        db.dispose()


def test_a_campaign_is_added_shown_changed_and_refused_to_those_without_the_permission(live: Live) -> None:
    admin, sup, agent = live.tokens["admin"], live.tokens["supervisor"], live.tokens["agent"]
    since = time.time() - 1
    body = {"name": "spring", "mode": "progressive", "gateway": "carrier1", "caller_ids": ["02161234567"],
            "dial_timeout_s": 25, "agents": ["1000", "1001"]}
    assert live.http("POST", "/api/v1/campaigns", sup, body)[0] == 403
    status, made = live.http("POST", "/api/v1/campaigns", admin, body)
    assert status == 200, made
    assert made["status"] == "draft" and made["agents"] == ["1000", "1001"] and made["mode"] == "progressive"
    assert live.http("POST", "/api/v1/campaigns", admin, body)[0] == 409
    # bad bodies: a setting the dialer refuses, an unknown field, a wrong type -- each named
    status, err = live.http("POST", "/api/v1/campaigns", admin, {"name": "autumn", "dial_timeout_s": 5})
    assert status == 400 and "dial_timeout_s" in err["error"]["message"]
    status, err = live.http("POST", "/api/v1/campaigns", admin, {"name": "autumn", "speed": "fast"})
    assert status == 400 and "unknown field 'speed'" in err["error"]["message"]
    status, err = live.http("PATCH", "/api/v1/campaigns/spring", admin, {"agents": "1000"})
    assert status == 400 and "agents" in err["error"]["message"]
    status, err = live.http("PATCH", "/api/v1/campaigns/spring", admin, {"agents": ["nobody"]})
    assert status == 404 and "nobody" in err["error"]["message"]
    # readers: view_reports (the supervisor), not an agent
    assert live.http("GET", "/api/v1/campaigns", agent)[0] == 403
    status, listed = live.http("GET", "/api/v1/campaigns", sup)
    assert status == 200 and [c["name"] for c in listed] == ["spring"]
    status, changed = live.http("PATCH", "/api/v1/campaigns/spring", admin, {"abandon_target": 0.02,
                                                                            "description": "spring sale"})
    assert status == 200 and changed["abandon_target"] == 0.02 and changed["agents"] == ["1000", "1001"]
    status, shown = live.http("GET", "/api/v1/campaigns/spring", sup)
    assert status == 200 and shown["campaign"]["description"] == "spring sale"
    assert {"busy", "no_answer"} <= {r["code"] for r in shown["results"]}
    assert live.http("GET", "/api/v1/campaigns/nope", sup)[0] == 404
    rows = [a for a in audit_actions(live, since) if a[1].startswith("campaign.")]
    assert [r[1:] for r in rows] == [("campaign.add", "spring"), ("campaign.set", "spring")]
    assert len({r[0] for r in rows}) == 1 and rows[0][0] != ""    # the admin token's user


def test_a_lead_file_with_a_bad_row_imports_nothing_and_reports_the_row(live: Live) -> None:
    admin, sup = live.tokens["admin"], live.tokens["supervisor"]
    add(live, "imports", agents=["1000"])
    path = "/api/v1/campaigns/imports/leads/import"
    assert upload(live, path, sup, {"file": ("leads.csv", BAD_CSV.encode())})[0] == 403
    status, out = upload(live, path, admin, {"file": ("leads.csv", BAD_CSV.encode())})
    assert status == 200, out
    assert out["committed"] is False and out["imported"] == 0 and out["rejected"] == 1
    assert [(p["row"], p["kind"]) for p in out["problems"]] == [(3, "error")]
    assert "手机" in out["problems"][0]["column"]
    status, page = live.http("GET", "/api/v1/campaigns/imports/leads", admin)
    assert status == 200 and page["leads"] == []
    # partial=true imports the good rows
    status, out = upload(live, path, admin, {"file": ("leads.csv", BAD_CSV.encode())}, {"partial": "true"})
    assert status == 200 and out["committed"] is True and out["imported"] == 2
    # an Excel workbook, checked only (dry_run), then imported; its duplicate of the CSV's row is reported
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in (("姓名", "电话"), ("赵六", "13800138006"), ("钱七", "13800138004")):
        sheet.append(row)
    data = io.BytesIO()
    book.save(data)
    status, out = upload(live, path, admin, {"file": ("名单.xlsx", data.getvalue())}, {"dry_run": "true"})
    assert status == 200 and out["dry_run"] is True and out["committed"] is False and out["imported"] == 1
    assert [(p["row"], p["kind"]) for p in out["problems"]] == [(3, "duplicate")]
    status, out = upload(live, path, admin, {"file": ("名单.xlsx", data.getvalue())})
    assert status == 200 and out["committed"] is True and out["imported"] == 1 and out["file"] == "名单.xlsx"
    status, page = live.http("GET", "/api/v1/campaigns/imports/leads", admin)
    assert [x["name"] for x in page["leads"]] == ["张三", "王五", "赵六"]
    # not a multipart form, no file part, an unknown form field: 400 naming what is wrong
    status, err = live.http("POST", path, admin, {"file": "x"})
    assert status == 400 and "multipart/form-data" in err["error"]["message"]
    status, err = upload(live, path, admin, {"other": ("leads.csv", b"x")})
    assert status == 400 and "'file'" in err["error"]["message"]
    status, err = upload(live, path, admin, {"file": ("leads.csv", GOOD_CSV.encode())}, {"speed": "1"})
    assert status == 400 and "speed" in err["error"]["message"]
    status, err = upload(live, path, admin, {"file": ("leads.csv", b"\xff\xfe\x00garbage")})
    assert status == 400 and "leads.csv" in err["error"]["message"] and "cc-upload" not in err["error"]["message"]


def test_lead_numbers_are_masked_and_revealed_only_to_a_user_who_may(live: Live, manager: str) -> None:
    admin = live.tokens["admin"]
    add(live, "masked", agents=["1000"])
    status, out = upload(live, "/api/v1/campaigns/masked/leads/import", admin,
                         {"file": ("leads.csv", GOOD_CSV.encode())})
    assert status == 200 and out["imported"] == 3, out
    status, text = get_raw(live, "/api/v1/campaigns/masked/leads", manager)
    assert status == 200
    assert "13800138001" not in text and "138****8001" in text
    leads = json.loads(text)["leads"]
    assert [lead["name"] for lead in leads] == ["张三", "李四", "王五"]
    # the manager may not reveal; the admin may (audited)
    reveal = {"X-Reveal-Reason": "customer asked to be called back"}
    assert get_raw(live, "/api/v1/campaigns/masked/leads", manager, reveal)[0] == 403
    status, text = get_raw(live, "/api/v1/campaigns/masked/leads", admin, reveal)
    assert status == 200 and "+8613800138001" in text
    # keyset paging
    status, first = live.http("GET", "/api/v1/campaigns/masked/leads?limit=2", manager)
    assert status == 200 and len(first["leads"]) == 2 and first["next_after"] == first["leads"][-1]["id"]
    status, rest = live.http("GET", f"/api/v1/campaigns/masked/leads?limit=2&after={first['next_after']}", manager)
    assert [x["name"] for x in rest["leads"]] == ["王五"] and rest["next_after"] is None
    status, err = live.http("GET", "/api/v1/campaigns/masked/leads?state=sleeping", manager)
    assert status == 400 and "state='sleeping'" in err["error"]["message"]


def test_assign_dnc_results_and_callbacks(live: Live, manager: str) -> None:
    admin, sup = live.tokens["admin"], live.tokens["supervisor"]
    since = time.time() - 1
    add(live, "summer", agents=["1000"])
    assert upload(live, "/api/v1/campaigns/summer/leads/import", admin,
                  {"file": ("s.csv", b"name,phone\nA,13900139001\nB,13900139002\nC,13900139003\n")})[0] == 200
    # assignment
    assert live.http("POST", "/api/v1/campaigns/summer/assign", sup, {"even": ["1000", "1001"]})[0] == 403
    status, err = live.http("POST", "/api/v1/campaigns/summer/assign", manager, {"even": ["1000"], "to_agent": "1"})
    assert status == 400 and "give one of" in err["error"]["message"]
    status, given = live.http("POST", "/api/v1/campaigns/summer/assign", manager, {"even": ["1000", "1001"]})
    assert status == 200 and given["by_agent"] == {"1000": 2, "1001": 1}
    _, page = live.http("GET", "/api/v1/campaigns/summer/leads?owner=1001", manager)
    lead_id = page["leads"][0]["id"]
    status, moved = live.http("POST", "/api/v1/campaigns/summer/assign", manager,
                              {"leads": [lead_id], "agent": "1002"})
    assert status == 200 and moved["assigned"] == 1
    # DNC: add (masked in the answer), check, del; a bad number adds nothing
    status, err = live.http("POST", "/api/v1/dnc", manager, {"numbers": ["13700137001", "12"]})
    assert status == 400 and "12" in err["error"]["message"]
    status, added = live.http("POST", "/api/v1/dnc", manager, {"numbers": ["13700137001"], "reason": "complaint"})
    assert status == 200 and added["added"] == ["+86137****7001"]
    status, check = live.http("POST", "/api/v1/dnc/check", manager, {"number": "13700137001"})
    assert status == 200 and check["blocked"] is True and check["entries"][0]["reason"] == "complaint"
    assert live.http("POST", "/api/v1/dnc/del", manager, {"number": "13700137001"})[0] == 200
    assert live.http("POST", "/api/v1/dnc/check", manager, {"number": "13700137001"})[1]["blocked"] is False
    assert live.http("POST", "/api/v1/dnc/del", manager, {"number": "13700137001"})[0] == 404
    status, out = upload(live, "/api/v1/dnc/import", manager,
                         {"file": ("dnc.csv", b"phone\n13700137002\nnot-a-number\n")})
    assert status == 200 and out["committed"] is False and out["added"] == 0
    assert [p["row"] for p in out["problems"]] == [3]
    assert live.http("POST", "/api/v1/dnc/check", manager, {"number": "13700137002"})[1]["blocked"] is False
    status, out = upload(live, "/api/v1/dnc/import", manager, {"file": ("dnc.csv", b"phone\n13700137002\n")},
                         {"campaign": "summer"})
    assert status == 200 and out["added"] == 1 and out["scope"] == "summer"
    assert live.http("GET", "/api/v1/dnc?campaign=summer", manager)[1][0]["scope"] == "summer"
    # results
    assert live.http("POST", "/api/v1/campaigns/summer/results", manager,
                     {"code": "vip", "label_zh": "贵宾", "label_en": "VIP", "human_reached": True, "final": True,
                      "success": True, "agent_set": True})[0] == 200
    status, err = live.http("POST", "/api/v1/campaigns/summer/results", manager, {"code": "x", "retry_max": 2})
    assert status == 400 and "retry_delay_s" in err["error"]["message"]
    status, r = live.http("PATCH", "/api/v1/campaigns/summer/results/vip", manager,
                          {"label_en": "V.I.P.", "retry_delay_s": 3600, "retry_max": 2})
    assert status == 200 and r["label_en"] == "V.I.P." and r["retry_max"] == 2 and r["success"] is True
    assert live.http("PATCH", "/api/v1/campaigns/summer/results/nope", manager, {"final": True})[0] == 404
    assert live.http("DELETE", "/api/v1/campaigns/summer/results/vip", manager)[0] == 200
    assert "vip" not in {x["code"] for x in live.http("GET", "/api/v1/campaigns/summer/results", sup)[1]}
    # callbacks
    due = time.time() + 7200
    status, cb = live.http("POST", "/api/v1/callbacks", manager, {"lead_id": lead_id, "due_at": due, "anyone": True,
                                                                  "note": "after lunch"})
    assert status == 200 and cb["agent_id"] is None and cb["due_at"] == due - due % 60
    status, err = live.http("POST", "/api/v1/callbacks", manager, {"lead_id": lead_id})
    assert status == 400 and "due_at" in err["error"]["message"]
    status, err = live.http("POST", "/api/v1/callbacks", manager, {"lead_id": 2**70, "due_at": due})
    assert status == 400 and "lead_id" in err["error"]["message"], err   # schemathesis: a 500 (OverflowError) before
    assert [c["id"] for c in live.http("GET", "/api/v1/callbacks?campaign=summer", manager)[1]] == [cb["id"]]
    status, done = live.http("POST", f"/api/v1/callbacks/{cb['id']}/done", manager, {"outcome": "cancelled"})
    assert status == 200 and done["state"] == "cancelled"
    assert live.http("POST", f"/api/v1/callbacks/{cb['id']}/done", manager, {})[0] == 409
    actions = [a[1] for a in audit_actions(live, since)]
    for action in ("campaign.import", "campaign.assign", "dnc.add", "dnc.del", "dnc.import", "result.add",
                   "result.set", "result.del", "callback.add", "callback.done"):
        assert action in actions, action
    assert actions.count("dnc.add") == 1       # the refused add wrote nothing, not even its audit row


def test_status_changes_and_live_figures_through_the_dialer_or_the_store(live: Live, monkeypatch: Any) -> None:
    admin, sup = live.tokens["admin"], live.tokens["supervisor"]
    since = time.time() - 1
    add(live, "control")
    assert live.http("POST", "/api/v1/campaigns/control/control", sup, {"action": "start"})[0] == 403
    status, err = live.http("POST", "/api/v1/campaigns/control/control", admin, {"action": "start"})
    assert status == 409 and "no agents" in err["error"]["message"]
    status, err = live.http("POST", "/api/v1/campaigns/control/control", admin, {"action": "go"})
    assert status == 400 and "action='go'" in err["error"]["message"]
    live.http("PATCH", "/api/v1/campaigns/control", admin, {"agents": ["1002"]})
    status, live_doc = live.http("GET", "/api/v1/campaigns/control/live", sup)
    assert status == 200 and live_doc["source"] == "store" and live_doc["status"] == "draft"
    runtime = live.svc.campaigns
    status, out = live.http("POST", "/api/v1/campaigns/control/control", admin, {"action": "start"})
    assert status == 200 and out["status"] == "running", out
    status, live_doc = live.http("GET", "/api/v1/campaigns/control/live", sup)
    if runtime is not None:            # the controller runs the campaign's dialer: its figures
        assert live_doc["source"] == "dialer" and live_doc["agents"] == 1 and live_doc["dialer"]["dials"] == 0
        assert "control" in runtime.running
        # `ccctl campaign status` reads the same answer: the dialer reports, the agents working it show
        cli = live.cli("campaign", "status", "control", "--json")
        assert cli.exit_code == 0, cli.output
        rec = json.loads(cli.stdout)
        assert "note" not in rec and rec["agents"] == 1 and "agents_working" in rec
    assert live_doc["dials_24h"] == 0 and not live_doc["abandon_rate_24h"]   # no contacts yet
    assert live.http("POST", "/api/v1/campaigns/control/control", admin, {"action": "pause"})[1]["status"] == "paused"
    # without a dialer runtime the status changes in the store
    monkeypatch.setattr(live.svc, "campaigns", None)
    status, out = live.http("POST", "/api/v1/campaigns/control/control", admin, {"action": "stop"})
    assert status == 200 and out["status"] == "stopped" and out["dialer"] is None
    status, live_doc = live.http("GET", "/api/v1/campaigns/control/live", sup)
    assert live_doc["source"] == "store" and live_doc["status"] == "stopped"
    status, err = live.http("POST", "/api/v1/campaigns/control/control", admin, {"action": "pause"})
    assert status == 409 and "it can: start" in err["error"]["message"]
    # running in the store, but no dialer runs it: the CLI says no controller is reporting
    assert live.http("POST", "/api/v1/campaigns/control/control", admin, {"action": "start"})[1]["status"] == "running"
    cli = live.cli("campaign", "status", "control")
    assert cli.exit_code == 0 and "no controller is reporting" in cli.stdout
    # each accepted change has its row (through the dialer or the store), the refused ones none
    assert [a[1] for a in audit_actions(live, since) if a[2] == "control"] == [
        "campaign.add", "campaign.set", "campaign.start", "campaign.pause", "campaign.stop", "campaign.start"]
