"""Recordings and customers pages in Chromium against `ccctl serve --http` on cc.sim: a recording is found (numbers
masked), plays and seeks to 5 s (a 206 answer), another team's recording is 403; customers found by part of a
number or a name, created, edited, and a number of another customer refused with a clear error; the pages in
zh-CN have no English left."""

from __future__ import annotations

import datetime
import struct
import wave
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from cc.model import Agent
from cc.qa.sample import Pick
from cc.qa.scorecard import Item, Scorecard, Section
from cc.store import tables as t
from cc.store.audit import Actor
from cc.store.db import Database
from cc.store.org import OrgRepo
from cc.store.qa import QaRepo
from cc.store.repos import AgentRepo
from cc.store.users import UserRepo

from .conftest import KNOWN, PASSWORD, Controller, shot, sign_in
from .test_signin import chinese_in_english, untranslated

AT = datetime.datetime(2026, 12, 1, 2, 30, tzinfo=datetime.UTC)


def _wav(path: Path, seconds: int = 12) -> None:
    """A mono 8 kHz tone of ``seconds`` (something to play and seek in)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"".join(struct.pack("<h", 3000 if (i // 20) % 2 else -3000) for i in range(8000 * seconds)))


def EXTRA_SEED(url: str) -> None:
    """Teams A (1001, 1002) and B (1003); a manager of A, a supervisor of B; a recording of each team's call."""
    base = Path(url.removeprefix("sqlite:///")).parent
    db = Database(url)
    org, agents, users = OrgRepo(db), AgentRepo(db), UserRepo(db)
    org.add("A")
    org.add("B")
    for aid, team in (("1001", "A"), ("1002", "A"), ("1003", "B")):
        a = agents.get(aid)
        agents.update(Agent(a.id, name=a.name, contact=a.contact, team=team))
    users.add("mgr_a", display_name="mgr_a", password=PASSWORD)
    users.grant("mgr_a", "manager", "A")
    users.add("sup_b", display_name="sup_b", password=PASSWORD)
    users.grant("sup_b", "supervisor", "B")
    with db.transaction() as s:
        for rid, call, agent, caller in (("rec-a", "call-a", "1001", KNOWN),
                                         ("rec-b", "call-b", "1003", "+8613700009999")):
            _wav(base / "recordings" / f"{rid}.wav")
            s.add(t.CallRow(uuid=call, direction="inbound", caller=caller, callee="7000", started_at=AT,
                            answered_at=AT, ended_at=AT + datetime.timedelta(seconds=60)))
            s.add(t.QueueCallRow(id=f"stay-{call}", entered_at=AT, queue="support", member_uuid=call,
                                 outcome="answered", agent_id=agent, answered=1))
            s.add(t.RecordingRow(uuid=rid, call_uuid=call, path=str(base / "recordings" / f"{rid}.wav"),
                                 started_at=AT, stopped_at=AT + datetime.timedelta(seconds=12), duration_s=12.0,
                                 paused_spans=[], size_bytes=(base / "recordings" / f"{rid}.wav").stat().st_size))
            s.add(t.InteractionRow(id=f"i-{call}", at=AT, kind="call", agent_id=agent, call_uuid=call,
                                   customer_id="c-zhang" if rid == "rec-a" else None, queue="support",
                                   disposition="resolved", note="查询"))
    users.add("qa_a", display_name="qa_a", password=PASSWORD)
    users.grant("qa_a", "qa", "A")
    users.add("qa_b", display_name="qa_b", password=PASSWORD)
    users.grant("qa_b", "qa", "B")
    qa = QaRepo(db)
    qa.scorecard_add(Scorecard("basic", (Section("Call", (Item("greet", "Greets the caller", Decimal(50)),
                                                          Item("solve", "Solves the problem", Decimal(50),
                                                               na=True))),)), actor=Actor("root"))
    qa.add_items([Pick("call-a", "1001", AT.timestamp(), ("random",))], week="2026-W49", seed="t", actor=Actor("root"))
    db.engine.dispose()


@pytest.fixture(scope="module")
def pages(controller: Controller, browser: Any) -> Any:
    contexts = {login: browser.new_context(locale="en-US", viewport={"width": 1400, "height": 900})
                for login in ("mgr_a", "sup_b")}
    out = {}
    for login, context in contexts.items():
        page = context.new_page()
        sign_in(page, controller.url, login)
        out[login] = page
    yield out
    for context in contexts.values():
        context.close()


