"""Repositories on SQLite and PostgreSQL: round trips, bad input, rollback, scans and aggregates."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cc.errors import Conflict, DatabaseUnavailable, InvalidValue, NotFound
from cc.model import (
    Agent,
    AgentState,
    AgentStateEvent,
    AgentStatus,
    BusinessCalendar,
    CallDirection,
    CallLeg,
    CallRecord,
    Customer,
    FlowRoute,
    Holiday,
    Interaction,
    InteractionKind,
    OpeningHours,
    PhoneNumber,
    QueueConfig,
    QueueEvent,
    QueueEventType,
    RecordingRecord,
    RecordPolicy,
    Skill,
    Strategy,
    SurveyResult,
    Team,
    Tier,
)
from cc.store.db import Database
from cc.store.repos import AgentStats, QueueStats, Repos, normalize_phone
from cc.store.tables import AgentRow, AgentSkillRow, CustomerPhoneRow, CustomerRow

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z


@pytest.fixture
def repos(db: Database) -> Repos:
    return Repos(db, default_region="DE")


def _count(db: Database, row: type) -> int:
    with db.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(row)) or 0)


def _setup_config(r: Repos) -> None:
    r.teams.create(Team("blue", "first line"))
    r.skills.create(Skill("billing"))
    r.skills.create(Skill("french"))
    r.queues.create(QueueConfig("sales", strategy=Strategy.ROUND_ROBIN, sl_threshold_s=15.0))
    r.queues.create(QueueConfig("support"))


# ------------------------------------------------------------------ configuration


def test_agent_round_trip_update_delete(repos: Repos) -> None:
    _setup_config(repos)
    a = Agent(
        "1001",
        name="Ann",
        contact="user/1001",
        team="blue",
        max_no_answer=2,
        wrap_up_s=5.5,
        skills={"billing": 7, "french": 3},
    )
    assert repos.agents.create(a) == a
    assert repos.agents.get("1001") == a
    b = Agent("1002", name="Bob")
    repos.agents.create(b)
    assert [x.id for x in repos.agents.list()] == ["1001", "1002"]
    assert repos.agents.list(team="blue") == [a]
    a2 = Agent("1001", name="Ann B", contact="user/1001", skills={"french": 9})
    assert repos.agents.update(a2) == a2
    assert repos.skills.agent_skills("1001") == {"french": 9}
    assert repos.teams.members("blue") == []
    repos.agents.delete("1001")
    with pytest.raises(NotFound):
        repos.agents.get("1001")
    with pytest.raises(NotFound):
        repos.agents.delete("1001")
    with pytest.raises(NotFound):
        repos.agents.update(a2)


def test_duplicate_agent_is_conflict_and_changes_nothing(repos: Repos, db: Database) -> None:
    _setup_config(repos)
    repos.agents.create(Agent("1001", name="Ann", skills={"billing": 5}))
    with pytest.raises(Conflict) as err:
        repos.agents.create(Agent("1001", name="Impostor", skills={"french": 2}))
    assert err.value.kind == "agent" and err.value.key == "1001"
    assert repos.agents.get("1001").name == "Ann"
    assert repos.skills.agent_skills("1001") == {"billing": 5}


def test_agent_with_unknown_skill_or_team_is_rolled_back(repos: Repos, db: Database) -> None:
    _setup_config(repos)
    with pytest.raises(NotFound) as err:
        repos.agents.create(Agent("1001", skills={"billing": 5, "klingon": 3}))
    assert (err.value.kind, err.value.key) == ("skill", "klingon")
    with pytest.raises(NotFound) as err:
        repos.agents.create(Agent("1002", team="red"))
    assert (err.value.kind, err.value.key) == ("team", "red")
    assert _count(db, AgentRow) == 0 and _count(db, AgentSkillRow) == 0


@pytest.mark.parametrize("level", [0, 11, -1, 3.5, True])
def test_proficiency_out_of_range_is_invalid(repos: Repos, db: Database, level: object) -> None:
    _setup_config(repos)
    with pytest.raises(InvalidValue) as err:
        repos.agents.create(Agent("1001", skills={"billing": level}))  # type: ignore[dict-item]
    assert err.value.field == "agent.skills.billing" and err.value.value == level
    repos.agents.create(Agent("1001"))
    with pytest.raises(InvalidValue) as err:
        repos.skills.set_agent_skill("1001", "billing", level)  # type: ignore[arg-type]
    assert err.value.field == "proficiency"
    assert _count(db, AgentSkillRow) == 0


@pytest.mark.parametrize(
    ("field", "agent"),
    [
        ("agent.id", Agent("")),
        ("agent.max_no_answer", Agent("x", max_no_answer=-1)),
        ("agent.wrap_up_s", Agent("x", wrap_up_s=float("nan"))),
        ("agent.busy_delay_s", Agent("x", busy_delay_s=-3)),
        ("agent.id", Agent("x" * 65)),
    ],
)
def test_bad_agent_fields_are_named(repos: Repos, field: str, agent: Agent) -> None:
    with pytest.raises(InvalidValue) as err:
        repos.agents.create(agent)
    assert err.value.field == field


def test_skills_set_remove_and_lookup(repos: Repos) -> None:
    _setup_config(repos)
    for i, lvl in (("a", 3), ("b", 9), ("c", 6)):
        repos.agents.create(Agent(i))
        repos.skills.set_agent_skill(i, "billing", lvl)
    repos.skills.set_agent_skill("a", "billing", 10)
    assert repos.skills.agents_with("billing", 6) == [("a", 10), ("b", 9), ("c", 6)]
    repos.skills.remove_agent_skill("c", "billing")
    assert repos.skills.agents_with("billing") == [("a", 10), ("b", 9)]
    with pytest.raises(NotFound):
        repos.skills.remove_agent_skill("c", "billing")
    with pytest.raises(NotFound):
        repos.skills.set_agent_skill("zzz", "billing", 5)
    with pytest.raises(Conflict):
        repos.skills.create(Skill("billing"))
    repos.skills.delete("billing")
    assert repos.skills.agent_skills("a") == {}
    assert [s.name for s in repos.skills.list()] == ["french"]


def test_queue_round_trip_and_validation(repos: Repos) -> None:
    q = QueueConfig(
        "sales",
        strategy=Strategy.SKILLS_BASED,
        max_wait_s=120.0,
        max_len=10,
        record_policy=RecordPolicy.ALWAYS,
        overflow_target="queue:support",
        announce_prompt=None,
    )
    assert repos.queues.create(q) == q
    with pytest.raises(Conflict):
        repos.queues.create(q)
    q2 = QueueConfig("sales", announce_position=False, wrap_up_s=3.0)
    assert repos.queues.update(q2) == q2
    assert repos.queues.list() == [q2]
    with pytest.raises(InvalidValue) as err:
        repos.queues.create(QueueConfig("x", strategy="fastest-agent"))  # type: ignore[arg-type]
    assert (err.value.field, err.value.value) == ("queue.strategy", "fastest-agent")
    with pytest.raises(InvalidValue) as err:
        repos.queues.create(QueueConfig("x", offer_timeout_s=0))
    assert err.value.field == "queue.offer_timeout_s"
    repos.queues.delete("sales")
    assert repos.queues.list() == []


def test_tiers(repos: Repos, db: Database) -> None:
    _setup_config(repos)
    for a in ("a", "b", "c"):
        repos.agents.create(Agent(a))
    repos.tiers.add(Tier("c", "sales", level=1, position=2))
    repos.tiers.add(Tier("a", "sales", level=2, position=1))
    repos.tiers.add(Tier("b", "sales", level=1, position=1))
    repos.tiers.add(Tier("a", "support"))
    assert [t.agent_id for t in repos.tiers.for_queue("sales")] == ["b", "c", "a"]
    assert [t.queue for t in repos.tiers.for_agent("a")] == ["sales", "support"]
    with pytest.raises(NotFound) as err:
        repos.tiers.add(Tier("a", "nosuchqueue"))
    assert (err.value.kind, err.value.key) == ("queue", "nosuchqueue")
    with pytest.raises(NotFound) as err:
        repos.tiers.add(Tier("ghost", "sales"))
    assert err.value.kind == "agent"
    with pytest.raises(Conflict):
        repos.tiers.add(Tier("a", "sales"))
    with pytest.raises(InvalidValue) as ierr:
        repos.tiers.add(Tier("b", "support", level=0))
    assert ierr.value.field == "tier.level"
    repos.tiers.update(Tier("a", "sales", level=1, position=3))
    assert repos.tiers.for_queue("sales")[-1] == Tier("a", "sales", 1, 3)
    repos.tiers.remove("a", "support")
    with pytest.raises(NotFound):
        repos.tiers.remove("a", "support")
    repos.agents.delete("b")  # cascades to its tiers
    repos.queues.delete("support")
    assert [(t.agent_id, t.queue) for t in repos.tiers.list()] == [("c", "sales"), ("a", "sales")]


def test_teams_flow_routes_and_calendars(repos: Repos) -> None:
    repos.teams.create(Team("blue"))
    with pytest.raises(Conflict):
        repos.teams.create(Team("blue"))
    repos.agents.create(Agent("a", team="blue"))
    repos.teams.delete("blue")
    assert repos.agents.get("a").team is None
    assert repos.teams.list() == []

    repos.flow_routes.set(FlowRoute("+4930100", "flows/main.yaml"))
    repos.flow_routes.set(FlowRoute("+4930100", "flows/night.yaml", "night"))
    assert repos.flow_routes.get("+4930100") == FlowRoute("+4930100", "flows/night.yaml", "night")
    assert repos.flow_routes.find("5555") is None
    with pytest.raises(NotFound):
        repos.flow_routes.get("5555")
    repos.flow_routes.delete("+4930100")
    assert repos.flow_routes.list() == []

    t = datetime.time
    cal = BusinessCalendar(
        "office",
        "Europe/Berlin",
        hours=(OpeningHours(0, t(8), t(12)), OpeningHours(0, t(13), t(17, 30)), OpeningHours(5, t(9), t(12))),
        holidays=(Holiday(datetime.date(2026, 12, 25), "Christmas"), Holiday(datetime.date(2026, 1, 1))),
    )
    saved = repos.calendars.save(cal)
    assert saved.hours == cal.hours
    assert saved.holidays == tuple(sorted(cal.holidays, key=lambda h: h.date))
    smaller = BusinessCalendar("office", "UTC", hours=(OpeningHours(1, t(9), t(10)),))
    assert repos.calendars.save(smaller) == smaller
    with pytest.raises(InvalidValue) as err:
        repos.calendars.save(BusinessCalendar("x", "Mars/Olympus"))
    assert (err.value.field, err.value.value) == ("calendar.timezone", "Mars/Olympus")
    with pytest.raises(InvalidValue) as err:
        repos.calendars.save(BusinessCalendar("x", hours=(OpeningHours(7, t(9), t(10)),)))
    assert err.value.field == "calendar.hours[0].weekday"
    with pytest.raises(InvalidValue) as err:
        repos.calendars.save(BusinessCalendar("x", hours=(OpeningHours(1, t(10), t(9)),)))
    assert err.value.field == "calendar.hours[0].closes"
    assert repos.calendars.list() == ["office"]
    repos.calendars.delete("office")
    with pytest.raises(NotFound):
        repos.calendars.get("office")


# ------------------------------------------------------------------ CRM


def test_customers_by_any_number(repos: Repos) -> None:
    c = repos.customers.create(
        Customer(
            "",
            name="Erika Mustermann",
            email="e@example.org",
            phones=(PhoneNumber("030 901820", "home"), PhoneNumber("+49 171 1234567", "mobile")),
        ),
        now=T0,
    )
    assert len(c.id) == 32 and c.created_at == T0
    assert {p.number for p in c.phones} == {"+4930901820", "+491711234567"}
    for form in ("+4930901820", "030/901820", "0049 30 901820", "+49 (171) 123-4567"):
        assert [x.id for x in repos.customers.find_by_phone(form)] == [c.id], form
    assert repos.customers.find_by_phone("anonymous") == []
    with pytest.raises(Conflict):   # a number belongs to one customer only (unique index, revision 0010_crm)
        repos.customers.create(Customer("k2", name="Erich", phones=(PhoneNumber("+4930901820"),)))
    assert [x.id for x in repos.customers.find_by_phone("030901820")] == [c.id]
    repos.customers.create(Customer("k2", name="Erich", phones=(PhoneNumber("+4930901821"),)))
    assert repos.customers.add_phone("k2", "+33 1 42 68 53 00") == "+33142685300"
    with pytest.raises(Conflict):
        repos.customers.add_phone("k2", "+33142685300")
    repos.customers.remove_phone("k2", "+33 1 42 68 53 00")
    assert [x.name for x in repos.customers.search("Eri")] == ["Erich", "Erika Mustermann"]
    assert repos.customers.search("50%") == []
    updated = repos.customers.update(Customer(c.id, name="Erika M.", phones=(PhoneNumber("+4989123456"),)))
    assert updated.phones == (PhoneNumber("+4989123456"),)
    assert repos.customers.find_by_phone("+491711234567") == []
    repos.customers.delete(c.id)
    with pytest.raises(NotFound):
        repos.customers.get(c.id)


@pytest.mark.parametrize("bad", ["12", "+49 1", "hello", "", "+999 123456"])
def test_invalid_phone_rolls_back_the_customer(repos: Repos, db: Database, bad: str) -> None:
    with pytest.raises(InvalidValue) as err:
        repos.customers.create(
            Customer("k1", name="X", phones=(PhoneNumber("+4930901820"), PhoneNumber(bad)))
        )
    assert err.value.field == "phone" and err.value.value == bad
    assert _count(db, CustomerRow) == 0 and _count(db, CustomerPhoneRow) == 0
    with pytest.raises(Conflict):
        repos.customers.create(Customer("k1"))
        repos.customers.create(Customer("k1"))


def test_normalize_phone_without_region_needs_country_code() -> None:
    assert normalize_phone("+1 650 253 0000") == "+16502530000"
    with pytest.raises(InvalidValue):
        normalize_phone("650 253 0000")
    assert normalize_phone("650 253 0000", "US") == "+16502530000"


def test_interactions(repos: Repos) -> None:
    for i in range(5):
        repos.interactions.add(
            Interaction(
                f"i{i}",
                T0 + i,
                InteractionKind.CALL,
                customer_id="k1",
                agent_id="a" if i % 2 else "b",
                call_uuid=f"c{i}",
                disposition="sale",
            )
        )
    repos.interactions.add(Interaction("n1", T0 + 10, InteractionKind.NOTE, customer_id="k2", note="hi"))
    assert [x.id for x in repos.interactions.for_customer("k1", limit=3)] == ["i4", "i3", "i2"]
    assert [x.id for x in repos.interactions.scan(T0, T0 + 100, agent_id="a")] == ["i1", "i3"]
    assert repos.interactions.get("n1").note == "hi"
    with pytest.raises(Conflict):
        repos.interactions.add(Interaction("n1", T0, InteractionKind.NOTE))


# ------------------------------------------------------------------ history


def test_calls_legs_recordings(repos: Repos) -> None:
    call = CallRecord(
        "c1",
        CallDirection.INBOUND,
        "+4930901820",
        "+4930100",
        T0 + 0.25,
        node="fs1",
        answered_at=T0 + 3.5,
        ended_at=T0 + 60.125,
        hangup_cause="NORMAL_CLEARING",
        flow="main",
        disposition="sale",
    )
    repos.calls.add(call)
    assert repos.calls.get("c1") == call
    with pytest.raises(Conflict):
        repos.calls.add(call)
    with pytest.raises(NotFound):
        repos.calls.get("nope")
    repos.call_legs.add(CallLeg("l2", "c1", "agent", "user/1001", T0 + 5, agent_id="1001"))
    repos.call_legs.add(CallLeg("l1", "c1", "caller", "sofia/x", T0))
    assert [leg.uuid for leg in repos.calls.legs("c1")] == ["l1", "l2"]
    assert [leg.uuid for leg in repos.call_legs.scan(T0, T0 + 10, agent_id="1001")] == ["l2"]
    assert repos.calls.for_caller("+4930901820") == [call]
    rec = RecordingRecord(
        "r1", "c1", "/rec/c1.wav", T0 + 4, T0 + 60, 50.0, ((T0 + 10, T0 + 16),), 800_000, "ab" * 32
    )
    repos.recordings.add(rec)
    assert repos.recordings.for_call("c1") == [rec]
    assert repos.recordings.get("r1") == rec


def test_scan_streams_pages_and_respects_the_window(repos: Repos) -> None:
    events = [QueueEvent(f"e{i:03d}", T0 + i // 2, "sales", f"m{i}", QueueEventType.ENTER) for i in range(25)]
    for e in reversed(events):
        repos.queue_events.add(e)
    got = list(repos.queue_events.scan(T0, T0 + 100, page=4))
    assert got == events  # ties on time are ordered by id, across page boundaries
    window = list(repos.queue_events.scan(T0 + 3, T0 + 5, page=1))
    assert [e.id for e in window] == ["e006", "e007", "e008", "e009"]
    assert list(repos.queue_events.scan(T0 + 100, T0 + 200)) == []
    with pytest.raises(InvalidValue):
        list(repos.queue_events.scan(T0 + 5, T0))
    with pytest.raises(InvalidValue):
        list(repos.queue_events.scan(T0, T0 + 5, colour="red"))
    with pytest.raises(InvalidValue) as err:
        list(repos.queue_events.scan(T0, T0 + 5, page=0))
    assert err.value.field == "page"
    it = repos.queue_events.scan(T0, T0 + 100, page=2)
    assert next(it) == events[0]  # lazily produced


def _qe(
    i: int,
    at: float,
    queue: str,
    member: str,
    type_: QueueEventType,
    agent: str | None = None,
    wait: float | None = None,
    talk: float | None = None,
) -> QueueEvent:
    return QueueEvent(f"q{i}", T0 + at, queue, member, type_, agent, wait, talk)


def test_queue_and_agent_aggregates(repos: Repos) -> None:
    repos.queues.create(QueueConfig("sales", sl_threshold_s=15.0))
    E = QueueEventType
    log = [
        _qe(1, 0, "sales", "m1", E.ENTER),
        _qe(2, 1, "sales", "m1", E.OFFER, "a"),
        _qe(3, 10, "sales", "m1", E.CONNECT, "a", wait=10.0),
        _qe(4, 70, "sales", "m1", E.COMPLETE_CALLER, "a", wait=10.0, talk=60.0),
        _qe(5, 2, "sales", "m2", E.ENTER),
        _qe(6, 3, "sales", "m2", E.OFFER, "b"),
        _qe(7, 23, "sales", "m2", E.RING_NO_ANSWER, "b"),
        _qe(8, 24, "sales", "m2", E.OFFER, "a"),
        _qe(9, 32, "sales", "m2", E.CONNECT, "a", wait=30.0),
        _qe(10, 62, "sales", "m2", E.TRANSFER, "a", wait=30.0, talk=30.0),
        _qe(11, 5, "sales", "m3", E.ENTER),
        _qe(12, 50, "sales", "m3", E.ABANDON, wait=45.0),
        _qe(13, 6, "sales", "m4", E.ENTER),
        _qe(14, 306, "sales", "m4", E.EXIT_TIMEOUT, wait=300.0),
        _qe(15, 7, "support", "m5", E.ENTER),
        _qe(16, 8, "support", "m5", E.CONNECT, "b", wait=1.0),
        _qe(17, 9, "support", "m5", E.COMPLETE_AGENT, "b", wait=1.0, talk=20.0),
        _qe(18, 500, "sales", "m6", E.ENTER),  # outside the window
    ]
    for e in log:
        repos.queue_events.add(e)
    stats = repos.queue_events.queue_stats(T0, T0 + 400)
    assert stats == [
        QueueStats(
            "sales",
            offered=4,
            answered=2,
            abandoned=1,
            timed_out=1,
            answered_within_sl=1,
            avg_wait_answered_s=20.0,
            max_wait_answered_s=30.0,
            avg_wait_abandoned_s=45.0,
            completed=2,
            talk_s=90.0,
            avg_talk_s=45.0,
        ),
        QueueStats(
            "support",
            offered=1,
            answered=1,
            answered_within_sl=1,
            avg_wait_answered_s=1.0,
            max_wait_answered_s=1.0,
            completed=1,
            talk_s=20.0,
            avg_talk_s=20.0,
        ),
    ]
    assert stats[0].service_level == 0.25 and stats[0].abandon_rate == 0.25
    assert [s.queue for s in repos.queue_events.queue_stats(T0, T0 + 400, "support")] == ["support"]
    assert repos.queue_events.agent_stats(T0, T0 + 400) == [
        AgentStats(
            "a",
            offered=2,
            answered=2,
            transferred=1,
            completed=2,
            talk_s=90.0,
            avg_talk_s=45.0,
            avg_wait_answered_s=20.0,
        ),
        AgentStats(
            "b",
            offered=1,
            answered=1,
            no_answer=1,
            completed=1,
            talk_s=20.0,
            avg_talk_s=20.0,
            avg_wait_answered_s=1.0,
        ),
    ]
    assert repos.queue_events.agent_stats(T0 + 1000, T0 + 2000) == []
    buckets = repos.queue_events.queue_intervals(T0, T0 + 600, 300.0, "sales")
    assert [b for b, _ in buckets] == [T0, T0 + 300]
    assert [s.offered for s in buckets[0][1]] == [4] and buckets[0][1][0].answered == 2
    assert [s.offered for s in buckets[1][1]] == [1] and buckets[1][1][0].timed_out == 1
    with pytest.raises(InvalidValue):
        repos.queue_events.queue_intervals(T0, T0 + 86400 * 365, 60.0)
    assert [e.type for e in repos.queue_events.for_member("m2")] == [
        E.ENTER,
        E.OFFER,
        E.RING_NO_ANSWER,
        E.OFFER,
        E.CONNECT,
        E.TRANSFER,
    ]


def test_agent_state_events(repos: Repos) -> None:
    S, A = AgentStatus, AgentState
    evs = [
        AgentStateEvent("s1", T0 - 100, "a", S.AVAILABLE, A.IDLE),
        AgentStateEvent("s2", T0 + 100, "a", S.ON_BREAK, A.IDLE, reason="lunch"),
        AgentStateEvent("s3", T0 + 400, "a", S.AVAILABLE, A.IDLE),
        AgentStateEvent("s4", T0 + 50, "b", S.AVAILABLE, A.IN_CALL),
    ]
    for e in evs:
        repos.agent_state_events.add(e)
    assert repos.agent_state_events.latest("a") == evs[2]
    assert repos.agent_state_events.latest("zzz") is None
    assert repos.agent_state_events.latest_all() == {"a": evs[2], "b": evs[3]}
    assert repos.agent_state_events.time_in_status("a", T0, T0 + 1000) == {
        S.AVAILABLE: 100.0 + 600.0,
        S.ON_BREAK: 300.0,
    }
    assert repos.agent_state_events.time_in_status("b", T0, T0 + 100) == {
        S.LOGGED_OUT: 50.0,
        S.AVAILABLE: 50.0,
    }


def test_survey_averages(repos: Repos) -> None:
    for i, (agent, queue, score) in enumerate([("a", "sales", 5), ("a", "sales", 3), ("b", "support", 4)]):
        repos.surveys.add(SurveyResult(f"s{i}", T0 + i, f"c{i}", "csat", "q1", score, agent, queue))
    by_agent = repos.surveys.averages(T0, T0 + 10)
    assert [(s.key, s.question, s.answers, s.avg_score) for s in by_agent] == [
        ("a", "q1", 2, 4.0),
        ("b", "q1", 1, 4.0),
    ]
    by_queue = repos.surveys.averages(T0, T0 + 10, by="queue", survey="csat")
    assert [s.key for s in by_queue] == ["sales", "support"]
    with pytest.raises(InvalidValue):
        repos.surveys.averages(T0, T0 + 10, by="weather")
    assert [s.id for s in repos.surveys.scan(T0, T0 + 10, survey="csat", agent_id="a")] == ["s0", "s1"]


def test_unreachable_database_is_database_unavailable(tmp_path: Path) -> None:
    down = Repos(Database(f"sqlite:///{tmp_path / 'missing' / 'x.db'}"))
    with pytest.raises(DatabaseUnavailable):
        down.agents.list()
    with pytest.raises(DatabaseUnavailable):
        down.queues.create(QueueConfig("sales"))
    with pytest.raises(DatabaseUnavailable):
        list(down.calls.scan(T0, T0 + 1))


def test_values_the_database_refuses_are_invalid_values(repos: Repos, backend: str) -> None:
    long_id = "x" * 200  # longer than the 64-character id column
    if backend == "postgresql":
        with pytest.raises(InvalidValue) as err:
            repos.queue_events.add(QueueEvent(long_id, T0, "q", "m", QueueEventType.ENTER))
        assert err.value.field == "queue_event"
    else:  # SQLite does not enforce lengths; the row is stored whole
        repos.queue_events.add(QueueEvent(long_id, T0, "q", "m", QueueEventType.ENTER))
        assert repos.queue_events.get(long_id).id == long_id
