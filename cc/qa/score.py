"""Scoring arithmetic, pure: a scorecard's answers -> the call's total (0..100), critical fails, N/A.

The rules (docs/qa.md):

* An answer per item: ``pass`` (the item's full weight), ``fail`` (0), ``na`` (not applicable; only where the item
  allows N/A), or a number of points between 0 and the item's weight (partial credit; not on critical items).
* N/A: the item leaves the call; the weights of the answered items are scaled up so that they again add up to
  100. Equivalently ``total = 100 * earned / possible`` over the answered items: every answered item keeps its
  share of the weight relative to the other answered items.
* All items N/A: the call is not scorable (total None); it counts as scored but not in averages.
* A critical item answered ``fail`` fails the whole call: the total is 0 and the score is flagged
  ``critical_failed``; ``raw_total`` keeps what the call would have scored without that rule (for coaching).
* Rounding happens once, at the end: the exact fraction rounded half-up to one decimal.
* Every item of the scorecard needs an answer; answers for items the card does not have are refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from cc.errors import InvalidValue
from cc.qa.scorecard import Scorecard

__all__ = ["FAIL", "NA", "PASS", "Answer", "ScoreResult", "parse_answer", "round_total", "score"]

PASS = "pass"
FAIL = "fail"
NA = "na"

#: An item's answer: pass, fail, na, or points (a Decimal between 0 and the weight).
Answer = str | Decimal

_TENTH = Decimal("0.1")


@dataclass(frozen=True)
class ScoreResult:
    """A call's score: total (None when every item was N/A), the total before a critical fail, the flag, the
    failed critical items, and the exact earned/possible points."""

    total: Decimal | None
    raw_total: Decimal | None
    critical_failed: bool
    failed_critical: tuple[str, ...]
    earned: Fraction
    possible: Fraction


def round_total(value: Fraction) -> Decimal:
    """An exact fraction of 100 rounded half-up to one decimal (58.25 -> 58.3, 58.24999 -> 58.2)."""
    scaled = value * 10
    whole, rest = divmod(scaled.numerator, scaled.denominator)
    if 2 * rest >= scaled.denominator:
        whole += 1
    return (Decimal(whole) * _TENTH).quantize(_TENTH, rounding=ROUND_HALF_UP)


def parse_answer(item: str, value: object) -> Answer:
    """``pass``/``yes``/``y``/``1``... -> PASS, ``fail``/``no`` -> FAIL, ``na``/``n/a`` -> NA, a number -> points."""
    if isinstance(value, bool):
        return PASS if value else FAIL
    if isinstance(value, int | float | Decimal):
        return Decimal(str(value))
    if not isinstance(value, str):
        raise InvalidValue(f"answer {item}", value, "pass, fail, na or a number of points")
    text = value.strip().lower()
    if text in ("pass", "yes", "y", "ok", "true"):
        return PASS
    if text in ("fail", "no", "n", "false"):
        return FAIL
    if text in ("na", "n/a", "-"):
        return NA
    try:
        return Decimal(text)
    except ArithmeticError:
        raise InvalidValue(f"answer {item}", value, "pass, fail, na or a number of points") from None


def score(card: Scorecard, answers: Mapping[str, Answer]) -> ScoreResult:
    """Score a call: every item answered (see the module docstring for the rules); InvalidValue otherwise."""
    unknown = sorted(set(answers) - {i.key for i in card.items()})
    if unknown:
        raise InvalidValue("answers", ", ".join(unknown), f"not items of scorecard {card.name}")
    earned = Fraction(0)
    possible = Fraction(0)
    failed: list[str] = []
    for item in card.items():
        if item.key not in answers:
            raise InvalidValue(f"answer {item.key}", None, "every item needs an answer (pass, fail, na, points)")
        a = answers[item.key]
        weight = Fraction(item.weight)
        if a == NA:
            if not item.na:
                raise InvalidValue(f"answer {item.key}", a, "this item does not allow N/A")
            continue
        possible += weight
        if a == PASS:
            earned += weight
        elif a == FAIL:
            if item.critical:
                failed.append(item.key)
        elif isinstance(a, Decimal):
            if item.critical:
                raise InvalidValue(f"answer {item.key}", str(a), "a critical item is pass, fail or na")
            if not a.is_finite() or a < 0 or a > item.weight:
                raise InvalidValue(f"answer {item.key}", str(a), f"points between 0 and {item.weight}")
            earned += Fraction(a)
        else:
            raise InvalidValue(f"answer {item.key}", a, "pass, fail, na or a number of points")
    if possible == 0:
        return ScoreResult(None, None, bool(failed), tuple(failed), earned, possible)
    raw = round_total(100 * earned / possible)
    if failed:
        return ScoreResult(Decimal("0.0"), raw, True, tuple(failed), earned, possible)
    return ScoreResult(raw, raw, False, (), earned, possible)
