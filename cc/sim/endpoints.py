"""Simulated endpoints: callers (who dial in, press digits, wait, hang up) and agents (who get rung).

Specs are frozen dataclasses; :func:`load_agents` and :func:`load_callers` read them from YAML and name
the file, line and field of anything wrong. The runtime side (``CallerRun``, ``AgentRun``) is what a
channel's ``endpoint`` points at.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cc.errors import ConfigError
from cc.sim.yaml_lines import read_yaml_lines

if TYPE_CHECKING:
    from cc.sim.channel import Channel

__all__ = ["AGENT_MODES", "AgentRun", "AgentSpec", "CallerGroup", "CallerRun", "CallerSpec", "DigitPress",
           "load_agents", "load_callers", "match_agent_user"]

log = logging.getLogger(__name__)

#: answer: rings (180), answers after ``answer_after``; busy / reject / not_found / unavailable / error:
#: answers the INVITE with 486 / 603 / 404 / 480 / 503 at once; no_answer: rings until cancelled; offline:
#: not registered (``user/<id>``: no channel at all; a sofia dial string: nothing listens, a 503).
AGENT_MODES = ("answer", "busy", "reject", "not_found", "unavailable", "error", "no_answer", "offline")


@dataclass(frozen=True)
class DigitPress:
    """Digits a caller presses when asked (one entry per prompt that collects digits)."""

    digits: str
    delay: float = 1.0      #: seconds after the prompt starts until the first digit
    interval: float = 0.5   #: seconds between digits


@dataclass(frozen=True)
class CallerSpec:
    """One simulated caller."""

    destination: str
    caller_id_number: str = "15551230001"
    caller_id_name: str = "cc caller"
    digits: tuple[DigitPress, ...] = ()
    patience: float | None = None       #: abandons when not bridged this many seconds after dialling
    talk_time: float | None = None      #: hangs up this long after being bridged to someone
    hangup_after: float | None = None   #: hangs up this long after being answered, whatever happens
    variables: Mapping[str, str] = field(default_factory=dict)
    #: the one they talk to (an agent) hangs up this long after the bridge; the caller stays on the line
    #: (a post-call survey runs then)
    peer_talk_time: float | None = None


@dataclass(frozen=True)
class CallerGroup:
    """``count`` callers like ``spec``, one every ``every`` seconds, the first at ``start``."""

    spec: CallerSpec
    count: int = 1
    every: float = 0.0
    start: float = 0.0


@dataclass(frozen=True)
class AgentSpec:
    """One simulated agent phone, reachable as ``user/<id>`` or ``sofia/<profile>/<id>@host``."""

    id: str
    mode: str = "answer"                 #: one of AGENT_MODES
    answer_after: float = 1.0            #: seconds of ringing before answering
    talk_time: float | None = 30.0       #: hangs up this long after being bridged (None: never)
    script: tuple[str, ...] = ()         #: per-call modes used in order before ``mode``
    hold_after: float | None = None      #: puts the caller on hold this long after being bridged (None: never)
    hold_for: float = 0.0                #: ... and takes it off hold this much later (within the talk time)
    hangup_after: float | None = None    #: hangs up this long after answering, bridged or not (None: never)

    def __post_init__(self) -> None:
        for m in (self.mode, *self.script):
            if m not in AGENT_MODES:
                raise ConfigError(f"agent {self.id}: mode {m!r} is not one of {', '.join(AGENT_MODES)}",
                                  path="mode")


def match_agent_user(target: str) -> tuple[str, str, str]:
    """From one dial target, (user, host part, kind ``user``/``sofia``/``other``)."""
    t = target.strip()
    if t.startswith("user/"):
        rest = t[5:]
        user, _, host = rest.partition("@")
        return user, host, "user"
    if t.startswith("sofia/"):
        parts = t.split("/", 2)
        rest = parts[2] if len(parts) > 2 else ""
        rest = rest.split(";", 1)[0]
        if rest.startswith("sip:"):
            rest = rest[4:]
        user, _, host = rest.partition("@")
        return user, host, "sofia"
    return t, "", "other"


class CallerRun:
    """A caller's behaviour attached to its channel."""

    def __init__(self, spec: CallerSpec) -> None:
        self.spec = spec
        self._digits = list(spec.digits)
        self.pressed: list[str] = []
        self.abandoned = False

    def on_start(self, ch: Channel) -> None:
        """The call was placed: start the patience clock."""
        if self.spec.patience is not None:
            ch.sim.scheduler.call_later(self.spec.patience, self._patience_over, ch)

    def _patience_over(self, ch: Channel) -> None:
        if not ch.hungup and ch.bridged_at is None:
            self.abandoned = True
            log.info("call %s: caller abandons after %.1fs", ch.uuid, self.spec.patience or 0)
            ch.hangup("NORMAL_CLEARING", by="caller")

    def on_answered(self, ch: Channel) -> None:
        """The switch answered the caller."""
        if self.spec.hangup_after is not None:
            ch.sim.scheduler.call_later(self.spec.hangup_after, self._hang_up, ch)

    def on_bridged(self, ch: Channel) -> None:
        """The caller talks to someone now."""
        if self.spec.talk_time is not None:
            ch.sim.scheduler.call_later(self.spec.talk_time, self._hang_up, ch)
        if self.spec.peer_talk_time is not None and ch.bridged_to is not None:
            ch.sim.scheduler.call_later(self.spec.peer_talk_time, self._peer_hangs_up, ch, ch.bridged_to)

    def _hang_up(self, ch: Channel) -> None:
        ch.hangup("NORMAL_CLEARING", by="caller")

    def _peer_hangs_up(self, ch: Channel, peer: Channel) -> None:
        if ch.bridged_to is peer and not peer.hungup:
            peer.hangup("NORMAL_CLEARING", by="agent")

    def on_playback(self, ch: Channel, path: str) -> None:
        """A prompt plays to the caller: nothing to do."""

    def on_collect(self, ch: Channel) -> None:
        """A prompt that collects digits started: press the next scripted digits."""
        if not self._digits:
            return
        press = self._digits.pop(0)
        sched = ch.sim.scheduler
        for i, d in enumerate(press.digits):
            sched.call_later(press.delay + i * press.interval, self._press, ch, d)

    def _press(self, ch: Channel, digit: str) -> None:
        if not ch.hungup:
            self.pressed.append(digit)
            ch.receive_dtmf(digit)