def _audit(controller: Controller, login: str, prefix: str) -> list[tuple[str, str]]:
    from sqlalchemy import text

    with controller.database().engine.connect() as conn:
        return [(r[0], r[1]) for r in conn.execute(text(
            "SELECT action, resource FROM audit_log WHERE login = :l AND action LIKE :p ORDER BY id"),
            {"l": login, "p": prefix + "%"})]


def test_a_recording_is_found_plays_and_seeks_with_a_206(controller: Controller, pages: Any) -> None:
    page = pages["mgr_a"]
    page.goto(f"{controller.url}/recordings?number=5678")
    rows = page.locator("tr[data-recording]")
    assert rows.count() == 1 and rows.first.get_attribute("data-recording") == "rec-a"
    text = rows.first.inner_text()
    assert "5678" in text and "12345678" not in text        # masked
    assert "张伟" in text
    page.goto(f"{controller.url}/recordings")
    assert [r.get_attribute("data-recording") for r in page.locator("tr[data-recording]").all()] == ["rec-a"]
    shot(page, "recordings-en")
    statuses: list[tuple[int, str]] = []
    page.on("response", lambda r: statuses.append((r.status, r.request.headers.get("range", "")))
            if "/audio" in r.url else None)
    page.locator('tr[data-recording="rec-a"] a').click()
    page.wait_for_selector("#player")
    assert "/recordings/rec-a/audio" in (page.get_attribute("#player", "src") or "")
    assert "recordings/" not in page.content().replace("/recordings/rec-a", "")   # no file path in the page
    page.wait_for_function("document.querySelector('#player').readyState >= 1")
    page.evaluate("""() => new Promise((done) => { const a = document.querySelector('#player');
        a.addEventListener('seeked', () => done(a.currentTime), {once: true}); a.currentTime = 5; })""")
    assert page.evaluate("document.querySelector('#player').currentTime") == pytest.approx(5.0, abs=0.1)
    page.evaluate("document.querySelector('#player').play().catch(() => null)")
    page.wait_for_function("document.querySelector('#player').currentTime > 5.05 || "
                           "document.querySelector('#player').paused === false")
    assert any(status == 206 for status, _ in statuses), statuses
    assert page.locator("#download").count() == 1
    resp = page.request.get(f"{controller.url}/recordings/rec-a/audio", headers={"Range": "bytes=80000-80099"})
    assert resp.status == 206 and resp.headers["content-range"].startswith("bytes 80000-80099/")
    assert len(resp.body()) == 100
    shot(page, "recording-player-en")
    assert ("recording.play", "rec-a") in _audit(controller, "mgr_a", "recording.")


def test_another_teams_recording_is_403(controller: Controller, pages: Any) -> None:
    sup_b = pages["sup_b"]
    sup_b.goto(f"{controller.url}/recordings")
    assert [r.get_attribute("data-recording") for r in sup_b.locator("tr[data-recording]").all()] == ["rec-b"]
    for path in ("/recordings/rec-a", "/recordings/rec-a/audio", "/recordings/rec-a/download"):
        assert sup_b.request.get(controller.url + path).status == 403, path
    assert sup_b.request.get(controller.url + "/recordings/rec-b/download").status == 403   # no download_recordings
    assert sup_b.request.get(controller.url + "/recordings/rec-b/audio").status == 200
    assert _audit(controller, "sup_b", "recording.") == [("recording.play", "rec-b")]


