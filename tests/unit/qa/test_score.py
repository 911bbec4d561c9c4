"""Scorecard arithmetic: totals, critical fails, N/A redistribution and rounding, exhaustively and by property."""

from __future__ import annotations

import itertools
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cc.errors import ConfigError, InvalidValue
from cc.qa.score import FAIL, NA, PASS, parse_answer, round_total, score
from cc.qa.scorecard import Item, Scorecard, Section, parse_scorecard, scorecard_from_dict

CARD_YAML = """\
name: support-basic
sections:
  - title: Opening
    items:
      - {key: greet, text: Greets, weight: 10}
      - {key: verify, text: Verifies the caller, weight: 15, critical: true}
  - title: Resolution
    items:
      - {key: solve, text: Solves it, weight: 60}
      - {key: hold, text: Asks before hold, weight: 15, na: true}
"""


def card(weights: list[Decimal], critical: set[int] = frozenset(), na: set[int] = frozenset()) -> Scorecard:  # type: ignore[assignment]
    items = tuple(Item(f"i{n}", f"item {n}", w, n in critical, n in na) for n, w in enumerate(weights))
    return Scorecard("c", (Section("s", items),))


def test_the_documented_example() -> None:
    c = parse_scorecard(CARD_YAML, "card.yaml")
    r = score(c, {"greet": PASS, "verify": PASS, "solve": Decimal(30), "hold": NA})
    # 10 + 15 + 30 earned of 85 possible -> 64.705... -> 64.7
    assert r.total == Decimal("64.7") and not r.critical_failed
    assert (r.earned, r.possible) == (Fraction(55), Fraction(85))
    r = score(c, {"greet": PASS, "verify": FAIL, "solve": PASS, "hold": PASS})
    assert r.total == Decimal("0.0") and r.critical_failed and r.raw_total == Decimal("85.0")
    assert r.failed_critical == ("verify",)
    assert score(c, {"greet": PASS, "verify": PASS, "solve": PASS, "hold": PASS}).total == Decimal("100.0")


def test_every_answer_combination_of_a_small_card_by_the_rule() -> None:
    """Exhaustive: 3 items (one critical, one N/A-able, one partial), every answer combination vs. the formula."""
    weights = [Decimal(20), Decimal(30), Decimal(50)]
    c = card(weights, critical={0}, na={1})
    options = [[PASS, FAIL, NA], [PASS, FAIL, NA], [PASS, FAIL, Decimal(0), Decimal("12.5"), Decimal(50)]]
    checked = 0
    for combo in itertools.product(*options):
        answers = dict(zip(("i0", "i1", "i2"), combo, strict=True))
        if combo[0] == NA:
            with pytest.raises(InvalidValue):
                score(c, answers)
            continue
        r = score(c, answers)
        earned = sum((Fraction(w) if a == PASS else Fraction(a) if isinstance(a, Decimal) else Fraction(0))
                     for w, a in zip(weights, combo, strict=True) if a != NA)
        possible = sum(Fraction(w) for w, a in zip(weights, combo, strict=True) if a != NA)
        expected = round_total(100 * earned / possible)
        assert r.raw_total == expected
        assert r.critical_failed is (combo[0] == FAIL)
        assert r.total == (Decimal("0.0") if combo[0] == FAIL else expected)
        checked += 1
    assert checked == 2 * 3 * 5


def test_rounding_is_half_up_once_at_the_end() -> None:
    assert round_total(Fraction(5825, 100)) == Decimal("58.3")
    assert round_total(Fraction(582499, 10000)) == Decimal("58.2")
    assert round_total(Fraction(2, 3) * 100) == Decimal("66.7")
    assert round_total(Fraction(1, 3) * 100) == Decimal("33.3")
    assert round_total(Fraction(0)) == Decimal("0.0") and round_total(Fraction(100)) == Decimal("100.0")
    # three thirds of 33.33...: rounding per item would give 99.9
    c = card([Decimal("33.33"), Decimal("33.33"), Decimal("33.34")])
    assert score(c, {"i0": PASS, "i1": PASS, "i2": PASS}).total == Decimal("100.0")


