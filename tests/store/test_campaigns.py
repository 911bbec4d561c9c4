"""Campaign repositories on SQLite and PostgreSQL: campaigns and results, lead import (duplicates, DNC,
customers matched by any number, nothing half-written), assignment and re-assignment, DNC, callbacks."""

from __future__ import annotations

import dataclasses

import pytest

from cc.dialer.campaign_state import CampaignEvent
from cc.dialer.model import (
    CampaignMode,
    CampaignSettings,
    CampaignStatus,
    DialAttempt,
    LeadState,
    Result,
    ResultCode,
    RetryRule,
)
from cc.errors import Conflict, InvalidValue, NotFound
from cc.leadfile import LeadInput, RowProblem
from cc.model import Agent, BusinessCalendar, Customer, PhoneNumber, QueueConfig, Team
from cc.store.campaign_tables import CallbackState
from cc.store.campaigns import Campaign, CampaignRepos, check_dial_string
from cc.store.db import Database
from cc.store.repos import Repos

T0 = 1_780_000_000.0


@pytest.fixture
def repos(db: Database) -> tuple[Repos, CampaignRepos]:
    r = Repos(db)
    r.teams.create(Team("sales"))
    for i in range(1, 5):
        r.agents.create(Agent(f"100{i}", contact=f"user/100{i}", team="sales" if i <= 2 else None))
    r.queues.create(QueueConfig("outbound"))
    return r, CampaignRepos(db)


def _campaign(name: str = "spring", **kw: object) -> Campaign:
    settings = CampaignSettings(name, mode=CampaignMode.PREDICTIVE, gateway="gw1",
                                caller_ids=("+862161234567",), **kw)  # type: ignore[arg-type]
    return Campaign(settings, queue="outbound", agents=("1001", "1002"), teams=("sales",))


def _lead(row: int, *numbers: str, name: str = "", owner: str | None = None) -> LeadInput:
    return LeadInput(row, [(n, "mobile") for n in numbers], name=name, tz="Asia/Shanghai", owner=owner,
                     number_columns={n: "B (手机)" for n in numbers})


def _import(c: CampaignRepos, rows: list[LeadInput], problems: list[RowProblem] | None = None,
            **kw: object) -> object:
    return c.leads.import_rows("spring", "leads.csv", rows, problems or [], total_rows=len(rows),
                               now=T0, **kw)  # type: ignore[arg-type]


def test_campaign_round_trip_with_default_results(repos: tuple[Repos, CampaignRepos]) -> None:
    _, c = repos
    made = c.campaigns.create(_campaign(), now=T0)
    assert made.status == CampaignStatus.DRAFT
    assert made.settings.mode == CampaignMode.PREDICTIVE
    assert made.settings.caller_ids == ("+862161234567",)
    assert made.agents == ("1001", "1002") and made.teams == ("sales",) and made.queue == "outbound"
    codes = [r.code for r in made.settings.results]
    assert codes[:3] == ["connected", "no_answer", "rejected"] and "overflow" in codes
    assert made.settings.retry_rules["busy"] == RetryRule(600.0, 3)
    assert made.settings.result("invalid_number").label_zh == "空号"
    with pytest.raises(Conflict):
        c.campaigns.create(_campaign())
    changed = dataclasses.replace(made, settings=dataclasses.replace(made.settings, dial_timeout_s=30.0,
                                                                     skip_delay_s=120.0),
                                  agents=("1003",))
    again = c.campaigns.update(changed)
    assert again.settings.dial_timeout_s == 30.0 and again.agents == ("1003",)
    assert again.settings.skip_delay_s == 120.0
    assert [x.name for x in c.campaigns.list()] == ["spring"]


def test_settings_are_checked(repos: tuple[Repos, CampaignRepos]) -> None:
    r, c = repos
    assert check_dial_string("sofia/gateway/{gw}/{number}") is None
    assert "{number}" in (check_dial_string("sofia/gateway/gw1/123") or "")
    assert "{carrier}" in (check_dial_string("sofia/gateway/{carrier}/{number}") or "")
    assert check_dial_string("not a dial string {number}") is not None
    with pytest.raises(InvalidValue, match="gateway"):
        c.campaigns.create(Campaign(CampaignSettings("x", dial_string="sofia/gateway/{gw}/{number}")))
    with pytest.raises(NotFound, match="calendar"):
        c.campaigns.create(_campaign(calendar="nine-to-five"))
    r.calendars.save(BusinessCalendar("nine-to-five", "Asia/Shanghai"))
    assert c.campaigns.create(_campaign(calendar="nine-to-five")).settings.calendar == "nine-to-five"
    with pytest.raises(NotFound, match="agent"):
        c.campaigns.create(dataclasses.replace(_campaign("other"), agents=("9999",)))


