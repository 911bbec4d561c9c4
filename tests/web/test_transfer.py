"""Transfers from the agent workbench in Chromium against `ccctl serve --http` on cc.sim (issue 18, cases 3 and 4):
a blind transfer to agent B pops the same customer with A's note on B's page while A goes to after-call work;
an attended transfer's complete bridges the caller to B on the switch, its cancel brings the caller back to A.
The cards change on the switch's events (``call_consult``, ``call_transferred``), pushed over SSE."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from cc.store.db import Database
from cc.store.org import OrgRepo, RoleRepo
from cc.store.repos import AgentRepo, InteractionRepo
from cc.store.users import UserRepo
from tests.web.conftest import KNOWN, Controller, shot, sign_in
from tests.web.test_signin import chinese_in_english, untranslated

#: the agents' phones stay in the call long enough to transfer it
TALK_TIME = 60


def EXTRA_SEED(url: str) -> None:
    """Team A (agents 1001 li, 1002 wang) and team B (1003 zhao); li and wang may see their team's agents live
    (a role with view_live over A), so li's transfer list holds wang and never zhao."""
    db = Database(url)
    org, agents, users = OrgRepo(db), AgentRepo(db), UserRepo(db)
    org.add("A")
    org.add("B")
    for aid, team in (("1001", "A"), ("1002", "A"), ("1003", "B")):
        a = agents.get(aid)
        agents.update(a.__class__(a.id, name=a.name, contact=a.contact, team=team))
    RoleRepo(db).add("desk", ["view_live"], description="sees his team's agents")
    for login in ("li", "wang"):
        users.grant(login, "desk", "A")
    db.engine.dispose()


def _page(browser: Any, controller: Controller, login: str, locale: str = "en-US") -> Any:
    ctx = browser.new_context(locale=locale, viewport={"width": 1280, "height": 1300})
    page = ctx.new_page()
    sign_in(page, controller.url, login)
    expect(page.locator("#state-label")).to_be_visible()
    page.wait_for_function("() => window.ccLive")
    return page


def _ready(page: Any) -> None:
    page.click("#go-ready")
    expect(page.locator("#state-label")).to_have_text("Ready")


def _not_ready(page: Any) -> None:
    page.click("#go-not-ready")
    expect(page.locator("#state-label")).to_have_text("Not ready")


def _leg(controller: Controller, agent: str, caller: str) -> dict[str, Any]:
    """The agent's live leg (not the caller's channel, which carries cc_agent too)."""
    return next(c for c in controller.channels() if c["cc_agent"] == agent and not c["hungup"] and c["uuid"] != caller)


def _caller(controller: Controller, caller: str) -> dict[str, Any]:
    return next(c for c in controller.channels() if c["uuid"] == caller)


def _save(page: Any, result: str, note: str = "") -> None:
    expect(page.locator("#res-result")).to_be_visible(timeout=10_000)
    page.select_option("#res-result", result)
    if note:
        page.fill("#res-note", note)
    page.click("#save-result")


