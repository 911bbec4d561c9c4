"""QA sampling, pure: which calls of an ISO week go on the work list, per agent, seeded and reproducible.

Each call gets a rank: the SHA-256 of ``seed | week | agent | call uuid``. An agent's random pick is his N calls
with the smallest ranks, so the same seed and the same history give the same sample whatever order the rows
come in, and adding a call to the week changes an agent's pick only if the new call ranks among his N.
Rules add calls on top of the random pick (each call once, with every reason that picked it): talk longer than
X, a survey score at or below Y, a given result (disposition), transferred calls; a rule may be capped per
agent (``:N``), its matches then ranked the same way.
"""

from __future__ import annotations

import datetime
import hashlib
import re
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cc.errors import InvalidValue

__all__ = ["Candidate", "Pick", "Rule", "parse_rule", "parse_week", "rank", "sample", "week_of"]

_WEEK = re.compile(r"^(\d{4})-?W(\d{2})$")


@dataclass(frozen=True)
class Candidate:
    """A call an agent handled, as sampling sees it."""

    call_uuid: str
    agent_id: str
    at: float                       #: when the agent took it (epoch seconds)
    talk_s: float = 0.0
    transferred: bool = False
    survey_min: int | None = None   #: the lowest survey answer of the call (None: no survey)
    result: str | None = None       #: the call's disposition / result code
    queue: str | None = None


@dataclass(frozen=True)
class Rule:
    """A sampling rule: ``talk>DURATION``, ``survey<=N``, ``result=CODE`` or ``transferred``; ``limit`` per agent."""

    kind: str
    value: float | str | None = None
    limit: int | None = None

    @property
    def label(self) -> str:
        """The rule as written (``talk>600``, ``survey<=2``, ``result=complaint``, ``transferred``), with ``:N``."""
        body = {"talk": f"talk>{self.value:g}" if isinstance(self.value, float) else "talk",
                "survey": f"survey<={self.value:g}" if isinstance(self.value, float) else "survey",
                "result": f"result={self.value}", "transferred": "transferred"}[self.kind]
        return body + (f":{self.limit}" if self.limit is not None else "")

    def matches(self, c: Candidate) -> bool:
        """Whether the call meets the rule."""
        if self.kind == "talk":
            return isinstance(self.value, float) and c.talk_s > self.value
        if self.kind == "survey":
            return isinstance(self.value, float) and c.survey_min is not None and c.survey_min <= self.value
        if self.kind == "result":
            return c.result is not None and c.result == self.value
        return c.transferred


@dataclass(frozen=True)
class Pick:
    """A sampled call with why: ``random`` and/or the labels of the rules that picked it."""

    call_uuid: str
    agent_id: str
    at: float
    reasons: tuple[str, ...]


def _duration(text: str) -> float:
    from cc.config import parse_duration

    return float(parse_duration(text))


def parse_rule(text: str) -> Rule:
    """``talk>10m``, ``survey<=2``, ``result=complaint``, ``transferred`` (each optionally ``:N``)."""
    raw = text.strip()
    body, limit = raw, None
    m = re.match(r"^(.*):(\d+)$", raw)
    if m:
        body, limit = m.group(1).strip(), int(m.group(2))
        if limit < 1:
            raise InvalidValue("--rule", text, "a per-agent cap is >= 1")
    try:
        if body.startswith("talk>"):
            return Rule("talk", _duration(body[5:].strip()), limit)
        if body.startswith("survey<="):
            return Rule("survey", float(body[8:].strip()), limit)
        if body.startswith("result="):
            code = body[7:].strip()
            if not code:
                raise ValueError("empty result")
            return Rule("result", code, limit)
    except ValueError:
        pass
    else:
        if body == "transferred":
            return Rule("transferred", None, limit)
    raise InvalidValue("--rule", text, "expected talk>DURATION, survey<=N, result=CODE or transferred "
                                       "(optionally :N per agent)")