class AgentRun:
    """An agent phone: which mode the next call gets, and the talk timer once bridged."""

    def __init__(self, spec: AgentSpec) -> None:
        self.spec = spec
        self._script = list(spec.script)
        self.offered = 0
        self.answered = 0
        self.busy_with: str | None = None

    def next_mode(self) -> str:
        """The mode for the next call offered to this phone."""
        self.offered += 1
        if self._script:
            return self._script.pop(0)
        return self.spec.mode


class AgentLeg:
    """The endpoint object on one agent leg."""

    def __init__(self, agent: AgentRun) -> None:
        self.agent = agent

    def on_start(self, ch: Channel) -> None:
        """Nothing to do when the leg is made."""

    def on_answered(self, ch: Channel) -> None:
        """Counted by the agent; with ``hangup_after`` the phone sends BYE that long after its answer."""
        self.agent.answered += 1
        if self.agent.spec.hangup_after is not None:
            ch.sim.scheduler.call_later(self.agent.spec.hangup_after, self._hang_up, ch)

    def on_bridged(self, ch: Channel) -> None:
        """Hang up after the talk time; hold the caller for ``hold_for`` seconds from ``hold_after``."""
        spec = self.agent.spec
        sched = ch.sim.scheduler
        if spec.talk_time is not None:
            sched.call_later(spec.talk_time, self._hang_up, ch)
        if spec.hold_after is not None:
            # the phone that holds sends the re-INVITE: FreeSWITCH marks its own leg (this one) as holding
            sched.call_later(spec.hold_after, ch.set_hold, True)
            sched.call_later(spec.hold_after + spec.hold_for, ch.set_hold, False)

    def _hang_up(self, ch: Channel) -> None:
        ch.hangup("NORMAL_CLEARING", by="agent")

    def on_playback(self, ch: Channel, path: str) -> None:
        """A prompt plays to the agent: nothing to do."""

    def on_collect(self, ch: Channel) -> None:
        """Agents press nothing."""


