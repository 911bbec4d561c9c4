"""QA sampling: reproducible for a seed and a history whatever the row order, N per agent, rules, exclusions;
the work list's state table exhaustively."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cc.errors import InvalidTransition, InvalidValue
from cc.qa.sample import Candidate, parse_rule, parse_week, sample, week_of
from cc.qa.worklist import TRANSITIONS, ItemEvent, ItemState, next_state

WEEK = "2026-W49"


def history(n_agents: int = 4, per_agent: int = 30) -> list[Candidate]:
    out = []
    for a in range(n_agents):
        for c in range(per_agent):
            out.append(Candidate(f"call-{a}-{c}", f"a{a}", 1_796_000_000 + a * 1000 + c, talk_s=float(c * 30),
                                 transferred=c % 7 == 0, survey_min=c % 5 + 1 if c % 3 == 0 else None,
                                 result="complaint" if c % 11 == 0 else "resolved"))
    return out


def test_same_seed_same_sample_whatever_the_row_order() -> None:
    rows = history()
    first = sample(rows, week=WEEK, per_agent=3, seed=42)
    for shuffle_seed in range(5):
        shuffled = list(rows)
        random.Random(shuffle_seed).shuffle(shuffled)
        assert sample(shuffled, week=WEEK, per_agent=3, seed=42) == first
    assert [p.agent_id for p in first] == ["a0"] * 3 + ["a1"] * 3 + ["a2"] * 3 + ["a3"] * 3
    assert all(p.reasons == ("random",) for p in first)
    other = sample(rows, week=WEEK, per_agent=3, seed=43)
    assert {p.call_uuid for p in other} != {p.call_uuid for p in first}
    assert {p.call_uuid for p in sample(rows, week="2026-W50", per_agent=3, seed=42)} != {p.call_uuid for p in first}


def test_an_agent_with_fewer_calls_gives_them_all_and_duplicates_count_once() -> None:
    rows = [Candidate("x1", "a", 1.0), Candidate("x1", "a", 2.0, talk_s=900), Candidate("x2", "a", 3.0)]
    picks = sample(rows, week=WEEK, per_agent=5, seed="s")
    assert sorted(p.call_uuid for p in picks) == ["x1", "x2"]
    assert sample(list(reversed(rows)), week=WEEK, per_agent=5, seed="s") == picks
    long = sample(rows, week=WEEK, per_agent=0, seed="s", rules=[parse_rule("talk>10m")])
    assert [(p.call_uuid, p.reasons, p.at) for p in long] == [("x1", ("talk>600",), 1.0)]


def test_rules_add_calls_with_their_reasons_and_caps() -> None:
    rows = history(2, 30)
    picks = sample(rows, week=WEEK, per_agent=2, seed=7,
                   rules=[parse_rule("survey<=1"), parse_rule("result=complaint"), parse_rule("transferred:1"),
                          parse_rule("talk>14m")])
    by_call = {p.call_uuid: p for p in picks}
    for c in rows:
        reasons = by_call[c.call_uuid].reasons if c.call_uuid in by_call else ()
        assert ("survey<=1" in reasons) == (c.survey_min is not None and c.survey_min <= 1)
        assert ("result=complaint" in reasons) == (c.result == "complaint")
        assert ("talk>840" in reasons) == (c.talk_s > 840)
    for agent in ("a0", "a1"):
        assert sum("random" in p.reasons for p in picks if p.agent_id == agent) == 2
        assert sum("transferred:1" in p.reasons for p in picks if p.agent_id == agent) == 1


def test_excluded_calls_are_never_picked_and_take_no_place() -> None:
    rows = history(1, 20)
    first = sample(rows, week=WEEK, per_agent=3, seed=1)
    again = sample(rows, week=WEEK, per_agent=3, seed=1, exclude=[p.call_uuid for p in first])
    assert len(again) == 3 and not {p.call_uuid for p in again} & {p.call_uuid for p in first}


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 40)), max_size=80), st.integers(0, 5),
       st.integers(0, 2**32), st.randoms(use_true_random=False))
def test_property_order_independent_and_n_per_agent(calls: list[tuple[int, int]], n: int, seed: int,
                                                    rnd: random.Random) -> None:
    rows = [Candidate(f"c{a}-{c}", f"a{a}", float(c)) for a, c in calls]
    picks = sample(rows, week=WEEK, per_agent=n, seed=seed)
    shuffled = list(rows)
    rnd.shuffle(shuffled)
    assert sample(shuffled, week=WEEK, per_agent=n, seed=seed) == picks
    for a in {r.agent_id for r in rows}:
        have = len({r.call_uuid for r in rows if r.agent_id == a})
        assert sum(p.agent_id == a for p in picks) == min(n, have)


def test_rule_and_week_parsing() -> None:
    assert parse_rule("talk>90s").label == "talk>90" and parse_rule("survey<=2:3").limit == 3
    assert parse_rule(" transferred ").kind == "transferred"
    for bad in ("talk>", "talk>soon", "survey<=x", "result=", "longest", "transferred:0"):
        with pytest.raises(InvalidValue):
            parse_rule(bad)
    label, start, end = parse_week("2026-W49", "Asia/Shanghai")
    assert label == "2026-W49" and end - start == 7 * 86400
    assert week_of(start, "Asia/Shanghai") == "2026-W49" and week_of(end, "Asia/Shanghai") == "2026-W50"
    assert week_of(start, "UTC") == "2026-W48"   # Monday 00:00 in Shanghai is Sunday 16:00 UTC
    for bad in ("2026-49", "2026-W54", "W49"):
        with pytest.raises(InvalidValue):
            parse_week(bad)


def test_the_work_list_table_exhaustively() -> None:
    for state in ItemState:
        for ev in ItemEvent:
            if (state, ev) in TRANSITIONS:
                assert next_state(state, ev) is TRANSITIONS[(state, ev)]
            else:
                with pytest.raises(InvalidTransition, match="qa item 7"):
                    next_state(state, ev, 7)
    # dispute once: no way from resolved or disputed back to disputed
    assert (ItemState.RESOLVED, ItemEvent.DISPUTE) not in TRANSITIONS
    assert (ItemState.DISPUTED, ItemEvent.DISPUTE) not in TRANSITIONS
