"""The simulated channel: FreeSWITCH's channel data (states, caller profile, variables) and its events.

Header sets follow the captures: a caller-profile field appears only when it has a value (an originated
leg has no Caller-Username until it has one), codec headers once media is up, ``Hangup-Cause`` once the
channel is down, ``Other-Type``/``Other-Leg-*`` once it was bridged. Every state change fires its event
through the simulator's bus; one greenlet per channel (its "session") runs its applications in order.

Hold follows switch_channel.c: the leg that holds (a phone's re-INVITE, ``uuid_hold``) goes HELD and gets
``Last-Hold`` (then CHANNEL_HOLD) and the other leg hears ``local_stream://moh``; taking it off hold goes
UNHELD, adds the time to ``Hold-Accum``, goes ACTIVE, stops the music (then CHANNEL_UNHOLD); a hang-up
ends a hold in progress and counts it (no event); the CDR variables ``hold_accum_seconds/_ms/_usec``,
``last_hold_epoch/_uepoch`` (and ``hold_stamp``, ``hold_events``) are set at the end.
"""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

import gevent
import gevent.event

from cc.esl.protocol import new_uuid, url_encode
from cc.sim.events import Block, EventBus, SimEvent
from cc.sim.scheduler import Scheduler

__all__ = ["STATE_NUMBERS", "App", "Channel", "Program", "Switch"]

log = logging.getLogger(__name__)

STATE_NUMBERS = {
    "CS_NEW": 0, "CS_INIT": 1, "CS_ROUTING": 2, "CS_SOFT_EXECUTE": 3, "CS_EXECUTE": 4,
    "CS_EXCHANGE_MEDIA": 5, "CS_PARK": 6, "CS_CONSUME_MEDIA": 7, "CS_HIBERNATE": 8, "CS_RESET": 9,
    "CS_HANGUP": 10, "CS_REPORTING": 11, "CS_DESTROY": 12, "CS_NONE": 13,
}
CALLSTATE_NUMBERS = {"DOWN": 0, "DIALING": 1, "RINGING": 2, "EARLY": 3, "ACTIVE": 4, "HELD": 5,
                     "RING_WAIT": 6, "HANGUP": 7, "UNHELD": 8}

_PROFILE_STR = ("Direction", "Logical-Direction", "Username", "Dialplan", "Caller-ID-Name", "Caller-ID-Number",
                "Orig-Caller-ID-Name", "Orig-Caller-ID-Number", "Callee-ID-Name", "Callee-ID-Number",
                "Network-Addr", "ANI", "Destination-Number", "Unique-ID", "Source", "Transfer-Source", "Context",
                "RDNIS", "Channel-Name")
_PROFILE_TIMES = ("Profile-Created-Time", "Channel-Created-Time", "Channel-Answered-Time",
                  "Channel-Progress-Time", "Channel-Progress-Media-Time", "Channel-Hangup-Time",
                  "Channel-Transfer-Time", "Channel-Resurrect-Time", "Channel-Bridged-Time",
                  "Channel-Last-Hold", "Channel-Hold-Accum")
_PROFILE_FLAGS = (("Screen-Bit", "true"), ("Privacy-Hide-Name", "false"), ("Privacy-Hide-Number", "false"))
_CODEC = (("Channel-Read-Codec-Name", "PCMU"), ("Channel-Read-Codec-Rate", "8000"),
          ("Channel-Read-Codec-Bit-Rate", "64000"), ("Channel-Write-Codec-Name", "PCMU"),
          ("Channel-Write-Codec-Rate", "8000"), ("Channel-Write-Codec-Bit-Rate", "64000"))

#: Event-Calling-* of CHANNEL_HOLD/UNHOLD by who holds: the phone (the table's) or ``uuid_hold``.
HOLD_CALLING = {("CHANNEL_HOLD", "api"): ("switch_ivr.c", "switch_ivr_hold", "1558"),
                ("CHANNEL_UNHOLD", "api"): ("switch_ivr.c", "switch_ivr_unhold", "1638")}
#: What the other leg hears while one holds (FreeSWITCH's default ``hold_music``).
MOH = "local_stream://moh"
_BROADCAST_CALLING = ("switch_ivr_async.c", "switch_ivr_broadcast", "5732")

