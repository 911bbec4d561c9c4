"""Predictive pacing: how many calls to place now so that answered calls beyond free agents stay in target.

Model (docs/dialer.md, "Pacing"): over the next horizon ``H`` (the time a new dial takes to be answered),
the calls that answer are a sum of Bernoulli trials: each call still ringing answers with its probability
given how long it has rung already, each new dial with the campaign's answer rate ``p`` (estimated from its
recent dials). The agents that can take them are the free ones plus each busy agent with the probability
that its talk and wrap-up end within ``H``, given how long they have lasted so far (estimated from the
campaign's recent talk and wrap-up times). With ``X`` the answers and ``Y`` the agents (both approximated as
normal with the sums' means and variances), ``E[(X - Y)+]`` is the expected number of answered calls that
find no agent. The dialer places the largest ``n`` with ``E[(X - Y)+] <= tau * E[X]``, where ``tau`` is the
abandon target corrected by the campaign's rolling abandon rate over 24 h and 30 days.

Cold start (docs/dialer.md, "Cold start"): before the campaign has its own ring times, their prior is uniform
over the dial timeout (an answer comes before it, never after), so the horizon covers every answer a dial can
bring; the answer rate the plan uses starts at a conservative ``start_rate`` and slides to the estimate as
settled dials arrive (``ramped_rate``); and ``n`` is also bounded so that the answers expected from every call
out stay within the agents expected free by the horizon (``PacingInput.free_total``).
"""

from __future__ import annotations

import bisect
import collections
import math
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["AnswerModel", "DurationModel", "PacingInput", "RollingRatio", "expected_overflow", "plan_dials",
           "ramped_rate"]

_SQRT2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


class RollingRatio:
    """Abandons over answered calls in a sliding window of ``span_s``, kept in buckets of ``bucket_s``."""

    def __init__(self, span_s: float, bucket_s: float) -> None:
        self.span_s = span_s
        self.bucket_s = bucket_s
        self._buckets: collections.deque[list[float]] = collections.deque()
        self.answered = 0
        self.abandoned = 0

    def _expire(self, now: float) -> None:
        while self._buckets and self._buckets[0][0] <= now - self.span_s:
            _, a, b = self._buckets.popleft()
            self.answered -= int(a)
            self.abandoned -= int(b)

    def add(self, now: float, answered: int = 0, abandoned: int = 0) -> None:
        """Count ``answered`` calls (humans reached) and ``abandoned`` ones at ``now``."""
        start = math.floor(now / self.bucket_s) * self.bucket_s
        if not self._buckets or self._buckets[-1][0] < start:
            self._buckets.append([start, 0.0, 0.0])
        self._buckets[-1][1] += answered
        self._buckets[-1][2] += abandoned
        self.answered += answered
        self.abandoned += abandoned
        self._expire(now)

    def rate(self, now: float, prior: float, weight: float) -> float:
        """The abandon rate in the window, shrunk towards ``prior`` by ``weight`` pseudo-calls."""
        self._expire(now)
        return (self.abandoned + prior * weight) / (self.answered + weight)


