"""Sign-in, sign-out, CSRF and the language of the pages, in Chromium against `ccctl serve --http` on cc.sim."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from cc.store.audit import AuditRepo
from cc.store.users import UserRepo
from tests.web.conftest import PASSWORD, Controller, shot, sign_in

#: texts of the pages a test collects: every text node and title/aria-label/placeholder outside data
TEXTS_JS = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  let node;
  while ((node = walker.nextNode())) {
    const text = node.textContent.trim();
    const el = node.parentElement;
    if (!text || el.closest('[data-i18n-skip], script, style')) continue;
    out.push(text);
  }
  document.querySelectorAll('[title], [aria-label], [placeholder]').forEach((el) => {
    if (el.closest('[data-i18n-skip]')) return;
    for (const name of ['title', 'aria-label', 'placeholder']) {
      const v = el.getAttribute(name);
      if (v) out.push(v.trim());
    }
  });
  return out;
}"""

LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
CJK = re.compile(r"[\u3400-\u9fff]")
#: words that are the same in both languages
SAME_IN_BOTH = {"IVR"}


def untranslated(page: Any) -> list[str]:
    """Texts of a zh_CN page that hold an English word (a message missing from the catalog)."""
    texts = page.evaluate(TEXTS_JS)
    assert texts, "the page has no text at all"
    return [t for t in texts if set(LATIN_WORD.findall(t)) - SAME_IN_BOTH]


def chinese_in_english(page: Any) -> list[str]:
    """Texts of an en page that hold Chinese (a message translated where it should not be)."""
    return [t for t in page.evaluate(TEXTS_JS) if CJK.search(t)]


def test_sign_in_wrong_password_then_right_and_out(controller: Controller, browser: Any) -> None:
    ctx = browser.new_context(locale="en-US")
    page = ctx.new_page()
    page.goto(controller.url + "/workbench")
    expect(page).to_have_url(re.compile(r"/signin\?next=/workbench$"))   # not signed in: to the sign-in page
    sign_in(page, controller.url, "li", "not-the-password")
    expect(page.locator(".error")).to_have_text("Wrong user name or password.")
    sign_in(page, controller.url, "li")
    expect(page).to_have_url(re.compile(r"/workbench$"))
    expect(page.locator(".who")).to_contain_text("li")
    cookie = next(c for c in ctx.cookies() if c["name"] == "cc_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert not cookie["secure"]   # plain http on loopback (web.secure_cookie auto): Secure over HTTPS only
    shot(page, "signed-in-en")
    page.click("text=Sign out")
    expect(page).to_have_url(re.compile(r"/signin$"))
    page.goto(controller.url + "/workbench")
    expect(page).to_have_url(re.compile(r"/signin"))
    ctx.close()
    db = controller.database()
    actions = [r.action for r in AuditRepo(db).search(0, 4e9, login="li")]
    assert {"sign_in_failed", "sign_in"} <= set(actions)
    rows = list(AuditRepo(db).search(0, 4e9, action="sign_out"))
    assert rows and rows[0].login == "li"


def test_forged_posts_are_refused(controller: Controller, browser: Any) -> None:
    ctx = browser.new_context(locale="en-US")
    page = ctx.new_page()
    sign_in(page, controller.url, "zhao")
    expect(page.locator("#state-label")).to_have_text("Logged out")
    # the session cookie goes along, but no CSRF token: another site's form or script
    for path, form in (("/workbench/state", {"to": "ready"}), ("/locale", {"locale": "zh_CN", "next": "/"}),
                       ("/signout", {})):
        resp = page.request.post(controller.url + path, form=form)
        assert resp.status == 400, (path, resp.status)
        assert "did not come from this site" in resp.text()
    # a token of another session does not do either
    other = browser.new_context(locale="en-US")
    other_page = other.new_page()
    other_page.goto(controller.url + "/signin")
    foreign = other_page.locator("input[name=csrf_token]").first.get_attribute("value")
    resp = page.request.post(controller.url + "/workbench/state", form={"to": "ready", "csrf_token": foreign})
    assert resp.status == 400
    other.close()
    page.reload()
    expect(page.locator("#state-label")).to_have_text("Logged out")   # nothing changed
    ctx.close()


def test_language_from_the_browser_then_kept_on_the_user(controller: Controller, browser: Any) -> None:
    zh = browser.new_context(locale="zh-CN")
    page = zh.new_page()
    page.goto(controller.url + "/signin")
    expect(page.locator("h1")).to_have_text("登录")
    assert untranslated(page) == []
    shot(page, "signin-zh")
    zh.close()

    en = browser.new_context(locale="en-US")
    page = en.new_page()
    page.goto(controller.url + "/signin")
    expect(page.locator("h1")).to_have_text("Sign in")
    assert chinese_in_english(page) == []
    sign_in(page, controller.url, "wang")
    expect(page.locator("#state-label")).to_have_text("Logged out")
    assert chinese_in_english(page) == []
    page.click("button[name=locale][value=zh_CN]")
    expect(page.locator("#state-label")).to_have_text("已签出")
    assert untranslated(page) == []
    shot(page, "workbench-idle-zh")
    en.close()
    assert UserRepo(controller.database()).get("wang").locale == "zh_CN"

    again = browser.new_context(locale="en-US")   # a browser asking for English: the user's choice wins
    page = again.new_page()
    sign_in(page, controller.url, "wang", PASSWORD)
    expect(page.locator("#state-label")).to_have_text("已签出")
    page.click("button[name=locale][value=en]")
    expect(page.locator("#state-label")).to_have_text("Logged out")
    again.close()
    assert UserRepo(controller.database()).get("wang").locale == "en"


def test_lock_out_after_repeated_failures_and_a_user_without_pages(controller: Controller, browser: Any) -> None:
    ctx = browser.new_context(locale="en-US")
    page = ctx.new_page()
    sign_in(page, controller.url, "sun")   # signed in, but no role opens a page to him
    expect(page.locator("h1")).to_have_text("Welcome")
    assert page.locator("nav a").count() == 0
    resp = page.request.get(controller.url + "/workbench")
    assert resp.status == 403
    page.click("text=Sign out")
    for _ in range(4):
        sign_in(page, controller.url, "sun", "wrong password 1")
        expect(page.locator(".error")).to_have_text("Wrong user name or password.")
    sign_in(page, controller.url, "sun", "wrong password 1")   # the fifth failure locks the account
    expect(page.locator(".error")).to_contain_text("Too many failed attempts: this account is locked until")
    sign_in(page, controller.url, "sun")                       # even the right password, while locked
    expect(page.locator(".error")).to_contain_text("this account is locked until")
    ctx.close()
    actions = [r.action for r in AuditRepo(controller.database()).search(0, 4e9, login="sun")]
    assert "lockout" in actions and actions.count("sign_in_failed") == 6
