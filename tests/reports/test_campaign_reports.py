"""Campaign reports: `ccctl report campaigns|campaign-agents` over dial attempts written as the runtime writes them
(SQLite and PostgreSQL): dials, contacts, rates, results, abandons (interval, rolling 24 h / 30 d), talk, callbacks
kept and missed, per agent wrap-up and occupancy from the agents report."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from cc.dialer import CampaignMode, CampaignSettings, DialAttempt
from cc.leadfile import LeadInput
from cc.model import Agent, AgentState, AgentStateEvent, AgentStatus
from cc.store import Database, Repos
from cc.store.campaign_tables import CallbackState
from cc.store.campaigns import Campaign, CampaignRepos

T0 = datetime.datetime(2026, 12, 1, 9, 0, tzinfo=datetime.UTC).timestamp()
DAY = 86400.0


@pytest.fixture()
def db_url(empty_db_url: str) -> str:
    db = Database(empty_db_url)
    db.create_all()
    repos = Repos(db)
    for a in ("1001", "1002"):
        repos.agents.create(Agent(a, contact=f"user/{a}"))
    c = CampaignRepos(db)
    c.campaigns.create(Campaign(CampaignSettings("spring", mode=CampaignMode.PROGRESSIVE, gateway="gw"),
                                agents=("1001", "1002")))
    c.leads.import_rows("spring", "x.csv", [LeadInput(row=i, numbers=[(f"+8613800{i:06d}", "mobile")],
                                                     tz="Asia/Shanghai") for i in range(1, 11)], [], total_rows=10)
    n = 0

    def attempt(at: float, result: str, agent: str | None = None, talk: float | None = None) -> None:
        nonlocal n
        n += 1
        answered = at + 5 if talk is not None or result in ("overflow", "abandoned") else None
        bridged = at + 6 if talk is not None else None
        ended = (bridged + talk) if bridged is not None and talk is not None else at + 20
        c.attempts.save(DialAttempt(f"u{n:03d}", str(1 + n % 10), "spring", f"+8613800{n:06d}", at, agent,
                                    answered, bridged, ended, "NORMAL_CLEARING", result, "system"))

    # two days before the window: 10 contacts, 2 abandons (the 30-day rate sees them, the 24 h one does not)
    for i in range(8):
        attempt(T0 - 2 * DAY + i * 60, "connected", "1001", talk=60.0)
    attempt(T0 - 2 * DAY + 900, "overflow")
    attempt(T0 - 2 * DAY + 960, "overflow")
    # the window's day: 1001 talks 100 + 200 s (a sale), 1002 120 s; busy, no answer twice, an overflow
    attempt(T0 + 0, "connected", "1001", talk=100.0)
    attempt(T0 + 300, "sale", "1001", talk=200.0)
    attempt(T0 + 600, "interested", "1002", talk=120.0)
    attempt(T0 + 700, "busy")
    attempt(T0 + 800, "no_answer")
    attempt(T0 + 900, "no_answer")
    attempt(T0 + 1000, "overflow")
    # 1001's state log: in call and wrap-up for his two calls, idle otherwise, one hour logged in
    for i, (at, state) in enumerate([(T0 - 60, AgentState.IDLE), (T0 + 6, AgentState.IN_CALL),
                                     (T0 + 106, AgentState.WRAP_UP), (T0 + 126, AgentState.IDLE),
                                     (T0 + 306, AgentState.IN_CALL), (T0 + 506, AgentState.WRAP_UP),
                                     (T0 + 536, AgentState.IDLE)]):
        repos.agent_state_events.add(AgentStateEvent(f"s{i}", at, "1001", AgentStatus.AVAILABLE, state))
    repos.agent_state_events.add(AgentStateEvent("s9", T0 + 3540, "1001", AgentStatus.LOGGED_OUT, AgentState.IDLE))
    # callbacks: one kept, one missed, closed in the window
    for lead, state in (("1", CallbackState.DONE), ("2", CallbackState.MISSED)):
        cb = c.callbacks.add(lead, T0 + 1200, agent_id="1001")
        c.callbacks.finish(cb.id, state, now=T0 + 1500)
    db.dispose()
    return empty_db_url


def run(*args: str) -> object:
    from cli import cc

    return CliRunner().invoke(cc, list(args), catch_exceptions=False)


WINDOW = ("--from", "2026-12-01T00:00", "--to", "2026-12-02T00:00", "--tz", "UTC", "--interval", "day")


def test_campaigns_report_figures(db_url: str) -> None:
    r = run("report", "campaigns", *WINDOW, "--db", db_url, "--json")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)["campaigns"]
    assert len(rows) == 1
    row = rows[0]
    assert row["campaign"] == "spring" and row["dials"] == 7
    assert row["contacts"] == 4                        # connected, sale, interested, overflow
    assert row["contact_rate"] == pytest.approx(4 / 7)
    assert row["successes"] == 1 and row["abandons"] == 1
    assert row["abandon_rate"] == pytest.approx(1 / 4)
    # rolling at the day's end: 24 h = the window's day only; 30 days adds the 10 contacts / 2 abandons before
    assert row["abandon_rate_24h"] == pytest.approx(1 / 4)
    assert row["abandon_rate_30d"] == pytest.approx(3 / 14)
    assert row["talk_s"] == pytest.approx(420.0) and row["avg_talk_s"] == pytest.approx(140.0)
    assert (row["r_busy"], row["r_no_answer"], row["r_overflow"], row["r_sale"]) == (1, 2, 1, 1)
    assert (row["callbacks_kept"], row["callbacks_missed"]) == (1, 1)


def test_campaign_agents_report_with_wrap_and_occupancy(db_url: str, tmp_path: Path) -> None:
    xlsx = tmp_path / "agents.xlsx"
    png = tmp_path / "rates.png"
    r = run("report", "campaign-agents", *WINDOW, "--db", db_url, "--json", "--xlsx", str(xlsx), "--png", str(png))
    assert r.exit_code == 0, r.output
    rows = {x["agent"]: x for x in json.loads(r.stdout)["campaign_agents"]}
    assert set(rows) == {"1001", "1002"}
    a = rows["1001"]
    assert (a["dials"], a["contacts"], a["successes"]) == (2, 2, 1)
    assert a["talk_s"] == pytest.approx(300.0)
    assert a["wrap_s"] == pytest.approx(50.0)          # 20 s + 30 s in wrap_up
    assert a["logged_in_s"] == pytest.approx(3600.0)
    assert a["occupancy"] == pytest.approx((300 + 50) / 3600)
    assert a["calls_per_hour"] == pytest.approx(2.0)
    assert rows["1002"]["wrap_s"] is None                # no state log for 1002
    ws = openpyxl.load_workbook(xlsx)["campaign_agents"]
    assert ws.max_row == 3
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_arguments_are_one_line_and_exit_2(db_url: str) -> None:
    r = run("report", "campaigns", "--from", "yesterday-ish", "--db", db_url)
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1, r.output
    r = run("report", "campaigns", *WINDOW, "--campaign", "nope", "--db", db_url)
    assert r.exit_code != 0 and "nope" in r.output