class DurationModel:
    """Recent durations (talk, wrap-up, ring until answer ...) and their conditional tail probabilities.

    Before 20 are seen the durations are taken as exponential with ``default_mean``, or, with ``prior_span_s``,
    as uniform over ``[0, prior_span_s]`` (a ring time, bounded by the dial timeout).
    """

    def __init__(self, default_mean: float, size: int = 400, prior_span_s: float | None = None) -> None:
        self.default_mean = default_mean if prior_span_s is None else prior_span_s / 2.0
        self.prior_span_s = prior_span_s
        self._recent: collections.deque[float] = collections.deque(maxlen=size)
        self._sorted: list[float] = []

    def add(self, seconds: float) -> None:
        """Observe one duration."""
        seconds = max(0.0, seconds)
        if len(self._recent) == self._recent.maxlen:
            old = self._recent[0]
            del self._sorted[bisect.bisect_left(self._sorted, old)]
        self._recent.append(seconds)
        bisect.insort(self._sorted, seconds)

    def __len__(self) -> int:
        """How many durations are kept."""
        return len(self._sorted)

    def mean(self) -> float:
        """The mean of the kept durations (the default before 20 are seen)."""
        n = len(self._sorted)
        if n < 20:
            return self.default_mean
        return sum(self._sorted) / n

    def survival(self, t: float) -> float:
        """P(duration > t) (the prior before 20 are seen)."""
        n = len(self._sorted)
        if n < 20:
            if self.prior_span_s is not None:
                return min(1.0, max(0.0, 1.0 - t / self.prior_span_s)) if self.prior_span_s > 0 else 0.0
            return math.exp(-max(0.0, t) / self.default_mean) if self.default_mean > 0 else 0.0
        return (n - bisect.bisect_right(self._sorted, t)) / n

    def ends_within(self, elapsed: float, horizon: float) -> float:
        """P(duration <= elapsed + horizon | duration > elapsed).

        Past the last few kept durations the sample says nothing: there the tail is taken as exponential
        with the kept mean (a call that has lasted longer than almost all others is not about to end for sure).
        """
        if horizon <= 0:
            return 0.0
        n = len(self._sorted)
        alive = n - bisect.bisect_right(self._sorted, elapsed) if n >= 20 else 0
        if alive < 10:
            mean = self.mean()
            return 1.0 - math.exp(-horizon / mean) if mean > 0 else 1.0
        later = n - bisect.bisect_right(self._sorted, elapsed + horizon)
        return max(0.0, min(1.0, 1.0 - later / alive))

    def end_curve(self, elapsed: float, horizons: list[float]) -> list[float]:
        """``ends_within(elapsed, h)`` for each ``h`` of ``horizons`` (one look-up of ``elapsed``)."""
        n = len(self._sorted)
        alive = n - bisect.bisect_right(self._sorted, elapsed) if n >= 20 else 0
        if alive < 10:
            mean = self.mean()
            return [(1.0 - math.exp(-h / mean) if mean > 0 else 1.0) if h > 0 else 0.0 for h in horizons]
        srt = self._sorted
        return [1.0 - (n - bisect.bisect_right(srt, elapsed + h)) / alive if h > 0 else 0.0 for h in horizons]

    def quantile(self, q: float) -> float:
        """The ``q`` quantile of the kept durations (before 20 are seen: the prior's, or the default mean)."""
        n = len(self._sorted)
        if n < 20:
            if self.prior_span_s is not None:
                return q * self.prior_span_s
            return self.default_mean
        return self._sorted[min(n - 1, int(q * n))]


class AnswerModel:
    """The campaign's answer rate and how long answered and unanswered dials last, from its recent dials."""

    def __init__(self, prior_rate: float = 0.3, prior_weight: float = 20.0, size: int = 400,
                 ring_default_s: float = 10.0, fail_default_s: float = 25.0,
                 ring_span_s: float | None = None) -> None:
        self.prior_rate = prior_rate
        self.prior_weight = prior_weight
        self._outcomes: collections.deque[bool] = collections.deque(maxlen=size)
        self._answers = 0
        self.ring = DurationModel(ring_default_s, size, ring_span_s)   # dial -> answer, answered dials
        self.fail = DurationModel(fail_default_s, size)      # dial -> end, unanswered dials

    def add(self, answered: bool, seconds: float) -> None:
        """Observe one dial: answered after ``seconds``, or ended unanswered after ``seconds``.

        The caller adds an answered dial only once every dial of its time is known (its dial timeout has
        passed), so that fast answers do not count before slow failures of the same moment.
        """
        if len(self._outcomes) == self._outcomes.maxlen and self._outcomes[0]:
            self._answers -= 1
        self._outcomes.append(answered)
        self._answers += answered
        (self.ring if answered else self.fail).add(seconds)

    def samples(self) -> int:
        """How many settled dials the estimate rests on (at most the kept window)."""
        return len(self._outcomes)

    def rate(self) -> float:
        """The estimated share of dials a person answers."""
        return (self._answers + self.prior_rate * self.prior_weight) / (len(self._outcomes) + self.prior_weight)

    def answers_within(self, rung: float, horizon: float, p: float | None = None) -> float:
        """P(a dial that has rung ``rung`` s unanswered is answered within the next ``horizon`` s)."""
        p = self.rate() if p is None else p
        alive_yes = p * self.ring.survival(rung)
        alive_no = (1.0 - p) * self.fail.survival(rung) if rung > 0 else 1.0 - p
        alive = alive_yes + alive_no
        if alive <= 0.0:
            return 0.0
        return p * (self.ring.survival(rung) - self.ring.survival(rung + horizon)) / alive


    def answer_curve(self, rung: float, horizons: list[float], p: float) -> list[float]:
        """``answers_within(rung, h, p)`` for each ``h`` of ``horizons`` (the common terms computed once)."""
        s0 = self.ring.survival(rung)
        alive = p * s0 + ((1.0 - p) * self.fail.survival(rung) if rung > 0 else 1.0 - p)
        if alive <= 0.0:
            return [0.0] * len(horizons)
        k = p / alive
        return [k * (s0 - self.ring.survival(rung + h)) for h in horizons]


