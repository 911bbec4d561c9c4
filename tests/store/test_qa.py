"""QA in the store on SQLite and PostgreSQL: scorecard versions, sampling from the call history onto the work list
(reproducible, no call twice), scoring with comments, dispute once and resolve, each audited; the scope of a QA
user of team A against team B's calls through the service."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from cc.authz import Directory
from cc.errors import ApiError, Conflict, InvalidTransition, InvalidValue
from cc.model import Agent, CallDirection, CallRecord, QueueCall, SurveyResult
from cc.qa.sample import parse_rule, parse_week
from cc.qa.scorecard import parse_scorecard
from cc.qa.service import QaService
from cc.qa.worklist import ItemState, Resolution
from cc.store.audit import Actor, AuditRepo
from cc.store.db import Database
from cc.store.org import OrgRepo
from cc.store.qa import Comment, QaRepo
from cc.store.repos import Repos
from cc.store.users import UserRepo

ROOT = Actor("root", None, "cli")
CARD = """\
name: basic
sections:
  - title: Opening
    items:
      - {key: greet, text: Greets, weight: 20}
      - {key: verify, text: Verifies, weight: 30, critical: true}
  - title: Close
    items:
      - {key: solve, text: Solves, weight: 40}
      - {key: hold, text: Asks before hold, weight: 10, na: true}
