"""The agent workbench in Chromium against `ccctl serve --http` on cc.sim: Ready, an offered call's alert and
screen pop (the seeded customer and his 3 earlier interactions), the result required before Ready, and an
unknown caller added as a customer from the pop, the call linked to him."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from cc.model import InteractionKind
from cc.store.repos import CustomerRepo, InteractionRepo
from tests.web.conftest import KNOWN, Controller, shot, sign_in
from tests.web.test_signin import chinese_in_english, untranslated

#: the pop must be up while the agent's phone rings (the sim's agents answer 3 s after the offer)
RINGING_MS = 3000


def test_known_caller_pops_with_history_and_a_result_is_required_before_ready(controller: Controller,
                                                                              browser: Any) -> None:
    ctx = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    sign_in(page, controller.url, "li")
    expect(page.locator("#state-label")).to_have_text("Logged out")
    page.click("#go-ready")
    expect(page.locator("#state-label")).to_have_text("Ready")
    page.wait_for_function("() => window.ccLive")   # the event stream is open
    controller.call(KNOWN)
    # the alert and the pop while the phone rings: the pop is fetched on the offer's event
    expect(page.locator("#incoming")).to_be_visible(timeout=RINGING_MS)
    expect(page.locator("#customer-name")).to_have_text("张伟", timeout=RINGING_MS)
    expect(page.locator("#customer-type")).to_have_text("Member")
    rows = page.locator("#history tbody tr")
    expect(rows).to_have_count(3)
    # newest first
    expect(rows.nth(0)).to_contain_text("投诉送货慢")
    expect(rows.nth(1)).to_contain_text("要求回电")
    expect(rows.nth(2)).to_contain_text("问询账单")
    expect(rows.nth(0)).to_contain_text("Complaint")
    assert page.evaluate("window.ccBeeps") >= 1, "no audible alert was played"
    # masked for an agent (no reveal_numbers), with the region in Chinese
    expect(page.locator("#pop-number")).to_have_text("+86138****5678")
    expect(page.locator("#pop-region")).to_have_text("江苏省连云港市")
    expect(page.locator("#pop-queue")).to_have_text("support")
    assert KNOWN not in page.content()
    shot(page, "pop-known-en")
    call_uuid = page.locator(".pop").get_attribute("data-call")
    assert call_uuid

    expect(page.locator("#state-label")).to_have_text("In call", timeout=10_000)
    expect(page.locator("#talking")).to_be_visible()
    # the agent hangs up after 3 s: the queue needs a result, so after-call work and Ready is disabled
    expect(page.locator("#state-label")).to_have_text("After-call work", timeout=10_000)
    expect(page.locator("#ended")).to_be_visible()
    expect(page.locator("#go-ready")).to_be_disabled()
    expect(page.locator("#result-form")).to_be_visible()
    # Ready asked anyway (a request of one's own) is refused
    page.evaluate("htmx.ajax('POST', '/workbench/state', {values: {to: 'ready'}, target: '#state'})")
    expect(page.locator("#state .error")).to_have_text("Save the result of the last call first.")
    expect(page.locator("#state-label")).to_have_text("After-call work")
    # no result chosen: the browser's own check stops it; past it, the server refuses
    page.locator("#res-result").evaluate("e => e.removeAttribute('required')")
    page.click("#save-result")
    expect(page.locator("#result .error")).to_have_text("Choose a result.")
    assert chinese_in_english(page) == [], "Chinese on the English page (outside data)"
    shot(page, "after-call-en")

    # the same page in Chinese: no English left outside data; CJK fonts render (screenshot)
    page.click("button[name=locale][value=zh_CN]")
    expect(page.locator("#state-label")).to_have_text("话后处理")
    expect(page.locator("#customer-type")).to_have_text("会员")
    assert untranslated(page) == []
    shot(page, "after-call-zh")
    page.select_option("#res-result", "resolved")
    page.fill("#res-note", "客户满意 已解决")
    page.fill("#res-callback_at", "2026-12-24T10:30")
    page.click("#save-result")
    expect(page.locator("#result-saved")).to_be_visible()
    expect(page.locator("#state-label")).to_have_text("示闲")
    expect(page.locator("#go-ready")).to_be_enabled()
    page.click("button[name=locale][value=en]")
    page.click("#go-logout")
    expect(page.locator("#state-label")).to_have_text("Logged out")
    ctx.close()

    db = controller.database()
    history = InteractionRepo(db).for_customer("c-zhang")
    call = next(i for i in history if i.kind is InteractionKind.CALL and i.call_uuid == call_uuid)
    assert (call.disposition, call.note, call.agent_id, call.queue) == ("resolved", "客户满意 已解决", "1001",
                                                                          "support")
    callback = next(i for i in history if i.kind is InteractionKind.CALLBACK)
    assert callback.call_uuid == call_uuid and callback.at % 60 == 0


def test_unknown_caller_gets_a_prefilled_form_and_saving_links_the_call(controller: Controller,
                                                                        browser: Any) -> None:
    number = "+8613511112222"
    ctx = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    sign_in(page, controller.url, "wang")
    page.click("#go-ready")
    expect(page.locator("#state-label")).to_have_text("示闲")
    page.wait_for_function("() => window.ccLive")   # the event stream is open
    controller.call(number)
    expect(page.locator("#incoming")).to_be_visible(timeout=RINGING_MS)
    expect(page.locator("#add-customer")).to_be_visible(timeout=RINGING_MS)
    expect(page.locator("#new-number")).to_have_value("+86135****2222")   # pre-filled, masked for an agent
    expect(page.locator("#pop-region")).to_have_text("湖南省益阳市")
    assert untranslated(page) == []
    shot(page, "pop-unknown-zh")
    call_uuid = page.locator(".pop").get_attribute("data-call")
    page.fill("#new-name", "李娜")
    page.select_option("#new-customer_type", "interested")
    page.click("#add-customer button[type=submit]")
    expect(page.locator("#customer-name")).to_have_text("李娜")
    expect(page.locator("#customer-type")).to_have_text("意向客户")
    shot(page, "pop-added-zh")
    expect(page.locator("#result-form")).to_be_visible(timeout=10_000)
    expect(page.locator("#state-label")).to_have_text("话后处理", timeout=10_000)
    page.select_option("#res-result", "follow_up")
    page.click("#save-result")
    expect(page.locator("#state-label")).to_have_text("示闲")
    page.click("#go-logout")
    expect(page.locator("#state-label")).to_have_text("已签出")
    ctx.close()

    db = controller.database()
    found = CustomerRepo(db, default_region="CN").find_by_phone(number)
    assert [c.name for c in found] == ["李娜"]
    calls = [i for i in InteractionRepo(db).for_customer(found[0].id) if i.call_uuid == call_uuid]
    assert [(i.kind, i.disposition) for i in calls] == [(InteractionKind.CALL, "follow_up")]