def test_blind_transfer_pops_the_customer_on_b_and_a_owes_the_result(controller: Controller, browser: Any) -> None:
    a, b, c = _page(browser, controller, "li"), _page(browser, controller, "wang"), _page(browser, controller, "zhao")
    _ready(a)
    controller.call(KNOWN)
    expect(a.locator("#state-label")).to_have_text("In call", timeout=10_000)
    expect(a.locator("#transfer-form")).to_be_visible()
    call_uuid = a.locator(".call-controls").get_attribute("data-call")
    assert call_uuid
    _ready(b)
    _ready(c)
    a.click("#call-hold")   # any event of A's refreshes the card (and its list of ready agents)
    expect(a.locator("#call-resume")).to_be_visible()
    a.click("#call-resume")
    expect(a.locator("#call-hold")).to_be_visible()
    options = a.locator("#target-agent option").evaluate_all("os => os.map(o => o.value)")
    assert options == ["1002"]   # wang is ready and in li's team; zhao is ready in another team: not offered
    assert chinese_in_english(a) == []
    a.fill("#transfer-note", "wants the refund of order 42")
    shot(a, "transfer-form-en")
    a.click("#transfer-go")

    # B's page pops the same customer with A's id and note
    expect(b.locator("#pop-transfer-from")).to_have_text("1001", timeout=10_000)
    expect(b.locator("#pop-transfer-note")).to_have_text("wants the refund of order 42")
    expect(b.locator("#pop")).to_contain_text("张伟")
    expect(b.locator("#call-hold")).to_be_visible(timeout=10_000)   # B answered: the bridged event
    assert _caller(controller, call_uuid)["bridged_to"] == _leg(controller, "1002", call_uuid)["uuid"]
    shot(b, "transfer-popped-on-b-en")

    # A: the call is gone from his card, after-call work; Ready stays disabled until the result is saved
    expect(a.locator("#no-call")).to_be_visible(timeout=10_000)
    expect(a.locator("#state-label")).to_have_text("After-call work")
    expect(a.locator("#go-ready")).to_be_disabled()
    _save(a, "follow_up", "passed to wang for the refund")
    expect(a.locator("#state-label")).to_have_text("Ready")
    expect(a.locator("#go-ready")).to_be_enabled()

    # the history: A's result and note on the customer, one interaction per agent who took the call
    db = controller.database()
    try:
        rows = [i for i in InteractionRepo(db).for_customer("c-zhang", 20) if i.call_uuid == call_uuid]
    finally:
        db.engine.dispose()
    assert [(i.agent_id, i.disposition, i.note) for i in rows if i.agent_id == "1001"] == [
        ("1001", "follow_up", "passed to wang for the refund")]

    # B ends his part; everyone is out of the next test's way
    b.click("#call-hangup")
    _save(b, "resolved")
    expect(b.locator("#state-label")).to_have_text("Ready")
    for p in (a, b, c):
        _not_ready(p)
        p.context.close()


def test_attended_transfer_cancel_returns_to_a_and_complete_bridges_b(controller: Controller, browser: Any) -> None:
    a, b = _page(browser, controller, "li", "zh-CN"), _page(browser, controller, "wang")
    a.click("button[name=locale][value=en]")
    expect(a.locator("#go-ready")).to_have_text("Ready")
    _not_ready(b)
    _ready(a)
    controller.call(KNOWN)
    expect(a.locator("#state-label")).to_have_text("In call", timeout=10_000)
    call_uuid = a.locator(".call-controls").get_attribute("data-call")
    assert call_uuid
    a_leg = _leg(controller, "1001", call_uuid)["uuid"]
    _ready(b)
    a.click("#call-hold")
    expect(a.locator("#call-resume")).to_be_visible()
    a.click("#call-resume")
    expect(a.locator("#call-hold")).to_be_visible()

    # consult B: his phone rings, then A and B talk while the caller waits
    a.select_option("#target-agent", "1002")
    a.fill("#transfer-note", "VIP, be nice")
    a.click("#consult-go")
    expect(a.locator("#consult-actions")).to_have_attribute("data-phase", "talking", timeout=15_000)
    assert _leg(controller, "1001", call_uuid)["bridged_to"] == _leg(controller, "1002", call_uuid)["uuid"]
    expect(b.locator("#pop-transfer-note")).to_have_text("VIP, be nice")
    shot(a, "consulting-en")

    # cancel: the caller is back with A, B's leg goes
    a.click("#consult-cancel")
    expect(a.locator("#hold-state")).to_have_text("Talking.", timeout=10_000)
    expect(a.locator("#consult-actions")).to_have_count(0)
    assert _caller(controller, call_uuid)["bridged_to"] == a_leg
    expect(b.locator("#state-label")).to_have_text("Ready", timeout=10_000)

    # consult again (in Chinese this time) and complete: the caller talks to B
    a.click("button[name=locale][value=zh_CN]")
    expect(a.locator("#consult-go")).to_be_visible()
    assert untranslated(a) == []
    a.select_option("#target-agent", "1002")
    a.click("#consult-go")
    expect(a.locator("#consult-complete")).to_be_visible(timeout=15_000)
    assert untranslated(a) == []
    shot(a, "consulting-zh")
    a.click("#consult-complete")
    expect(a.locator("#no-call")).to_be_visible(timeout=10_000)
    assert _caller(controller, call_uuid)["bridged_to"] == _leg(controller, "1002", call_uuid)["uuid"]
    expect(b.locator("#call-hold")).to_be_visible(timeout=10_000)
    expect(a.locator("#go-ready")).to_be_disabled()
    shot(a, "transfer-completed-zh")
    b.click("#call-hangup")
    for p in (a, b):
        p.context.close()
