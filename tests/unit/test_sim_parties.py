"""cc.sim's called-party population: reproducible by seed, outcome frequencies within a binomial bound, the
source-derived causes, and the parties file's errors naming file:line."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import pytest

from cc.errors import ConfigError
from cc.sim.parties import (
    OUTCOMES,
    SIGNALS,
    SIP_CAUSES,
    PartyPopulation,
    PartySpec,
    Signal,
    load_parties,
    refusal_for,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "sim"
MIX = {"busy": 0.08, "invalid": 0.05, "off": 0.05, "rejected": 0.02, "suspended": 0.02}


def _numbers(n: int) -> list[str]:
    return [f"1380{i:07d}" for i in range(n)]


def test_same_seed_same_outcomes_other_seed_other_outcomes() -> None:
    a = PartyPopulation(seed=11, mix=MIX)
    b = PartyPopulation(seed=11, mix=MIX)
    c = PartyPopulation(seed=12, mix=MIX)
    nums = _numbers(2000)
    first = [a.dial(n) for n in nums]
    assert first == [b.dial(n) for n in nums]
    assert [s.outcome for s in first] != [c.dial(n).outcome for n in nums]
    # the order of dialling does not matter: each number's draw depends on seed, number and attempt only
    d = PartyPopulation(seed=11, mix=MIX)
    assert [d.dial(n) for n in reversed(nums)] == first[::-1]


def test_frequencies_within_a_binomial_bound() -> None:
    """20,000 first dials with seed 3: each outcome's count within 4.5 standard deviations of n*p."""
    pop = PartyPopulation(seed=3, answer_rate=0.25, machine_rate=0.1, mix=MIX)
    n = 20_000
    got = Counter(pop.dial(x).outcome for x in _numbers(n))
    for outcome, p in pop.expected().items():
        sd = math.sqrt(n * p * (1 - p))
        assert abs(got[outcome] - n * p) <= 4.5 * sd + 1e-9, (outcome, got[outcome], n * p)
    assert sum(pop.expected().values()) == pytest.approx(1.0)
    assert set(got) <= set(OUTCOMES)


def test_ring_and_talk_follow_the_population() -> None:
    pop = PartyPopulation(seed=5, ring=(4, 20), talk_mean=120)
    specs = [pop.dial(x) for x in _numbers(5000)]
    assert all(4 <= s.ring <= 20 for s in specs)
    talks = [s.talk for s in specs if s.talk is not None]
    mean = sum(talks) / len(talks)
    assert abs(mean - 120) <= 4.5 * 120 / math.sqrt(len(talks))      # exponential: sd = mean


def test_retries_draw_again_but_invalid_numbers_stay_invalid() -> None:
    pop = PartyPopulation(seed=9, answer_rate=0.3, mix={"busy": 0.3, "invalid": 0.2})
    nums = _numbers(3000)
    first = {n: pop.dial(n).outcome for n in nums}
    second = {n: pop.dial(n).outcome for n in nums}
    assert all(second[n] == "invalid" for n in nums if first[n] == "invalid")
    assert all(second[n] != "invalid" for n in nums if first[n] != "invalid")
    busy_then = Counter(second[n] for n in nums if first[n] == "busy")
    assert busy_then["answer"] > 0 and busy_then["busy"] > 0       # a busy number may answer later


def test_explicit_numbers_win_and_match_by_digits() -> None:
    pop = PartyPopulation(seed=1, numbers={"+86 138-0000-0001": PartySpec(outcome="suspended")})
    assert pop.dial("8613800000001").outcome == "suspended"
    assert pop.dial("8613800000001").number == "8613800000001"


def test_signals_follow_mod_sofia() -> None:
    """The causes are mod_sofia's: the capture's four SIP answers, sofia_glue's table, the Reason's cause."""
    assert {k: v.cause for k, v in SIGNALS.items()} == {
        "busy": "USER_BUSY", "invalid": "UNALLOCATED_NUMBER", "off": "NO_USER_RESPONSE",
        "rejected": "CALL_REJECTED", "suspended": "INCOMING_CALL_BARRED", "no_answer": "NO_ANSWER"}
    assert SIP_CAUSES[503] == "NORMAL_TEMPORARY_FAILURE" and SIP_CAUSES[410] == "NUMBER_CHANGED"
    assert Signal(599, None, "").cause == "NORMAL_UNSPECIFIED"
    assert refusal_for(PartySpec(outcome="off", sip=503)).cause == "NORMAL_TEMPORARY_FAILURE"
    assert refusal_for(PartySpec(outcome="off", q850=20)).cause == "SUBSCRIBER_ABSENT"
    assert refusal_for(PartySpec(outcome="suspended", sip=404)) == Signal(404, None, "the number's spec")


def test_bad_population_figures() -> None:
    with pytest.raises(ConfigError, match="add up to more than 1"):
        PartyPopulation(answer_rate=0.9, mix={"busy": 0.2})
    with pytest.raises(ConfigError, match=r"mix\.dance"):
        PartyPopulation(mix={"dance": 0.1})
    with pytest.raises(ConfigError, match="outcome"):
        PartySpec(outcome="maybe")
    with pytest.raises(ConfigError, match="sip 200"):
        PartySpec(outcome="busy", sip=200)


def test_load_parties_file() -> None:
    pop = load_parties(DATA / "parties.yaml")
    assert pop.seed == 7 and pop.gateways == {"carrier": "up"} and pop.ring == (4.0, 20.0)
    assert pop.mix["busy"] == 0.08 and pop.patience == 10.0
    assert pop.dial("13800000001") == PartySpec(number="13800000001", outcome="answer", ring=3.0, talk=60.0,
                                                patience=10.0)
    assert refusal_for(pop.dial("13800000003")).sip == 503


@pytest.mark.parametrize(("text", "needle"), [
    ("seed: 1\nanswer_rate: 2\n", ":1: answer_rate: expected a share"),
    ("seed: 1\nmix:\n  busy: 0.5\n  moody: 0.1\n", ":3: mix.moody: not one of"),
    ("seed: 1\nanswer_rate: 0.6\nmix:\n  busy: 0.5\n", ":4: mix: answer_rate 0.6 and the mix add up"),
    ("numbers:\n  - number: '1'\n    outcome: busy\n  - number: '2'\n    outcome: later\n",
     ":4: numbers[1].outcome: 'later' is not one of"),
    ("numbers:\n  - number: '1'\n  - number: '1'\n", ":3: numbers[1].number: '1' appears twice"),
    ("numbers:\n  - number: '1'\n    sip: 486\n", ":2: numbers[0].sip: only a refusal"),
    ("numbers:\n  - number: '1'\n    outcome: busy\n    q850: 200\n", ":2: numbers[0].q850: 200 is not"),
    ("gateways: {carrier: sideways}\n", ":1: gateways.carrier: expected up or down"),
    ("ring: [20, 4]\n", ":1: ring: expected [low, high]"),
    ("seed: 1\ncolour: blue\n", ":1: colour: unknown field"),
    ("seed: [1\n", ": not valid YAML"),
    ("- a\n- b\n", ":1: expected a mapping"),
])
def test_load_parties_errors_name_file_and_line(tmp_path: Path, text: str, needle: str) -> None:
    f = tmp_path / "p.yaml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_parties(f)
    assert str(exc.value).startswith(str(f)) and needle in str(exc.value), str(exc.value)


def test_load_parties_bad_field_in_the_data_file() -> None:
    with pytest.raises(ConfigError, match=r"bad_parties.yaml:8: numbers\[1\].ring: expected a number"):
        load_parties(DATA / "bad_parties.yaml")