def test_customers_search_create_edit_and_a_duplicate_number(controller: Controller, pages: Any) -> None:
    page = pages["mgr_a"]
    for query in ("5678", "138 1234", "张"):
        page.goto(f"{controller.url}/customers?q={query}")
        assert page.locator("tr[data-customer]").count() == 1, query
        assert "张伟" in page.locator("tr[data-customer]").first.inner_text()
    page.goto(f"{controller.url}/customers?q=99999")
    assert page.locator("tr[data-customer]").count() == 0
    page.goto(f"{controller.url}/customers")
    page.click("#new-customer")
    page.fill("#name", "李娜")
    page.fill("#new-phone-0", "13900002222")
    page.fill("#new-label-0", "mobile")
    page.fill("#new-phone-1", "021 6234 5678")
    page.select_option("#type", "member")
    page.click("#save-customer")
    page.wait_for_selector("#customer-name")
    assert page.locator("#customer-name").inner_text() == "李娜"
    phones = page.locator("#customer-phones").inner_text()
    assert "2222" in phones and "13900002222" not in phones
    shot(page, "customer-new-en")
    page.click("#edit-customer")
    page.fill("#new-phone-0", "+86 139 0000 1111")     # 张伟's second number
    page.click("#save-customer")
    error = page.locator("#form-error")
    error.wait_for()
    assert "张伟" in error.inner_text() and "1111" in error.inner_text()
    shot(page, "customer-conflict-en")
    page.fill("#new-phone-0", "")
    page.uncheck("#keep-1")                              # drops +8621... (sorted after +86139...)
    page.fill("#name", "李娜娜")
    page.click("#save-customer")
    page.wait_for_selector("#customer-name")
    assert page.locator("#customer-name").inner_text() == "李娜娜"
    assert page.locator("#customer-phones").inner_text().count("*") == 4      # one masked number left
    assert [a for a, _ in _audit(controller, "mgr_a", "customer.")] == ["customer.add", "customer.set"]
    page.goto(f"{controller.url}/customers?q=张伟")
    page.locator("tr[data-customer] a").first.click()
    page.wait_for_selector("#customer-name")
    assert page.locator("table.history a[href*='/recordings/rec-a']").count() == 1


def test_customer_owner_filter_and_custom_fields(controller: Controller, pages: Any) -> None:
    from cc.store.customer_fields import CustomerField, CustomerFieldRepo

    db = controller.database()
    fields = CustomerFieldRepo(db)
    fields.save(CustomerField("level", "choice", "等级", "Level", ("gold", "silver"), position=1))
    fields.save(CustomerField("job", "text", "职业", "Occupation", required=True, position=2))
    try:
        page = pages["mgr_a"]
        page.goto(f"{controller.url}/customers/new")
        page.fill("#name", "赵敏")
        page.select_option("#owner", "1002")
        page.select_option("#field-level", "gold")
        page.evaluate("document.querySelector('#field-job').removeAttribute('required')")   # past the browser
        page.click("#save-customer")
        error = page.locator("#form-error")
        error.wait_for()
        assert "Occupation" in error.inner_text() and "required" in error.inner_text()
        assert page.locator("#field-level").input_value() == "gold"          # the form keeps what was typed
        page.fill("#field-job", "教师")
        page.click("#save-customer")
        page.wait_for_selector("#customer-name")
        assert "Agent 1002 (1002)" in page.locator("#customer-owner").inner_text()
        assert [c.inner_text() for c in page.locator("dd.custom-field").all()] == ["gold", "教师"]
        page.goto(f"{controller.url}/customers?owner=1002")
        assert [r.inner_text().split("\t")[0] for r in page.locator("tr[data-customer]").all()] == ["赵敏"]
        page.goto(f"{controller.url}/customers?owner=-&q=张伟")
        assert page.locator("tr[data-customer]").count() == 1                # nobody owns 张伟
        page.goto(f"{controller.url}/customers?owner=1001")
        assert page.locator("tr[data-customer]").count() == 0
    finally:
        for key in ("level", "job"):
            fields.delete(key)


def test_the_pages_in_chinese_have_no_english_left(controller: Controller, pages: Any) -> None:
    page = pages["mgr_a"]
    page.goto(f"{controller.url}/customers")
    page.click("button[name=locale][value=zh_CN]")
    paths = ("/customers", "/customers/c-zhang", "/customers/new", "/customers/c-zhang/edit", "/recordings",
             "/recordings/rec-a", "/supervisor/wallboard", "/supervisor/agents", "/qa")
    for path in paths:
        page.goto(controller.url + path)
        assert untranslated(page) == [], path
    for path, name in (("/supervisor/wallboard", "wallboard-zh"), ("/supervisor/agents", "agents-zh"),
                       ("/customers/c-zhang", "customer-zh"), ("/recordings", "recordings-zh")):
        page.goto(controller.url + path)
        shot(page, name)
    page.click("button[name=locale][value=en]")
    for path in paths:
        page.goto(controller.url + path)
        assert chinese_in_english(page) == [], path


