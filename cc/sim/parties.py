"""Called parties for outbound dialing: who answers a number a campaign dials, and how a refusal looks.

A :class:`PartySpec` says what one dialled number does: answer after some ringing and talk, refuse the
INVITE (busy, rejected, invalid number 空号, powered off / unreachable 关机, suspended 停机), ring until the
dialer gives up (no answer), or answer as a machine. A :class:`PartyPopulation` maps any number to a
PartySpec, deterministically from its seed and the number (and how often that number was dialled before:
a busy number may answer on a later attempt, an invalid one stays invalid), with explicit specs for chosen
numbers. :func:`load_parties` reads one from YAML and names the file and line of anything wrong.

What FreeSWITCH reports for each refusal is in :data:`SIGNALS` with its source: the 2026-12 captures
(tests/data/esl-captures/2026-12/inbound_originate_failures.esl) where they show it, otherwise mod_sofia
(signalwire/freeswitch cc93a68): a final SIP response becomes a Hangup-Cause by
``sofia_glue_sip_cause_to_freeswitch`` (src/mod/endpoints/mod_sofia/sofia_glue.c), unless it carries a
``Reason: Q.850;cause=N`` header, whose cause wins (src/mod/endpoints/mod_sofia/sofia.c,
sofia_handle_sip_r_invite ... ``tech_pvt->q850_cause = atoi(sip->sip_reason->re_cause)``, then
sofia_handle_sip_i_state ``nua_callstate_terminated``: ``cause = tech_pvt->q850_cause``; ``sip_term_status``
is the SIP status, ``sip_term_cause`` the cause's number, ``proto_specific_hangup_cause`` ``sip:<status>``).
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cc.errors import ConfigError
from cc.sim.yaml_lines import WordLoader, read_yaml_lines

if TYPE_CHECKING:
    from cc.sim.channel import Channel

__all__ = ["CAUSE_NUMBERS", "OUTCOMES", "REFUSALS", "SIGNALS", "SIP_CAUSES", "SIP_PHRASES", "PartyLeg",
           "PartyPopulation", "PartySpec", "PartyStats", "Signal", "load_parties", "refusal_for"]

#: What a dialled party does. ``answer``: rings (180), answers after ``ring`` s, talks ``talk`` s once
#: bridged; ``machine``: the same, but hangs up ``talk`` s after its answer whatever happens (greeting, beep,
#: recording limit); ``no_answer``: rings until the dialer cancels at ``originate_timeout`` (or the network
#: gives up at ``no_answer_after``); the others refuse the INVITE (:data:`SIGNALS`).
OUTCOMES = ("answer", "machine", "no_answer", "busy", "rejected", "invalid", "off", "suspended")
#: The outcomes that refuse the INVITE.
REFUSALS = ("busy", "rejected", "invalid", "off", "suspended")
#: Outcomes that belong to the number rather than to the moment: a later dial of the number gets them again.
PERMANENT = ("invalid", "suspended")

#: switch_call_cause_t (src/include/switch_types.h): cause number -> name, the Q.850 range FreeSWITCH names.
CAUSE_NUMBERS: Mapping[int, str] = {
    1: "UNALLOCATED_NUMBER", 2: "NO_ROUTE_TRANSIT_NET", 3: "NO_ROUTE_DESTINATION", 6: "CHANNEL_UNACCEPTABLE",
    7: "CALL_AWARDED_DELIVERED", 16: "NORMAL_CLEARING", 17: "USER_BUSY", 18: "NO_USER_RESPONSE", 19: "NO_ANSWER",
    20: "SUBSCRIBER_ABSENT", 21: "CALL_REJECTED", 22: "NUMBER_CHANGED", 23: "REDIRECTION_TO_NEW_DESTINATION",
    25: "EXCHANGE_ROUTING_ERROR", 27: "DESTINATION_OUT_OF_ORDER", 28: "INVALID_NUMBER_FORMAT",
    29: "FACILITY_REJECTED", 30: "RESPONSE_TO_STATUS_ENQUIRY", 31: "NORMAL_UNSPECIFIED",
    34: "NORMAL_CIRCUIT_CONGESTION", 38: "NETWORK_OUT_OF_ORDER", 41: "NORMAL_TEMPORARY_FAILURE",
    42: "SWITCH_CONGESTION", 43: "ACCESS_INFO_DISCARDED", 44: "REQUESTED_CHAN_UNAVAIL", 45: "PRE_EMPTED",
    50: "FACILITY_NOT_SUBSCRIBED", 52: "OUTGOING_CALL_BARRED", 54: "INCOMING_CALL_BARRED",
    57: "BEARERCAPABILITY_NOTAUTH", 58: "BEARERCAPABILITY_NOTAVAIL", 63: "SERVICE_UNAVAILABLE",
    65: "BEARERCAPABILITY_NOTIMPL", 66: "CHAN_NOT_IMPLEMENTED", 69: "FACILITY_NOT_IMPLEMENTED",
    79: "SERVICE_NOT_IMPLEMENTED", 81: "INVALID_CALL_REFERENCE", 88: "INCOMPATIBLE_DESTINATION",
    95: "INVALID_MSG_UNSPECIFIED", 96: "MANDATORY_IE_MISSING", 97: "MESSAGE_TYPE_NONEXIST", 98: "WRONG_MESSAGE",
    99: "IE_NONEXIST", 100: "INVALID_IE_CONTENTS", 101: "WRONG_CALL_STATE", 102: "RECOVERY_ON_TIMER_EXPIRE",
    103: "MANDATORY_IE_LENGTH_ERROR", 111: "PROTOCOL_ERROR", 127: "INTERWORKING",
}

#: sofia_glue_sip_cause_to_freeswitch (src/mod/endpoints/mod_sofia/sofia_glue.c): a final SIP response
#: without a Q.850 Reason -> Hangup-Cause; any other status -> NORMAL_UNSPECIFIED.
SIP_CAUSES: Mapping[int, str] = {
    **dict.fromkeys((401, 402, 403, 407, 603, 608), "CALL_REJECTED"), 607: "UNWANTED", 404: "UNALLOCATED_NUMBER",
    **dict.fromkeys((485, 604), "NO_ROUTE_DESTINATION"), **dict.fromkeys((408, 504), "RECOVERY_ON_TIMER_EXPIRE"),
    410: "NUMBER_CHANGED", **dict.fromkeys((413, 414, 416, 420, 421, 423, 505, 513), "INTERWORKING"),
    480: "NO_USER_RESPONSE", **dict.fromkeys((400, 481, 500, 503), "NORMAL_TEMPORARY_FAILURE"),
    **dict.fromkeys((486, 600), "USER_BUSY"), 484: "INVALID_NUMBER_FORMAT",
    **dict.fromkeys((488, 606), "INCOMPATIBLE_DESTINATION"), 502: "NETWORK_OUT_OF_ORDER", 405: "SERVICE_UNAVAILABLE",
    **dict.fromkeys((406, 415, 501), "SERVICE_NOT_IMPLEMENTED"), **dict.fromkeys((482, 483), "EXCHANGE_ROUTING_ERROR"),
    487: "ORIGINATOR_CANCEL",
}

#: Reason phrases (RFC 3261 section 21) the simulated far end sends: ``sip_invite_failure_phrase``.
SIP_PHRASES: Mapping[int, str] = {
    400: "Bad Request", 401: "Unauthorized", 402: "Payment Required", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 406: "Not Acceptable", 407: "Proxy Authentication Required", 408: "Request Timeout",
    410: "Gone", 480: "Temporarily Unavailable", 484: "Address Incomplete", 485: "Ambiguous", 486: "Busy Here",
    488: "Not Acceptable Here", 500: "Server Internal Error", 502: "Bad Gateway", 503: "Service Unavailable",
    504: "Server Time-out", 600: "Busy Everywhere", 603: "Decline", 604: "Does Not Exist Anywhere",
    606: "Not Acceptable", 607: "Unwanted",
}


@dataclass(frozen=True)
class Signal:
    """How a refusal reaches FreeSWITCH (SIP status, optional ``Reason: Q.850;cause=``) and what it makes."""

    sip: int
    q850: int | None
    source: str

    @property
    def cause(self) -> str:
        """The Hangup-Cause FreeSWITCH gives (the Reason's cause wins over the status, as in sofia.c)."""
        if self.q850 is not None:
            return CAUSE_NUMBERS.get(self.q850, "NORMAL_UNSPECIFIED")
        return SIP_CAUSES.get(self.sip, "NORMAL_UNSPECIFIED")

    @property
    def phrase(self) -> str:
        """The SIP reason phrase."""
        return SIP_PHRASES.get(self.sip, "Unknown")


_CAPTURE = "tests/data/esl-captures/2026-12/inbound_originate_failures.esl"
_GLUE = "mod_sofia sofia_glue.c sofia_glue_sip_cause_to_freeswitch"
_REASON = "mod_sofia sofia.c: the Reason header's Q.850 cause wins over the status"

#: The default signal of each refusing outcome (and of a network that stops a ringing call), with its source.
#: Carriers differ (停机 especially); a number's spec may give its own ``sip`` / ``q850``.
SIGNALS: Mapping[str, Signal] = {
    "busy": Signal(486, None, f"capture {_CAPTURE}: 486 -> USER_BUSY"),
    "invalid": Signal(404, None, f"capture {_CAPTURE}: 404 -> UNALLOCATED_NUMBER"),
    "off": Signal(480, None, f"capture {_CAPTURE}: 480 -> NO_USER_RESPONSE"),
    "rejected": Signal(603, None, f"source {_GLUE}: 603 -> CALL_REJECTED (no capture)"),
    "suspended": Signal(403, 54, f"source {_REASON}: 403 with Q.850 54 -> INCOMING_CALL_BARRED (no capture)"),
    "no_answer": Signal(480, 19, f"source {_REASON}: 480 with Q.850 19 -> NO_ANSWER, the network's ring limit "
                                 "(no capture; the dialer's own timeout is the capture's CANCEL)"),
}


def refusal_for(spec: PartySpec) -> Signal:
    """The signal a refusing (or network-timed-out) party sends: its own ``sip``/``q850``, else the default."""
    base = SIGNALS[spec.outcome]
    if spec.sip is None and spec.q850 is None:
        return base
    sip = spec.sip if spec.sip is not None else base.sip
    q850 = spec.q850 if spec.q850 is not None else (base.q850 if spec.sip is None else None)
    return Signal(sip, q850, "the number's spec")


@dataclass(frozen=True)
class PartySpec:
    """What one dialled number does (see :data:`OUTCOMES`); times are simulated seconds."""

    number: str = ""
    outcome: str = "answer"
    ring: float = 5.0                     #: answer / machine: seconds of ringing before the answer
    talk: float | None = 120.0            #: answer: talks this long once bridged, then hangs up (None: never);
                                          #: machine: hangs up this long after its answer
    patience: float | None = 10.0         #: answered, neither bridged nor hearing a message: hangs up after this
    no_answer_after: float | None = None  #: no_answer: the network stops the ringing after this (None: never)
    refuse_after: float = 0.02            #: refusals: the final response comes this long after the INVITE
    sip: int | None = None                #: refusals: the SIP status (default: SIGNALS)
    q850: int | None = None               #: refusals: a ``Reason: Q.850;cause=`` header (default: SIGNALS)

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ConfigError(f"party {self.number}: outcome {self.outcome!r} is not one of {', '.join(OUTCOMES)}",
                              path="outcome")
        if self.sip is not None and not 400 <= self.sip <= 699:
            raise ConfigError(f"party {self.number}: sip {self.sip} is not a final failure status (400-699)",
                              path="sip")
        if self.q850 is not None and self.q850 not in CAUSE_NUMBERS:
            raise ConfigError(f"party {self.number}: q850 {self.q850} is not a cause FreeSWITCH names", path="q850")


def _digits(number: str) -> str:
    return "".join(c for c in number if c.isdigit())


@dataclass
class PartyPopulation:
    """Every number's behaviour: explicit ``numbers`` first, otherwise drawn from the seed and the number.

    ``answer_rate`` of the dials answer (``machine_rate`` of them as machines), each of ``mix`` (outcome ->
    share of all dials) refuses that way, the rest ring without an answer. Ring times are uniform in
    ``ring``, talk times exponential with mean ``talk_mean``. Dials to ``sofia/gateway/<gw>/<number>`` reach
    the population when ``gw`` is in ``gateways`` and ``up`` (a ``down`` one fails with GATEWAY_DOWN, an
    unknown one with INVALID_GATEWAY); ``sofia/<profile>/<number>@host`` does for ``profile``.
    """

    seed: int = 0
    answer_rate: float = 0.25
    ring: tuple[float, float] = (4.0, 20.0)
    talk_mean: float = 120.0
    patience: float | None = 10.0
    no_answer_after: float | None = None
    machine_rate: float = 0.0
    mix: Mapping[str, float] = field(default_factory=dict)
    numbers: Mapping[str, PartySpec] = field(default_factory=dict)
    gateways: Mapping[str, str] = field(default_factory=lambda: {"carrier": "up"})
    profile: str = "external"
    _by_digits: dict[str, PartySpec] = field(init=False, repr=False, default_factory=dict)
    _dialled: Counter[str] = field(init=False, repr=False, default_factory=Counter)

    def __post_init__(self) -> None:
        if not 0 <= self.answer_rate <= 1 or not 0 <= self.machine_rate <= 1:
            raise ConfigError("parties: answer_rate and machine_rate must be within 0..1", path="answer_rate")
        lo, hi = self.ring
        if not 0 <= lo <= hi:
            raise ConfigError(f"parties: ring {self.ring}: expected [low, high] with 0 <= low <= high", path="ring")
        if not self.talk_mean > 0:
            raise ConfigError("parties: talk_mean must be > 0", path="talk_mean")
        for k, v in self.mix.items():
            if k not in REFUSALS:
                raise ConfigError(f"parties: mix.{k}: not one of {', '.join(REFUSALS)}", path=f"mix.{k}")
            if not 0 <= v <= 1:
                raise ConfigError(f"parties: mix.{k}: {v} is not a share within 0..1", path=f"mix.{k}")
        if self.answer_rate + sum(self.mix.values()) > 1 + 1e-9:
            raise ConfigError("parties: answer_rate and the mix add up to more than 1", path="mix")
        for g, state in self.gateways.items():
            if state not in ("up", "down"):
                raise ConfigError(f"parties: gateways.{g}: {state!r} is not up or down", path=f"gateways.{g}")
        self._by_digits = {_digits(k): v for k, v in self.numbers.items() if _digits(k)}

    def expected(self) -> dict[str, float]:
        """Each outcome's share of all dials, as drawn (explicit numbers aside)."""
        out = {o: 0.0 for o in OUTCOMES}
        out["answer"] = self.answer_rate * (1 - self.machine_rate)
        out["machine"] = self.answer_rate * self.machine_rate
        for k, v in self.mix.items():
            out[k] += v
        out["no_answer"] = max(0.0, 1 - self.answer_rate - sum(self.mix.values()))
        return out

    def explicit(self, number: str) -> PartySpec | None:
        """The number's own spec, if it has one (exact, else by its digits)."""
        spec = self.numbers.get(number)
        if spec is None and _digits(number):
            spec = self._by_digits.get(_digits(number))
        return spec

    def draw(self, number: str, attempt: int = 0) -> PartySpec:
        """The drawn behaviour of ``number`` on its ``attempt``-th dial (0 first): the same for the same seed,
        number and attempt; a permanent outcome (invalid, suspended) stays with the number."""
        first = self._draw(number, 0)
        if attempt == 0 or first.outcome in PERMANENT:
            return first
        spec = self._draw(number, attempt)
        while spec.outcome in PERMANENT:       # the number is not invalid: draw its moment again
            attempt += 1_000_003
            spec = self._draw(number, attempt)
        return spec

    def _draw(self, number: str, attempt: int) -> PartySpec:
        rng = random.Random(f"{self.seed}/{number}/{attempt}")    # str seeds hash with SHA-512: stable
        u = rng.random()
        ring = rng.uniform(*self.ring)
        talk = rng.expovariate(1 / self.talk_mean)
        machine = rng.random() < self.machine_rate
        if u < self.answer_rate:
            outcome = "machine" if machine else "answer"
        else:
            outcome = "no_answer"
            acc = self.answer_rate
            for k in REFUSALS:
                acc += self.mix.get(k, 0.0)
                if u < acc:
                    outcome = k
                    break
        return PartySpec(number=number, outcome=outcome, ring=ring, talk=talk, patience=self.patience,
                         no_answer_after=self.no_answer_after)

    def dial(self, number: str) -> PartySpec:
        """The spec for a dial of ``number`` now (counts the dial: the next one is the next attempt)."""
        spec = self.explicit(number)
        attempt = self._dialled[number]
        self._dialled[number] += 1
        if spec is not None:
            return spec if spec.number == number else replace(spec, number=number)
        return self.draw(number, attempt)


class PartyStats:
    """What the called parties saw, for the campaign bench: dials per outcome, Hangup-Causes, legs up at once,
    and how long an answered party waited in silence (answer -> bridged or hearing a message)."""

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now
        self.dials = 0
        self.outcomes: Counter[str] = Counter()
        self.causes: Counter[str] = Counter()         #: Hangup-Cause of each party leg (and of dials with no leg)
        self.no_leg: Counter[str] = Counter()         #: dials that made no leg (INVALID_GATEWAY, GATEWAY_DOWN)
        self.up = 0
        self.peak_up = 0
        self.answered = 0
        self.bridged = 0
        self.messaged = 0
        self.hung_up_waiting = 0                      #: answered, hung up (or were hung up) before either
        self.waits: list[float] = []                  #: answer -> bridge or message, simulated seconds
        self.unserved_waits: list[float] = []         #: answer -> hang-up of those never bridged nor messaged

    def failed_without_leg(self, cause: str) -> None:
        """A dial that failed before any leg existed."""
        self.dials += 1
        self.no_leg[cause] += 1
        self.causes[cause] += 1

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready counters (wait percentiles in simulated seconds, None without data)."""
        def pct(xs: list[float], q: float) -> float | None:
            if not xs:
                return None
            s = sorted(xs)
            return round(s[min(len(s) - 1, max(0, math.ceil(q * len(s)) - 1))], 3)

        return {"dials": self.dials, "outcomes": dict(self.outcomes), "causes": dict(self.causes),
                "no_leg": dict(self.no_leg), "legs_up": self.up, "peak_legs": self.peak_up,
                "answered": self.answered, "bridged": self.bridged, "messaged": self.messaged,
                "hung_up_waiting": self.hung_up_waiting,
                "wait_s": {"count": len(self.waits), "p50": pct(self.waits, 0.5), "p95": pct(self.waits, 0.95),
                           "p99": pct(self.waits, 0.99), "max": max(self.waits) if self.waits else None},
                "unserved_wait_s": {"count": len(self.unserved_waits), "p50": pct(self.unserved_waits, 0.5),
                                    "max": max(self.unserved_waits) if self.unserved_waits else None}}


class PartyLeg:
    """The endpoint on one called party's leg: counts it, hangs up after its talk (or its patience)."""

    def __init__(self, spec: PartySpec, stats: PartyStats) -> None:
        self.spec = spec
        self.stats = stats
        self.served = False        # bridged or heard a message since the answer
        self._patience: Any = None

    def on_start(self, ch: Channel) -> None:
        """The leg exists: count the dial and the leg; uncount the leg when it goes down."""
        st = self.stats
        st.dials += 1
        st.outcomes[self.spec.outcome] += 1
        st.up += 1
        st.peak_up = max(st.peak_up, st.up)
        ch.on_hangup.append(self._down)

    def _down(self, ch: Channel) -> None:
        st = self.stats
        st.up -= 1
        st.causes[ch.hangup_cause or ""] += 1
        if ch.answered_at is not None and not self.served:
            st.hung_up_waiting += 1
            st.unserved_waits.append(ch.sim.scheduler.now() - ch.answered_at)
        if self._patience is not None:
            self._patience.cancel()

    def on_answered(self, ch: Channel) -> None:
        """Answered: a machine hangs up after its talk; a person waits ``patience`` for someone to speak."""
        self.stats.answered += 1
        sched = ch.sim.scheduler
        if self.spec.outcome == "machine":
            if self.spec.talk is not None:
                sched.call_later(self.spec.talk, self._hang_up, ch)
        elif self.spec.patience is not None:
            self._patience = sched.call_later(self.spec.patience, self._gives_up, ch)

    def _served(self, ch: Channel) -> bool:
        if self.served or ch.answered_at is None:
            return False
        self.served = True
        self.stats.waits.append(ch.sim.scheduler.now() - ch.answered_at)
        if self._patience is not None:
            self._patience.cancel()
            self._patience = None
        return True

    def on_bridged(self, ch: Channel) -> None:
        """Someone speaks: the wait ends; a person hangs up after the talk time."""
        first = not self.served
        self._served(ch)
        self.stats.bridged += 1
        if first and self.spec.outcome == "answer" and self.spec.talk is not None:
            ch.sim.scheduler.call_later(self.spec.talk, self._hang_up, ch)

    def on_playback(self, ch: Channel, path: str) -> None:
        """A message plays to the party: the wait ends (the first one only counts)."""
        if ch.bridged_to is None and self._served(ch):
            self.stats.messaged += 1

    def on_collect(self, ch: Channel) -> None:
        """Parties press nothing."""

    def _gives_up(self, ch: Channel) -> None:
        self._patience = None
        if not self.served and not ch.hungup:
            ch.hangup("NORMAL_CLEARING", by="party")

    def _hang_up(self, ch: Channel) -> None:
        if not ch.hungup:
            ch.hangup("NORMAL_CLEARING", by="party")


# ---------------------------------------------------------------------------------------------- YAML


_TOP = {"seed", "answer_rate", "ring", "talk_mean", "patience", "no_answer_after", "machine_rate", "mix",
        "numbers", "gateways", "profile"}
_NUMBER = {"number", "outcome", "ring", "talk", "patience", "no_answer_after", "refuse_after", "sip", "q850"}


def load_parties(path: str | Path) -> PartyPopulation:
    """Read a parties file (a mapping, or ``parties:`` holding one): the population's figures, ``gateways``
    (names, or name: up|down), ``numbers`` (a list of per-number specs). Errors name the file and line."""
    p, data = read_yaml_lines(path, WordLoader)   # off (an outcome) stays a word
    if isinstance(data, dict) and set(data) - {"__line__"} == {"parties"}:
        data = data["parties"]
    if not isinstance(data, dict):
        raise ConfigError(f"{p}:1: expected a mapping (seed, answer_rate, mix, numbers ...)", file=p, line=1)
    top = int(data.get("__line__", 1))

    def fail(line: int, where: str, msg: str) -> ConfigError:
        return ConfigError(f"{p}:{line}: {where}: {msg}", file=p, line=line, path=where)

    def unknown(item: dict[str, Any], allowed: set[str], where: str) -> None:
        for k in item:
            if k != "__line__" and k not in allowed:
                raise fail(int(item.get("__line__", top)), f"{where}{k}",
                           f"unknown field (known: {', '.join(sorted(allowed))})")

    def num(item: dict[str, Any], key: str, where: str, default: Any, *, allow_none: bool = False,
            whole: bool = False) -> Any:
        if key not in item:
            return default
        v = item[key]
        if v is None and allow_none:
            return None
        ok = not isinstance(v, bool) and isinstance(v, int | float) and math.isfinite(v) and v >= 0
        if whole:
            ok = ok and isinstance(v, int)
        if not ok:
            kind = "a whole number >= 0" if whole else "a number >= 0" + (" or null" if allow_none else "")
            raise fail(int(item.get("__line__", top)), f"{where}{key}", f"expected {kind}, got {v!r}")
        return v if whole else float(v)

    unknown(data, _TOP, "")
    ring = data.get("ring", [4, 20])
    if not (isinstance(ring, list) and len(ring) == 2 and all(
            not isinstance(x, bool) and isinstance(x, int | float) and x >= 0 for x in ring) and ring[0] <= ring[1]):
        raise fail(top, "ring", f"expected [low, high] seconds with low <= high, got {ring!r}")
    mix_raw = data.get("mix", {}) or {}
    if not isinstance(mix_raw, dict):
        raise fail(top, "mix", "expected a mapping outcome: share")
    mix_line = int(mix_raw.get("__line__", top))
    mix: dict[str, float] = {}
    for k, v in mix_raw.items():
        if k == "__line__":
            continue
        if k not in REFUSALS:
            raise fail(mix_line, f"mix.{k}", f"not one of {', '.join(REFUSALS)}")
        if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= 1:
            raise fail(mix_line, f"mix.{k}", f"expected a share within 0..1, got {v!r}")
        mix[str(k)] = float(v)
    gw_raw = data.get("gateways", ["carrier"])
    gateways: dict[str, str] = {}
    if isinstance(gw_raw, list):
        for g in gw_raw:
            if not isinstance(g, str | int) or isinstance(g, bool) or not str(g).strip():
                raise fail(top, "gateways", f"expected gateway names, got {g!r}")
            gateways[str(g).strip()] = "up"
    elif isinstance(gw_raw, dict):
        gl = int(gw_raw.get("__line__", top))
        for g, state in gw_raw.items():
            if g == "__line__":
                continue
            if state not in ("up", "down"):
                raise fail(gl, f"gateways.{g}", f"expected up or down, got {state!r}")
            gateways[str(g)] = str(state)
    else:
        raise fail(top, "gateways", "expected a list of names or a mapping name: up|down")
    numbers: dict[str, PartySpec] = {}
    items = data.get("numbers", []) or []
    if not isinstance(items, list):
        raise fail(top, "numbers", "expected a list of {number, outcome, ...}")
    for i, it in enumerate(items):
        where = f"numbers[{i}]."
        if not isinstance(it, dict):
            raise fail(top, f"numbers[{i}]", f"expected a mapping, got {it!r}")
        line = int(it.get("__line__", top))
        unknown(it, _NUMBER, where)
        number = str(it.get("number", "")).strip()
        if not number or isinstance(it.get("number"), bool):
            raise fail(line, f"{where}number", "missing")
        if number in numbers:
            raise fail(line, f"{where}number", f"{number!r} appears twice")
        outcome = it.get("outcome", "answer")
        if outcome not in OUTCOMES:
            raise fail(line, f"{where}outcome", f"{outcome!r} is not one of {', '.join(OUTCOMES)}")
        sip = num(it, "sip", where, None, whole=True)
        if sip is not None and not 400 <= sip <= 699:
            raise fail(line, f"{where}sip", f"{sip} is not a final failure status (400-699)")
        q850 = num(it, "q850", where, None, whole=True)
        if q850 is not None and q850 not in CAUSE_NUMBERS:
            raise fail(line, f"{where}q850", f"{q850} is not a Q.850 cause FreeSWITCH names")
        if (sip is not None or q850 is not None) and outcome not in (*REFUSALS, "no_answer"):
            raise fail(line, f"{where}sip", f"only a refusal (or no_answer) sends a SIP failure, not {outcome!r}")
        numbers[number] = PartySpec(
            number=number, outcome=str(outcome), ring=num(it, "ring", where, 5.0),
            talk=num(it, "talk", where, 120.0, allow_none=True),
            patience=num(it, "patience", where, num(data, "patience", "", 10.0, allow_none=True), allow_none=True),
            no_answer_after=num(it, "no_answer_after", where, None, allow_none=True),
            refuse_after=num(it, "refuse_after", where, 0.02), sip=sip, q850=q850)
    answer_rate = num(data, "answer_rate", "", 0.25)
    machine_rate = num(data, "machine_rate", "", 0.0)
    for key, v in (("answer_rate", answer_rate), ("machine_rate", machine_rate)):
        if v > 1:
            raise fail(top, key, f"expected a share within 0..1, got {v!r}")
    if answer_rate + sum(mix.values()) > 1 + 1e-9:
        raise fail(mix_line, "mix", f"answer_rate {answer_rate:g} and the mix add up to more than 1")
    talk_mean = num(data, "talk_mean", "", 120.0)
    if talk_mean <= 0:
        raise fail(top, "talk_mean", "expected a number > 0")
    seed = data.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise fail(top, "seed", f"expected a whole number, got {seed!r}")
    profile = str(data.get("profile", "external")).strip()
    if not profile or "/" in profile:
        raise fail(top, "profile", f"expected a SIP profile name, got {profile!r}")
    return PartyPopulation(
        seed=seed, answer_rate=answer_rate, ring=(float(ring[0]), float(ring[1])), talk_mean=talk_mean,
        patience=num(data, "patience", "", 10.0, allow_none=True),
        no_answer_after=num(data, "no_answer_after", "", None, allow_none=True), machine_rate=machine_rate,
        mix=mix, numbers=numbers, gateways=gateways, profile=profile)