def test_all_na_is_not_scorable_and_bad_answers_are_refused() -> None:
    c = card([Decimal(40), Decimal(60)], na={0, 1})
    r = score(c, {"i0": NA, "i1": NA})
    assert r.total is None and not r.critical_failed
    with pytest.raises(InvalidValue, match="every item needs an answer"):
        score(c, {"i0": PASS})
    with pytest.raises(InvalidValue, match="not items"):
        score(c, {"i0": PASS, "i1": PASS, "zz": PASS})
    with pytest.raises(InvalidValue, match="points between 0 and 60"):
        score(c, {"i0": PASS, "i1": Decimal(61)})
    crit = card([Decimal(40), Decimal(60)], critical={0})
    with pytest.raises(InvalidValue, match="critical"):
        score(crit, {"i0": Decimal(20), "i1": PASS})
    with pytest.raises(InvalidValue, match="N/A"):
        score(crit, {"i0": NA, "i1": PASS})
    assert parse_answer("x", "Yes") == PASS and parse_answer("x", "n/a") == NA
    assert parse_answer("x", "7.5") == Decimal("7.5")
    with pytest.raises(InvalidValue):
        parse_answer("x", "maybe")


@st.composite
def cards_and_answers(draw: st.DrawFn) -> tuple[Scorecard, dict[str, object]]:
    n = draw(st.integers(1, 8))
    cuts = sorted(draw(st.lists(st.integers(1, 9999), min_size=n - 1, max_size=n - 1, unique=True)))
    bounds = [0, *cuts, 10000]
    weights = [Decimal(b - a) / 100 for a, b in itertools.pairwise(bounds)]
    critical = {i for i in range(n) if draw(st.booleans()) and draw(st.booleans())}
    na = {i for i in range(n) if draw(st.booleans())}
    c = card(weights, critical, na)
    answers: dict[str, object] = {}
    for i, item in enumerate(c.items()):
        choices: list[object] = [PASS, FAIL]
        if i in na:
            choices.append(NA)
        if i not in critical:
            choices.append(Decimal(draw(st.integers(0, int(item.weight * 100)))) / 100)
        answers[item.key] = draw(st.sampled_from(choices))
    return c, answers


@settings(max_examples=300, deadline=None)
@given(cards_and_answers())
def test_properties(case: tuple[Scorecard, dict[str, object]]) -> None:
    c, answers = case
    r = score(c, answers)  # type: ignore[arg-type]
    if r.total is None:
        assert all(a == NA for a in answers.values())
        return
    assert Decimal(0) <= r.total <= Decimal(100)
    assert r.critical_failed == any(i.critical and answers[i.key] == FAIL for i in c.items())
    if r.critical_failed:
        assert r.total == 0
    # N/A redistribution = dropping the item and scaling the rest to 100
    kept = [i for i in c.items() if answers[i.key] != NA]
    scale = Decimal(100) / sum((i.weight for i in kept), Decimal(0))
    expected = sum((Fraction(i.weight) if answers[i.key] == PASS else Fraction(answers[i.key])  # type: ignore[arg-type]
                    if isinstance(answers[i.key], Decimal) else Fraction(0)) * Fraction(scale) for i in kept)
    assert abs(Fraction(r.raw_total) - expected) <= Fraction(1, 20) + Fraction(1, 10**20)  # type: ignore[arg-type]
    # order of items does not matter
    reordered = Scorecard("c", (Section("s", tuple(reversed(list(c.items())))),))
    assert score(reordered, answers).total == r.total  # type: ignore[arg-type]
    # raising one non-critical answer to pass never lowers the total
    for i in c.items():
        if answers[i.key] not in (PASS, NA):
            better = dict(answers, **{i.key: PASS})
            assert score(c, better).raw_total >= r.raw_total  # type: ignore[arg-type,operator]


def test_scorecard_file_errors_name_file_and_line() -> None:
    bad = CARD_YAML.replace("weight: 60", "weight: 55")
    with pytest.raises(ConfigError, match=r"^card.yaml:3: sections: the weights add up to 95, not 100"):
        parse_scorecard(bad, "card.yaml")
    with pytest.raises(ConfigError, match=r"^card.yaml:9: sections.1.items.0.weight: weight='x'"):
        parse_scorecard(CARD_YAML.replace("weight: 60", "weight: x"), "card.yaml")
    with pytest.raises(ConfigError, match=r"^card.yaml:10: sections.1.items.1.key: item key 'greet' is used twice"):
        parse_scorecard(CARD_YAML.replace("key: hold", "key: greet"), "card.yaml")
    with pytest.raises(ConfigError, match=r"^card.yaml:6: .*critical is true or false"):
        parse_scorecard(CARD_YAML.replace("critical: true", "critical: 2"), "card.yaml")
    with pytest.raises(ConfigError, match=r"^card.yaml:\d+:"):
        parse_scorecard("name: [unclosed", "card.yaml")
    c = parse_scorecard(CARD_YAML, "card.yaml")
    assert scorecard_from_dict(c.to_dict()) == c
