"""Erlang B, Erlang C and Erlang A (M/M/n+M) queueing formulas, computed without factorials.

Erlang B uses the recursion ``B(0) = 1, B(n) = A B(n-1) / (n + A B(n-1))``, which never overflows
(it stays in [0, 1]) and costs O(n); Erlang C follows from it as ``C = n B / (n - A (1 - B))``.
Erlang A (Palm's model with exponential caller patience) sums the birth-death chain's stationary
distribution with ratios between neighbouring states (no powers, no factorials) and gets the service
level from the tagged caller's position chain by uniformization.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from cc.errors import InvalidValue

__all__ = [
    "ErlangResult",
    "erlang_a",
    "erlang_b",
    "erlang_c",
    "erlang_c_result",
]


def _positive(field: str, value: float, *, zero: bool = False) -> float:
    """A finite number > 0 (>= 0 when ``zero``), else InvalidValue."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidValue(field, value, "must be a finite number")
    if value < 0 or (value == 0 and not zero):
        raise InvalidValue(field, value, "must be >= 0" if zero else "must be > 0")
    return float(value)


def _agents(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InvalidValue("agents", n, "must be an integer >= 1")
    return n


def erlang_b(agents: int, traffic: float) -> float:
    """Blocking probability of ``agents`` servers offered ``traffic`` Erlangs (lost-calls model)."""
    n = _agents(agents)
    a = _positive("traffic", traffic, zero=True)
    b = 1.0
    for k in range(1, n + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(agents: int, traffic: float) -> float:
    """Probability that a caller waits (M/M/n, infinite patience); 1.0 when ``traffic >= agents``."""
    n = _agents(agents)
    a = _positive("traffic", traffic, zero=True)
    if a >= n:
        return 1.0
    b = erlang_b(n, a)
    return n * b / (n - a * (1.0 - b))


@dataclass(frozen=True)
class ErlangResult:
    """What a queueing model predicts for one staffing level.

    ``service_level`` is the share of offered calls answered within ``threshold_s``; ``asa_s`` is the
    mean wait of answered calls; ``avg_wait_s`` the mean time in queue of all callers (abandoners'
    time included); ``abandon_rate`` is 0 for Erlang C.
    """

    agents: int
    traffic: float
    p_wait: float
    service_level: float
    threshold_s: float
    asa_s: float
    avg_wait_s: float
    abandon_rate: float
    occupancy: float
    model: str


def erlang_c_result(agents: int, calls_per_s: float, aht_s: float, threshold_s: float) -> ErlangResult:
    """Erlang C for ``agents``: P(wait), SL within ``threshold_s``, ASA, occupancy (unstable -> SL 0)."""
    n = _agents(agents)
    lam = _positive("calls_per_s", calls_per_s, zero=True)
    aht = _positive("aht_s", aht_s)
    t = _positive("threshold_s", threshold_s, zero=True)
    a = lam * aht
    if a >= n:
        return ErlangResult(n, a, 1.0, 0.0, t, math.inf, math.inf, 0.0, 1.0, "erlang-c")
    c = erlang_c(n, a)
    sl = 1.0 - c * math.exp(-(n - a) * t / aht)
    asa = c * aht / (n - a)
    return ErlangResult(n, a, c, max(0.0, min(1.0, sl)), t, asa, asa, 0.0, a / n, "erlang-c")


def _stationary(n: int, lam: float, mu: float, theta: float) -> tuple[list[float], int]:
    """Stationary probabilities p_0..p_K of the M/M/n+M chain (truncated where the tail is negligible)."""
    # p_k / p_{k-1} = lam / (k mu) for k <= n, lam / (n mu + (k - n) theta) beyond; scaled as we go.
    probs = [1.0]
    total = 1.0
    k = 0
    limit = n + 200_000
    while True:
        k += 1
        rate = k * mu if k <= n else n * mu + (k - n) * theta
        p = probs[-1] * lam / rate
        probs.append(p)
        total += p
        if total > 1e250:  # rescale to stay inside floating point range
            probs = [x / total for x in probs]
            total = 1.0
        if (k > n and (p < 1e-16 * total and lam < rate)) or k >= limit:
            break
    return [x / total for x in probs], k


def erlang_a(agents: int, calls_per_s: float, aht_s: float, patience_s: float, threshold_s: float) -> ErlangResult:
    """Erlang A (M/M/n+M): callers abandon after an exponential patience of mean ``patience_s``.

    P(wait) and the abandon rate come from the stationary distribution (abandon rate = theta E[Lq] /
    lambda); the service level (answered within ``threshold_s`` / offered) from the tagged caller's
    position in queue, by uniformization; ASA = mean wait of answered callers.
    """
    n = _agents(agents)
    lam = _positive("calls_per_s", calls_per_s, zero=True)
    aht = _positive("aht_s", aht_s)
    pat = _positive("patience_s", patience_s)
    t = _positive("threshold_s", threshold_s, zero=True)
    mu, theta = 1.0 / aht, 1.0 / pat
    a = lam * aht
    if lam == 0:
        return ErlangResult(n, 0.0, 0.0, 1.0, t, 0.0, 0.0, 0.0, 0.0, "erlang-a")
    p, top = _stationary(n, lam, mu, theta)
    p_wait = sum(p[n:])
    lq = sum((k - n) * p[k] for k in range(n + 1, top + 1))
    abandon = theta * lq / lam
    busy = sum(min(k, n) * p[k] for k in range(top + 1))
    # A caller arriving in state k >= n waits at position j = k - n + 1 (1 = head of the queue).
    positions = [p[k] for k in range(n, top + 1)]  # index j - 1
    served_immediately = 1.0 - p_wait
    served_within, served_total, wait_served = _position_chain(positions, n * mu, theta, t)
    sl = served_immediately + served_within
    asa = wait_served / (served_immediately + served_total) if served_immediately + served_total > 0 else 0.0
    return ErlangResult(n, a, p_wait, max(0.0, min(1.0, sl)), t, asa, lq / lam, abandon, busy / n, "erlang-a")


def _position_chain(start: list[float], service_rate: float, theta: float,
                    t: float) -> tuple[float, float, float]:
    """Tagged waiting caller: (P(served within t), P(served at all), E[wait; served]) from positions.

    From position j the caller moves to j - 1 (or is served at j = 1) at rate ``service_rate +
    (j - 1) theta`` (a service completion or someone ahead abandoning) and abandons at rate theta.
    """
    if not start or sum(start) <= 0:
        return 0.0, 0.0, 0.0
    # Served at all / expected wait of served callers: exact recursions over the embedded chain.
    # From position j: p_adv = r_j / (r_j + theta) with r_j = service_rate + (j-1) theta; time per
    # step ~ Exp(r_j + theta). P(served | j) = prod_{i<=j} p_adv_i; E[wait; served | j] =
    # P(served | j) * sum_{i<=j} 1 / (r_i + theta).
    served_total = 0.0
    wait_served = 0.0
    prod = 1.0
    mean_time = 0.0
    for j, w in enumerate(start, start=1):
        r = service_rate + (j - 1) * theta
        prod *= r / (r + theta)
        mean_time += 1.0 / (r + theta)
        served_total += w * prod
        wait_served += w * prod * mean_time
    if t <= 0:
        return 0.0, served_total, wait_served
    # P(served within t): uniformize with the largest total rate.
    big = service_rate + len(start) * theta
    dist = list(start)  # mass at positions 1..K
    served = 0.0  # absorbed in "served" so far (after m jumps)
    lt = big * t
    # Poisson(m; lt) weights computed iteratively in log space.
    m = 0
    log_w = -lt
    result = 0.0
    mass_left = 1.0
    max_steps = int(lt + 10.0 * math.sqrt(lt) + 50)
    while m <= max_steps:
        w = math.exp(log_w)
        result += w * served
        mass_left -= w
        if mass_left < 1e-12 and m > lt:
            break
        # one uniformized jump
        new = [0.0] * len(dist)
        for j in range(len(dist), 0, -1):
            x = dist[j - 1]
            if x == 0.0:
                continue
            adv = (service_rate + (j - 1) * theta) / big
            gone = theta / big
            stay = 1.0 - adv - gone
            new[j - 1] += x * stay
            if j == 1:
                served += x * adv
            else:
                new[j - 2] += x * adv
        dist = new
        m += 1
        log_w += math.log(lt) - math.log(m)
    result += max(0.0, mass_left) * served
    return result, served_total, wait_served
