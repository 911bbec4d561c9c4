"""cc.web without a browser: configuration, catalogs, pinned static files, the mount, numbers, the desk."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header
from werkzeug.test import Client

from cc.config import Label, load_config
from cc.errors import ConfigError, DatabaseUnavailable
from cc.ivr_dsl.flow import load_flow_text
from cc.model import AgentStatus, Interaction, InteractionKind
from cc.runtime.hooks import HookEvent, Hooks
from cc.web.desk import ACW_REASON, Desk
from cc.web.i18n import LOCALES, TRANSLATIONS, compile_catalogs, extract, page_locale, pick_locale
from cc.web.mount import mount
from cc.web.pop import local_minute, region_of, shown_number

STATIC = Path(__file__).resolve().parents[2] / "cc" / "web" / "static"


def test_web_config_defaults_and_errors() -> None:
    cfg = load_config(text="web: {reasons: [break, {code: lunch, zh: 午餐, en: Lunch}], result_required: [sales]}")
    assert cfg.web.reasons == (Label("break"), Label("lunch", "午餐", "Lunch"))
    assert cfg.web.result_required == ("sales",) and cfg.web.secure_cookie == "auto" and cfg.web.enabled
    assert load_config(text="nodes: [{name: a}]").web.timezone == "Asia/Shanghai"
    with pytest.raises(ConfigError) as err:
        load_config(text="web: {timezone: Mars/Base, reasons: ['a b', x, x], secure_cookie: maybe, enabled: 3,\n"
                         "      session: 0s, region: China, result_required: sales, colour: red}")
    text = str(err.value)
    for part in ("web.timezone: unknown time zone", "web.reasons[0]: expected a code", "code 'x' is listed twice",
                 "web.secure_cookie: expected auto, always or never", "web.enabled: expected true or false",
                 "web.session: must be more than 0", "web.region: expected a two-letter", "web.result_required",
                 "unknown key 'colour'"):
        assert part in text, part


def test_every_message_has_its_chinese_translation() -> None:
    template = extract()
    ids = {str(m.id) for m in template if m.id}
    assert len(ids) > 50   # the extraction sees the templates and the code
    assert {"Sign in", "Incoming call", "Earlier contacts", "Break", "After-call work"} <= ids
    with (TRANSLATIONS / "zh_CN" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        zh = read_po(f, locale="zh_CN")
    missing = sorted(i for i in ids if not (zh.get(i) and zh.get(i).string))
    assert missing == [], "untranslated (run python -m cc.web.i18n update and translate): " + ", ".join(missing)
    placeholders = re.compile(r"%\(\w+\)s")
    for i in ids:   # a translation keeps the message's placeholders
        assert sorted(placeholders.findall(i)) == sorted(placeholders.findall(zh.get(i).string)), i


def test_catalogs_compile_for_flask_babel(tmp_path: Path) -> None:
    out = compile_catalogs(target=tmp_path)
    for name in ("zh_CN", "zh_Hans_CN", "en"):   # Babel names zh_CN zh_Hans_CN when it looks the file up
        assert (out / name / "LC_MESSAGES" / "messages.mo").stat().st_size > 0
    bad = tmp_path / "bad" / "xx" / "LC_MESSAGES"
    bad.mkdir(parents=True)
    (bad / "messages.po").write_text('msgid "a"\nmsgstr "b"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="not a locale"):
        compile_catalogs(tmp_path / "bad", tmp_path / "out")


def test_static_files_are_the_pinned_ones() -> None:
    readme = (STATIC / "README.md").read_text(encoding="utf-8")
    pinned = dict(re.findall(r"^\| ([\w.-]+\.js) \|.*\| ([0-9a-f]{64}) \|", readme, re.M))
    assert set(pinned) == {"htmx.min.js", "htmx-ext-sse.min.js"}
    for name, digest in pinned.items():
        assert hashlib.sha256((STATIC / name).read_bytes()).hexdigest() == digest, name


@pytest.mark.parametrize(("chosen", "header", "expected"), [
    (None, "zh-CN,zh;q=0.9,en;q=0.8", "zh_CN"), (None, "zh-TW", "zh_CN"), (None, "en-US,en;q=0.9", "en"),
    (None, "fr-FR", "en"), (None, "", "en"), (None, "en;q=0.5, zh;q=0.8", "zh_CN"), ("en", "zh-CN", "en"),
    ("zh_CN", "en", "zh_CN"), ("de", "zh", "zh_CN"),
])
def test_pick_locale(chosen: str | None, header: str, expected: str) -> None:
    assert pick_locale(chosen, parse_accept_header(header, LanguageAccept)) == expected
    assert expected in LOCALES


def test_page_locale_names_babel_locales() -> None:
    assert page_locale("zh_Hans_CN") == "zh_CN" and page_locale("en") == "en" and page_locale(None) == "en"


def test_mount_keeps_the_api_paths_whole() -> None:
    seen: list[tuple[str, str, str]] = []

    def app(name: str) -> Any:
        def wsgi(environ: dict[str, Any], start_response: Any) -> list[bytes]:
            seen.append((name, environ["SCRIPT_NAME"], environ["PATH_INFO"]))
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [name.encode()]
        return wsgi

    client = Client(mount(app("web"), app("api")))
    for path in ("/api/v1/whoami", "/healthz", "/metrics", "/openapi.json", "/", "/workbench", "/apiary"):
        client.get(path)
    assert seen == [("api", "", "/api/v1/whoami"), ("api", "", "/healthz"), ("api", "", "/metrics"),
                    ("api", "", "/openapi.json"), ("web", "", "/"), ("web", "", "/workbench"),
                    ("web", "", "/apiary")]


def test_numbers_region_mask_and_minutes() -> None:
    assert region_of("13812345678", "CN") == "江苏省连云港市"
    assert region_of("+8613812345678", "US") == "江苏省连云港市"
    assert region_of("02088886666", "CN") == "广东省广州市"
    assert region_of("7000", "CN") == "" and region_of("", "CN") == "" and region_of("not a number", "CN") == ""
    assert shown_number("+8613812345678", False) == "+86138****5678"
    assert shown_number("+8613812345678", True) == "+8613812345678"
    assert local_minute("2026-12-24T10:30", "Asia/Shanghai") == 1_798_079_400.0   # 02:30 UTC
    assert local_minute("2026-12-24T10:30:59", "UTC") % 60 == 0
    assert local_minute("", "UTC") is None
    with pytest.raises(ValueError):
        local_minute("tomorrow", "UTC")


class _Run:
    def __init__(self) -> None:
        # a real flow: its menu writes the caller's choice
        self.flow = load_flow_text(
            "flow: m\nstart: menu\nnodes:\n"
            "  menu: {menu: {prompt: a.wav, choices: {'1': q}, into: choice}, on_fail: q}\n"
            "  q: {enqueue: {queue: support}, next: bye}\n  bye: {hangup: NORMAL_CLEARING}\n")
        self.path = ["menu", "q"]
        self.vars = {"choice": "1", "queue_name": "support", "caller_id": "x", "tries": 0}


class _Session:
    caller, caller_name, dnis, started_at = "+8613812345678", "Zhang", "7000", 10.0

    def __init__(self) -> None:
        self.flow_run = _Run()


class _Ctl:
    def __init__(self) -> None:
        self.sessions = {"u1": _Session()}
        self.statuses: list[tuple[str, AgentStatus, str | None]] = []

    def set_status(self, agent: str, status: AgentStatus, reason: str | None = None) -> None:
        self.statuses.append((agent, status, reason))


def test_desk_cards_results_and_interactions() -> None:
    hooks, ctl = Hooks(), _Ctl()
    written: list[Interaction] = []
    desk = Desk(hooks, lambda: ctl, result_required=["support"], write=written.append,
                match=lambda n: "c1" if n == "+8613812345678" else None, offload=lambda fn, what: fn())
    desk.spawn = lambda fn, *a: fn(*a)   # inline instead of a greenlet
    hooks.emit(HookEvent("offered", 11.0, call_uuid="u1", agent_id="1001", queue="support"))
    card = desk.card("1001")
    assert card is not None and (card.caller, card.destination, card.queue) == ("+8613812345678", "7000", "support")
    assert card.ivr_path == ("menu", "q") and card.ivr_choices == (("choice", "1"),)
    hooks.emit(HookEvent("bridged", 12.0, call_uuid="u1", agent_id="1001", queue="support"))
    hooks.emit(HookEvent("call_ended", 20.0, call_uuid="other", agent_id="1001"))   # not his card's call
    assert card.ended_at is None
    hooks.emit(HookEvent("call_ended", 20.0, call_uuid="u1", agent_id="1001", queue="support"))
    assert desk.owes_result("1001") is card and ctl.statuses == [("1001", AgentStatus.ON_BREAK, ACW_REASON)]
    assert [(w.id, w.customer_id, w.disposition, w.at) for w in written] == [("call-u1", "c1", None, 10.0)]
    assert desk.save_result("1001", "nope", "resolved", "") is None   # not his current call
    assert desk.save_result("1001", "u1", "resolved", "ok") is card
    assert desk.owes_result("1001") is None
    assert (written[-1].id, written[-1].kind, written[-1].disposition, written[-1].note) == \
        ("call-u1", InteractionKind.CALL, "resolved", "ok")
    desk.link("1001", "u1", "c9")
    assert written[-1].customer_id == "c9"


def test_desk_unanswered_offer_owes_nothing() -> None:
    hooks, ctl = Hooks(), _Ctl()
    written: list[Interaction] = []
    desk = Desk(hooks, lambda: ctl, result_required=["*"], write=written.append, offload=lambda fn, what: fn())
    desk.spawn = lambda fn, *a: fn(*a)
    hooks.emit(HookEvent("offered", 11.0, call_uuid="u1", agent_id="1001", queue="q"))
    hooks.emit(HookEvent("call_ended", 15.0, call_uuid="u1", agent_id="1001", queue="q"))
    assert desk.owes_result("1001") is None and written == [] and ctl.statuses == []
    desk.close()
    hooks.emit(HookEvent("offered", 16.0, call_uuid="u2", agent_id="1001", queue="q"))
    assert desk.card("1001").call_uuid == "u1"   # no longer listening


def test_desk_of_a_standby_writes_nothing_and_rests_no_agent() -> None:
    """A standby's desk follows the leader's relayed events (its pages show the cards) but the leader writes the
    interactions and puts agents Not ready; once this process leads, its desk does."""
    hooks, ctl, leads = Hooks(), _Ctl(), [False]
    written: list[Interaction] = []
    desk = Desk(hooks, lambda: ctl, result_required=["support"], write=written.append, match=lambda n: "c1",
                offload=lambda fn, what: fn(), leading=lambda: leads[0])
    desk.spawn = lambda fn, *a: fn(*a)
    for kind, at in (("offered", 11.0), ("bridged", 12.0), ("call_ended", 20.0)):
        hooks.emit(HookEvent(kind, at, call_uuid="u1", agent_id="1001", queue="support"))
    assert desk.card("1001") is not None and desk.owes_result("1001") is not None
    assert written == [] and ctl.statuses == []
    leads[0] = True
    desk.save_result("1001", "u1", "resolved", "")
    assert [(w.id, w.customer_id, w.disposition) for w in written] == [("call-u1", "c1", "resolved")]


def test_desk_writes_the_interaction_when_the_customer_lookup_fails_and_looks_again_next_time() -> None:
    hooks, ctl, down = Hooks(), _Ctl(), [True]
    written: list[Interaction] = []

    def match(number: str) -> str | None:
        if down[0]:
            raise DatabaseUnavailable("no answer within 5 s")
        return "c1"

    desk = Desk(hooks, lambda: ctl, result_required=["support"], write=written.append, match=match,
                offload=lambda fn, what: fn())
    desk.spawn = lambda fn, *a: fn(*a)
    for kind, at in (("offered", 11.0), ("bridged", 12.0), ("call_ended", 20.0)):
        hooks.emit(HookEvent(kind, at, call_uuid="u1", agent_id="1001", queue="support"))
    assert [(w.id, w.customer_id) for w in written] == [("call-u1", None)]
    down[0] = False
    desk.save_result("1001", "u1", "resolved", "")
    assert [(w.id, w.customer_id, w.disposition) for w in written] == [("call-u1", None, None),
                                                                        ("call-u1", "c1", "resolved")]
