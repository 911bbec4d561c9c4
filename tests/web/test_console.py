"""Supervisor console in Chromium against `ccctl serve --http` on cc.sim: the wallboard changes live with a call (no
reload), the agent grid shows only the supervisor's team, listen / whisper / barge start an eavesdrop on the agent's
leg in the right mode (the switch's channels say so), and another team's supervisor gets 403 and no button."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

from cc.model import Agent
from cc.store.db import Database
from cc.store.org import OrgRepo
from cc.store.repos import AgentRepo
from cc.store.tokens import TokenRepo
from cc.store.users import UserRepo

from .conftest import KNOWN, PASSWORD, Controller, shot, sign_in

#: supervisors' phones: agents outside the queue whose phones the switch answers
SIM_PHONES = ("1091", "1092")
TALK_TIME = 120
TOKENS: dict[str, str] = {}


def EXTRA_SEED(url: str) -> None:
    """Teams A (agents 1001, 1002, supervisor sup_a on phone 1091) and B (agent 1003, sup_b on 1092)."""
    db = Database(url)
    org, agents, users = OrgRepo(db), AgentRepo(db), UserRepo(db)
    org.add("A")
    org.add("B")
    for aid, team in (("1001", "A"), ("1002", "A"), ("1003", "B")):
        a = agents.get(aid)
        agents.update(Agent(a.id, name=a.name, contact=a.contact, team=team))
    for login, aid, team in (("sup_a", "1091", "A"), ("sup_b", "1092", "B")):
        agents.create(Agent(aid, name=f"Supervisor {team}", contact=f"user/{aid}@sim", team=team))
        users.add(login, display_name=login, password=PASSWORD, agent_id=aid)
        users.grant(login, "supervisor", team)
        TOKENS[login] = TokenRepo(db).create(f"t-{login}", user=login)[1]
    db.engine.dispose()


def until(what: Callable[[], Any], timeout: float = 20.0) -> Any:
    """Poll ``what`` until it answers something true (a bounded wait on the other process, not a timing check)."""
    deadline = time.monotonic() + timeout
    while True:
        got = what()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"still {got!r} after {timeout} s")
        time.sleep(0.2)


def api(ctl: Controller, method: str, path: str, token: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    req = urllib.request.Request(ctl.url + path, method=method, data=json.dumps(body or {}).encode(),
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def figure(page: Any, name: str) -> str:
    return str(page.locator(f'#board [data-queue="support"] [data-figure="{name}"]').inner_text()).strip()


@pytest.fixture(scope="module")
def pages(controller: Controller, browser: Any) -> Any:
    contexts = {login: browser.new_context(locale="en-US", viewport={"width": 1400, "height": 900})
                for login in ("li", "sup_a", "sup_b")}
    out = {}
    for login, context in contexts.items():
        page = context.new_page()
        sign_in(page, controller.url, login)
        out[login] = page
    yield out
    for context in contexts.values():
        context.close()


def test_the_wallboard_changes_with_a_call_without_a_reload(controller: Controller, pages: Any) -> None:
    li, sup = pages["li"], pages["sup_a"]
    li.goto(f"{controller.url}/workbench")
    li.wait_for_function("window.ccLive === true")
    li.select_option("#reason", "meal")
    li.click("#go-not-ready")
    li.wait_for_selector('[data-state="not_ready"]')

    sup.goto(f"{controller.url}/supervisor/wallboard")
    sup.wait_for_function("window.ccBoardLive === true")
    sup.evaluate("window.sameDocument = true")
    assert figure(sup, "waiting") == "0"
    assert figure(sup, "service-level") == "—"
    assert sup.locator('#board [data-queue="support"] [data-count="not_ready"]').inner_text() == "1"

    controller.call(KNOWN)            # nobody is Ready: the caller waits
    sup.wait_for_function("""() => document.querySelector('#board [data-queue="support"] [data-figure="waiting"]')
                             .textContent.trim() === '1'""")
    shot(sup, "wallboard-waiting-en")
    li.click("#go-ready")             # li takes it: waiting back to 0, today's service level appears
    sup.wait_for_function("""() => document.querySelector('#board [data-queue="support"] [data-figure="waiting"]')
                             .textContent.trim() === '0'""")
    sup.wait_for_function("""() => document.querySelector('#board [data-queue="support"] [data-figure="service-level"]')
                             .textContent.trim() === '100%'""", timeout=15000)
    assert sup.evaluate("window.sameDocument") is True     # no reload: the same document all along
    assert sup.locator('#board [data-queue="support"] [data-figure="answered"]').inner_text() == "1"
    shot(sup, "wallboard-answered-en")
    sup.goto(f"{controller.url}/supervisor/wallboard?tv=1")
    assert not sup.locator("header.top").is_visible()
    shot(sup, "wallboard-tv-en")


def _leg_of(controller: Controller, agent: str) -> str | None:
    legs = [c["uuid"] for c in controller.channels() if c["cc_agent"] == agent and not c["hungup"]
            and c["cc_member_uuid"] not in (None, c["uuid"])]     # his leg, not the caller's channel
    return legs[0] if legs else None


def _eavesdrop_on(controller: Controller, leg: str) -> list[dict[str, Any]]:
    return [c for c in controller.channels() if c["app"] == "eavesdrop" and c["app_data"] == leg and not c["hungup"]]


def test_listen_whisper_and_barge_eavesdrop_on_the_agents_leg(controller: Controller, pages: Any) -> None:
    sup = pages["sup_a"]
    if _leg_of(controller, "1001") is None:   # li's call of the previous test (TALK_TIME) ended on a slow host:
        controller.call(KNOWN)                 # he is Ready, and takes this one
    leg = until(lambda: _leg_of(controller, "1001"))
    sup.goto(f"{controller.url}/supervisor/agents")
    row = sup.locator('tr[data-agent="1001"]')
    row.locator("td.state-label").filter(has_text="In call").wait_for()
    assert sup.locator('tr[data-agent="1003"]').count() == 0          # team B is not his
    row.locator('button[data-monitor="listen"]').click()
    sup.wait_for_selector('.monitor[data-agent="1001"]')
    ch = until(lambda: [c for c in _eavesdrop_on(controller, leg) if c["eavesdrop_mode"] == "listen"])
    spy = ch[0]["uuid"]
    shot(sup, "agents-listening-en")
    for mode, sim_mode in (("whisper", "target"), ("barge", "three_way"), ("listen", "listen")):
        sup.locator(f'.monitor[data-agent="1001"] button[data-switch="{mode}"]').click()
        sup.wait_for_selector(f'.monitor[data-agent="1001"][data-mode="{mode}"]')
        until(lambda sim_mode=sim_mode: [c for c in _eavesdrop_on(controller, leg)
                                         if c["uuid"] == spy and c["eavesdrop_mode"] == sim_mode])
    sup.locator('.monitor[data-agent="1001"] button[data-stop]').click()
    until(lambda: not _eavesdrop_on(controller, leg))
    until(lambda: _monitor_audit(controller)[-1:] == ["monitor.stop"])   # audited in a worker: before the next
    # the API's route starts one the same way, whispering at once
    status, body = api(controller, "POST", "/api/v1/agents/1001/monitor", TOKENS["sup_a"], {"mode": "whisper"})
    assert status == 200 and body["mode"] == "whisper" and body["target"] == leg
    until(lambda: [c for c in _eavesdrop_on(controller, leg) if c["uuid"] == body["uuid"]
                   and c["eavesdrop_mode"] == "target"])
    assert api(controller, "POST", f"/api/v1/monitors/{body['uuid']}/stop", TOKENS["sup_b"])[0] == 403
    assert api(controller, "POST", f"/api/v1/monitors/{body['uuid']}/stop", TOKENS["sup_a"])[0] == 200
    actions = _monitor_audit(controller)
    assert actions[:5] == ["monitor.start", "monitor.mode", "monitor.mode", "monitor.mode", "monitor.stop"]


def _monitor_audit(controller: Controller) -> list[str]:
    """sup_a's monitor actions in the audit log, oldest first."""
    from sqlalchemy import text
    with controller.database().engine.connect() as conn:
        return [r[0] for r in conn.execute(text("SELECT action FROM audit_log WHERE login = 'sup_a' "
                                                "AND action LIKE 'monitor.%' ORDER BY id"))]


