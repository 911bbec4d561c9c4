"""In-call controls of the agent workbench in Chromium against `ccctl serve --http` on cc.sim: hold and resume
(uuid_hold on the agent's leg; the page says "on hold" only once the switch's CHANNEL_HOLD came back, and the
caller's leg is then playing the switch's music on hold), keys sent to the caller, and hanging up."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from playwright.sync_api import expect

from tests.web.conftest import KNOWN, Controller, shot, sign_in
from tests.web.test_signin import chinese_in_english, untranslated

#: the calls last long enough to hold and resume them (the sim's agents hang up after this many seconds)
TALK_TIME = 40


def _caller_leg(controller: Controller, call_uuid: str) -> dict[str, Any]:
    return next(c for c in controller.channels() if c["uuid"] == call_uuid)


def test_hold_and_resume_follow_the_switch_and_keys_and_hang_up(controller: Controller, browser: Any) -> None:
    ctx = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 1000})
    page = ctx.new_page()
    sign_in(page, controller.url, "li")
    expect(page.locator("#no-call")).to_be_visible()
    page.click("#go-ready")
    expect(page.locator("#state-label")).to_have_text("Ready")
    page.wait_for_function("() => window.ccLive")
    controller.call(KNOWN)
    expect(page.locator("#state-label")).to_have_text("In call", timeout=10_000)
    expect(page.locator("#call-hold")).to_be_visible()
    call_uuid = page.locator(".call-controls").get_attribute("data-call")
    assert call_uuid
    expect(page.locator("#hold-state")).to_have_text("Talking.")
    assert _caller_leg(controller, call_uuid)["app_data"] != "local_stream://moh"

    # hold: the page follows the switch's CHANNEL_HOLD (pushed over SSE), and the caller hears the music
    page.click("#call-hold")
    expect(page.locator("#hold-state")).to_have_text("On hold: the caller hears music.")
    expect(page.locator(".call-controls")).to_have_attribute("data-held", "yes")
    expect(page.locator("#call-resume")).to_be_visible()
    for _ in range(50):
        if _caller_leg(controller, call_uuid)["app_data"] == "local_stream://moh":
            break
        page.wait_for_timeout(100)
    assert _caller_leg(controller, call_uuid)["app_data"] == "local_stream://moh"
    assert chinese_in_english(page) == []
    shot(page, "call-held-en")

    # resume: "talking" again once the switch's CHANNEL_UNHOLD came back
    page.click("#call-resume")
    expect(page.locator("#hold-state")).to_have_text("Talking.")
    expect(page.locator(".call-controls")).to_have_attribute("data-held", "no")

    # keys: a bad one is refused by the server, good ones are sent
    page.locator("#dtmf-digits").evaluate("e => { e.removeAttribute('pattern'); e.value = 'x1'; }")
    page.click("#dtmf-send")
    expect(page.locator("#call .error")).to_have_text("Enter the digits to send (0-9, * and #).")
    page.fill("#dtmf-digits", "12#")
    page.click("#dtmf-send")
    expect(page.locator("#call-sent")).to_have_text("Digits sent.")

    # the same panel in Chinese
    page.click("button[name=locale][value=zh_CN]")
    expect(page.locator("#call-hold")).to_have_text("保持")
    assert untranslated(page) == []
    shot(page, "call-controls-zh")
    page.click("button[name=locale][value=en]")

    # hang up: the agent's leg ends; the queue needs a result: after-call work
    page.click("#call-hangup")
    expect(page.locator("#state-label")).to_have_text("After-call work", timeout=10_000)
    expect(page.locator("#no-call")).to_be_visible()
    leg = [c for c in controller.channels() if c["cc_agent"] == "1001" and not c["hungup"]]
    assert leg == []
    page.select_option("#res-result", "resolved")
    page.click("#save-result")
    expect(page.locator("#state-label")).to_have_text("Ready")
    # my day: the call with its result (the interaction is written when the result is saved)
    expect(page.locator("#day-calls")).to_have_text("1", timeout=10_000)
    expect(page.locator("#day-results")).to_contain_text("Resolved: 1")
    shot(page, "my-day-en")
    page.click("#go-logout")
    ctx.close()


def test_the_api_refuses_call_actions_without_a_call(controller: Controller) -> None:
    """The API's agent_call route: 401 without a token (its permission is checked like every route's)."""
    req = urllib.request.Request(f"{controller.url}/api/v1/agents/1002/call", method="POST",
                                 data=json.dumps({"action": "hold"}).encode(),
                                 headers={"Content-Type": "application/json"})
    try:
        urllib.request.urlopen(req, timeout=5)
        status = 200
    except urllib.error.HTTPError as exc:
        status = exc.code
    assert status == 401