def ramped_rate(estimate: float, samples: int, ramp_samples: int, start_rate: float) -> float:
    """The answer rate a plan uses: ``start_rate`` with no settled dial, the ``estimate`` from ``ramp_samples`` on,
    linear in between (never below the estimate)."""
    if ramp_samples <= 0 or samples >= ramp_samples:
        return estimate
    w = max(0.0, samples / ramp_samples)
    return max(estimate, start_rate + (estimate - start_rate) * w)


def expected_overflow(mean: float, var: float) -> float:
    """E[W+] for W normal with ``mean`` and ``var`` (the normal loss function)."""
    if var <= 1e-12:
        return max(0.0, mean)
    sd = math.sqrt(var)
    z = mean / sd
    return sd * _INV_SQRT_2PI * math.exp(-0.5 * z * z) + mean * 0.5 * (1.0 + math.erf(z / _SQRT2))


@dataclass(frozen=True)
class PacingInput:
    """What one pacing decision looks at, at the horizon points ``t_1 < ... < t_K`` (seconds from now).

    ``x_mean[k]``, ``x_var[k]``: mean and variance of the answers by ``t_k`` of the calls out now;
    ``y_mean[k]``, ``y_var[k]``: the same of the agents free by ``t_k``; ``p_new[k]``: P(a new dial is answered
    by ``t_k``); ``x_total`` and ``p_total``: answers expected in all from the calls out and from a new dial;
    ``tau``: the abandon share allowed; ``max_new``: the most dials this decision may place; ``free_total``: the
    agents expected free by the last horizon point (idle ones included): the answers expected from every call
    out, ``x_total + n * p_total``, may not exceed it.
    """

    x_mean: tuple[float, ...]
    x_var: tuple[float, ...]
    y_mean: tuple[float, ...]
    y_var: tuple[float, ...]
    p_new: tuple[float, ...]
    x_total: float
    p_total: float
    tau: float
    max_new: int
    free_total: float = math.inf


def overflow_bound(inp: PacingInput, n: int) -> float:
    """max over k of E[(X(t_k) - Y(t_k))+] with ``n`` new dials: the answered calls expected to find no agent.

    In a system without a queue the calls lost by time t are sup_{s <= t} (X(s) - Y(s))+, so the largest
    expected gap over the horizon points is a lower estimate of the expected overflow.
    """
    worst = 0.0
    for k in range(len(inp.x_mean)):
        p = inp.p_new[k]
        m = inp.x_mean[k] + n * p - inp.y_mean[k]
        v = inp.x_var[k] + n * p * (1.0 - p) + inp.y_var[k]
        worst = max(worst, expected_overflow(m, v))
    return worst


def plan_dials(inp: PacingInput) -> int:
    """The largest n <= max_new with overflow_bound(n) <= tau * (expected answers) and the answers expected from
    every call out within ``free_total``; 0 if n = 1 fails."""
    if inp.p_total <= 0.0 or not inp.y_mean or inp.y_mean[-1] <= 0.0:
        return 0
    n = 0
    while n < inp.max_new:
        if inp.x_total + (n + 1) * inp.p_total > inp.free_total + 1e-9:
            break
        if overflow_bound(inp, n + 1) > inp.tau * (inp.x_total + (n + 1) * inp.p_total):
            break
        n += 1
    return n


def free_probabilities(talking: Iterable[float], wrapping: Iterable[float], talk: DurationModel,
                       wrap: DurationModel, horizon: float) -> list[float]:
    """P(free within ``horizon``) of agents talking for ``talking`` s and in wrap-up for ``wrapping`` s."""
    out: list[float] = []
    wrap_mean = wrap.mean()
    for e in talking:
        out.append(talk.ends_within(e, horizon - wrap_mean))
    for w in wrapping:
        out.append(wrap.ends_within(w, horizon))
    return out