# ---------------------------------------------------------------------------------------------- YAML


def _load(path: str | Path, key: str) -> tuple[str, list[dict[str, Any]]]:
    p, data = read_yaml_lines(path)
    if isinstance(data, dict) and key in data:
        data = data[key]
    if not isinstance(data, list):
        raise ConfigError(f"{p}: expected a list under {key!r}", file=p, path=key)
    for i, item in enumerate(data):
        if not isinstance(item, dict):
            raise ConfigError(f"{p}: {key}[{i}]: expected a mapping, got {item!r}", file=p, path=f"{key}[{i}]")
    return p, data


def _num(p: str, key: str, i: int, item: dict[str, Any], name: str, default: float | None,
         *, allow_none: bool = False) -> float | None:
    if name not in item:
        return default
    v = item[name]
    if v is None and allow_none:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v < 0:
        line = item.get("__line__")
        raise ConfigError(f"{p}:{line}: {key}[{i}].{name}: expected a number >= 0, got {v!r}",
                          file=p, line=line, path=f"{key}[{i}].{name}")
    return float(v)


def _check_keys(p: str, key: str, i: int, item: dict[str, Any], allowed: set[str]) -> None:
    for k in item:
        if k != "__line__" and k not in allowed:
            line = item.get("__line__")
            raise ConfigError(f"{p}:{line}: {key}[{i}].{k}: unknown field (known: {', '.join(sorted(allowed))})",
                              file=p, line=line, path=f"{key}[{i}].{k}")


def load_agents(path: str | Path) -> list[AgentSpec]:
    """Read an agents file (a list, or ``agents:`` holding one)."""
    p, items = _load(path, "agents")
    out: list[AgentSpec] = []
    seen: set[str] = set()
    allowed = {"id", "mode", "answer_after", "talk_time", "script", "hold_after", "hold_for", "hangup_after"}
    for i, it in enumerate(items):
        _check_keys(p, "agents", i, it, allowed)
        line = it.get("__line__")
        if "id" not in it or not str(it["id"]).strip():
            raise ConfigError(f"{p}:{line}: agents[{i}].id: missing", file=p, line=line, path=f"agents[{i}].id")
        aid = str(it["id"]).strip()
        if aid in seen:
            raise ConfigError(f"{p}:{line}: agents[{i}].id: {aid!r} appears twice", file=p, line=line,
                              path=f"agents[{i}].id")
        seen.add(aid)
        mode = str(it.get("mode", "answer"))
        script = it.get("script", [])
        if not isinstance(script, list):
            raise ConfigError(f"{p}:{line}: agents[{i}].script: expected a list of modes", file=p, line=line,
                              path=f"agents[{i}].script")
        for j, m in enumerate([mode, *script]):
            if m not in AGENT_MODES:
                field_name = "mode" if j == 0 else f"script[{j - 1}]"
                raise ConfigError(f"{p}:{line}: agents[{i}].{field_name}: {m!r} is not one of "
                                  f"{', '.join(AGENT_MODES)}", file=p, line=line, path=f"agents[{i}].{field_name}")
        out.append(AgentSpec(
            id=aid, mode=mode, script=tuple(str(m) for m in script),
            answer_after=_num(p, "agents", i, it, "answer_after", 1.0) or 0.0,
            talk_time=_num(p, "agents", i, it, "talk_time", 30.0, allow_none=True),
            hold_after=_num(p, "agents", i, it, "hold_after", None, allow_none=True),
            hold_for=_num(p, "agents", i, it, "hold_for", 0.0) or 0.0,
            hangup_after=_num(p, "agents", i, it, "hangup_after", None, allow_none=True),
        ))
    return out


