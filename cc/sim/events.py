"""Simulated FreeSWITCH events: header lists rendered as text/event-plain or text/event-json, and the bus.

An event is built only when some subscriber wants its name (and its channel), so a busy simulator with
one narrow subscriber does not pay for rendering 4 KB of channel data per event.
"""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from cc.esl.protocol import url_encode

__all__ = ["CALLING", "INCIDENTAL", "MYEVENTS", "Block", "CoreInfo", "EventBus", "SimEvent", "Subscription"]

log = logging.getLogger(__name__)

#: Event names ``myevents`` subscribes an outbound socket to (mod_event_socket's list).
MYEVENTS = frozenset({
    "CHANNEL_ANSWER", "CHANNEL_APPLICATION", "CHANNEL_BRIDGE", "CHANNEL_CREATE", "CHANNEL_DATA",
    "CHANNEL_DESTROY", "CHANNEL_EXECUTE", "CHANNEL_EXECUTE_COMPLETE", "CHANNEL_HANGUP",
    "CHANNEL_HANGUP_COMPLETE", "CHANNEL_ORIGINATE", "CHANNEL_OUTGOING", "CHANNEL_PARK",
    "CHANNEL_PROGRESS", "CHANNEL_PROGRESS_MEDIA", "CHANNEL_STATE", "CHANNEL_UNBRIDGE", "CHANNEL_UNPARK",
    "DETECTED_SPEECH", "DTMF", "NOTALK", "TALK",
})

#: Events the fidelity contract calls incidental (they may come or not, and move).
INCIDENTAL = frozenset({
    "API", "HEARTBEAT", "RE_SCHEDULE", "PRESENCE_IN", "CODEC", "CALL_UPDATE", "CHANNEL_CALLSTATE",
    "CHANNEL_STATE", "MEDIA_BUG_START", "MEDIA_BUG_STOP", "PRIVATE_COMMAND", "COMMAND",
})

#: Event name -> (Event-Calling-File, Event-Calling-Function, Event-Calling-Line-Number), as captured.
CALLING: dict[str, tuple[str, str, str]] = {
    "CHANNEL_DATA": ("mod_event_socket.c", "parse_command", "2029"),
    "CHANNEL_EXECUTE": ("switch_core_session.c", "switch_core_session_exec", "2949"),
    "CHANNEL_EXECUTE_COMPLETE": ("switch_core_session.c", "switch_core_session_exec", "2972"),
    "CHANNEL_STATE": ("switch_channel.c", "switch_channel_perform_set_running_state", "2409"),
    "CHANNEL_CALLSTATE": ("switch_channel.c", "switch_channel_perform_set_callstate", "329"),
    "CHANNEL_CREATE": ("switch_core_state_machine.c", "switch_core_session_run", "630"),
    "CHANNEL_OUTGOING": ("switch_core_session.c", "switch_core_session_outgoing_channel", "768"),
    "CHANNEL_ORIGINATE": ("switch_ivr_originate.c", "switch_ivr_originate", "3585"),
    "CHANNEL_PROGRESS": ("switch_channel.c", "switch_channel_perform_mark_ring_ready_value", "3708"),
    "CHANNEL_PROGRESS_MEDIA": ("switch_channel.c", "switch_channel_perform_mark_pre_answered", "3787"),
    "CHANNEL_ANSWER": ("switch_channel.c", "switch_channel_perform_mark_answered", "4060"),
    "CHANNEL_HANGUP": ("switch_channel.c", "switch_channel_perform_hangup", "3507"),
    "CHANNEL_HANGUP_COMPLETE": ("switch_core_state_machine.c", "switch_core_session_reporting_state", "943"),
    "CHANNEL_DESTROY": ("switch_core_session.c", "switch_core_session_perform_destroy", "1732"),
    "CHANNEL_PARK": ("switch_ivr.c", "switch_ivr_park", "1023"),
    "CHANNEL_UNPARK": ("switch_ivr.c", "switch_ivr_park", "1217"),
    "CHANNEL_BRIDGE": ("switch_ivr_bridge.c", "switch_ivr_multi_threaded_bridge", "1689"),
    "CHANNEL_UNBRIDGE": ("switch_ivr_bridge.c", "switch_ivr_multi_threaded_bridge", "1814"),
    "CHANNEL_HOLD": ("switch_channel.c", "switch_channel_mark_hold", "1199"),
    "CHANNEL_UNHOLD": ("switch_channel.c", "switch_channel_mark_hold", "1221"),
    "DTMF": ("switch_channel.c", "switch_channel_dequeue_dtmf", "698"),
    "PLAYBACK_START": ("switch_ivr_play_say.c", "switch_ivr_play_file", "1649"),
    "PLAYBACK_STOP": ("switch_ivr_play_say.c", "switch_ivr_play_file", "2023"),
    "RECORD_START": ("switch_ivr_async.c", "record_callback", "1482"),
    "RECORD_STOP": ("switch_ivr_async.c", "send_record_stop_event", "1241"),
    "MEDIA_BUG_START": ("switch_core_media_bug.c", "switch_core_media_bug_add", "1021"),
    "MEDIA_BUG_STOP": ("switch_core_media_bug.c", "switch_core_media_bug_close", "1371"),
    "BACKGROUND_JOB": ("mod_event_socket.c", "api_exec", "1580"),
    "API": ("switch_loadable_module.c", "switch_api_execute", "3140"),
    "HEARTBEAT": ("switch_core.c", "send_heartbeat", "79"),
    "CALL_UPDATE": ("switch_channel.c", "switch_channel_perform_set_callee_id", "3411"),
}
_DEFAULT_CALLING = ("switch_channel.c", "switch_channel_event", "0")