#: Hangup-Cause -> variable_hangup_cause_q850 (switch_channel.c's cause table).
Q850 = {"UNALLOCATED_NUMBER": 1, "NO_ROUTE_DESTINATION": 3, "NORMAL_CLEARING": 16, "USER_BUSY": 17,
        "NO_USER_RESPONSE": 18, "NO_ANSWER": 19, "SUBSCRIBER_ABSENT": 20, "CALL_REJECTED": 21,
        "DESTINATION_OUT_OF_ORDER": 27, "INVALID_NUMBER_FORMAT": 28, "NORMAL_UNSPECIFIED": 31,
        "NORMAL_TEMPORARY_FAILURE": 41, "SWITCH_CONGESTION": 42, "INCOMPATIBLE_DESTINATION": 88,
        "RECOVERY_ON_TIMER_EXPIRE": 102, "ORIGINATOR_CANCEL": 487, "LOSE_RACE": 502, "SYSTEM_SHUTDOWN": 503,
        "USER_NOT_REGISTERED": 606, "INVALID_GATEWAY": 608, "MANAGER_REQUEST": 503,
        # causes a called party's network gives (cc.sim.parties): below 128 the Q.850 number is the cause's own
        "NUMBER_CHANGED": 22, "FACILITY_NOT_SUBSCRIBED": 50, "INCOMING_CALL_BARRED": 54,
        "NETWORK_OUT_OF_ORDER": 38, "SERVICE_UNAVAILABLE": 63, "SERVICE_NOT_IMPLEMENTED": 79,
        "EXCHANGE_ROUTING_ERROR": 25, "INTERWORKING": 127}
#: Who hangs up as the far end (a BYE from the phone: ``recv_bye``): a caller, an agent, a called party.
_FAR_END = ("caller", "agent", "party")

#: A program: the applications a channel runs in order, as (name, argument, Application-UUID or None).
Program = list[tuple[str, str, str | None]]


def _profile_lines(prefix: str, prof: dict[str, str], times: dict[str, int], index: int | None
                   ) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for k in _PROFILE_STR:
        v = prof.get(k, "")
        if v:
            out.append((f"{prefix}-{k}", v))
    if index is not None:
        out.append((f"{prefix}-Profile-Index", str(index)))
    for k in _PROFILE_TIMES:
        out.append((f"{prefix}-{k}", str(times.get(k, 0))))
    for k, v in _PROFILE_FLAGS:
        out.append((f"{prefix}-{k}", v))
    return out


#: A dialplan application: ``fn(channel, arg) -> Application-Response`` (cc.sim.apps registers them).
App = Callable[["Channel", str], str]


class Switch(Protocol):
    """What a channel, its applications and its endpoints need of the switch that holds it.

    cc.sim.Simulator is the one implementation; naming the needs here keeps this module below it (the
    simulator builds channels, a channel never imports the simulator).
    """

    @property
    def scheduler(self) -> Scheduler:
        """The simulated clock and its timers."""

    @property
    def bus(self) -> EventBus:
        """Where the channel's events go."""

    @property
    def endpoint_host(self) -> str:
        """The Network-Addr of the simulated phones."""

    @property
    def channels(self) -> Mapping[str, Channel]:
        """The live channels by uuid."""

    @property
    def apps(self) -> Mapping[str, App]:
        """The dialplan applications by name."""

    def channel_gone(self, ch: Channel) -> None:
        """``ch`` is destroyed: forget it."""

    def route(self, ch: Channel, dest: str) -> Program:
        """The dialplan program ``dest`` runs for ``ch``."""

    def transfer(self, ch: Channel, dest: str, dialplan: str = "XML", context: str | None = None) -> None:
        """Transfer ``ch`` to ``dest`` (the ``transfer`` application and ``uuid_transfer``)."""

    def socket_app(self, ch: Channel, arg: str) -> None:
        """Connect ``ch`` to an outbound ESL socket (the ``socket`` application)."""

    def bridge_app(self, a: Channel, dial: str) -> None:
        """Originate ``dial`` and bridge ``a`` to the leg that answers (the ``bridge`` application)."""

    def bridge_peer(self, b: Channel) -> None:
        """Run the bridged B-leg's side of a bridge."""

    def uuid_bridge_session(self, ch: Channel, other_uuid: str) -> None:
        """Bridge ``ch`` to ``other_uuid`` (``uuid_bridge`` from ``ch``'s side)."""

    def prompt_duration(self, path: str) -> float | None:
        """How long ``path`` plays, in seconds; None when it cannot be played."""

    def start_recording(self, ch: Channel, path: str, how: str) -> None:
        """Start recording ``ch`` to ``path``."""

    def stop_recording(self, ch: Channel, path: str, cause: str) -> bool:
        """Stop ``ch``'s recording to ``path`` (or ``all``); False when there was none."""

    def stop_recordings(self, ch: Channel, cause: str) -> None:
        """Stop every recording of ``ch``."""


