"""Skill requirements: canonical signatures, agent matching, proficiency scores and time-based relaxation.

A member carries requirement steps (``SkillStep``); step ``i`` holds from the member's join time plus
the ``for_s`` of the steps before it, so ``[{mandarin >= 7} for 30 s, {mandarin >= 3} for 60 s, {}]``
asks for a strong Mandarin speaker, then any Mandarin speaker after 30 s, then anyone after 90 s.
The last step holds until the member leaves even when it has a ``for_s``. An agent that does not have a
skill at all fails every requirement on it (a missing skill is not proficiency 0).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from cc.errors import InvalidValue
from cc.model import SkillRequirement, SkillStep

__all__ = [
    "OPS",
    "Signature",
    "match_score",
    "parse_requirement",
    "parse_steps",
    "satisfies",
    "signature",
    "step_at",
]

Signature = tuple[tuple[str, str, int], ...]
"""A requirement set in canonical form: sorted ``(skill, op, level)`` triples; ``()`` accepts anyone."""

OPS: dict[str, Callable[[int, int], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "==": operator.eq,
    "<=": operator.le,
    "<": operator.lt,
}
"""The comparison operators a requirement may use."""


def signature(require: Iterable[SkillRequirement]) -> Signature:
    """Return the canonical signature of a requirement set (order and duplicates do not matter)."""
    return tuple(sorted({(r.skill, r.op, int(r.level)) for r in require}))


def satisfies(skills: Mapping[str, int], sig: Signature) -> bool:
    """Tell whether an agent with ``skills`` (name -> proficiency) meets every requirement of ``sig``."""
    for skill, op, level in sig:
        have = skills.get(skill)
        if have is None or not OPS[op](have, level):
            return False
    return True


def match_score(skills: Mapping[str, int], sig: Signature) -> int:
    """Sum of the agent's proficiencies in the skills ``sig`` names (higher is a better match)."""
    seen: set[str] = set()
    total = 0
    for skill, _op, _level in sig:
        if skill not in seen:
            seen.add(skill)
            total += skills.get(skill, 0)
    return total


def step_at(steps: tuple[SkillStep, ...], joined_at: float, now: float) -> tuple[int, float | None]:
    """Return (index of the step in force at ``now`` for a member who joined at ``joined_at``, relax time).

    The second value is None when the step in force is the last one (it never relaxes).
    """
    if not steps:
        return 0, None
    start = joined_at
    last = len(steps) - 1
    for i, step in enumerate(steps):
        if i == last or step.for_s is None:
            return i, None
        end = start + step.for_s
        if now < end:
            return i, end
        start = end
    return last, None  # pragma: no cover - the loop always returns


def parse_requirement(skill: str, text: object, where: str = "require") -> SkillRequirement:
    """Parse ``">=7"`` (or a bare ``7``, meaning ``>=7``) for ``skill`` into a SkillRequirement."""
    if not isinstance(skill, str) or not skill.strip():
        raise InvalidValue(f"{where}.skill", skill, "a skill name must be a non-empty string")
    if isinstance(text, bool):
        raise InvalidValue(f"{where}.{skill}", text, "expected a level like '>=7'")
    if isinstance(text, int):
        op, rest = ">=", str(text)
    else:
        s = str(text).strip()
        op = next((o for o in (">=", "<=", "==", ">", "<") if s.startswith(o)), ">=")
        rest = s[len(op):].strip() if s.startswith(op) else s
    try:
        level = int(rest)
    except ValueError:
        why = "expected an operator and an integer level, e.g. '>=7'"
        raise InvalidValue(f"{where}.{skill}", text, why) from None
    if not 0 <= level <= 10:
        raise InvalidValue(f"{where}.{skill}", text, "the level must be between 0 and 10")
    return SkillRequirement(skill=skill, op=op, level=level)


def parse_steps(data: object, where: str = "skills") -> tuple[SkillStep, ...]:
    """Parse ``[{require: {mandarin: ">=7"}, for: 30}, {require: {}}]`` into SkillSteps (or InvalidValue)."""
    if data is None:
        return ()
    if not isinstance(data, list | tuple):
        raise InvalidValue(where, data, "expected a list of steps")
    steps: list[SkillStep] = []
    for i, raw in enumerate(data):
        at = f"{where}[{i}]"
        if not isinstance(raw, Mapping):
            raise InvalidValue(at, raw, "expected a mapping with 'require' and optional 'for'")
        unknown = set(raw) - {"require", "for"}
        if unknown:
            raise InvalidValue(at, sorted(unknown), "unknown keys (allowed: require, for)")
        req_raw: Any = raw.get("require") or {}
        if not isinstance(req_raw, Mapping):
            raise InvalidValue(f"{at}.require", req_raw, "expected a mapping skill -> level")
        reqs = tuple(parse_requirement(k, v, f"{at}.require") for k, v in req_raw.items())
        for_raw = raw.get("for")
        for_s: float | None
        if for_raw is None:
            for_s = None
        else:
            text = str(for_raw).strip()
            text = text[:-1] if text.endswith("s") else text
            try:
                for_s = float(text)
            except ValueError:
                raise InvalidValue(f"{at}.for", for_raw, "expected seconds, e.g. 30 or '30s'") from None
            if for_s < 0:
                raise InvalidValue(f"{at}.for", for_raw, "must not be negative")
        steps.append(SkillStep(require=reqs, for_s=for_s))
    return tuple(steps)