@dataclass(frozen=True)
class CoreInfo:
    """What every event says about the switch that sent it."""

    core_uuid: str
    hostname: str = "vm"
    ipv4: str = "192.0.2.2"
    ipv6: str = "fd00::2"

    @classmethod
    def local(cls, core_uuid: str) -> CoreInfo:
        """Core info with this machine's host name (short form, like FreeSWITCH's)."""
        return cls(core_uuid, socket.gethostname().split(".")[0] or "vm")


#: (name, value) -> its encoded plain line; values repeat a lot between events (variables, profiles)
_LINES: dict[tuple[str, str], str] = {}
_LINE_CACHE_MAX = 200_000


def _encode_lines(pairs: Iterable[tuple[str, str]]) -> list[str]:
    cache = _LINES
    parts = []
    for kv in pairs:
        line = cache.get(kv)
        if line is None:
            if len(cache) > _LINE_CACHE_MAX:
                cache.clear()
            k, v = kv
            line = cache[kv] = f"{k}: {url_encode(v) if v else '_undef_'}\n"
        parts.append(line)
    return parts


class Block:
    """Headers that many events repeat unchanged (a caller profile, the variables): encoded once."""

    __slots__ = ("_text", "pairs")

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.pairs = pairs
        self._text: str | None = None

    @property
    def text(self) -> str:
        """The encoded ``Name: value`` lines."""
        if self._text is None:
            self._text = "".join(_encode_lines(self.pairs))
        return self._text


