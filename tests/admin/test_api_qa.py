"""The QA routes on a real Service (cc.sim) under the policy: a QA user of team A sees and scores only team A's
calls, the agent sees his own scores and disputes once, a supervisor resolves only within his scope."""

from __future__ import annotations

import pytest

from cc.qa.sample import Pick
from cc.qa.scorecard import parse_scorecard
from cc.store.audit import Actor
from cc.store.db import Database
from cc.store.qa import QaRepo
from tests.store.test_qa import CARD

from .conftest import Live, off_hub
from .test_api_policy import org_live  # noqa: F401  (the module's live Service with teams A and B)


def _seed(db_url: str) -> dict[str, int]:
    db = Database(db_url)
    try:
        qa = QaRepo(db)
        qa.scorecard_add(parse_scorecard(CARD), actor=Actor("root"))
        items = qa.add_items([Pick("qa-call-a1", "a1", 1_796_000_000.0, ("random",)),
                              Pick("qa-call-b1", "b1", 1_796_000_100.0, ("random",))],
                             week="2026-W49", seed="t", actor=Actor("root"))
        return {i.agent_id: i.id for i in items}
    finally:
        db.dispose()


ANSWERS = {"greet": "pass", "verify": "pass", "solve": 20, "hold": "na"}


@pytest.mark.usefixtures("org_live")
def test_qa_routes_in_and_out_of_scope(org_live: Live) -> None:  # noqa: F811
    live = org_live
    items = off_hub(_seed, live.db_url)
    qa_a, qa_all = live.tokens["qa|floor-a"], live.tokens["qa|*"]
    listed = live.http("GET", "/api/v1/qa/items", qa_a)
    assert listed[0] == 200 and [i["agent"] for i in listed[1]] == ["a1"]
    assert sorted(i["agent"] for i in live.http("GET", "/api/v1/qa/items", qa_all)[1]) == ["a1", "b1"]
    assert live.http("GET", "/api/v1/qa/items", live.tokens["supervisor|floor-a"])[0] == 403
    body = {"scorecard": "basic", "answers": ANSWERS, "comments": [{"text": "slow start", "offset_s": 4.5}]}
    refused = live.http("POST", f"/api/v1/qa/items/{items['b1']}/score", qa_a, body)
    assert refused[0] == 403 and "score_calls" in str(refused[1])
    assert live.http("POST", f"/api/v1/qa/items/{items['a1']}/score", qa_a, {**body, "answers": "x"})[0] == 400
    status, score = live.http("POST", f"/api/v1/qa/items/{items['a1']}/score", qa_a, body)
    assert status == 200 and score["total"] == pytest.approx(77.8) and score["comments"][0]["at"] == "0:04"
    sid = score["id"]
    agent = live.tokens["agent|self"]          # the user of agent a1
    mine = live.http("GET", "/api/v1/qa/my-scores", agent)
    assert mine[0] == 200 and [s["id"] for s in mine[1]] == [sid]
    assert live.http("GET", "/api/v1/qa/my-scores", qa_a) == (200, [])
    assert live.http("GET", f"/api/v1/qa/scores/{sid}", live.tokens["sup-b|B"])[0] == 403
    assert live.http("POST", f"/api/v1/qa/scores/{sid}/dispute", qa_a, {"reason": "not his"})[0] == 403
    assert live.http("POST", f"/api/v1/qa/scores/{sid}/dispute", agent, {"reason": "I verified"})[0] == 200
    assert live.http("POST", f"/api/v1/qa/scores/{sid}/dispute", agent, {"reason": "again"})[0] == 409
    out = live.http("POST", f"/api/v1/qa/scores/{sid}/resolve", live.tokens["sup-b|B"], {"resolution": "upheld"})
    assert out[0] == 403
    kept = live.http("POST", f"/api/v1/qa/scores/{sid}/resolve", live.tokens["supervisor|floor-a"],
                     {"resolution": "changed", "total": 90, "keep_critical": True})
    assert kept[0] == 400 and "critical fail" in str(kept[1]), kept   # a kept critical fail is a total of 0
    done = live.http("POST", f"/api/v1/qa/scores/{sid}/resolve", live.tokens["supervisor|floor-a"],
                     {"resolution": "changed", "total": 90, "note": "ok"})
    assert done[0] == 200 and done[1]["total"] == 90.0 and done[1]["state"] == "resolved"
