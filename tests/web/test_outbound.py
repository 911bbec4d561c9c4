"""The workbench's outbound side in Chromium against `ccctl serve --http` on cc.sim, both on simulated time:
a campaign callback due at T reminds at T - 5 min and at T (controller clock) and click-to-dial places it (the
agent's leg first, then the customer's); a preview campaign shows the lead card, Skip records the reason and
Dial places the call."""

from __future__ import annotations

import time
from typing import Any

from playwright.sync_api import expect

from cc.dialer import CampaignEvent, CampaignMode, CampaignSettings
from cc.leadfile import LeadInput
from cc.store.audit import AuditRepo
from cc.store.campaigns import Campaign, CampaignRepos
from cc.store.db import Database
from tests.web.conftest import Controller, shot, sign_in
from tests.web.test_signin import chinese_in_english, untranslated

#: 1 real second is 50 simulated seconds: 5 minutes pass in 6 s
TIME_SCALE = 0.02
#: the called parties (and the agents) talk long enough for the test to see their channels
TALK_TIME = 6000
CB_NUMBER = "+8613711112222"
PV_NUMBERS = ("+8613622223333", "+8613633334444")
SIM_ANSWER = (CB_NUMBER, *PV_NUMBERS)
#: the callback's due time, set by EXTRA_SEED: about 26 real seconds after the controller starts
DUE: list[float] = []


def _campaign(repos: CampaignRepos, name: str, mode: CampaignMode, agent: str, numbers: tuple[str, ...],
              **settings: Any) -> list[str]:
    s = CampaignSettings(name, mode=mode, caller_ids=("+861088880000",), dial_string="sofia/gateway/{gw}/{number}",
                         gateway="carrier", dial_timeout_s=60.0, **settings)
    repos.campaigns.create(Campaign(s, agents=(agent,)))
    rows = [LeadInput(row=i, numbers=[(n, "mobile")], name=f"{name} lead {i}", tz="Asia/Shanghai",
                      extra={"product": f"plan {i}"}) for i, n in enumerate(numbers, 1)]
    out = repos.leads.import_rows(name, "test.csv", rows, [], total_rows=len(rows))
    assert out.committed, out
    repos.campaigns.change_status(name, CampaignEvent.START)
    return [d.lead.lead_id for d in repos.leads.list(name)]


def EXTRA_SEED(url: str) -> None:
    db = Database(url)
    repos = CampaignRepos(db)
    (lead,) = _campaign(repos, "cb", CampaignMode.MANUAL, "1002", (CB_NUMBER,))
    due = time.time() + 1320.0   # the controller's clock starts at the wall clock's now and runs 50x
    DUE.append(repos.callbacks.add(lead, due, agent_id="1002", note="wants the new plan").due_at)
    _campaign(repos, "pv", CampaignMode.PREVIEW, "1003", PV_NUMBERS, preview_timeout_s=6000.0)
    db.engine.dispose()


def _preview_post(response: Any) -> bool:
    """The answer to the preview card's Dial or Skip."""
    return bool(response.request.method == "POST" and response.url.endswith("/workbench/outbound/preview"))


def _audit(controller: Controller, action: str) -> list[Any]:
    db = controller.database()
    try:
        return list(AuditRepo(db).search(0.0, 4e9, action=action))
    finally:
        db.engine.dispose()


def test_callback_reminds_before_and_at_due_and_click_to_dial_places_it(controller: Controller,
                                                                        browser: Any) -> None:
    due = DUE[0]
    ctx = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 1000})
    page = ctx.new_page()
    sign_in(page, controller.url, "wang")
    page.click("#go-ready")
    expect(page.locator("#state-label")).to_have_text("Ready")
    page.wait_for_function("() => window.ccLive")
    before = page.locator(".reminder[data-kind=before]")
    expect(before).to_be_visible(timeout=60_000)
    expect(before).to_contain_text("Callback in 5 minutes")
    fired = float(before.get_attribute("data-fired-at") or 0)
    assert due - 300 <= fired < due, (fired - due)          # the controller's clock, not the wall's
    shot(page, "callback-before-en")
    now_due = page.locator(".reminder[data-kind=due]")
    expect(now_due).to_be_visible(timeout=60_000)
    expect(now_due).to_contain_text("Callback due now")
    expect(now_due).to_have_class("reminder reminder-due due")
    assert float(now_due.get_attribute("data-fired-at") or 0) >= due
    shot(page, "callback-due-en")
    page.locator(".reminder .dial-now").first.click()
    expect(page.locator("#dial-placed")).to_be_visible()
    # the switch: the agent's leg was originated first, then the customer's (creation order, the sim's clock)
    legs: list[dict[str, Any]] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        legs = [ch for ch in controller.channels() if ch["cc_campaign"] == "cb"]
        if len(legs) >= 2:
            break
        time.sleep(0.2)
    agent_leg = next(ch for ch in legs if ch["cc_agent"] == "1002")
    customer_leg = next(ch for ch in legs if ch["cc_agent"] is None)
    assert CB_NUMBER.lstrip("+") in customer_leg["name"] or CB_NUMBER in customer_leg["name"]
    assert agent_leg["created"] < customer_leg["created"]
    assert agent_leg["cc_dial_uuid"] == customer_leg["uuid"]
    rows = _audit(controller, "call.click_to_dial")
    assert rows and rows[-1].login == "wang" and rows[-1].resource.startswith("lead:")
    # refused while in a call: the server says so (the page is not trusted)
    page.evaluate("htmx.ajax('POST', '/workbench/outbound/dial', {values: {lead_id: '1'}, target: '#reminders'})")
    expect(page.locator("#dial-error")).to_contain_text("You are in a call")
    ctx.close()


def test_preview_card_skip_records_the_reason_and_dial_places_the_call(controller: Controller,
                                                                       browser: Any) -> None:
    for locale in ("zh-CN", "en-US"):
        ctx = browser.new_context(locale=locale, viewport={"width": 1280, "height": 1000})
        page = ctx.new_page()
        sign_in(page, controller.url, "zhao")
        if locale == "zh-CN":
            page.click("#go-ready")
        page.wait_for_function("() => window.ccLive")
        card = page.locator("#lead-card")
        expect(card).to_be_visible(timeout=30_000)
        expect(card).to_contain_text("pv lead")
        expect(page.locator("#preview-left")).to_be_visible()
        assert PV_NUMBERS[0] not in page.content() and PV_NUMBERS[1] not in page.content()   # masked
        if locale == "zh-CN":
            shot(page, "preview-card-zh")
            assert not untranslated(page), untranslated(page)
            page.fill("#skip-reason", "客户在开会")
            # the answer says done; the next lead's offer may replace it on the page at once (an SSE refresh)
            with page.expect_response(_preview_post) as answer:
                page.click("#preview-skip")
            assert answer.value.ok and 'id="preview-done"' in answer.value.text()
            rows = _audit(controller, "call.preview_skip")
            assert rows and rows[-1].detail.get("reason") == "客户在开会"
        else:
            shot(page, "preview-card-en")
            assert not chinese_in_english(page), chinese_in_english(page)
            lead = card.get_attribute("data-lead")
            with page.expect_response(_preview_post) as answer:
                page.click("#preview-dial")
            assert answer.value.ok and 'id="preview-done"' in answer.value.text()
            legs: list[dict[str, Any]] = []
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                legs = [ch for ch in controller.channels() if ch["cc_campaign"] == "pv" and ch["cc_lead"] == lead]
                if legs:
                    break
                time.sleep(0.2)
            assert legs, "the preview lead was not dialed"
        ctx.close()