class SimEvent:
    """One event: ordered headers (plain values, or Blocks of them) and an optional body."""

    __slots__ = ("_dict", "_json", "_plain", "body", "name", "parts", "uuid")

    def __init__(self, name: str, headers: Sequence[tuple[str, str] | Block], body: str = "",
                 uuid: str | None = None):
        self.name = name
        self.parts = headers
        self.body = body
        self.uuid = uuid
        self._plain: bytes | None = None
        self._json: bytes | None = None
        self._dict: dict[str, str] | None = None

    @property
    def headers(self) -> list[tuple[str, str]]:
        """Every (name, value), in order."""
        out: list[tuple[str, str]] = []
        for p in self.parts:
            if isinstance(p, Block):
                out.extend(p.pairs)
            else:
                out.append(p)
        return out

    def get(self, name: str, default: str | None = None) -> str | None:
        """The value of header ``name`` (first occurrence)."""
        if self._dict is None:
            d: dict[str, str] = {}
            for k, v in self.headers:
                d.setdefault(k, v)
            self._dict = d
        return self._dict.get(name, default)

    def plain(self) -> bytes:
        """The whole text/event-plain frame (values URL-encoded, empty values as ``_undef_``)."""
        if self._plain is None:
            parts: list[str] = []
            run: list[tuple[str, str]] = []
            for p in self.parts:
                if isinstance(p, Block):
                    if run:
                        parts.extend(_encode_lines(run))
                        run = []
                    parts.append(p.text)
                else:
                    run.append(p)
            if run:
                parts.extend(_encode_lines(run))
            body = self.body.encode("utf-8")
            if body:
                parts.append(f"Content-Length: {len(body)}\n")
            text = ("".join(parts) + "\n").encode("utf-8") + body
            self._plain = b"Content-Length: %d\nContent-Type: text/event-plain\n\n" % len(text) + text
        return self._plain

    def json(self) -> bytes:
        """The whole text/event-json frame (values as they are; the body under ``_body``)."""
        if self._json is None:
            d: dict[str, str] = {}
            for k, v in self.headers:
                d.setdefault(k, v)
            if self.body:
                d["Content-Length"] = str(len(self.body.encode("utf-8")))
                d["_body"] = self.body
            text = json.dumps(d, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
            self._json = b"Content-Length: %d\nContent-Type: text/event-json\n\n" % len(text) + text
        return self._json

    def frame(self, fmt: str) -> bytes:
        """The frame in ``fmt`` (``plain`` or ``json``)."""
        return self.json() if fmt == "json" else self.plain()

    def __repr__(self) -> str:
        return f"<SimEvent {self.name} {self.uuid or ''}>"


@dataclass
class Subscription:
    """What one ESL connection asked for: event names, CUSTOM subclasses, filters, its own channel."""

    fmt: str = "plain"
    all: bool = False
    names: set[str] = field(default_factory=set)
    subclasses: set[str] = field(default_factory=set)
    all_custom: bool = False
    filters: list[tuple[str, str]] = field(default_factory=list)
    uuid: str | None = None       #: myevents: only this channel's events

    @property
    def active(self) -> bool:
        """Whether any event can pass."""
        return self.all or bool(self.names) or bool(self.subclasses) or self.all_custom

    def add(self, tokens: Iterable[str]) -> None:
        """``event`` arguments: names, ``ALL``, ``CUSTOM`` followed by subclasses."""
        custom = False
        for tok in tokens:
            up = tok.upper()
            if up == "ALL":
                self.all = True
            elif up == "CUSTOM":
                custom = True
            elif custom and "::" in tok:
                self.subclasses.add(tok)
            else:
                self.names.add(up)

    def remove(self, tokens: Iterable[str]) -> None:
        """``nixevent`` arguments."""
        for tok in tokens:
            up = tok.upper()
            if up == "ALL":
                self.all = False
                self.names.clear()
            elif up != "CUSTOM":
                self.names.discard(up)
                self.subclasses.discard(tok)

    def clear(self) -> None:
        """``noevents``."""
        self.all = False
        self.all_custom = False
        self.names.clear()
        self.subclasses.clear()

    def wants(self, name: str, uuid: str | None, subclass: str | None = None) -> bool:
        """Cheap check before an event is built: name (and channel for myevents)."""
        if self.uuid is not None and uuid is not None and uuid != self.uuid:
            return False
        if name == "CUSTOM":
            return self.all or self.all_custom or (subclass is not None and subclass in self.subclasses)
        return self.all or name in self.names

    def passes(self, ev: SimEvent) -> bool:
        """Filters: with any filter set, an event passes when one of them matches one of its headers."""
        if not self.filters:
            return True
        for k, v in self.filters:
            got = ev.get(k)
            if got is not None and (got == v or (v.startswith("/") and v.endswith("/") and v[1:-1] in got)):
                return True
        return False


class Subscriber:
    """Something on the bus: a subscription and where its events go."""

    def __init__(self, sub: Subscription, deliver: Callable[[SimEvent], None]) -> None:
        self.sub = sub
        self.deliver = deliver


class EventBus:
    """Fans events out to ESL connections and in-process listeners, in the order they are fired."""

    def __init__(self, core: CoreInfo, clock: Callable[[], float] = time.time) -> None:
        self.core = core
        self.clock = clock
        self.sequence = 1000
        self.subscribers: list[Subscriber] = []          #: not tied to one channel
        self.by_uuid: dict[str, list[Subscriber]] = {}    #: myevents subscribers, by channel
        self.listeners: list[Callable[[SimEvent], None]] = []
        self.count = 0

    def attach(self, sub: Subscription, deliver: Callable[[SimEvent], None]) -> Subscriber:
        """Add a subscriber; remove it with :meth:`detach`."""
        s = Subscriber(sub, deliver)
        if sub.uuid is not None:
            self.by_uuid.setdefault(sub.uuid, []).append(s)
        else:
            self.subscribers.append(s)
        return s

    def detach(self, s: Subscriber) -> None:
        """Remove a subscriber (harmless when gone)."""
        try:
            self.subscribers.remove(s)
        except ValueError:
            pass
        for key, subs in list(self.by_uuid.items()):
            if s in subs:
                subs.remove(s)
                if not subs:
                    del self.by_uuid[key]

    def _candidates(self, uuid: str | None) -> list[Subscriber]:
        if uuid is None:
            out = list(self.subscribers)
            for subs in self.by_uuid.values():
                out.extend(subs)
            return out
        mine = self.by_uuid.get(uuid)
        return self.subscribers + mine if mine else self.subscribers

    def wanted(self, name: str, uuid: str | None, subclass: str | None = None) -> bool:
        """Whether anyone would receive this event (build it only then)."""
        if self.listeners:
            return True
        return any(s.sub.wants(name, uuid, subclass) for s in self._candidates(uuid))

    def core_headers(self, name: str, subclass: str | None = None,
                     calling: tuple[str, str, str] | None = None) -> list[tuple[str, str]]:
        """Event-Name, Core-UUID, FreeSWITCH-*, Event-Date-*, Event-Calling-* (``calling`` or the table's),
        Event-Sequence."""
        self.sequence += 1
        now = self.clock()
        micros = int(now * 1_000_000)
        lt = time.localtime(now)
        gt = time.gmtime(now)
        calling = calling or CALLING.get(name, _DEFAULT_CALLING)
        c = self.core
        h = [("Event-Name", name)]
        if subclass:
            h.append(("Event-Subclass", subclass))
        h += [
            ("Core-UUID", c.core_uuid),
            ("FreeSWITCH-Hostname", c.hostname),
            ("FreeSWITCH-Switchname", c.hostname),
            ("FreeSWITCH-IPv4", c.ipv4),
            ("FreeSWITCH-IPv6", c.ipv6),
            ("Event-Date-Local", time.strftime("%Y-%m-%d %H:%M:%S", lt)),
            ("Event-Date-GMT", time.strftime("%a, %d %b %Y %H:%M:%S GMT", gt)),
            ("Event-Date-Timestamp", str(micros)),
            ("Event-Calling-File", calling[0]),
            ("Event-Calling-Function", calling[1]),
            ("Event-Calling-Line-Number", calling[2]),
            ("Event-Sequence", str(self.sequence)),
        ]
        return h

    def publish(self, ev: SimEvent) -> None:
        """Deliver ``ev`` to every subscriber that wants it and to every listener."""
        self.count += 1
        subclass = ev.get("Event-Subclass") if ev.name == "CUSTOM" else None
        for s in list(self._candidates(ev.uuid)):
            if s.sub.wants(ev.name, ev.uuid, subclass) and s.sub.passes(ev):
                try:
                    s.deliver(ev)
                except Exception:
                    log.exception("event delivery failed for %s", ev.name)
        for fn in list(self.listeners):
            try:
                fn(ev)
            except Exception:
                log.exception("event listener failed for %s", ev.name)