"""
WEEK = "2026-W49"


def seed_history(db: Database, calls_per_agent: int = 12) -> None:
    """Units A and B, agents a1, a2 (A) and b1 (B), a week of handled calls each, a few with surveys."""
    org = OrgRepo(db)
    org.add("floor", kind="department", actor=ROOT)
    org.add("A", "floor", actor=ROOT)
    org.add("B", "floor", actor=ROOT)
    repos = Repos(db)
    _, monday, _ = parse_week(WEEK)
    for agent, team in (("a1", "A"), ("a2", "A"), ("b1", "B")):
        repos.agents.create(Agent(agent, contact=f"user/{agent}", team=team))
        calls = []
        for n in range(calls_per_agent):
            uuid = f"{agent}-call-{n}"
            at = monday + 3600 * (n + 1)
            repos.calls.add(CallRecord(uuid, CallDirection.INBOUND, "13800138000", "7000", at, answered_at=at,
                                       ended_at=at + 60 * n, disposition="complaint" if n == 3 else "resolved"))
            calls.append(QueueCall(f"enter-{uuid}", at, "support", uuid, "answered", agent, answered=1, handled=1,
                                   talk_s=60.0 * n, transfers=1 if n == 5 else 0))
            if n % 4 == 0:
                repos.surveys.add(SurveyResult(f"s-{uuid}", at + 100, uuid, "csat", "q1", 1 + n % 5, agent))
        repos.queue_calls.put(calls)
    # a call outside the week and one nobody answered are never candidates
    repos.queue_calls.put([QueueCall("enter-old", monday - 10, "support", "old", "answered", "a1", handled=1),
                           QueueCall("enter-lost", monday + 10, "support", "lost", "abandoned", None)])


def users(db: Database) -> Directory:
    u = UserRepo(db)
    for login, agent in (("qa-a", None), ("qa-b", None), ("sup-a", None), ("a1", "a1"), ("b1", "b1")):
        u.add(login, agent_id=agent, actor=ROOT)
    u.grant("qa-a", "qa", "A", actor=ROOT)
    u.grant("qa-b", "qa", "B", actor=ROOT)
    u.grant("sup-a", "supervisor", "A", actor=ROOT)
    u.grant("a1", "agent", actor=ROOT)
    u.grant("b1", "agent", actor=ROOT)
    return u.directory()[0]


def test_scorecard_versions_keep_old_scores(db: Database) -> None:
    seed_history(db, 2)
    qa = QaRepo(db)
    card = parse_scorecard(CARD, "basic.yaml")
    info = qa.scorecard_add(card, actor=ROOT)
    assert (info.version, info.current_version) == (1, 1)
    with pytest.raises(Conflict):
        qa.scorecard_add(card, actor=ROOT)
    # not used yet: edited in place
    v1b = parse_scorecard(CARD.replace("text: Greets", "text: Greets by name"), "basic.yaml")
    assert qa.scorecard_set(v1b, actor=ROOT).version == 1
    picks = QaService(qa, lambda: Directory()).sample(None, week=WEEK, per_agent=1, seed="s")
    item = picks.added[0]
    sc = qa.score(item.id, "basic", {"greet": "pass", "verify": "pass", "solve": Decimal(20), "hold": "na"},
                  actor=ROOT)
    assert sc.total == pytest.approx(77.8) and sc.version == 1    # 70 of 90
    # in use now: a new version; the score keeps version 1
    v2 = parse_scorecard(CARD.replace("weight: 40", "weight: 35").replace("weight: 10", "weight: 15"), "b.yaml")
    assert qa.scorecard_set(v2, actor=ROOT).version == 2
    assert qa.get_score(sc.id).version == 1 and qa.get_score(sc.id).total == pytest.approx(77.8)
    assert qa.scorecard("basic").version == 2 and qa.scorecard("basic", 1).card.item("greet").text == "Greets by name"
    assert [a.action for a in AuditRepo(db).search(0, 2e9) if a.action.startswith("qa_scorecard")] == [
        "qa_scorecard_set", "qa_scorecard_set", "qa_scorecard_add"]


def test_sampling_from_history_is_reproducible_and_never_twice(db: Database) -> None:
    seed_history(db)
    svc = QaService(QaRepo(db), lambda: Directory())
    dry = svc.sample(None, week=WEEK, per_agent=2, seed="42", dry_run=True)
    assert dry.candidates == 36 and not dry.added
    rules = [parse_rule("result=complaint"), parse_rule("survey<=1"), parse_rule("transferred")]
    first = svc.sample(None, week=WEEK, per_agent=2, seed="42", rules=rules)
    by_agent: dict[str, list[str]] = {}
    for p in first.picks:
        by_agent.setdefault(p.agent_id, []).append(p.call_uuid)
        assert ("result=complaint" in p.reasons) == p.call_uuid.endswith("-call-3")
        assert ("transferred" in p.reasons) == p.call_uuid.endswith("-call-5")
        assert ("survey<=1" in p.reasons) == p.call_uuid.endswith("-call-0")
    assert sorted(by_agent) == ["a1", "a2", "b1"]
    assert all(sum("random" in p.reasons for p in first.picks if p.agent_id == a) == 2 for a in by_agent)
    assert len(first.added) == len(first.picks)
    # the dry run before picked the same random calls (same seed, same history)
    assert {p.call_uuid for p in dry.picks} <= {p.call_uuid for p in first.picks}
    again = svc.sample(None, week=WEEK, per_agent=2, seed="42", rules=rules)
    assert not {p.call_uuid for p in again.picks} & {p.call_uuid for p in first.picks}
    items = QaRepo(db).items(week=WEEK)
    assert len(items) == len({i.call_uuid for i in items}) == len(first.added) + len(again.added)


def test_score_dispute_once_resolve_all_audited(db: Database) -> None:
    seed_history(db, 3)
    qa = QaRepo(db)
    qa.scorecard_add(parse_scorecard(CARD), actor=ROOT)
    item = QaService(qa, lambda: Directory()).sample(None, week=WEEK, per_agent=1, seed="x").added[0]
    qa.start(item.id, actor=Actor("qa-a"))
    assert qa.item(item.id).state is ItemState.IN_PROGRESS and qa.item(item.id).assigned_to == "qa-a"
    sc = qa.score(item.id, "basic", {"greet": "pass", "verify": "fail", "solve": "pass", "hold": "pass"},
                  [Comment("no verification", 12.5), Comment("friendly overall")], actor=Actor("qa-a"))
    assert sc.total == 0 and sc.critical_failed and sc.raw_total == 70.0
    assert [(c.text, c.offset_s, c.author) for c in sc.comments] == [
        ("no verification", 12.5, "qa-a"), ("friendly overall", None, "qa-a")]
    with pytest.raises(InvalidTransition):
        qa.score(item.id, "basic", {"greet": "pass", "verify": "pass", "solve": "pass", "hold": "pass"}, actor=ROOT)
    with pytest.raises(InvalidValue):
        qa.dispute(sc.id, "  ", actor=Actor(item.agent_id))
    d = qa.dispute(sc.id, "the caller was verified by the IVR", actor=Actor(item.agent_id))
    assert d.state is ItemState.DISPUTED and d.dispute is not None and d.dispute.resolution is None
    with pytest.raises(InvalidTransition):
        qa.dispute(sc.id, "again", actor=Actor(item.agent_id))
    with pytest.raises(InvalidValue):
        qa.resolve(sc.id, Resolution.CHANGED, actor=Actor("sup"))
    r = qa.resolve(sc.id, Resolution.CHANGED, total=70.0, note="IVR verified", actor=Actor("sup"))
    assert r.total == 70.0 and r.scored_total == 0 and r.state is ItemState.RESOLVED
    assert r.dispute is not None and r.dispute.resolution is Resolution.CHANGED and r.dispute.resolved_by == "sup"
    with pytest.raises(InvalidTransition):
        qa.dispute(sc.id, "once more", actor=Actor(item.agent_id))
    actions = [a.action for a in reversed(list(AuditRepo(db).search(0, 2e9))) if a.action.startswith("qa_")]
    assert actions == ["qa_scorecard_add", "qa_sample", "qa_start", "qa_score", "qa_dispute", "qa_resolve"]


def test_scope_qa_of_team_a_cannot_see_or_score_team_b(db: Database) -> None:
    seed_history(db, 4)
    qa = QaRepo(db)
    qa.scorecard_add(parse_scorecard(CARD), actor=ROOT)
    directory = users(db)
    svc = QaService(qa, lambda: directory)
    qa_a, qa_b = directory.by_login["qa-a"], directory.by_login["qa-b"]
    res = svc.sample(qa_a, week=WEEK, per_agent=2, seed="1")
    assert {p.agent_id for p in res.picks} == {"a1", "a2"} and res.candidates == 8
    svc.sample(qa_b, week=WEEK, per_agent=1, seed="1")
    assert {i.agent_id for i in svc.worklist(qa_a)} == {"a1", "a2"}
    assert {i.agent_id for i in svc.worklist(qa_b)} == {"b1"}
    b_item = svc.worklist(qa_b)[0]
    answers = {"greet": "pass", "verify": "pass", "solve": "pass", "hold": "na"}
    with pytest.raises(ApiError) as refused:
        svc.score(qa_a, b_item.id, "basic", answers)
    assert refused.value.status == 403
    with pytest.raises(ApiError):
        svc.item(qa_a, b_item.id)
    with pytest.raises(InvalidValue, match="may not score agent b1"):
        svc.assign(None, b_item.id, "qa-a")    # never assigned to someone who may not score it
    a_item = next(i for i in svc.worklist(qa_a) if i.agent_id == "a1")
    sc = svc.score(qa_a, a_item.id, "basic", answers)
    assert sc.total == 100.0 and QaRepo(db).item(b_item.id).state is ItemState.TODO
    # the agent sees his own scores, disputes once; another agent may not dispute it
    a1, b1, sup_a = directory.by_login["a1"], directory.by_login["b1"], directory.by_login["sup-a"]
    assert [s.id for s in svc.my_scores(a1)] == [sc.id] and svc.my_scores(b1) == []
    with pytest.raises(ApiError):
        svc.dispute(b1, sc.id, "not mine")
    svc.dispute(a1, sc.id, "I did verify")
    with pytest.raises(ApiError):
        svc.resolve(qa_b, sc.id, Resolution.UPHELD)          # no resolve_disputes
    assert [s.id for s in svc.disputes(sup_a)] == [sc.id]
    assert svc.resolve(sup_a, sc.id, Resolution.UPHELD).state is ItemState.RESOLVED
    assert svc.score_view(a1, sc.id).dispute is not None
    with pytest.raises(ApiError):
        svc.score_view(b1, sc.id)


def test_candidates_read_talk_transfers_surveys_and_results(db: Database) -> None:
    seed_history(db, 6)
    _, start, end = parse_week(WEEK)
    cands = {c.call_uuid: c for c in QaRepo(db).candidates(start, end)}
    assert len(cands) == 18 and "old" not in cands and "lost" not in cands
    c = cands["a1-call-4"]
    assert (c.talk_s, c.survey_min, c.result, c.transferred) == (240.0, 5, "resolved", False)
    assert cands["a2-call-5"].transferred and cands["b1-call-3"].result == "complaint"
    assert datetime.datetime.fromtimestamp(c.at, datetime.UTC).isocalendar()[1] == 49


def test_a_disabled_user_may_do_nothing_in_qa(db: Database) -> None:
    """Every QA decision goes through allowed(), which refuses a disabled user: changing a scorecard, sampling,
    the dispute list and his own scores too (these were checked by 'holds the permission' alone)."""
    seed_history(db, 2)
    qa = QaRepo(db)
    qa.scorecard_add(parse_scorecard(CARD), actor=ROOT)
    directory = users(db)
    UserRepo(db).grant("qa-b", "supervisor", "B", actor=ROOT)
    svc = QaService(qa, lambda: directory)
    added = svc.sample(directory.by_login["qa-a"], week=WEEK, per_agent=1, seed="1").added
    item = next(i for i in added if i.agent_id == "a1")
    sc = svc.score(directory.by_login["qa-a"], item.id, "basic",
                   {"greet": "pass", "verify": "pass", "solve": "pass", "hold": "na"})
    for login in ("qa-a", "qa-b", item.agent_id):
        UserRepo(db).set_disabled(login, True, actor=ROOT)
    directory = UserRepo(db).directory()[0]
    qa_a, qa_b, agent = (directory.by_login[u] for u in ("qa-a", "qa-b", item.agent_id))
    assert qa_a.disabled and agent.disabled
    changed = parse_scorecard(CARD.replace("text: Greets", "text: Greets by name"))
    refusals = [lambda: svc.add_scorecard(qa_a, parse_scorecard(CARD.replace("name: basic", "name: other"))),
                lambda: svc.set_scorecard(qa_a, changed),
                lambda: svc.sample(qa_a, week=WEEK, per_agent=1, seed="2", dry_run=True),
                lambda: svc.worklist(qa_a),
                lambda: svc.disputes(qa_b),
                lambda: svc.score_view(agent, sc.id)]
    for act in refusals:
        with pytest.raises(ApiError) as refused:
            act()
        assert refused.value.status == 403 and "disabled" in str(refused.value)
    assert qa.scorecard("basic").card.item("greet").text == "Greets"
    assert [c.name for c in qa.scorecards()] == ["basic"]


def test_a_changed_total_clears_the_critical_fail_unless_kept(db: Database) -> None:
    """A dispute resolved with a changed total is no critical fail any more (flag cleared, audited), so the QA
    reports count it neither as one nor as a 0; the resolver may keep the fail, with the total 0 only. A row
    resolved before the rule (flag kept beside a non-zero total) is not counted as a critical fail either."""
    from zoneinfo import ZoneInfo

    from sqlalchemy import update

    from cc.reports.intervals import Bucketer
    from cc.reports.qa import qa_report
    from cc.store.qa_tables import QaScoreRow

    seed_history(db, 3)
    qa = QaRepo(db)
    qa.scorecard_add(parse_scorecard(CARD), actor=ROOT)
    items = QaService(qa, lambda: Directory()).sample(None, week=WEEK, per_agent=3, seed="x").added[:3]
    failed = {"greet": "pass", "verify": "fail", "solve": "pass", "hold": "pass"}
    scores = []
    for item in items:
        qa.start(item.id, actor=Actor("qa-a"))
        sc = qa.score(item.id, "basic", failed, actor=Actor("qa-a"))
        qa.dispute(sc.id, "verified by the IVR", actor=Actor(item.agent_id))
        scores.append(sc)
    changed, kept, upheld = scores
    with pytest.raises(InvalidValue):
        qa.resolve(kept.id, Resolution.CHANGED, total=40.0, keep_critical=True, actor=Actor("sup"))
    with pytest.raises(InvalidValue):
        qa.resolve(upheld.id, Resolution.UPHELD, keep_critical=True, actor=Actor("sup"))
    r = qa.resolve(changed.id, Resolution.CHANGED, total=70.0, actor=Actor("sup"))
    assert r.total == 70.0 and not r.critical_failed and not r.counts_critical
    k = qa.resolve(kept.id, Resolution.CHANGED, total=0.0, keep_critical=True, actor=Actor("sup"))
    assert k.total == 0 and k.critical_failed and k.counts_critical
    u = qa.resolve(upheld.id, Resolution.UPHELD, actor=Actor("sup"))
    assert u.total == 0 and u.critical_failed
    audit = [a.detail for a in AuditRepo(db).search(0, 2e9) if a.action == "qa_resolve"]
    assert sum(d.get("critical_failed") is False for d in audit) == 1

    def report() -> dict[str, object]:
        rows = qa_report("teams", qa.scores(), {i.agent_id: "A" for i in items},
                         Bucketer("month", ZoneInfo("UTC"))).rows
        assert len(rows) == 1
        return rows[0]

    row = report()
    assert (row["scored"], row["critical_fails"], row["avg_score"], row["changed"]) == (3, 2, round(70 / 3, 1), 2)
    with db.transaction() as s:   # a row resolved before the rule: the flag stayed beside its new total
        s.execute(update(QaScoreRow).where(QaScoreRow.id == changed.id).values(critical_failed=True))
    assert qa.get_score(changed.id).critical_failed and report()["critical_fails"] == 2
