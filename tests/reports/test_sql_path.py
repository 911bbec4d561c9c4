"""The queue report computed in the database equals the streamed Python report, field by field.

Random but realistic histories (answers, zero-length calls, short and long abandons, every exit, callbacks,
transfers before and after COMPLETE, wrap-up spans, survey answers, events on slot boundaries, calls
before and after the window) around both DST switches of Europe/Berlin, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime
import random
import zoneinfo
from collections.abc import Iterable, Iterator
from typing import Any

import pytest

from cc.errors import InvalidValue
from cc.model import AgentState, AgentStateEvent, AgentStatus, QueueConfig, QueueEvent, SurveyResult
from cc.model import QueueEventType as Q
from cc.reports.source import ReportOptions, queue_report_in_db, run_reports, summarize_history
from cc.store import Database, Repos
from cc.store.codec import KINDS

FALL = datetime.datetime(2026, 10, 25, 1, 0, tzinfo=datetime.UTC).timestamp()  # Berlin 03:00 CEST -> 02:00 CET
SPRING = datetime.datetime(2026, 3, 29, 1, 0, tzinfo=datetime.UTC).timestamp()  # Berlin 02:00 CET -> 03:00 CEST
QUEUES = ("sales", "support")
AGENTS = tuple(f"10{i:02d}" for i in range(6))


def history(center: float, seed: int, calls: int = 240) -> list[Any]:
    """Calls every ~1.5 min from 3 h before ``center`` to 3 h after it, with every kind of outcome."""
    rng = random.Random(seed)
    holds = random.Random(seed + 1)   # hold times: their own stream, the rest of the history stays as it was
    out: list[Any] = []
    n = 0

    def q(at: float, m: str, typ: Q, queue: str, agent: str | None = None, wait: float | None = None,
          talk: float | None = None, detail: str = "", hold: float | None = None) -> None:
        nonlocal n
        n += 1
        out.append(QueueEvent(f"q{n:06d}", at, queue, m, typ, agent, wait, talk, detail, hold))

    def a(at: float, agent: str, state: AgentState, status: AgentStatus = AgentStatus.AVAILABLE) -> None:
        nonlocal n
        n += 1
        out.append(AgentStateEvent(f"a{n:06d}", at, agent, status, state))

    for i in range(calls):
        t0 = center - 3 * 3600 + i * 90 + rng.choice((0.0, 0.0, rng.random() * 89, 0.000001))
        if i % 17 == 0:
            t0 = center - 3 * 3600 + round(i * 90 / 900) * 900  # exactly on a 15-minute boundary
        m, queue, agent = f"m{seed}-{i}", QUEUES[i % 2], rng.choice(AGENTS)
        wait = rng.choice((0.0, 3.0, 19.0, 20.0, 21.0, rng.expovariate(1 / 30)))
        q(t0, m, Q.ENTER, queue, detail="priority=0")
        u = rng.random()
        if u < 0.12:
            q(t0 + wait, m, Q.ABANDON, queue, wait=wait)
        elif u < 0.16:
            q(t0 + 1, m, Q.OFFER, queue, agent)
            q(t0 + 1 + wait, m, Q.ABANDON, queue, wait=1 + wait)  # abandoned while ringing
        elif u < 0.22:
            typ = rng.choice((Q.EXIT_TIMEOUT, Q.EXIT_NO_AGENT, Q.EXIT_FULL, Q.EXIT_KEY, Q.EXIT_OTHER))
            w = 0.0 if typ is Q.EXIT_FULL else wait
            q(t0 + w, m, typ, queue, wait=None if typ is Q.EXIT_FULL else w,
              detail="hangup-by-supervisor" if typ is Q.EXIT_OTHER else "")
        elif u < 0.30:
            q(t0 + wait, m, Q.CALLBACK_REQUESTED, queue, wait=wait)
            later = t0 + wait + 600
            if rng.random() < 0.6:
                q(later, m, Q.OFFER, queue, agent, detail="callback")
                q(later + 5, m, Q.CONNECT, queue, agent, wait=wait, detail="callback")
                q(later + 65, m, Q.COMPLETE_AGENT, queue, agent, wait=wait, talk=60.0, detail="callback",
                  hold=holds.choice((None, 0.0, 4.5)))
                q(later + 65, m, Q.CALLBACK_COMPLETED, queue, agent)
            else:
                q(later, m, Q.CALLBACK_FAILED, queue, detail="no answer")
        else:
            if rng.random() < 0.2:
                other = rng.choice(AGENTS)
                q(t0 + 1, m, Q.OFFER, queue, other)
                q(t0 + 2, m, rng.choice((Q.RING_NO_ANSWER, Q.AGENT_BUSY, Q.AGENT_REJECT)), queue, other)
            talk = 0.0 if rng.random() < 0.05 else rng.expovariate(1 / 180)
            ans = t0 + wait
            q(ans - 0.5 if wait else ans, m, Q.OFFER, queue, agent)
            q(ans, m, Q.CONNECT, queue, agent, wait=wait)
            if rng.random() < 0.1:
                q(ans + talk / 2, m, Q.TRANSFER, queue, agent, detail="2000")
            done = ans + talk
            q(done, m, Q.COMPLETE_CALLER if rng.random() < 0.5 else Q.COMPLETE_AGENT, queue, agent, wait=wait,
              talk=talk, hold=holds.choice((None, 0.0, holds.expovariate(1 / 25))))
            if rng.random() < 0.05:
                q(done + 30, m, Q.TRANSFER, queue, agent, detail="late")  # logged after COMPLETE
            a(ans - 0.5, agent, AgentState.RINGING)
            a(ans, agent, AgentState.IN_CALL)
            wrap_at = done + rng.choice((0.0, 0.0, 30.0, 120.0))  # 120 s: too late to be this call's wrap-up
            a(wrap_at, agent, AgentState.WRAP_UP)
            if rng.random() < 0.2:
                a(wrap_at + 5, agent, AgentState.WRAP_UP, AgentStatus.AVAILABLE_ON_DEMAND)  # same span
            a(wrap_at + rng.choice((10.0, 15.0, 45.0)), agent, AgentState.IDLE)
        if i % 20 == 7:
            who, at = rng.choice(AGENTS), t0 + 50
            a(at, who, AgentState.IDLE, AgentStatus.ON_BREAK)
            n += 1
            out.append(AgentStateEvent(f"a{n:06d}", at + 1, who, AgentStatus.ON_BREAK, AgentState.IDLE,
                                       rng.choice(("lunch", "coaching"))))
            a(at + rng.choice((60.0, 700.0, 2000.0)), who, AgentState.IDLE)
        if i % 50 == 11:
            who, at = rng.choice(AGENTS), t0 + 70
            a(at, who, AgentState.IDLE, AgentStatus.LOGGED_OUT)
            a(at + 1200, who, AgentState.IDLE)
        if i % 5 == 0:
            n += 1
            out.append(SurveyResult(f"v{n:06d}", t0 + 400, m, "csat", "q1", rng.randint(1, 5), agent,
                                    queue if i % 15 else None))
    return out


def insert(repos: Repos, records: Iterable[Any]) -> int:
    n = 0
    with repos.db.transaction() as session:
        for r in records:
            kind = KINDS[type(r)]
            session.add(kind.row(**kind.to_row(r)))
            n += 1
    return n


def load(url: str, records: list[Any], *, summarize: bool = True) -> Repos:
    """The records in a new database, plus (``summarize``) the queue_calls rows the controller would write."""
    db = Database(url)
    db.create_all()
    repos = Repos(db)
    repos.queues.create(QueueConfig("sales", sl_threshold_s=20))
    repos.queues.create(QueueConfig("support", sl_threshold_s=30))  # "vip" in no table: 20 s default
    insert(repos, records)
    if summarize:
        first = min(r.at for r in records)
        assert insert(repos, summarize_history(repos, first, max(r.at for r in records) + 1)) > 0
    return repos


def compare(repos: Repos, opts: dict[str, Any], start: float, end: float,
            engines: tuple[str, ...] = ("events", "sql")) -> int:
    """The queue report of every engine in ``engines`` equals the streamed one; returns the calls counted."""
    python = run_reports(repos, ["queues"], ReportOptions(start, end, engine="python", **opts))[0]
    want = list(python.rows)
    for engine in engines:
        got = list(run_reports(repos, ["queues"], ReportOptions(start, end, engine=engine, **opts))[0].rows)
        assert [(r["interval"], r["queue"]) for r in got] == [(r["interval"], r["queue"]) for r in want], engine
        for w, g in zip(want, got, strict=True):
            for key, value in w.items():
                if isinstance(value, float):
                    assert g[key] == pytest.approx(value, rel=1e-9, abs=1e-6), (engine, key, w["interval"], w["queue"])
                else:
                    assert g[key] == value, (engine, key, w["interval"], w["queue"])
    assert sum(r["hold_s"] for r in want) > 0 or not any(r["handled"] for r in want)   # hold is compared too
    return sum(r["offered"] + r["short_abandoned"] for r in want)


def compare_agents(repos: Repos, opts: dict[str, Any], start: float, end: float) -> int:
    python = run_reports(repos, ["agents"], ReportOptions(start, end, engine="python", **opts))[0]
    sql = run_reports(repos, ["agents"], ReportOptions(start, end, engine="sql", **opts))[0]
    want, got = list(python.rows), list(sql.rows)
    assert [c.key for c in sql.columns] == [c.key for c in python.columns]  # the same break reason columns
    assert [(r["interval"], r["agent"]) for r in got] == [(r["interval"], r["agent"]) for r in want]
    for w, g in zip(want, got, strict=True):
        assert set(g) == set(w)
        for key, value in w.items():
            if isinstance(value, float):
                assert g[key] == pytest.approx(value, rel=1e-9, abs=1e-6), (key, w["interval"], w["agent"])
            else:
                assert g[key] == value, (key, w["interval"], w["agent"])
    return sum(r["offers"] for r in want)


AGENT_CASES = [
    {"interval": "15m", "tz": "Europe/Berlin"},
    {"interval": "hour", "tz": "Europe/Berlin", "lookback_s": 1800.0},
    {"interval": "30m", "tz": "Asia/Kolkata", "agent": "1003"},
    {"interval": "day", "tz": "Europe/Berlin"},
    {"interval": "week", "tz": "UTC"},
    {"interval": "all", "tz": "UTC"},
]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("which", ["fall", "spring"])
def test_sql_agent_report_equals_python(empty_db_url: str, records: dict[str, list[Any]], which: str) -> None:
    center = FALL if which == "fall" else SPRING
    repos = load(empty_db_url, records[which])
    try:
        start, end = center - 2 * 3600 - 450, center + 2 * 3600 + 7
        counted = [compare_agents(repos, case, start, end) for case in AGENT_CASES]
        assert min(counted) > 5
        assert compare_agents(repos, {"interval": "15m", "tz": "Europe/Berlin"}, center - 3600, center + 3600) > 20
        # "now" inside the window: time is clipped there
        assert compare_agents(repos, {"interval": "hour", "tz": "Europe/Berlin", "now": center + 1234.5},
                              start, end) > 20
    finally:
        repos.queues.db.dispose()


@pytest.fixture(scope="module")
def records() -> dict[str, list[Any]]:
    return {"fall": history(FALL, 1), "spring": history(SPRING, 2)}


def agent_days(center: float, seed: int) -> list[Any]:
    """Three days of agent log around ``center`` and the agents' queue events, for the agent report.

    Spans from zero seconds to 9 hours (crossing many intervals), breaks with reasons, log-outs, several
    events of one agent at one instant (their ids in reverse order of writing), events on slot and local
    midnight boundaries; agent 2005 logged in once before the window and never again, agent 2006 logged
    in before the lookback reaches.
    """
    rng = random.Random(seed)
    out: list[Any] = []
    n = 0

    def a(at: float, agent: str, status: AgentStatus, state: AgentState = AgentState.IDLE,
          reason: str | None = None, key: str | None = None) -> None:
        nonlocal n
        n += 1
        out.append(AgentStateEvent(key or f"b{n:06d}", at, agent, status, state, reason))

    def q(at: float, agent: str, typ: Q) -> None:
        nonlocal n
        n += 1
        out.append(QueueEvent(f"r{n:06d}", at, QUEUES[n % 2], f"m{seed}-{n}", typ, agent, None, None, ""))

    gaps = (0.0, 0.000001, 1.0, 30.0, 200.0, 899.0, 900.0, 901.0, 3600.0, 5400.0, 4 * 3600.0, 9 * 3600.0)
    kinds = [(AgentStatus.AVAILABLE, AgentState.IDLE, None), (AgentStatus.AVAILABLE, AgentState.RINGING, None),
             (AgentStatus.AVAILABLE, AgentState.IN_CALL, None), (AgentStatus.AVAILABLE, AgentState.WRAP_UP, None),
             (AgentStatus.AVAILABLE_ON_DEMAND, AgentState.IDLE, None), (AgentStatus.ON_BREAK, AgentState.IDLE, "lunch"),
             (AgentStatus.ON_BREAK, AgentState.IDLE, "coaching"), (AgentStatus.ON_BREAK, AgentState.IDLE, None),
             (AgentStatus.LOGGED_OUT, AgentState.IDLE, None)]
    for agent in ("2000", "2001", "2002", "2003", "2004"):
        at = center - 40 * 3600 + rng.random() * 3600
        while at < center + 40 * 3600:
            if rng.random() < 0.15:
                at = round(at / 900) * 900.0  # on a slot boundary (and so, at times, on a local midnight)
            status, state, reason = rng.choice(kinds)
            if rng.random() < 0.1:  # two changes at one instant: the one with the greater id counts
                other = rng.choice(kinds)
                a(at, agent, other[0], other[1], other[2], key=f"z{n + 2:06d}")
                a(at, agent, status, state, reason, key=f"z{n:06d}")
            else:
                a(at, agent, status, state, reason)
            for _ in range(rng.choice((0, 1, 1, 2))):
                q(at + rng.random() * 60, agent, rng.choice((Q.OFFER, Q.OFFER, Q.COMPLETE_AGENT, Q.COMPLETE_CALLER,
                                                             Q.RING_NO_ANSWER, Q.AGENT_REJECT, Q.AGENT_BUSY,
                                                             Q.TRANSFER)))
            at += rng.choice(gaps) + rng.choice((0.0, rng.random() * 60))
    a(center - 40 * 3600, "2005", AgentStatus.AVAILABLE)  # logged in across the window start, no later event
    a(center - 70 * 3600, "2006", AgentStatus.AVAILABLE)  # older than the lookback: not seen
    a(center - 3600, "2006", AgentStatus.LOGGED_OUT)
    a(center + 5 * 3600, "2006", AgentStatus.ON_BREAK, reason="lunch")
    start, end = center - 36 * 3600 - 450, center + 36 * 3600 + 7
    for at in (start, start - 0.000001, end, end - 0.000001, center, center + 900):  # on the window's edges
        q(at, "2005", Q.OFFER)
    return out


def agent_day_cases(center: float) -> list[dict[str, Any]]:
    return [
        {"interval": "day", "tz": "Europe/Berlin"},  # a 25-hour (fall) or 23-hour (spring) day
        {"interval": "day", "tz": "Europe/Berlin", "agent": "2003"},
        {"interval": "hour", "tz": "Europe/Berlin"},
        {"interval": "15m", "tz": "Europe/Berlin", "agent": "2001"},
        {"interval": "15m", "tz": "UTC"},
        {"interval": "30m", "tz": "Asia/Kolkata"},
        {"interval": "day", "tz": "America/St_Johns"},  # days starting at hh:30 UTC
        {"interval": "hour", "tz": "Asia/Kathmandu"},  # +05:45
        {"interval": "week", "tz": "Europe/Berlin"},
        {"interval": "all", "tz": "UTC", "lookback_s": 3600.0},
        {"interval": "day", "tz": "Europe/Berlin", "now": center + 3 * 3600 + 0.25},
    ]


@pytest.fixture(scope="module")
def day_records() -> dict[str, list[Any]]:
    return {"fall": agent_days(FALL, 3), "spring": agent_days(SPRING, 4)}


@pytest.mark.timeout(180)
@pytest.mark.parametrize("which", ["fall", "spring"])
def test_sql_agent_report_equals_python_over_days(empty_db_url: str, day_records: dict[str, list[Any]],
                                                  which: str) -> None:
    center = FALL if which == "fall" else SPRING
    repos = load(empty_db_url, day_records[which], summarize=False)
    try:
        start, end = center - 36 * 3600 - 450, center + 36 * 3600 + 7
        counted = [compare_agents(repos, case, start, end) for case in agent_day_cases(center)]
        assert min(counted) > 5 and max(counted) > 50
        # a window from local midnight to local midnight, over the DST switch
        berlin = zoneinfo.ZoneInfo("Europe/Berlin")
        day = datetime.datetime.fromtimestamp(center, berlin).date()
        lo = datetime.datetime.combine(day - datetime.timedelta(days=1), datetime.time(), berlin).timestamp()
        hi = datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time(), berlin).timestamp()
        assert compare_agents(repos, {"interval": "day", "tz": "Europe/Berlin"}, lo, hi) > 20
        # agent 2005 was logged in for the whole window: its time adds up to the window, cut per day
        rows = run_reports(repos, ["agents"], ReportOptions(start, end, interval="day", tz="Europe/Berlin",
                                                            agent="2005", engine="sql"))[0].rows
        assert len(rows) == 4
        assert sum(r["idle_s"] for r in rows) == pytest.approx(end - start)
        assert sum(r["offers"] for r in rows) == 4  # not those just before the start or at the end
    finally:
        repos.queues.db.dispose()


def _hand_made(t0: float) -> list[Any]:
    S = AgentStatus
    return [
        AgentStateEvent("e01", t0 - 100, "1001", S.AVAILABLE, AgentState.IDLE),
        AgentStateEvent("e02", t0 + 1000, "1001", S.AVAILABLE, AgentState.IN_CALL),
        AgentStateEvent("e03", t0 + 2000, "1001", S.ON_BREAK, AgentState.IDLE, "lunch"),
        AgentStateEvent("e04", t0 + 2600, "1001", S.LOGGED_OUT, AgentState.IDLE),
        AgentStateEvent("e05", t0 + 450, "1002", S.AVAILABLE, AgentState.IDLE),  # its last event: to the end
        AgentStateEvent("e06", t0 - 5000, "1003", S.ON_BREAK, AgentState.IDLE, "coaching"),
        AgentStateEvent("e07", t0 + 2000, "1003", S.AVAILABLE, AgentState.IDLE),
        AgentStateEvent("e09", t0 + 300, "1004", S.AVAILABLE, AgentState.IN_CALL),  # same instant, greater id:
        AgentStateEvent("e08", t0 + 300, "1004", S.AVAILABLE, AgentState.IDLE),  # the in_call counts
        AgentStateEvent("e10", t0 + 600, "1004", S.AVAILABLE, AgentState.IDLE),
        AgentStateEvent("e11", t0 + 1000, "1005", S.AVAILABLE, AgentState.IDLE),  # logged in for no time:
        AgentStateEvent("e12", t0 + 1000, "1005", S.LOGGED_OUT, AgentState.IDLE),  # no row for 1005
        QueueEvent("q1", t0, "sales", "m1", Q.OFFER, "1001", None, None, ""),
        QueueEvent("q2", t0 + 900, "sales", "m2", Q.OFFER, "1001", None, None, ""),
        QueueEvent("q3", t0 + 2699.5, "sales", "m2", Q.COMPLETE_AGENT, "1001", 1.0, 60.0, ""),
        QueueEvent("q4", t0 + 2700, "sales", "m3", Q.OFFER, "1001", None, None, ""),  # at the end: outside
    ]


@pytest.mark.parametrize("engine", ["sql", "python"])
def test_agent_report_cuts_spans_at_interval_bounds(empty_db_url: str, engine: str) -> None:
    t0 = 1_800_000_000.0 - 1_800_000_000.0 % 900
    repos = load(empty_db_url, _hand_made(t0), summarize=False)
    try:
        rows = run_reports(repos, ["agents"], ReportOptions(t0, t0 + 2700, interval="15m", engine=engine))[0].rows
        got = {(r["start"] - t0, r["agent"]): (r["idle_s"], r["talk_s"], r["break_s"], r["logged_in_s"], r["offers"],
                                                r["handled"]) for r in rows}
        assert got == {
            (0, "1001"): (900, 0, 0, 900, 1, 0), (900, "1001"): (100, 800, 0, 900, 1, 0),
            (1800, "1001"): (0, 200, 600, 800, 0, 1),
            (0, "1002"): (450, 0, 0, 450, 0, 0), (900, "1002"): (900, 0, 0, 900, 0, 0),
            (1800, "1002"): (900, 0, 0, 900, 0, 0),
            (0, "1003"): (0, 0, 900, 900, 0, 0), (900, "1003"): (0, 0, 900, 900, 0, 0),
            (1800, "1003"): (700, 0, 200, 900, 0, 0),
            (0, "1004"): (300, 300, 0, 600, 0, 0), (900, "1004"): (900, 0, 0, 900, 0, 0),
            (1800, "1004"): (900, 0, 0, 900, 0, 0),
        }
    finally:
        repos.queues.db.dispose()


def test_agent_report_parts_streams(empty_db_url: str) -> None:
    t0 = 1_800_000_000.0 - 1_800_000_000.0 % 900
    repos = load(empty_db_url, _hand_made(t0), summarize=False)
    try:
        parts = repos.agent_state_events.agent_report_parts
        counts, times, rest = parts(t0, t0 + 2700, cuts=[t0 + 900, t0 + 1800])
        assert all(isinstance(x, Iterator) for x in (counts, times, rest))
        # nothing is read before the streams are iterated
        repos.agent_state_events.add(AgentStateEvent("e99", t0 + 2650, "1001", AgentStatus.AVAILABLE,
                                                     AgentState.IDLE))
        assert sorted((a, k, typ.value, n) for a, k, typ, n, _ in counts) == [
            ("1001", 0, "OFFER", 1), ("1001", 1, "OFFER", 1), ("1001", 2, "COMPLETE_AGENT", 1)]
        summed = [(a, k, ev.status, ev.state, ev.reason, d) for a, k, ev, d in times]
        left = list(rest)
        if repos.db.dialect == "postgresql":  # every span cut at the interval bounds in SQL
            assert left == []
            assert ("1001", 2, AgentStatus.AVAILABLE, AgentState.IDLE, None, 50.0) in summed  # e99's
            # and the bounds need not be slot boundaries there
            _, times, rest = parts(t0, t0 + 2700, cuts=[t0 + 1000.5], agent="1001")
            assert sorted((k, ev.state.value, ev.reason or "", round(d, 6)) for _, k, ev, d in times) == [
                (0, "idle", "", 1000.0), (0, "in_call", "", 0.5), (1, "idle", "", 50.0),
                (1, "idle", "lunch", 600.0), (1, "in_call", "", 999.5)]
            assert list(rest) == []
        else:  # SQLite: spans crossing a slot boundary or the window's edges come back to be cut
            assert ("e02", t0 + 2000.0) in [(ev.id, nxt) for ev, nxt in left]  # crosses t0 + 1800
            assert ("e99", None) in [(ev.id, nxt) for ev, nxt in left]  # 1001's last span
            with pytest.raises(InvalidValue):
                parts(t0, t0 + 2700, cuts=[t0 + 1000.5])
        with pytest.raises(InvalidValue):
            parts(t0, t0 + 2700, cuts=[t0 + 1800, t0 + 900])
    finally:
        repos.queues.db.dispose()


CASES = [
    {"interval": "15m", "tz": "Europe/Berlin"},
    {"interval": "hour", "tz": "Europe/Berlin", "short_abandon_s": 5.0},
    {"interval": "30m", "tz": "Asia/Kolkata"},
    {"interval": "day", "tz": "Europe/Berlin", "queue": "support"},
    {"interval": "all", "tz": "America/St_Johns", "short_abandon_s": 20.0},
]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("which", ["fall", "spring"])
def test_sql_queue_report_equals_python(empty_db_url: str, records: dict[str, list[Any]], which: str) -> None:
    center = FALL if which == "fall" else SPRING
    repos = load(empty_db_url, records[which])
    try:
        # the window cuts calls off at both ends (entered before it, still open after it)
        start, end = center - 2 * 3600 - 450, center + 2 * 3600 + 7
        counted = [compare(repos, case, start, end) for case in CASES]
        assert min(counted) > 20  # the comparisons are about real traffic, not empty reports
        # a window on exact slot boundaries
        assert compare(repos, {"interval": "15m", "tz": "Europe/Berlin"}, center - 3600, center + 3600) > 20
        # a short tail: the queue log is read only to 60 s past the end (the queue_calls rows follow each
        # call to its end, so that engine is not comparable here)
        assert compare(repos, {"interval": "hour", "tz": "UTC", "tail_s": 60.0}, start, end, ("events",)) > 20
    finally:
        repos.queues.db.dispose()


@pytest.mark.timeout(120)
def test_slots_without_queue_call_rows_come_from_the_queue_log(empty_db_url: str,
                                                                records: dict[str, list[Any]]) -> None:
    repos = load(empty_db_url, records["fall"])
    try:
        start, end = FALL - 2 * 3600 - 450, FALL + 2 * 3600 + 7
        assert repos.queue_calls.uncovered_slots(start, end) == []
        # an hour of one queue not summarized yet (history from before revision 0003, a crash ...)
        gone = repos.queue_calls.delete_window(FALL - 1800, FALL + 1800, queue="sales")
        assert gone > 5
        missing = repos.queue_calls.uncovered_slots(start, end)
        assert missing and {q for q, _ in missing} == {"sales"} and len(missing) == 4
        for case in CASES:
            assert compare(repos, case, start, end, ("sql",)) > 20
        # nothing summarized at all: every slot from the queue log, still the same figures
        repos.queue_calls.delete_window(0, 4e9)
        assert compare(repos, {"interval": "15m", "tz": "Europe/Berlin"}, start, end, ("sql",)) > 20
        # the backfill puts them back; rows written twice (live, then backfilled) are one row each
        rows = list(summarize_history(repos, start, end))
        insert(repos, rows)
        assert repos.queue_calls.uncovered_slots(start, end) == []
        assert {c.id for c in rows} == {c.id for c in repos.queue_calls.scan(start, end)}
    finally:
        repos.queues.db.dispose()


def test_interval_not_made_of_slots_streams_instead(empty_db_url: str, records: dict[str, list[Any]]) -> None:
    repos = load(empty_db_url, records["fall"][:200])
    try:
        # Europe/Amsterdam in 1930 was UTC+00:19:32: its hours are no union of 15-minute UTC slots
        old = datetime.datetime(1930, 6, 1, tzinfo=datetime.UTC).timestamp()
        opts = ReportOptions(old, old + 86400, interval="hour", tz="Europe/Amsterdam", engine="sql")
        assert queue_report_in_db(repos, opts) is None
        assert run_reports(repos, ["queues"], opts)[0].rows == []
        # before 1970 (negative epoch): streamed too
        assert queue_report_in_db(repos, ReportOptions(-86400.0, 0.0, engine="sql")) is None
    finally:
        repos.queues.db.dispose()


@pytest.mark.timeout(60)
def test_other_exits_are_not_abandons_in_any_engine(empty_db_url: str) -> None:
    """A supervisor's hang-up, a failed transfer and a call cut at shutdown are other exits, not abandons."""
    t0 = FALL - 1800
    recs: list[Any] = []
    for i, (typ, detail) in enumerate(((Q.ABANDON, ""), (Q.EXIT_OTHER, "hangup-by-supervisor"),
                                       (Q.EXIT_OTHER, "transfer-failed"), (Q.EXIT_OTHER, "cut-at-shutdown"))):
        recs.append(QueueEvent(f"e{i}", t0 + i, "support", f"m{i}", Q.ENTER, detail="priority=0"))
        recs.append(QueueEvent(f"x{i}", t0 + i + 10.0, "support", f"m{i}", typ, None, 10.0, None, detail))
    repos = load(empty_db_url, recs)
    try:
        start, end = FALL - 3600, FALL
        assert compare(repos, {"interval": "hour", "tz": "UTC"}, start, end) == 4
        for engine in ("python", "events", "sql"):
            (row,) = run_reports(repos, ["queues"], ReportOptions(start, end, engine=engine))[0].rows
            assert (row["offered"], row["abandoned"], row["other_exits"]) == (4, 1, 3), engine
        calls = run_reports(repos, ["calls"], ReportOptions(start, end))[0].rows
        assert sorted(r["outcome"] for r in calls) == ["abandoned", "cut-at-shutdown", "hangup-by-supervisor",
                                                       "transfer-failed"]
    finally:
        repos.queues.db.dispose()
