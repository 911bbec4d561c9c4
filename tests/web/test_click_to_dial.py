"""Click-to-dial from a customer's page in Chromium against `ccctl serve --http` on cc.sim: the Call button beside
a phone places the call -- the agent's leg first, then the customer's number (found by the server from the
customer id and the phone's position), bridged; audited; refused while the agent is in that call."""

from __future__ import annotations

import time
from typing import Any

from playwright.sync_api import expect

from cc.store.audit import AuditRepo
from cc.store.db import Database
from cc.store.org import RoleRepo
from cc.store.users import UserRepo
from tests.web.conftest import KNOWN_OTHER, Controller, shot, sign_in

#: the customer's second phone answers (through the gateway the callback dial string names)
SIM_ANSWER = (KNOWN_OTHER,)
TALK_TIME = 6000
EXTRA_YAML = "callback: {dial: 'sofia/gateway/carrier/{number}', caller_id: '+861088880000'}\n"


def EXTRA_SEED(url: str) -> None:
    """li works the customer records: a role with view_customers everywhere beside his agent_self (a plain agent
    sees only the customer of his own call)."""
    db = Database(url)
    RoleRepo(db).add("crm", ["view_customers"], description="reads the customer records")
    UserRepo(db).grant("li", "crm", "*")
    db.engine.dispose()


def test_call_button_on_a_customer_page_places_the_call(controller: Controller, browser: Any) -> None:
    ctx = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 1000})
    page = ctx.new_page()
    sign_in(page, controller.url, "li")
    page.click("#go-ready")
    expect(page.locator("#state-label")).to_have_text("Ready")
    page.goto(controller.url + "/customers/c-zhang")
    buttons = page.locator("#customer-dial .dial-phone")
    expect(buttons).to_have_count(2)
    assert KNOWN_OTHER not in page.content()   # masked: the page sends the phone's position, not its number
    buttons.nth(1).click()
    expect(page.locator("#dial-placed")).to_be_visible()
    shot(page, "customer-call-en")
    legs: list[dict[str, Any]] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        legs = [ch for ch in controller.channels() if ch["cc_campaign"] == "@manual"]
        if len(legs) >= 2 and any(ch.get("bridged_to") for ch in legs):
            break
        time.sleep(0.2)
    agent_leg = next(ch for ch in legs if ch["cc_agent"] == "1001")
    customer_leg = next(ch for ch in legs if ch["cc_agent"] is None)
    assert KNOWN_OTHER in customer_leg["name"] or KNOWN_OTHER.lstrip("+") in customer_leg["name"]
    assert agent_leg["created"] < customer_leg["created"]
    assert agent_leg["cc_dial_uuid"] == customer_leg["uuid"]
    assert agent_leg.get("bridged_to") == customer_leg["uuid"] or customer_leg.get("bridged_to") == agent_leg["uuid"]
    db = controller.database()
    try:
        rows = list(AuditRepo(db).search(0.0, 4e9, action="call.click_to_dial"))
    finally:
        db.engine.dispose()
    assert rows and rows[-1].login == "li" and rows[-1].resource == f"call:{customer_leg['uuid']}"
    # a second Call while in this call is refused by the server
    buttons.nth(0).click()
    expect(page.locator("#dial-error")).to_contain_text("You are in a call")
    ctx.close()