def test_status_moves(repos: tuple[Repos, CampaignRepos]) -> None:
    _, c = repos
    c.campaigns.create(_campaign())
    assert c.campaigns.change_status("spring", CampaignEvent.START).status == CampaignStatus.RUNNING
    assert c.campaigns.change_status("spring", CampaignEvent.PAUSE).status == CampaignStatus.PAUSED
    assert c.campaigns.change_status("spring", CampaignEvent.STOP).status == CampaignStatus.STOPPED
    with pytest.raises(InvalidValue, match="is stopped: it cannot pause"):
        c.campaigns.change_status("spring", CampaignEvent.PAUSE)
    assert c.campaigns.get("spring").status == CampaignStatus.STOPPED
    c.campaigns.create(Campaign(CampaignSettings("empty", gateway="gw1")))
    with pytest.raises(InvalidValue, match="no agents"):
        c.campaigns.change_status("empty", CampaignEvent.START)


def test_results_add_set_delete(repos: tuple[Repos, CampaignRepos]) -> None:
    _, c = repos
    c.campaigns.create(_campaign())
    c.results.save("spring", Result("vip", "贵宾", "VIP", human_reached=True, success=True, final=True), None,
                   create=True)
    with pytest.raises(Conflict):
        c.results.save("spring", Result("vip", "", ""), None, create=True)
    c.results.save("spring", Result("busy", "忙线", "Busy line", retry=True), RetryRule(120.0, 5), create=False)
    got = {r.code: (r, rule) for r, rule in c.results.list("spring")}
    assert got["vip"][0].success and got["vip"][1] is None
    assert got["busy"][0].label_en == "Busy line" and got["busy"][1] == RetryRule(120.0, 5)
    with pytest.raises(InvalidValue, match="overflow"):
        c.results.delete("spring", ResultCode.OVERFLOW)
    c.results.delete("spring", "vip")
    assert "vip" not in {r.code for r, _ in c.results.list("spring")}
    with pytest.raises(NotFound):
        c.results.save("spring", Result("nope", "", ""), None, create=False)


def test_import_duplicates_dnc_and_customers(repos: tuple[Repos, CampaignRepos]) -> None:
    r, c = repos
    c.campaigns.create(_campaign())
    known = r.customers.create(Customer("", "老客户", phones=(PhoneNumber("+8613900139000"),)))
    c.dnc.add(["13700137000"], reason="complained", by="ops")
    rows = [
        _lead(2, "+8613800138000", "+8613900139000", name="张三"),   # second number: an existing customer
        _lead(3, "+8613800138001", name="李四"),
        _lead(4, "+8613800138000", name="张三 again"),               # duplicate of row 2
        _lead(5, "+8613700137000", name="勿扰"),                      # only number on the DNC list
        _lead(6, "+8613700137000", "+8613800138002", name="王五"),    # DNC number scrubbed, the other kept
    ]
    out = _import(c, rows)
    assert out.committed and out.imported == 3  # type: ignore[attr-defined]
    kinds = [(p.row, p.kind) for p in out.problems]  # type: ignore[attr-defined]
    assert kinds == [(4, "duplicate"), (5, "dnc"), (6, "dnc")]
    dup = out.problems[0]  # type: ignore[attr-defined]
    assert dup.column == "B (手机)" and "duplicate of row 2" in dup.reason
    leads = c.leads.list("spring")
    assert [d.name for d in leads] == ["张三", "李四", "王五"]
    assert leads[0].lead.customer_id == known.id
    assert leads[0].lead.numbers == ("+8613800138000", "+8613900139000")
    assert leads[2].lead.numbers == ("+8613800138002",)
    assert r.customers.get(leads[1].lead.customer_id or "").name == "李四"
    assert [x.number for x in r.customers.get(known.id).phones] == ["+8613800138000", "+8613900139000"]
    # a second file: its numbers already in the campaign are duplicates
    again = _import(c, [_lead(2, "+8613800138001", name="李四"), _lead(3, "+8613800138009")])
    assert again.imported == 1  # type: ignore[attr-defined]
    assert "already a lead of campaign spring" in again.problems[0].reason  # type: ignore[attr-defined]
    lists = c.campaigns.lists("spring")
    assert [(x.imported, x.duplicates, x.dnc) for x in lists] == [(3, 1, 2), (1, 1, 0)]


