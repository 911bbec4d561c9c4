"""Issue 18, case 5, in Chromium against `ccctl serve --http` on cc.sim: an agent Not ready with a reason is offered
no call while one waits in his queue (the switch creates no leg for him; the wallboard counts the caller waiting
and the agent Not ready), the wallboard shows the queue's Not ready agents by reason (translated) with the longest
time in it running, and the agent grid his reason and his time in the state running; once he is Ready the waiting
call is his (the switch then creates his leg)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from cc.model import Agent
from cc.store.db import Database
from cc.store.org import OrgRepo
from cc.store.repos import AgentRepo
from cc.store.users import UserRepo

from .conftest import KNOWN, PASSWORD, Controller, shot, sign_in
from .test_signin import untranslated

TALK_TIME = 4


def EXTRA_SEED(url: str) -> None:
    """Team A: agents 1001 (li) and 1002; sup_a supervises it."""
    db = Database(url)
    org, agents, users = OrgRepo(db), AgentRepo(db), UserRepo(db)
    org.add("A")
    for aid in ("1001", "1002"):
        a = agents.get(aid)
        agents.update(Agent(a.id, name=a.name, contact=a.contact, team="A"))
    users.add("sup_a", display_name="sup_a", password=PASSWORD)
    users.grant("sup_a", "supervisor", "A")
    db.engine.dispose()


def _legs_of(controller: Controller, agent: str) -> list[dict[str, Any]]:
    """The switch's live channels that are a leg to ``agent`` (not the caller's own channel)."""
    return [c for c in controller.channels() if c["cc_agent"] == agent and not c["hungup"]
            and c["cc_member_uuid"] not in (None, c["uuid"])]


def _waiting(page: Any) -> str:
    return str(page.locator('#board [data-queue="support"] [data-figure="waiting"]').inner_text()).strip()


@pytest.fixture(scope="module")
def pages(browser: Any, controller: Controller) -> Any:
    contexts = {"li": browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900}),
                "sup_en": browser.new_context(locale="en-US", viewport={"width": 1400, "height": 900}),
                "sup_zh": browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 900})}
    out = {}
    for name, context in contexts.items():
        page = context.new_page()
        sign_in(page, controller.url, "li" if name == "li" else "sup_a")
        out[name] = page
    yield out
    for context in contexts.values():
        context.close()


def _timer_runs(cell: Any) -> None:
    """The cell's time shows one value, then another (it runs on the page; no clock is compared)."""
    first = cell.inner_text()
    expect(cell).not_to_have_text(first, timeout=5000)


def test_not_ready_with_a_reason_gets_no_call_and_the_supervisor_sees_reason_and_timer(
        controller: Controller, pages: Any) -> None:
    li, sup, sup_zh = pages["li"], pages["sup_en"], pages["sup_zh"]
    li.goto(f"{controller.url}/workbench")
    li.wait_for_function("window.ccLive === true")
    li.select_option("#reason", "meal")
    li.click("#go-not-ready")
    li.wait_for_selector('[data-state="not_ready"]')

    sup.goto(f"{controller.url}/supervisor/wallboard")
    sup.wait_for_function("window.ccBoardLive === true")
    assert _waiting(sup) == "0"
    assert sup.locator('#board [data-queue="support"] [data-count="not_ready"]').inner_text() == "1"
    assert sup.locator('#board [data-queue="support"] [data-count="ready"]').inner_text() == "0"

    controller.call(KNOWN)
    sup.wait_for_function("""() => document.querySelector('#board [data-queue="support"] [data-figure="waiting"]')
                             .textContent.trim() === '1'""")
    longest = sup.locator('#board [data-queue="support"] [data-figure="longest"]')
    _timer_runs(longest)                                  # the caller keeps waiting
    # the wallboard: the queue's Not ready agents by reason, with the longest time in it running
    meal = sup.locator('#board [data-queue="support"] table.breaks tr[data-reason="meal"]')
    expect(meal.locator("td.reason")).to_have_text("Meal")
    expect(meal.locator("td[data-count]")).to_have_text("1")
    _timer_runs(meal.locator("td.timer"))
    shot(sup, "not-ready-wallboard-waiting-en")

    # the agent grid the supervisor watches: his state, his reason, and the time in it running
    sup.goto(f"{controller.url}/supervisor/agents")
    row = sup.locator('tr[data-agent="1001"]')
    expect(row.locator("td.state-label")).to_have_text("Not ready")
    expect(row.locator("td.reason")).to_have_text("Meal")
    _timer_runs(row.locator("td.timer.in-state"))
    shot(sup, "not-ready-agents-en")
    sup_zh.goto(f"{controller.url}/supervisor/agents")
    row_zh = sup_zh.locator('tr[data-agent="1001"]')
    expect(row_zh.locator("td.reason")).to_have_text("用餐")
    _timer_runs(row_zh.locator("td.timer.in-state"))
    assert untranslated(sup_zh) == []
    shot(sup_zh, "not-ready-agents-zh")
    sup_zh.goto(f"{controller.url}/supervisor/wallboard")
    sup_zh.wait_for_function("window.ccBoardLive === true")
    meal_zh = sup_zh.locator('#board [data-queue="support"] table.breaks tr[data-reason="meal"]')
    expect(meal_zh.locator("td.reason")).to_have_text("用餐")
    _timer_runs(meal_zh.locator("td.timer"))
    assert untranslated(sup_zh) == []
    shot(sup_zh, "not-ready-wallboard-waiting-zh")

    # all the while: no leg to him on the switch, nothing offered on his page, the caller still waiting
    live = [c for c in controller.channels() if not c["hungup"]]
    assert len(live) == 1 and live[0]["cc_agent"] is None, live     # the caller's channel alone, in the queue
    assert _legs_of(controller, "1001") == []
    assert li.locator("#customer-name").count() == 0
    assert li.locator('[data-state="not_ready"]').count() == 1
    assert _waiting(sup_zh) == "1"

    # once Ready, the waiting call is offered to him: his leg appears on the switch
    li.click("#go-ready")
    expect(li.locator("#customer-name")).to_have_text("张伟", timeout=5000)
    assert _legs_of(controller, "1001")                   # offered: the switch rings his phone
    sup_zh.wait_for_function("""() => document.querySelector('#board [data-queue="support"] [data-figure="waiting"]')
                                .textContent.trim() === '0'""")
    # no one is Not ready any more: the wallboard's reasons go (pushed, no reload)
    expect(sup_zh.locator('#board [data-queue="support"] table.breaks')).to_have_count(0)