def _digits(p: str, i: int, it: dict[str, Any]) -> tuple[DigitPress, ...]:
    raw = it.get("digits", [])
    line = it.get("__line__")
    if isinstance(raw, str | int):
        raw = [raw]
    if not isinstance(raw, list):
        raise ConfigError(f"{p}:{line}: callers[{i}].digits: expected a list", file=p, line=line,
                          path=f"callers[{i}].digits")
    out = []
    for j, d in enumerate(raw):
        where = f"callers[{i}].digits[{j}]"
        if isinstance(d, str | int) and not isinstance(d, bool):
            s = str(d)
            delay, interval = 1.0, 0.5
        elif isinstance(d, dict):
            s = str(d.get("digits", ""))
            try:
                delay = float(d.get("delay", 1.0))
                interval = float(d.get("interval", 0.5))
            except (TypeError, ValueError):
                raise ConfigError(f"{p}:{d.get('__line__', line)}: {where}: delay and interval must be numbers",
                                  file=p, line=line, path=where) from None
        else:
            raise ConfigError(f"{p}:{line}: {where}: expected digits or a mapping, got {d!r}", file=p, line=line,
                              path=where)
        bad = [c for c in s if c not in "0123456789*#ABCD"]
        if bad or delay < 0 or interval < 0:
            raise ConfigError(f"{p}:{line}: {where}: bad digits {s!r} (0-9 * # A-D; delay/interval >= 0)",
                              file=p, line=line, path=where)
        out.append(DigitPress(s, delay, interval))
    return tuple(out)


def load_callers(path: str | Path) -> list[CallerGroup]:
    """Read a callers file (a list, or ``callers:`` holding one)."""
    p, items = _load(path, "callers")
    allowed = {"destination", "caller_id_number", "caller_id_name", "digits", "patience", "talk_time",
               "peer_talk_time", "hangup_after", "variables", "count", "every", "start"}
    out: list[CallerGroup] = []
    for i, it in enumerate(items):
        _check_keys(p, "callers", i, it, allowed)
        line = it.get("__line__")
        if "destination" not in it or not str(it["destination"]).strip():
            raise ConfigError(f"{p}:{line}: callers[{i}].destination: missing", file=p, line=line,
                              path=f"callers[{i}].destination")
        count = it.get("count", 1)
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ConfigError(f"{p}:{line}: callers[{i}].count: expected a whole number >= 0, got {count!r}",
                              file=p, line=line, path=f"callers[{i}].count")
        variables = it.get("variables", {}) or {}
        if not isinstance(variables, dict):
            raise ConfigError(f"{p}:{line}: callers[{i}].variables: expected a mapping", file=p, line=line,
                              path=f"callers[{i}].variables")
        spec = CallerSpec(
            destination=str(it["destination"]).strip(),
            caller_id_number=str(it.get("caller_id_number", "15551230001")),
            caller_id_name=str(it.get("caller_id_name", "cc caller")),
            digits=_digits(p, i, it),
            patience=_num(p, "callers", i, it, "patience", None, allow_none=True),
            talk_time=_num(p, "callers", i, it, "talk_time", None, allow_none=True),
            hangup_after=_num(p, "callers", i, it, "hangup_after", None, allow_none=True),
            peer_talk_time=_num(p, "callers", i, it, "peer_talk_time", None, allow_none=True),
            variables={str(k): str(v) for k, v in variables.items() if k != "__line__"},
        )
        out.append(CallerGroup(spec, count=count, every=_num(p, "callers", i, it, "every", 0.0) or 0.0,
                               start=_num(p, "callers", i, it, "start", 0.0) or 0.0))
    return out