def test_import_with_errors_writes_nothing_unless_partial(repos: tuple[Repos, CampaignRepos]) -> None:
    r, c = repos
    c.campaigns.create(_campaign())
    rows = [_lead(2, "+8613800138000"), _lead(3, "+8613800138001", owner="ghost")]
    bad = [RowProblem(4, "B (手机)", "'123': not a valid phone number")]
    out = _import(c, rows, bad)
    assert not out.committed and out.rejected == 2  # type: ignore[attr-defined]
    assert c.leads.list("spring") == [] and r.customers.search("") == [] and c.campaigns.lists("spring") == []
    out = _import(c, rows, bad, partial=True)
    assert out.committed and out.imported == 1  # type: ignore[attr-defined]
    assert [d.lead.numbers for d in c.leads.list("spring")] == [("+8613800138000",)]


def test_assignment_even_per_agent_move_and_callbacks_follow(repos: tuple[Repos, CampaignRepos]) -> None:
    _, c = repos
    c.campaigns.create(_campaign())
    _import(c, [_lead(i, f"+86138001380{i:02d}") for i in range(2, 12)])  # 10 leads
    assert c.leads.assign_even("spring", ["1001", "1002", "1003"], per_agent=2) == {"1001": 2, "1002": 2, "1003": 2}
    assert c.leads.owner_counts("spring") == {"1001": 2, "1002": 2, "1003": 2, "": 4}
    assert c.leads.assign_even("spring", ["1004"]) == {"1004": 4}
    first = c.leads.list("spring", owner="1001")[0].lead
    cb = c.callbacks.add(first.lead_id, T0 + 3600 + 17, now=T0)
    assert cb.agent_id == "1001" and cb.due_at == T0 + 3600 - (T0 + 3600) % 60
    assert c.leads.get(first.lead_id).lead.state == LeadState.CALLBACK
    # 1001 leaves: his leads (and the callback he owned) go to 1002 and 1003
    moved = c.leads.assign_even("spring", ["1002", "1003"], from_agent="1001")
    assert moved == {"1002": 1, "1003": 1}
    assert c.leads.owner_counts("spring").get("1001") is None
    assert c.callbacks.get(cb.id).agent_id == c.leads.get(first.lead_id).lead.owner_agent
    assert c.leads.move("spring", "1004", None) == 4
    assert c.leads.assign_leads("spring", [first.lead_id], "1004") == 1
    assert c.leads.get(first.lead_id).lead.owner_agent == "1004"
    with pytest.raises(NotFound):
        c.leads.assign_leads("spring", ["999999"], "1004")
    with pytest.raises(NotFound, match="agent"):
        c.leads.assign_even("spring", ["nobody"])
    # an agent who owns leads cannot be deleted before they are re-assigned
    r = Repos(c.db)
    with pytest.raises(Conflict):
        r.agents.delete("1004")


def test_dnc_add_check_remove(repos: tuple[Repos, CampaignRepos]) -> None:
    _, c = repos
    c.campaigns.create(_campaign())
    added, had = c.dnc.add(["138 0013 8000", "+8613800138000", "02161234567"], reason="asked", by="ops")
    assert added == ["+8613800138000", "+862161234567"] and had == []
    assert c.dnc.add(["13800138000"]) == ([], ["+8613800138000"])
    c.dnc.add(["13900139000"], campaign="spring")
    assert [e.campaign for e in c.dnc.check("13900139000", "spring")] == ["spring"]
    assert c.dnc.check("13900139000") == []
    assert c.dnc.blocked(["+8613900139000", "+8613800138000", "+8613700137000"], "spring") == {
        "+8613900139000", "+8613800138000"}
    with pytest.raises(InvalidValue):
        c.dnc.add(["13800138000", "12"])
    c.dnc.remove("13800138000")
    assert c.dnc.check("13800138000") == []
    with pytest.raises(NotFound):
        c.dnc.remove("13800138000")


def test_callbacks_and_figures(repos: tuple[Repos, CampaignRepos]) -> None:
    _, c = repos
    c.campaigns.create(_campaign())
    _import(c, [_lead(2, "+8613800138000"), _lead(3, "+8613800138001")])
    a, b = (d.lead for d in c.leads.list("spring"))
    cb = c.callbacks.add(a.lead_id, T0 + 600, anyone=True, note="after lunch", now=T0)
    assert cb.agent_id is None and cb.state == CallbackState.PENDING
    assert [x.id for x in c.callbacks.list(agent_id="1001")] == [cb.id]
    assert c.callbacks.list(due_before=T0) == []
    assert c.callbacks.mark_reminded(cb.id, before=True) and not c.callbacks.mark_reminded(cb.id, before=True)
    done = c.callbacks.finish(cb.id, now=T0 + 700)
    assert done.state == CallbackState.DONE and done.done_at == T0 + 700
    with pytest.raises(Conflict):
        c.callbacks.finish(cb.id)
    for i, (lead, result) in enumerate([(a, "no_answer"), (b, "sale"), (b, "abandoned"), (a, "overflow")]):
        c.attempts.save(DialAttempt(f"u{i}", lead.lead_id, "spring", lead.numbers[0], T0 + i, result=result,
                                    result_by="system"))
    c.attempts.save(DialAttempt("old", a.lead_id, "spring", a.numbers[0], T0 - 90_000, result="sale"))
    f = c.campaigns.figures("spring", now=T0 + 100)
    assert (f.dials, f.contacts, f.abandons, f.successes) == (4, 3, 2, 1)
    assert f.abandon_rate == pytest.approx(2 / 3)
    assert f.leads == {"new": 1, "done": 1}   # the lead whose callback was done
    assert [x.uuid for x in c.attempts.for_lead(a.lead_id)] == ["old", "u0", "u3"]