def test_another_teams_supervisor_gets_403_and_no_button(controller: Controller, pages: Any) -> None:
    sup_b = pages["sup_b"]
    sup_b.goto(f"{controller.url}/supervisor/agents")
    sup_b.wait_for_selector('tr[data-agent="1003"]')
    assert sup_b.locator('tr[data-agent="1001"]').count() == 0
    assert sup_b.locator("button[data-monitor]").count() == 0
    token = sup_b.locator("body").get_attribute("hx-headers")
    csrf = json.loads(token or "{}")["X-CSRFToken"]
    for path, form in (("/supervisor/agents/1001/monitor", {"mode": "listen"}),
                       ("/supervisor/agents/1001/state", {"to": "logout"})):
        resp = sup_b.request.post(controller.url + path, form=form, headers={"X-CSRFToken": csrf})
        assert resp.status == 403, path
    status, _ = api(controller, "POST", "/api/v1/agents/1001/monitor", TOKENS["sup_b"], {"mode": "listen"})
    assert status == 403
    shot(sup_b, "agents-team-b-en")


def test_force_not_ready_is_audited(controller: Controller, pages: Any) -> None:
    sup = pages["sup_a"]
    assert api(controller, "POST", "/api/v1/agents/1002/login", TOKENS["sup_a"], {"status": "available"})[0] == 200
    sup.goto(f"{controller.url}/supervisor/agents")
    row = sup.locator('tr[data-agent="1002"]')
    row.wait_for()
    row.locator("select").select_option("training")
    row.locator('button[data-action="not_ready"]').click()
    sup.locator('tr[data-agent="1002"] td.state-label').filter(has_text="Not ready").wait_for()
    assert "Training" in sup.locator('tr[data-agent="1002"]').inner_text()
    with controller.database().engine.connect() as conn:
        from sqlalchemy import text
        rows = list(conn.execute(text("SELECT action, resource FROM audit_log WHERE login = 'sup_a' "
                                      "AND action = 'agent.status'")))
    assert [tuple(r) for r in rows] == [("agent.status", "1002")]