AXE = Path(__file__).resolve().parents[1] / "data" / "web" / "axe.min.js"
AXE_SHA256 = "b511cd9dec01c76f4b2ad1723b66b6db37d4c2eb4ed199076e1829d9ee7b75e3"


def test_no_serious_accessibility_violation_on_the_main_pages(controller: Controller, pages: Any) -> None:
    import hashlib

    source = AXE.read_bytes()
    assert hashlib.sha256(source).hexdigest() == AXE_SHA256, "tests/data/web/axe.min.js is not the pinned axe-core"
    page = pages["mgr_a"]
    found = {}
    for locale in ("en", "zh_CN"):
        page.goto(f"{controller.url}/customers")
        page.click(f"button[name=locale][value={locale}]")
        for path in ("/supervisor/wallboard", "/supervisor/agents", "/recordings", "/recordings/rec-a", "/customers",
                     "/customers/c-zhang", "/customers/new", "/customers/c-zhang/edit", "/qa", "/qa/items/1"):
            page.goto(controller.url + path)
            page.add_script_tag(content=source.decode())
            result = page.evaluate("""async () => { const r = await axe.run(document);
                return {passes: r.passes.length, bad: r.violations
                  .filter((v) => v.impact === 'serious' || v.impact === 'critical')
                  .map((v) => v.id + ': ' + v.nodes.map((n) => n.target.join(' ')).join(', '))}; }""")
            assert result["passes"] > 10, path        # axe ran its rules on the page
            if result["bad"]:
                found[f"{locale} {path}"] = result["bad"]
    assert found == {}


def test_qa_score_a_call_with_a_comment_at_5_s_and_the_agent_disputes(controller: Controller, browser: Any) -> None:
    contexts = [browser.new_context(locale="en-US", viewport={"width": 1400, "height": 900}) for _ in range(3)]
    qa_a, li, qa_b = (c.new_page() for c in contexts)
    try:
        sign_in(qa_a, controller.url, "qa_a")
        qa_a.goto(f"{controller.url}/qa")
        row = qa_a.locator("tr[data-item]")
        assert row.count() == 1 and "1001" in row.inner_text()
        item = row.get_attribute("data-item")
        row.locator("a").click()
        qa_a.wait_for_selector("#player")
        qa_a.wait_for_function("document.querySelector('#player').readyState >= 1")
        qa_a.evaluate("""() => new Promise((done) => { const a = document.querySelector('#player');
            a.addEventListener('seeked', () => done(), {once: true}); a.currentTime = 5; })""")
        qa_a.click('button[data-now="comment-at-0"]')
        assert qa_a.input_value("#comment-at-0") == "0:05"
        qa_a.fill("#comment-0", "没有核实身份")
        qa_a.check('[data-key="greet"] input[value="pass"]')
        qa_a.check('[data-key="solve"] input[value="fail"]')
        shot(qa_a, "qa-score-en")
        qa_a.click("#save-score")
        qa_a.wait_for_selector("#score-total")
        assert qa_a.locator("#score-total").inner_text().startswith("50")
        assert "0:05" in qa_a.locator(".comments").inner_text()
        sign_in(qa_b, controller.url, "qa_b")                     # team B's QA: not this call
        assert qa_b.request.get(f"{controller.url}/qa/items/{item}").status == 403
        qa_b.goto(f"{controller.url}/qa")
        assert qa_b.locator("tr[data-item]").count() == 0
        sign_in(li, controller.url, "li")                          # the agent: his score, a dispute
        li.goto(f"{controller.url}/qa/mine")
        li.locator("tr[data-score] a").click()
        li.wait_for_selector("#dispute-form")
        li.click("button[data-seek]")                              # the comment's time plays his call from 0:05
        li.wait_for_function("document.querySelector('#player').currentTime >= 5")
        li.fill("#reason", "客户已经核实过")
        li.click("#dispute")
        li.wait_for_selector("section#dispute")
        assert "Disputed" in li.locator("#score-state").inner_text()
        shot(li, "qa-disputed-en")
    finally:
        for c in contexts:
            c.close()