def test_dialable_order_and_callback_closing(repos: tuple[Repos, CampaignRepos]) -> None:
    _, c = repos
    c.campaigns.create(_campaign())
    rows = [_lead(i, f"+86138001380{i:02d}") for i in range(2, 7)]
    rows[3].priority = 9
    _import(c, rows)
    ids = [d.lead.lead_id for d in c.leads.list("spring")]
    c.leads.set_state(ids[0], LeadState.RETRY, next_dial_at=T0 + 600)   # a retry not due yet
    c.leads.set_state(ids[1], LeadState.DONE)
    first = [x.lead_id for x in c.leads.dialable("spring", T0)]
    assert first == [ids[3], ids[2], ids[4]]                              # priority 9 first, then by age
    assert ids[0] in [x.lead_id for x in c.leads.dialable("spring", T0 + 600)]
    # callbacks: the lead waits for the earliest pending one; closing decides what comes next
    a = c.callbacks.add(ids[2], T0 + 120, now=T0)
    b = c.callbacks.add(ids[2], T0 + 60, now=T0)
    assert c.leads.get(ids[2]).lead.next_dial_at == T0 + 60 - (T0 + 60) % 60
    c.callbacks.finish(b.id, CallbackState.CANCELLED, now=T0)
    lead = c.leads.get(ids[2]).lead
    assert lead.state == LeadState.CALLBACK and lead.next_dial_at == a.due_at
    c.callbacks.finish(a.id, CallbackState.MISSED, now=T0 + 200)
    assert c.leads.get(ids[2]).lead.state == LeadState.NEW                 # never dialed: new again
    cb = c.callbacks.add(ids[4], T0 + 60, now=T0)
    c.callbacks.finish(cb.id, now=T0 + 90)
    assert c.leads.get(ids[4]).lead.state == LeadState.DONE
    with pytest.raises(InvalidValue):
        c.callbacks.add(ids[4], T0 + 600)                                   # a done lead gets no callback


def test_dialer_writes_progress_and_finds_open_attempts(repos: tuple[Repos, CampaignRepos]) -> None:
    _, c = repos
    c.campaigns.create(_campaign())
    _import(c, [_lead(2, "+8613800138000", "+8613800138001", owner="1001")])
    lead = c.leads.list("spring")[0].lead
    moved = dataclasses.replace(lead, state=LeadState.RETRY, attempts=2, number_index=1, next_dial_at=T0 + 3600,
                                last_result="busy", result_counts=(("busy", 1), ("no_answer", 1)), owner_agent=None)
    c.leads.save_progress(moved, dialed_at=T0)
    d = c.leads.get(lead.lead_id)
    assert (d.lead.state, d.lead.attempts, d.lead.number, d.lead.next_dial_at) == (
        LeadState.RETRY, 2, "+8613800138001", T0 + 3600)
    assert d.lead.count_of("busy") == 1 and d.last_dialed_at == T0
    assert d.lead.owner_agent == "1001"                       # the owner is the assignment's, not the dialer's
    c.attempts.save(DialAttempt("u1", lead.lead_id, "spring", lead.numbers[0], T0, result="busy"))
    c.attempts.save(DialAttempt("u2", lead.lead_id, "spring", lead.numbers[1], T0 + 5))
    assert [a.uuid for a in c.attempts.open("spring")] == ["u2"]
    c.attempts.save(DialAttempt("u2", lead.lead_id, "spring", lead.numbers[1], T0 + 5, ended_at=T0 + 30,
                                hangup_cause="NO_ANSWER", result="no_answer", result_by="reconciler"))
    assert c.attempts.open("spring") == []
    assert [(a.uuid, a.result, a.result_by) for a in c.attempts.for_lead(lead.lead_id)] == [
        ("u1", "busy", None), ("u2", "no_answer", "reconciler")]
    c.leads.save_progress(dataclasses.replace(lead, lead_id="999999"))   # a lead deleted meanwhile: skipped
    assert len(c.leads.list("spring")) == 1