def parse_week(text: str, tz: str = "UTC") -> tuple[str, float, float]:
    """``2026-W49`` -> (the canonical label, its Monday 00:00 and the next Monday 00:00 in ``tz``, as epochs)."""
    m = _WEEK.match(text.strip())
    if not m:
        raise InvalidValue("--week", text, "an ISO week such as 2026-W49")
    year, week = int(m.group(1)), int(m.group(2))
    try:
        monday = datetime.date.fromisocalendar(year, week, 1)
        zone = zoneinfo.ZoneInfo(tz)
    except ValueError as exc:
        raise InvalidValue("--week", text, f"no such ISO week ({exc})") from None
    except (zoneinfo.ZoneInfoNotFoundError, IsADirectoryError):
        raise InvalidValue("--tz", tz, "not an IANA time zone") from None
    start = datetime.datetime.combine(monday, datetime.time(), zone)
    end = datetime.datetime.combine(monday + datetime.timedelta(days=7), datetime.time(), zone)
    return f"{year:04d}-W{week:02d}", start.timestamp(), end.timestamp()


def week_of(at: float, tz: str = "UTC") -> str:
    """The ISO week label (``2026-W49``) of an instant, in ``tz``."""
    y, w, _ = datetime.datetime.fromtimestamp(at, zoneinfo.ZoneInfo(tz)).isocalendar()
    return f"{y:04d}-W{w:02d}"


def rank(seed: str | int, week: str, agent_id: str, call_uuid: str) -> bytes:
    """A call's place in its agent's random order for this seed and week (smaller first)."""
    return hashlib.sha256(f"{seed}|{week}|{agent_id}|{call_uuid}".encode()).digest()


def sample(candidates: Iterable[Candidate], *, week: str, per_agent: int, seed: str | int,
           rules: Sequence[Rule] = (), exclude: Iterable[str] = ()) -> list[Pick]:
    """The week's sample: per agent his ``per_agent`` lowest-ranked calls, plus every call a rule picks (up to the
    rule's cap per agent). ``exclude``: calls already on the work list (never picked again, and they take no
    place in a pick). Sorted by agent, then rank; duplicate rows of one call count once."""
    if isinstance(per_agent, bool) or not isinstance(per_agent, int) or per_agent < 0:
        raise InvalidValue("--per-agent", per_agent, "an integer >= 0")
    skip = set(exclude)
    by_agent: dict[str, dict[str, Candidate]] = {}
    for c in candidates:
        if c.call_uuid in skip:
            continue
        calls = by_agent.setdefault(c.agent_id, {})
        prev = calls.get(c.call_uuid)
        # one call may come as several rows (stays): keep a representative that does not depend on row order
        calls[c.call_uuid] = c if prev is None else _merge(prev, c)
    out: list[Pick] = []
    for agent in sorted(by_agent):
        calls = by_agent[agent]
        ranks = {u: rank(seed, week, agent, u) for u in calls}
        order = sorted(calls, key=ranks.__getitem__)
        reasons: dict[str, list[str]] = {u: ["random"] for u in order[:per_agent]}
        for rule in rules:
            hits = [u for u in order if rule.matches(calls[u])]
            for u in hits[: rule.limit] if rule.limit is not None else hits:
                reasons.setdefault(u, []).append(rule.label)
        for u in order:
            if u in reasons:
                out.append(Pick(u, agent, calls[u].at, tuple(reasons[u])))
    return out


def _merge(a: Candidate, b: Candidate) -> Candidate:
    """Two rows of one call as one: the longest talk, transferred if either, the lowest survey, the first result."""
    surveys = [s for s in (a.survey_min, b.survey_min) if s is not None]
    results = sorted(r for r in (a.result, b.result) if r is not None)
    return Candidate(a.call_uuid, a.agent_id, min(a.at, b.at), max(a.talk_s, b.talk_s),
                     a.transferred or b.transferred, min(surveys) if surveys else None,
                     results[0] if results else None, min((q for q in (a.queue, b.queue) if q), default=None))