class Channel:
    """One call leg inside the simulator."""

    def __init__(self, sim: Switch, *, uuid: str | None, name: str, direction: str,
                 profile: dict[str, str], presence_id: str = "", variables: Iterable[tuple[str, str]] = (),
                 hit_dialplan: bool = True) -> None:
        self.sim = sim
        self.uuid = uuid or new_uuid()
        self.name = name
        self.direction = direction
        self.presence_id = presence_id
        self.hit_dialplan = hit_dialplan
        self.state = "CS_NEW"
        self.callstate = "DOWN"
        self.answer_state = "ringing"
        self.media = False
        self.codec = False      # codec negotiated (an inbound SIP call's, before its dialplan runs): codec headers
        self.answered = False
        self.hangup_cause: str | None = None
        self.call_uuid = self.uuid
        now = self.micros()
        self.profile: dict[str, str] = dict(profile)
        self.profile.setdefault("Unique-ID", self.uuid)
        self.profile.setdefault("Channel-Name", name)
        self.profile.setdefault("Direction", direction)
        self.profile.setdefault("Logical-Direction", direction)
        self.profile_index = 1
        self.times: dict[str, int] = {"Profile-Created-Time": now, "Channel-Created-Time": now}
        self.other: tuple[str, list[tuple[str, str]]] | None = None
        self.variables: dict[str, str] = {}
        self._var_lines: Block | None = None
        self._prof_key: tuple[Any, ...] | None = None
        self._prof_block: Block | None = None
        self._other_block: Block | None = None
        for k, v in variables:
            self.variables[k] = v
        self.created = sim.scheduler.now()
        self.answered_at: float | None = None
        self.progress_at: float | None = None
        self.hangup_us = 0
        self.bridged_at: float | None = None
        self.ended_at: float | None = None
        # session
        self.program: Program = []
        self.next_program: Program | None = None
        self.queue: collections.deque[tuple[str, str, str | None]] = collections.deque()
        self.broadcasts: collections.deque[tuple[str, str, str | None]] = collections.deque()
        self.parked_by: str | None = None          # "park", "socket", "state"
        self.unpark_requested = False
        self.break_requested = False
        self.current_app: str | None = None
        self.last_response = "_none_"
        self.bridged_to: Channel | None = None
        self.bridge_kind: str | None = None        # "uuid_bridge" or "bridge"
        self.ever_bridged_to: str | None = None
        self.dtmf: str = ""
        self.recordings: dict[str, tuple[float, str]] = {}   # path -> (started sim time, how)
        self.held = False
        self.hold_events: list[tuple[int, int]] = []   # (on, off) in µs, newest first
        self.moh: tuple[Channel, str, Any] | None = None   # the music this leg's hold plays to the other
        self.unhold_command = False                # the music is being stopped by an unhold
        self.reroute = False                       # a transfer: route again before the next program
        self.eavesdrop_mode: str | None = None     # eavesdrop app: listen | other | target | three_way
        self.current_app_uuid: str | None = None
        self.socket_conn: Any = None               # cc.sim.esl_server.OutboundConnection
        self.endpoint: Any = None                  # caller or agent behaviour
        self.gone = gevent.event.Event()           # set after CHANNEL_DESTROY
        self.down = gevent.event.Event()           # set at CHANNEL_HANGUP
        self._waiters: list[gevent.event.Event] = []
        #: the simulated time of the timer that last woke this channel's wait (None: woken by something else);
        #: the channel's greenlet runs later than that timer on a loaded machine, and reads :meth:`now` instead
        self._poked_at: float | None = None
        self.woke_at: float | None = None
        self._session: gevent.Greenlet | None = None
        self.on_hangup: list[Callable[[Channel], None]] = []
        self.on_answer: list[Callable[[Channel], None]] = []
        self.pending_bridge: tuple[str, bool, list[tuple[str, str]]] | None = None
        self.bridge_ready = False
        self.bridge_a = False
        self._torn = False
        self._reported = False
        self._destroying = False
        self.originating = False        # a leg being originated: the originate finishes its teardown
        self.event_names: list[str] = []

    # ------------------------------------------------------------------ basics
    def micros(self) -> int:
        """Simulated Unix time in microseconds."""
        return int(self.sim.scheduler.wall() * 1_000_000)

    @property
    def hungup(self) -> bool:
        """Whether the channel is down (CHANNEL_HANGUP fired)."""
        return self.hangup_cause is not None

    def set_var(self, name: str, value: str | None) -> None:
        """Set (or with None unset) a channel variable."""
        if value is None:
            self.variables.pop(name, None)
        else:
            self.variables[name] = value
        self._var_lines = None

    def get_var(self, name: str) -> str | None:
        """A channel variable, or a few built-in names FreeSWITCH answers from the channel itself."""
        if name in self.variables:
            return self.variables[name]
        builtin = {
            "uuid": self.uuid, "channel_name": self.name, "destination_number":
            self.profile.get("Destination-Number", ""), "caller_id_number": self.profile.get("Caller-ID-Number", ""),
            "caller_id_name": self.profile.get("Caller-ID-Name", ""), "call_uuid": self.call_uuid,
            "direction": self.direction, "state": self.state, "answer_state": self.answer_state,
            "hangup_cause": self.hangup_cause or "",
        }
        v = builtin.get(name)
        return v if v else None

    # ------------------------------------------------------------------ events
    def _profile_block(self) -> Block:
        key = (tuple(self.profile.items()), tuple(self.times.items()), self.profile_index)
        if self._prof_key != key or self._prof_block is None:
            self._prof_key = key
            self._prof_block = Block(_profile_lines("Caller", self.profile, self.times, self.profile_index))
        return self._prof_block

    def headers(self, with_vars: bool = True) -> list[tuple[str, str] | Block]:
        """The channel part of an event, in FreeSWITCH's order (profile, other leg, variables as Blocks)."""
        h: list[tuple[str, str] | Block] = [
            ("Channel-State", self.state),
            ("Channel-Call-State", self.callstate),
            ("Channel-State-Number", str(STATE_NUMBERS.get(self.state, 0))),
            ("Channel-Name", self.name),
            ("Unique-ID", self.uuid),
            ("Call-Direction", self.direction),
            ("Presence-Call-Direction", self.direction),
            ("Channel-HIT-Dialplan", "true" if self.hit_dialplan else "false"),
        ]
        h.append(("Channel-Call-UUID", self.call_uuid))
        h.append(("Answer-State", self.answer_state))
        if self.hangup_cause:
            h.append(("Hangup-Cause", self.hangup_cause))
        if self.media or self.codec:
            h.extend(_CODEC)
        h.append(self._profile_block())
        if self.other is not None:
            h.append(("Other-Type", self.other[0]))
            if self._other_block is None or self._other_block.pairs is not self.other[1]:
                self._other_block = Block(self.other[1])
            h.append(self._other_block)
        if with_vars:
            if self._var_lines is None:
                self._var_lines = Block([(f"variable_{k}", v) for k, v in self.variables.items()])
            h.append(self._var_lines)
        return h

    def fire(self, name: str, pre: Iterable[tuple[str, str]] = (), post: Iterable[tuple[str, str]] = (),
             with_vars: bool = True, calling: tuple[str, str, str] | None = None) -> None:
        """Build and publish a channel event (only when someone wants it); ``calling``: its Event-Calling-*."""
        self.event_names.append(name)
        bus = self.sim.bus
        if not bus.wanted(name, self.uuid):
            return
        h: list[tuple[str, str] | Block] = list(bus.core_headers(name, calling=calling))
        h.extend(pre)
        h.extend(self.headers(with_vars))
        h.extend(post)
        bus.publish(SimEvent(name, h, uuid=self.uuid))

    def channel_data(self) -> bytes:
        """The outbound ``connect`` reply: CHANNEL_DATA headers, URL-encoded, then the reply headers."""
        h = self.sim.bus.core_headers("CHANNEL_DATA")
        h.extend(_profile_lines("Channel", self.profile, self.times, self.profile_index))
        h.extend(SimEvent("CHANNEL_DATA", self.headers(True)).headers)
        lines = [f"{k}: {url_encode(v) if v else '_undef_'}\n" for k, v in h]
        lines.append("Content-Type: command/reply\nReply-Text: %2BOK%0A\nSocket-Mode: async\nControl: full\n\n")
        return "".join(lines).encode("utf-8")

    def set_state(self, state: str) -> None:
        """Change the channel state (fires CHANNEL_STATE)."""
        self.state = state
        self.fire("CHANNEL_STATE", with_vars=False)

    def set_callstate(self, cs: str) -> None:
        """Change the call state (fires CHANNEL_CALLSTATE)."""
        old = self.callstate
        if old == cs:
            return
        self.callstate = cs
        self.fire("CHANNEL_CALLSTATE", pre=[("Original-Channel-Call-State", old),
                                            ("Channel-Call-State-Number", str(CALLSTATE_NUMBERS.get(cs, 0)))],
                  with_vars=False)

    def set_hold(self, on: bool, *, by: str = "phone") -> bool:
        """Mark this leg holding (``on``) or not; True when it changed.

        ``by="phone"``: the phone's re-INVITE (switch_channel_mark_hold); ``by="api"``: ``uuid_hold``
        (switch_ivr_hold / switch_ivr_unhold). Either way the bridged leg hears music on hold (a
        broadcast ``playback local_stream://moh`` 0.2 s later) until the hold ends. Taking off hold goes
        UNHELD, adds the time to ``Hold-Accum``, then ACTIVE, and CHANNEL_UNHOLD carries ACTIVE.
        """
        if on == self.held or self.hungup:
            return False
        self.held = on
        if self.answered:   # an unanswered leg only gets the event
            if on:
                self.set_callstate("HELD")                  # fired before Last-Hold is stamped
                self.times["Channel-Last-Hold"] = self.micros()
            else:
                self.set_callstate("UNHELD")
                self._close_hold()
                self.set_callstate("ACTIVE")
        if on:
            self._start_moh()
        else:
            self._stop_moh()
        name = "CHANNEL_HOLD" if on else "CHANNEL_UNHOLD"
        self.fire(name, calling=HOLD_CALLING.get((name, by)))
        return True

    def _start_moh(self) -> None:
        peer = self.bridged_to
        if peer is None or peer.hungup:
            return
        app_uuid = new_uuid()
        self.moh = (peer, app_uuid, self.sim.scheduler.call_later(0.2, peer.broadcast, "playback", MOH, app_uuid))

    def _stop_moh(self, wait: bool = True) -> None:
        if self.moh is None:
            return
        peer, app_uuid, timer = self.moh
        self.moh = None
        timer.cancel()
        if any(b[2] == app_uuid for b in peer.broadcasts):     # not started yet
            peer.broadcasts = collections.deque(b for b in peer.broadcasts if b[2] != app_uuid)
        elif peer.current_app_uuid == app_uuid:
            peer.break_requested = True
            peer.unhold_command = True
            peer.poke()
            deadline = time.monotonic() + (1.0 if wait else 0.0)   # the music stops before CHANNEL_UNHOLD
            if peer.unhold_command:
                self.woke_at = None   # this greenlet yields on real time here: its last wake-up is past
            while peer.unhold_command and not peer.hungup and time.monotonic() < deadline:
                gevent.sleep(0.001)

    def private_command(self) -> None:
        """PRIVATE_COMMAND: the broadcast command a channel takes from its queue (switch_ivr_parse_next_event)."""
        bus = self.sim.bus
        if not bus.wanted("PRIVATE_COMMAND", self.uuid):
            return
        h: list[tuple[str, str] | Block] = list(bus.core_headers("COMMAND", calling=_BROADCAST_CALLING))
        h += [("call-command", "execute"), ("execute-app-name", "playback"), ("execute-app-arg", MOH),
              ("event-lock", "true"), ("lead-frames", "5"), ("loops", "-1")]
        h += bus.core_headers("PRIVATE_COMMAND", calling=("switch_ivr.c", "switch_ivr_parse_next_event", "804"))
        h += self.headers(with_vars=False)
        bus.publish(SimEvent("PRIVATE_COMMAND", h, uuid=self.uuid))

    def _close_hold(self) -> None:
        last = self.times.get("Channel-Last-Hold", 0)
        if last:
            now = self.micros()
            self.times["Channel-Hold-Accum"] = self.times.get("Channel-Hold-Accum", 0) + now - last
            self.hold_events.insert(0, (last, now))

    # ------------------------------------------------------------------ waiting
    def poke(self) -> None:
        """Wake every wait on this channel (something changed: DTMF, hangup, break, unbridge ...)."""
        self._poked_at = self.sim.scheduler.pinned_now()
        waiters, self._waiters = self._waiters, []
        for ev in waiters:
            ev.set()

    def now(self) -> float:
        """Simulated now for this channel's greenlet right after a :meth:`wait`: the time of the timer that woke it
        (a timer runs at its due time even when the machine runs it late; so does what it wakes), else the
        scheduler's now. A duration measured from one wake-up to another (a playback stopped by an unhold)
        then does not depend on machine load."""
        woke = self.woke_at
        return self.sim.scheduler.now() if woke is None else woke

    def wait(self, seconds: float | None, cond: Callable[[], bool]) -> bool:
        """Wait up to ``seconds`` simulated seconds (None: forever) for ``cond()``; True when it holds."""
        sched = self.sim.scheduler
        deadline = None if seconds is None else self.now() + seconds
        self.woke_at = None
        while not cond():
            ev = gevent.event.Event()
            self._waiters.append(ev)
            timer = None
            if deadline is not None:
                if deadline <= sched.now():
                    return False
                timer = sched.call_at(deadline, self._deadline, ev)
            self._poked_at = None
            ev.wait()
            self.woke_at = self._poked_at
            if timer is not None:
                timer.cancel()
        return True

    def _deadline(self, ev: gevent.event.Event) -> None:
        self._poked_at = self.sim.scheduler.pinned_now()
        ev.set()

    # ------------------------------------------------------------------ call progress
    def ring_ready(self) -> None:
        """180 Ringing: CHANNEL_PROGRESS."""
        if self.answered or self.hungup:
            return
        self.times["Channel-Progress-Time"] = self.micros()
        self.progress_at = self.sim.scheduler.now()
        if self.direction == "outbound":
            self.profile.setdefault("Network-Addr", self.sim.endpoint_host)
        self.fire("CHANNEL_PROGRESS")
        self.set_callstate("RINGING")

    def pre_answer(self) -> None:
        """183 with media: CHANNEL_PROGRESS_MEDIA."""
        if self.media or self.hungup:
            return
        self.media = True
        self.answer_state = "early"
        self.times["Channel-Progress-Media-Time"] = self.micros()
        self.fire("CHANNEL_PROGRESS_MEDIA")
        self.set_callstate("EARLY")

    def answer(self) -> None:
        """200 OK: media up, CHANNEL_ANSWER."""
        if self.answered or self.hungup:
            return
        if self.direction == "inbound" and not self.media and not self.codec:
            self.pre_answer()       # with the codec negotiated early (the 2026-12 set-up) no PROGRESS_MEDIA
        self.media = True
        self.answered = True
        self.answered_at = self.sim.scheduler.now()
        self.answer_state = "answered"
        self.times["Channel-Answered-Time"] = self.micros()
        if self.direction == "outbound":
            self.profile.setdefault("Network-Addr", self.sim.endpoint_host)
        self.fire("CHANNEL_ANSWER")
        self.set_callstate("ACTIVE")
        if self.direction == "outbound" and "Username" not in self.profile:
            # the CALL_UPDATE after an originated answer: caller id from the callee, callee id cleared
            if not self.profile.get("Caller-ID-Name"):
                self.profile["Caller-ID-Name"] = self.profile.get("Callee-ID-Name") or "Outbound Call"
            self.profile.pop("Callee-ID-Name", None)
            self.profile["Callee-ID-Number"] = self.profile.get("Orig-Caller-ID-Number", "0000000000")
        self.poke()
        if self.endpoint is not None:
            self.endpoint.on_answered(self)
        for fn in list(self.on_answer):
            fn(self)

    def hangup(self, cause: str = "NORMAL_CLEARING", *, by: str = "switch") -> bool:
        """Take the channel down (CHANNEL_HANGUP); the session greenlet finishes the teardown."""
        if self.hungup:
            return False
        if self.held:   # the hang-up ends the hold: its time counts in hold_accum
            self.held = False
            self._close_hold()
        self._stop_moh(wait=False)      # no yielding inside a hang-up
        self.hangup_cause = cause
        self.answer_state = "hangup"
        self.hangup_us = self.micros()      # Caller-Channel-Hangup-Time once the call state is HANGUP (teardown)
        if by in _FAR_END:       # the far end's BYE: its status is known at CHANNEL_HANGUP
            for k, v in (("sip_term_status", "200"), ("sip_term_cause", "16"), ("proto_specific_hangup_cause",
                                                                                 "sip:200")):
                self.set_var(k, v)
        self.fire("CHANNEL_HANGUP")
        if by in _FAR_END and "sip_hangup_disposition" not in self.variables:
            self.set_var("sip_hangup_disposition", "recv_bye")     # (ours, send_bye: once the BYE goes out)
        self.down.set()
        self.poke()
        peer = self.bridged_to
        if peer is not None:
            peer.poke()
        for fn in list(self.on_hangup):
            try:
                fn(self)
            except Exception:
                log.exception("hangup hook failed on %s", self.uuid)
        if (self._session is None or self._session.dead) and not self.originating:
            self.teardown()
        return True

    def teardown(self, upto: str = "destroy") -> None:
        """After the session ends: CS_HANGUP, CS_REPORTING, CHANNEL_HANGUP_COMPLETE (``upto="report"`` stops
        here: a failed originate's BACKGROUND_JOB comes next), then CHANNEL_DESTROY."""
        if self.gone.is_set() or self._destroying:
            return
        if self._torn:
            if upto == "destroy" and self._reported:
                self._destroy()
            return
        self._torn = True
        if not self.hungup:
            self.hangup("NORMAL_CLEARING")
        self.sim.stop_recordings(self, "success-maxtime")
        self.set_state("CS_HANGUP")
        self.callstate = "HANGUP"
        self.times["Channel-Hangup-Time"] = self.hangup_us
        self.set_state("CS_REPORTING")
        self.ended_at = self.sim.scheduler.now()
        if "sip_hangup_disposition" not in self.variables:     # ours: BYE, CANCEL an INVITE we sent, or refuse one
            self.set_var("sip_hangup_disposition", "send_bye" if self.answered else
                         "send_cancel" if self.direction == "outbound" else "send_refuse")
        self.set_var("hangup_cause", self.hangup_cause)
        self.set_var("hangup_cause_q850", str(Q850.get(self.hangup_cause or "", 16)))
        self.set_var("billsec", str(int(self.ended_at - self.answered_at) if self.answered_at is not None else 0))
        self.set_var("progresssec", str(int(self.progress_at - self.created) if self.progress_at is not None else 0))
        self.set_var("duration", str(int(self.ended_at - self.created)))
        accum = self.times.get("Channel-Hold-Accum", 0)
        self.set_var("hold_accum_seconds", str(accum // 1_000_000))
        self.set_var("hold_accum_ms", str(accum // 1_000))
        self.set_var("hold_accum_usec", str(accum))
        last = self.times.get("Channel-Last-Hold", 0)
        self.set_var("last_hold_epoch", str(last // 1_000_000))
        self.set_var("last_hold_uepoch", str(last))
        if self.hold_events:
            self.set_var("hold_stamp", time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(last / 1e6)))
            self.set_var("hold_events", "{" + ",".join(f"{{{a},{b}}}" for a, b in self.hold_events) + "}")
        self.fire("CHANNEL_HANGUP_COMPLETE", pre=[("Hangup-Cause", self.hangup_cause or "NORMAL_CLEARING")])
        if self.socket_conn is not None:
            self.socket_conn.channel_down()
        self._reported = True
        if upto == "destroy":
            self._destroy()

    def _destroy(self) -> None:
        self._destroying = True
        self.call_uuid = self.uuid      # a B-leg's Channel-Call-UUID is its own again at the end
        self.fire("CHANNEL_DESTROY")
        self.state = "CS_DESTROY"
        self.fire("CHANNEL_STATE", with_vars=False)
        self.sim.channel_gone(self)
        self.gone.set()
        self.socket_conn = None   # it refers to this channel: a finished call is freed without the cyclic collector

    # ------------------------------------------------------------------ session
    def start_session(self, program: Program) -> None:
        """Start the channel's session greenlet running ``program`` (the dialplan's applications)."""
        self.program = program
        self._session = gevent.spawn(self._run_session)

    def _run_session(self) -> None:
        try:
            while not self.hungup:
                prog, self.program = self.program, []
                for app, arg, app_uuid in prog:
                    if self.hungup or self.next_program is not None:
                        break
                    self.execute(app, arg, app_uuid)
                if self.hungup:
                    break
                if self.next_program is not None:
                    self.program, self.next_program = self.next_program, None
                    if self.reroute:        # a transfer: the state machine routes the call again
                        self.reroute = False
                        self.set_callstate("RINGING")
                        self.set_state("CS_ROUTING")
                        self.set_callstate("ACTIVE" if self.answered else "RINGING")
                        self.set_state("CS_EXECUTE")
                    continue
                if self.parked_by == "state":
                    self.park_loop()
                    continue
                self.hangup("NORMAL_CLEARING")
        except gevent.GreenletExit:
            raise
        except Exception:
            log.exception("call %s: session failed", self.uuid)
            self.hangup("NORMAL_TEMPORARY_FAILURE")
        finally:
            self._session = None
            self.teardown()

    def execute(self, app: str, arg: str, app_uuid: str | None = None, *, quiet: bool = False) -> str:
        """Run one dialplan application with its CHANNEL_EXECUTE / CHANNEL_EXECUTE_COMPLETE events."""
        if app == "uuid_bridge":
            for st in ("CS_HIBERNATE", "CS_RESET", "CS_SOFT_EXECUTE"):
                self.set_state(st)
            first = self.pending_bridge is not None and self.pending_bridge[1]
            self.fire("CHANNEL_EXECUTE", post=[("Application", app), ("Application-Data", arg)],
                      calling=("switch_ivr_bridge.c", "uuid_bridge_on_soft_execute", "1236" if first else "1243"))
            self.sim.uuid_bridge_session(self, arg)
            return "_none_"
        if app == "__bridge_peer__":
            self.sim.bridge_peer(self)
            return "_none_"
        fn = self.sim.apps.get(app)
        if fn is None:
            log.warning("call %s: invalid application %s", self.uuid, app)
            self.hangup("DESTINATION_OUT_OF_ORDER")
            return "_none_"
        app_uuid = app_uuid or new_uuid()
        post: list[tuple[str, str]] = [("Application", app)]
        if arg:
            post.append(("Application-Data", arg))
        self.set_var("current_application", app)
        self.set_var("current_application_data", arg or None)
        self.set_var("current_application_response", None)   # switch_core_session_exec clears it
        prev, prev_uuid = self.current_app, self.current_app_uuid
        self.current_app, self.current_app_uuid = app, app_uuid
        self.fire("CHANNEL_EXECUTE", post=[*post, ("Application-UUID", app_uuid)])
        self.break_requested = False
        try:
            response = fn(self, arg) or "_none_"
        finally:
            self.current_app, self.current_app_uuid = prev, prev_uuid
        if app != "socket":
            self.last_response = response
        if response != "_none_":    # only applications with a response set it (playback: FILE PLAYED ...)
            self.set_var("current_application_response", response)
        self.fire("CHANNEL_EXECUTE_COMPLETE",
                  post=[*post, ("Application-Response", response), ("Application-UUID", app_uuid)])
        if self.unhold_command:     # the music on hold stopped by an unhold: the queued command's event
            self.unhold_command = False
            self.private_command()
        return response

    def enqueue(self, app: str, arg: str, app_uuid: str | None) -> None:
        """Queue an application (sendmsg execute, uuid_broadcast); it runs when the channel is parked."""
        self.queue.append((app, arg, app_uuid))
        self.poke()

    def broadcast(self, app: str, arg: str, app_uuid: str | None) -> None:
        """uuid_broadcast: run ``app`` as soon as the channel looks at its message queue (park, sleep,
        echo, bridge), before what sendmsg queued."""
        self.broadcasts.append((app, arg, app_uuid))
        self.poke()

    def run_broadcasts(self) -> None:
        """Run the pending broadcasts now."""
        while self.broadcasts and not self.hungup:
            app, arg, app_uuid = self.broadcasts.popleft()
            self.execute(app, arg, app_uuid)

    def run_queued(self) -> None:
        """Run every queued application now (from park, socket and bridge loops)."""
        self.run_broadcasts()
        while self.queue and not self.hungup and not self.unpark_requested:
            app, arg, app_uuid = self.queue.popleft()
            self.execute(app, arg, app_uuid)
            self.run_broadcasts()

    def park_loop(self, by: str = "state") -> None:
        """Stay parked, running queued applications, until hung up or taken out (uuid_bridge, transfer)."""
        self.parked_by = by
        self.unpark_requested = False
        if by == "state":
            self.set_state("CS_PARK")
        self.fire("CHANNEL_PARK")
        try:
            while True:
                self.wait(None, lambda: self.hungup or self.unpark_requested or bool(self.queue)
                          or bool(self.broadcasts) or self.next_program is not None or self._socket_closed())
                if self.hungup or self.unpark_requested or self.next_program is not None or self._socket_closed():
                    break
                self.run_queued()
        finally:
            self.parked_by = None
            self.unpark_requested = False
            self.fire("CHANNEL_UNPARK")

    def _socket_closed(self) -> bool:
        conn = self.socket_conn
        return conn is not None and conn.closed and self.current_app == "socket"

    def transfer(self, program: Program) -> None:
        """Leave whatever runs now and run ``program`` next (uuid_transfer, transfer, uuid_bridge)."""
        self.next_program = program
        self.break_requested = True
        self.poke()

    # ------------------------------------------------------------------ bridging
    def snapshot_other(self) -> list[tuple[str, str]]:
        """This leg's caller profile as the other leg sees it (no Profile-Index, no Transfer-Source)."""
        prof = {k: v for k, v in self.profile.items() if k != "Transfer-Source"}
        return _profile_lines("Other-Leg", prof, {"Profile-Created-Time": self.times.get("Profile-Created-Time", 0),
                                                  "Channel-Created-Time": self.times.get("Channel-Created-Time", 0),
                                                  "Channel-Answered-Time": self.times.get("Channel-Answered-Time", 0),
                                                  "Channel-Progress-Time": self.times.get("Channel-Progress-Time", 0)},
                              None)

    def receive_dtmf(self, digit: str, duration: int = 2240, source: str = "RTP") -> None:
        """A digit from the far end (``source`` RTP) or ``uuid_recv_dtmf`` (APP): DTMF event, into the buffer."""
        if self.hungup:
            return
        self.dtmf += digit
        self.fire("DTMF", post=[("DTMF-Digit", digit), ("DTMF-Duration", str(duration)), ("DTMF-Source", source)],
                  with_vars=False)
        self.poke()

    def snapshot(self) -> dict[str, Any]:
        """A plain dict for ``show channels`` rows and call results."""
        return {"uuid": self.uuid, "name": self.name, "state": self.state, "callstate": self.callstate,
                "answered": self.answered, "hangup_cause": self.hangup_cause,
                "created": time.strftime("%Y-%m-%d %H:%M:%S",
                                         time.localtime(self.times["Channel-Created-Time"] / 1e6))}
