"""`cc.sim.Simulator`: a FreeSWITCH stand-in with real ESL over TCP, simulated callers and agents.

Usable in-process (tests: ``with Simulator(socket_address=app.address, time_scale=0.01) as sim``) or
standalone through ``ccctl sim``. Inbound calls run the captured public dialplan (``set outside_call``,
``export RFC2822_DATE``) and then their route: by default the ``socket`` application towards the
configured outbound address (``async full``), or ``park``, ``echo``, ``hangup`` or a list of
applications. Agents are reached by ``originate``/``bridge`` dial strings.
"""

from __future__ import annotations

import logging
import math
import re
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gevent
import gevent.event
import gevent.socket

from cc.errors import ConfigError, ESLTimeout, InvalidValue
from cc.esl.protocol import new_uuid
from cc.sim.api import Api
from cc.sim.apps import APPS
from cc.sim.channel import Q850, App, Channel, Program
from cc.sim.endpoints import (
    AgentLeg,
    AgentRun,
    AgentSpec,
    CallerGroup,
    CallerRun,
    CallerSpec,
    DigitPress,
    match_agent_user,
)
from cc.sim.esl_server import InboundServer, OutboundConnection
from cc.sim.events import CoreInfo, EventBus, SimEvent
from cc.sim.parties import REFUSALS as PARTY_REFUSALS
from cc.sim.parties import PartyLeg, PartyPopulation, PartyStats, refusal_for
from cc.sim.scheduler import Scheduler
from cc.sim.wav import wav_duration, write_silence

__all__ = ["CallHandle", "CallResult", "Simulator", "mask_number", "parse_address", "parse_dial"]

log = logging.getLogger(__name__)

DIALSTATUS = {"USER_BUSY": "BUSY", "NO_ANSWER": "NOANSWER", "NO_USER_RESPONSE": "NOANSWER",
              "CALL_REJECTED": "BUSY", "USER_NOT_REGISTERED": "CHANUNAVAIL",
              "NORMAL_TEMPORARY_FAILURE": "CHANUNAVAIL", "ORIGINATOR_CANCEL": "CANCEL"}
#: A refused INVITE: Hangup-Cause -> (SIP status, phrase) of the final answer (as the 2026-12 captures show).
_SIP_FAIL = {"USER_BUSY": ("486", "Busy Here"), "CALL_REJECTED": ("603", "Decline"),
             "UNALLOCATED_NUMBER": ("404", "Not Found"), "NO_USER_RESPONSE": ("480", "Temporarily Unavailable"),
             "NORMAL_TEMPORARY_FAILURE": ("503", "Service Unavailable")}
#: Agent modes that refuse the INVITE at once -> Hangup-Cause.
_REFUSALS = {"busy": "USER_BUSY", "reject": "CALL_REJECTED", "not_found": "UNALLOCATED_NUMBER",
             "unavailable": "NO_USER_RESPONSE", "error": "NORMAL_TEMPORARY_FAILURE"}


def mask_number(num: str) -> str:
    """A phone number for logs: all but the last 4 digits masked."""
    return "*" * max(0, len(num) - 4) + num[-4:]


def parse_address(value: str | tuple[str, int], what: str) -> tuple[str, int]:
    """``host:port`` (or a tuple) -> (host, port); a bad one raises InvalidValue naming ``what``."""
    if isinstance(value, tuple):
        return str(value[0]), int(value[1])
    host, sep, port = str(value).rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise InvalidValue(what, value, "expected HOST:PORT")
    return host.strip("[]"), int(port)


def _split_top(s: str, seps: str) -> list[str]:
    out, depth, cur, quote = [], 0, [], ""
    for c in s:
        if quote:
            cur.append(c)
            if c == quote:
                quote = ""
            continue
        if c in "'\"":
            quote = c
        elif c in "{[<":
            depth += 1
        elif c in "}]>":
            depth -= 1
        if c in seps and depth == 0:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(c)
    out.append("".join(cur))
    return out


def _vars(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in _split_top(text, ","):
        k, sep, v = part.partition("=")
        if sep and k.strip():
            v = v.strip()
            if len(v) >= 2 and v[0] == v[-1] and v[0] in "'\"":
                v = v[1:-1]
            out[k.strip()] = v
    return out


def parse_dial(dial: str) -> tuple[dict[str, str], list[list[tuple[str, dict[str, str]]]]]:
    """A dial string -> ({global vars}, failover groups of parallel (target, [leg vars]))."""
    s = dial.strip()
    gvars: dict[str, str] = {}
    if s.startswith("{"):
        end = s.find("}")
        if end > 0:
            gvars = _vars(s[1:end])
            s = s[end + 1:]
    groups: list[list[tuple[str, dict[str, str]]]] = []
    for grp in _split_top(s, "|"):
        legs: list[tuple[str, dict[str, str]]] = []
        for t in _split_top(grp, ","):
            t = t.strip()
            lv: dict[str, str] = {}
            while t[:1] in ("[", "<"):
                close = "]" if t[0] == "[" else ">"
                end = t.find(close)
                if end < 0:
                    break
                lv.update(_vars(t[1:end]))
                t = t[end + 1:].strip()
            if t:
                legs.append((t, lv))
        if legs:
            groups.append(legs)
    return gvars, groups


@dataclass(frozen=True)
class CallResult:
    """What happened to one simulated caller, once its channel is gone."""

    uuid: str
    destination: str
    answered: bool
    hangup_cause: str
    abandoned: bool
    bridged_to: str | None
    digits_pressed: str
    events: tuple[str, ...]
    variables: Mapping[str, str] = field(default_factory=dict)
    started: float = 0.0
    answered_at: float | None = None
    bridged_at: float | None = None
    ended: float = 0.0


class CallHandle:
    """A placed call: ``wait()`` for its :class:`CallResult`, or ``hangup()`` it as the caller."""

    def __init__(self, channel: Channel, caller: CallerRun) -> None:
        self.channel = channel
        self.caller = caller
        self.uuid = channel.uuid
        self._result = gevent.event.AsyncResult()

    @property
    def done(self) -> bool:
        """Whether the call has ended."""
        return bool(self._result.ready())

    def hangup(self, cause: str = "NORMAL_CLEARING") -> None:
        """The caller hangs up now."""
        self.channel.hangup(cause, by="caller")

    def wait(self, timeout: float | None = None) -> CallResult:
        """Block until the call ended (``timeout`` in real seconds) -> its result; ESLTimeout if not."""
        try:
            result: CallResult = self._result.get(timeout=timeout)
        except gevent.Timeout:
            raise ESLTimeout(f"call {self.uuid} still up after {timeout}s") from None
        return result

    def _finish(self) -> None:
        ch = self.channel
        self._result.set(CallResult(
            uuid=ch.uuid, destination=ch.profile.get("Destination-Number", ""), answered=ch.answered,
            hangup_cause=ch.hangup_cause or "", abandoned=self.caller.abandoned,
            bridged_to=ch.ever_bridged_to, digits_pressed="".join(self.caller.pressed),
            events=tuple(ch.event_names), variables=dict(ch.variables), started=ch.created,
            answered_at=ch.answered_at, bridged_at=ch.bridged_at, ended=ch.ended_at or 0.0))


class Simulator:
    """The simulated switch: inbound ESL server, outbound sockets, channels, callers and agents."""

    def __init__(self, *, listen: str | tuple[str, int] = ("127.0.0.1", 0), password: str = "ClueCon",
                 socket_address: str | tuple[str, int] | None = None, time_scale: float = 1.0,
                 agents: Iterable[AgentSpec] = (), routes: Mapping[str, Any] | None = None,
                 sounds_dir: str | Path | None = None, recordings_dir: str | Path | None = None,
                 missing_prompt: float | None = None, core_uuid: str | None = None,
                 hostname: str | None = None, parties: PartyPopulation | None = None) -> None:
        if not (isinstance(time_scale, int | float) and time_scale > 0):
            raise InvalidValue("time_scale", time_scale, "must be a number > 0")
        self.listen = parse_address(listen, "listen")
        self.password = password
        self.socket_address = parse_address(socket_address, "socket") if socket_address else None
        self.scheduler = Scheduler(time_scale)
        core = CoreInfo.local(core_uuid or new_uuid())
        if hostname:
            core = CoreInfo(core.core_uuid, hostname)
        self.bus = EventBus(core, clock=self.scheduler.wall)
        self.api = Api(self)
        self.channels: dict[str, Channel] = {}
        self.apps: Mapping[str, App] = APPS     #: the dialplan applications its channels run
        self.agents: dict[str, AgentRun] = {}
        #: the called parties outbound dials reach (None: no gateways at all, every sofia/gateway/ is unknown)
        self.parties = parties
        self.party_stats = PartyStats(self.scheduler.now)
        for a in agents:
            self.add_agent(a)
        self.routes: dict[str, Any] = dict(routes or {})
        self.sounds_dir = Path(sounds_dir) if sounds_dir else None
        self.recordings_dir = Path(recordings_dir) if recordings_dir else None
        self.missing_prompt = missing_prompt
        self.endpoint_host = "127.0.0.1"
        self.sessions_since_startup = 0
        self.peak_sessions = 0
        self.calls_placed = 0
        self.calls_ended = 0
        self.handles: dict[str, CallHandle] = {}
        self._prompt_cache: dict[str, float | None] = {}
        self._server: InboundServer | None = None
        self._idle = gevent.event.Event()
        self._idle.set()
        self._greenlets: list[gevent.Greenlet] = []
        self.outbound: weakref.WeakSet[Any] = weakref.WeakSet()   #: open outbound connections

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> Simulator:
        """Start the timer greenlet and the inbound ESL server."""
        self.scheduler.start()
        self._server = InboundServer(self, self.listen, self.password)
        self._server.start()
        self.scheduler.call_later(20.0, self._heartbeat)
        log.info("cc.sim listening on %s:%d (time scale %g)", *self.inbound_address, self.scheduler.time_scale)
        return self

    def stop(self) -> None:
        """Hang up every channel, close every connection, stop timers."""
        for ch in list(self.channels.values()):
            ch.hangup("SYSTEM_SHUTDOWN")
        gevent.sleep(0)
        if self._server is not None:
            self._server.stop()
            self._server = None
        for conn in list(self.outbound):
            conn.close()            # lingering sockets too; what was queued is still written
        self.outbound.clear()
        for g in self._greenlets:
            g.kill(block=False)
        self.scheduler.stop()

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def cut_inbound(self, on: bool = True) -> None:
        """Cut the inbound ESL link (every connection dropped, new ones refused), or restore it (``on=False``)."""
        if self._server is not None:
            self._server.cut(on)

    @property
    def inbound_address(self) -> tuple[str, int]:
        """(host, port) of the inbound ESL server."""
        if self._server is None:
            return self.listen
        return self._server.address

    def _heartbeat(self) -> None:
        if self.bus.wanted("HEARTBEAT", None):
            up = self.scheduler.now()
            h = self.bus.core_headers("HEARTBEAT")
            h += [("Event-Info", "System Ready"), ("Up-Time", f"0 years, 0 days, {int(up) // 3600} hours"),
                  ("FreeSWITCH-Version", "1.11.3-dev"), ("Uptime-msec", str(int(up * 1000))),
                  ("Session-Count", str(len(self.channels))), ("Max-Sessions", "1000"),
                  ("Session-Per-Sec", "30"), ("Session-Per-Sec-Last", "0"), ("Session-Per-Sec-Max", "30"),
                  ("Session-Per-Sec-FiveMin", "0"), ("Session-Since-Startup", str(self.sessions_since_startup)),
                  ("Session-Peak-Max", str(self.peak_sessions)),
                  ("Session-Peak-FiveMin", str(self.peak_sessions)), ("Idle-CPU", "99.000000")]
            self.bus.publish(SimEvent("HEARTBEAT", h))
        self.scheduler.call_later(20.0, self._heartbeat)

    # ------------------------------------------------------------------ agents and callers
    def add_agent(self, spec: AgentSpec) -> AgentRun:
        """Add (or replace) a simulated agent phone."""
        run = AgentRun(spec)
        self.agents[spec.id] = run
        return run

    def place_call(self, spec: CallerSpec | str, **kw: Any) -> CallHandle:
        """A simulated caller dials ``spec.destination`` now; returns its handle."""
        self.scheduler.start()
        if isinstance(spec, str):
            digits = kw.pop("digits", ())
            if isinstance(digits, str):
                digits = (DigitPress(digits),)
            spec = CallerSpec(destination=spec, digits=tuple(digits), **kw)
        num = spec.caller_id_number
        host = f"{self.endpoint_host}:5170"
        name = f"sofia/internal/{num}@{host}"
        dest = spec.destination
        profile = {"Direction": "inbound", "Logical-Direction": "inbound", "Username": num, "Dialplan": "XML",
                   "Caller-ID-Name": spec.caller_id_name, "Caller-ID-Number": num,
                   "Orig-Caller-ID-Name": spec.caller_id_name, "Orig-Caller-ID-Number": num,
                   "Network-Addr": self.endpoint_host, "ANI": num, "Destination-Number": dest,
                   "Source": "mod_sofia", "Context": "public"}
        ch = Channel(self, uuid=None, name=name, direction="inbound", profile=profile,
                     presence_id=f"{num}@{self.endpoint_host}")
        call_id = f"{self.calls_placed + 1}-{new_uuid()[:8]}@{self.endpoint_host}"
        for k, v in (("direction", "inbound"), ("uuid", ch.uuid), ("session_id", str(self.sessions_since_startup + 1)),
                     ("sip_from_user", num), ("sip_from_host", self.endpoint_host), ("channel_name", name),
                     ("sip_call_id", call_id), ("sip_req_user", dest), ("sip_to_user", dest),
                     ("sofia_profile_name", "internal"), ("call_uuid", ch.uuid)):
            ch.set_var(k, v)
        for k, v in spec.variables.items():
            ch.set_var(k, v)
        caller = CallerRun(spec)
        ch.endpoint = caller
        handle = CallHandle(ch, caller)
        self.handles[ch.uuid] = handle
        self.calls_placed += 1
        self._register(ch)
        ch.fire("CHANNEL_STATE", with_vars=False)
        ch.codec = True         # the 2026-12 set-up: the codec is negotiated before the dialplan runs
        ch.set_state("CS_INIT")
        ch.fire("CHANNEL_CREATE")
        ch.set_callstate("RINGING")
        ch.set_state("CS_ROUTING")
        ch.set_state("CS_EXECUTE")
        date = time.strftime("%a, %d %b %Y %H:%M:%S %z", time.localtime(self.scheduler.wall()))
        program: Program = [("set", "outside_call=true", None), ("export", f"RFC2822_DATE={date}", None)]
        program += self.route(ch, dest)
        caller.on_start(ch)
        log.info("call %s: caller %s dials %s", ch.uuid, mask_number(num), dest)
        ch.start_session(program)
        return handle

    def run_callers(self, groups: Iterable[CallerGroup]) -> list[CallHandle]:
        """Schedule caller groups (``count`` calls, one every ``every`` s from ``start``); handles as placed."""
        handles: list[CallHandle] = []
        for g in groups:
            for i in range(g.count):
                self.scheduler.call_later(g.start + i * g.every, lambda s=g.spec: handles.append(self.place_call(s)))
        return handles

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait (real seconds) until no channel is left; True when idle."""
        return bool(self._idle.wait(timeout))

    def _register(self, ch: Channel) -> None:
        self.channels[ch.uuid] = ch
        self.sessions_since_startup += 1
        self.peak_sessions = max(self.peak_sessions, len(self.channels))
        self._idle.clear()

    def channel_gone(self, ch: Channel) -> None:
        """Called after CHANNEL_DESTROY."""
        self.channels.pop(ch.uuid, None)
        handle = self.handles.pop(ch.uuid, None)
        if handle is not None:
            self.calls_ended += 1
            handle._finish()
        for run in self.agents.values():
            if run.busy_with == ch.uuid:
                run.busy_with = None
        if not self.channels:
            self._idle.set()

    def stats(self) -> dict[str, Any]:
        """Counters for benches and the CLI."""
        return {"channels": len(self.channels), "peak_channels": self.peak_sessions,
                "calls_placed": self.calls_placed, "calls_ended": self.calls_ended,
                "events": self.bus.count, "timers_fired": self.scheduler.fired,
                **({"parties": self.party_stats.as_dict()} if self.parties is not None else {})}

    # ------------------------------------------------------------------ dialplan
    def _route_action(self, dest: str) -> Any:
        if dest in self.routes:
            return self.routes[dest]
        for pat, action in self.routes.items():
            if any(c in pat for c in "^$[]*+?\\.") and re.fullmatch(pat, dest):
                return action
        return "socket" if self.socket_address else "park"

    def route(self, ch: Channel, dest: str) -> Program:
        """The applications the dialplan runs for ``dest``."""
        action = self._route_action(dest)
        if isinstance(action, list | tuple):
            return [(str(a), str(b), None) for a, b in action]
        action = str(action)
        if action == "park":
            return [("answer", "", None), ("park", "", None)]
        if action == "echo":
            return [("answer", "", None), ("echo", "", None)]
        if action.startswith("hangup"):
            return [("hangup", action.partition(":")[2] or "NORMAL_CLEARING", None)]
        if action.startswith("socket"):
            addr = action.partition(":")[2]
            if not addr:
                if self.socket_address is None:
                    return [("hangup", "NO_ROUTE_DESTINATION", None)]
                addr = f"{self.socket_address[0]}:{self.socket_address[1]}"
            return [("socket", f"{addr} async full", None)]
        log.warning("call %s: route %r for %s is not park/echo/hangup/socket", ch.uuid, action, dest)
        return [("hangup", "NO_ROUTE_DESTINATION", None)]

    def transfer(self, ch: Channel, dest: str, dialplan: str = "XML", context: str | None = None) -> None:
        """uuid_transfer / transfer: a new caller profile for ``dest`` (Transfer-Source ``bl_xfer``, no
        other leg), then the channel routes again (RINGING/CS_ROUTING, ACTIVE/CS_EXECUTE) and runs the
        dialplan for ``dest`` (in ``public``: the captured ``set``/``export`` first)."""
        context = context or ch.profile.get("Context") or "default"
        ch.profile["RDNIS"] = ch.profile.get("Destination-Number", "")
        ch.profile["Destination-Number"] = dest
        ch.profile["Context"] = context
        self.new_profile(ch, f"{int(self.scheduler.wall())}:{new_uuid()}:bl_xfer:{dest}/{context}/{dialplan}")
        ch.other = None
        for x in (ch, ch.bridged_to):               # switch_ivr_session_transfer drops the signal bond
            if x is not None:
                x.set_var("signal_bond", None)
        program: Program = []
        if context == "public":
            date = time.strftime("%a, %d %b %Y %H:%M:%S %z", time.localtime(self.scheduler.wall()))
            program = [("set", "outside_call=true", None), ("export", f"RFC2822_DATE={date}", None)]
        ch.reroute = True
        self.transfer_program(ch, program + self.route(ch, dest))

    def new_profile(self, ch: Channel, source: str) -> None:
        """A transfer (or uuid_bridge) gives the channel a new caller profile with this Transfer-Source, also
        kept in ``transfer_source`` and ``transfer_history`` (an ``ARRAY::`` from the second on)."""
        ch.profile["Transfer-Source"] = source
        ch.profile_index += 1
        ch.times["Profile-Created-Time"] = ch.micros()
        ch.set_var("transfer_source", source)
        hist = ch.variables.get("transfer_history")
        if hist is None:
            ch.set_var("transfer_history", source)
        else:
            ch.set_var("transfer_history", f"{hist if hist.startswith('ARRAY::') else 'ARRAY::' + hist}|:{source}")

    def transfer_program(self, ch: Channel, program: Program) -> None:
        """Make ``ch`` leave what it runs and run ``program``."""
        ch.transfer(program)

    # ------------------------------------------------------------------ outbound socket
    def socket_app(self, ch: Channel, arg: str) -> None:
        """The ``socket`` application: connect to cc, serve it, stay parked until hangup or exit."""
        target = arg.split()[0] if arg.split() else ""
        try:
            host, port = parse_address(target, "socket")
        except ConfigError:
            log.error("call %s: bad socket address %r", ch.uuid, arg)
            ch.hangup("DESTINATION_OUT_OF_ORDER")
            return
        ch.set_var("socket_host", host)
        try:
            sock = gevent.socket.create_connection((host, port), timeout=5)
        except OSError as exc:
            # mod_event_socket's socket_function logs "Socket Error!" and returns: the dialplan goes on with its
            # next application (a second socket, park), or the call is cleared when there is none
            log.warning("call %s: socket %s:%d refused: %s", ch.uuid, host, port, exc)
            return
        sock.settimeout(None)
        try:
            sock.setsockopt(6, 1, 1)  # TCP_NODELAY
        except OSError:
            pass
        conn = OutboundConnection(self, ch, sock)
        ch.socket_conn = conn
        self.outbound.add(conn)
        conn.start()
        ch.park_loop("socket")

    def sendmsg(self, uuid: str, headers: dict[str, str], body: str) -> str:
        """``sendmsg [uuid]`` -> the reply text."""
        ch = self.channels.get(uuid)
        if ch is None or ch.gone.is_set():
            return f"-ERR invalid session id [{uuid}]"
        cmd = headers.get("call-command", "").lower()
        if cmd == "execute":
            app = headers.get("execute-app-name", "")
            arg = headers.get("execute-app-arg", "") or body
            try:
                loops = max(1, int(headers.get("loops", "1")))
            except ValueError:
                loops = 1
            for _ in range(loops):
                ch.enqueue(app, arg, headers.get("event-uuid"))
            return "+OK"
        if cmd == "hangup":
            ch.hangup(headers.get("hangup-cause", "NORMAL_CLEARING") or "NORMAL_CLEARING")
            return "+OK"
        if cmd in ("unicast", "nomedia", "xferext"):
            return "+OK"
        return "-ERR Invalid Command"

    # ------------------------------------------------------------------ originate
    def _make_leg(self, target: str, lvars: dict[str, str], caller: Channel | None) -> Channel | str:
        """A ringing leg towards ``target``, or the cause when FreeSWITCH makes no channel at all: a
        ``user/`` that does not exist (SUBSCRIBER_ABSENT) or is not registered (USER_NOT_REGISTERED), an
        unknown ``sofia/gateway/`` (INVALID_GATEWAY) or one that is down (GATEWAY_DOWN; both after a bare
        CHANNEL_DESTROY). A gateway of the called-party population, or its SIP profile, reaches a party."""
        user, host, kind = match_agent_user(target)
        if target.startswith("sofia/gateway/"):
            return self._gateway_leg(target, lvars, caller)
        agent = self.agents.get(f"{user}@{host}") if kind == "sofia" and host else None
        if agent is None and kind in ("user", "sofia"):
            agent = self.agents.get(user)
        if agent is None and kind == "sofia" and self.parties is not None and \
                target.split("/", 2)[1] == self.parties.profile:
            return self._party_leg(target.split(";", 1)[0], user, lvars, caller)
        mode: str | None = None          # None: the agent is on a call (busy)
        if agent is not None and not (agent.busy_with is not None and agent.busy_with in self.channels):
            mode = agent.next_mode()
        if kind == "user" and (agent is None or mode == "offline"):
            return "SUBSCRIBER_ABSENT" if agent is None else "USER_NOT_REGISTERED"
        name = target.split(";", 1)[0] if kind == "sofia" else f"sofia/internal/{user}@{host or self.endpoint_host}"
        leg = self._new_leg(name, user, lvars, caller)
        if kind == "user":
            leg.set_var("dialed_user", user)
        sched = self.scheduler
        if agent is None:
            # nothing answers there: FreeSWITCH's own 503 looks like a phone's (README: port 5999)
            cause = target[6:].upper() if target.startswith("error/") else "NORMAL_TEMPORARY_FAILURE"
            sched.call_later(0.02, self._fail_leg, leg, cause, False)
            return leg
        leg.endpoint = AgentLeg(agent)
        if mode is None:
            sched.call_later(0.02, self._fail_leg, leg, "USER_BUSY")
        elif mode == "offline":          # a sofia/ dial string to a phone that is not there
            sched.call_later(0.02, self._fail_leg, leg, "NORMAL_TEMPORARY_FAILURE", False)
        elif mode in _REFUSALS:
            sched.call_later(0.02, self._fail_leg, leg, _REFUSALS[mode])
        else:
            agent.busy_with = leg.uuid
            sched.call_later(0.02, leg.ring_ready)
            if mode == "answer":
                sched.call_later(agent.spec.answer_after, leg.answer)
        return leg

    def _new_leg(self, name: str, user: str, lvars: dict[str, str], caller: Channel | None) -> Channel:
        """An originated leg named ``name`` towards ``user``: CHANNEL_OUTGOING ... CS_CONSUME_MEDIA."""
        cid_num = lvars.get("origination_caller_id_number", "")
        cid_name = lvars.get("origination_caller_id_name", "")
        if caller is not None:
            profile = {k: v for k, v in caller.profile.items()
                       if k not in ("Unique-ID", "Channel-Name", "Transfer-Source", "Callee-ID-Name",
                                    "Callee-ID-Number", "Direction", "Logical-Direction")}
            if cid_num:
                profile["Caller-ID-Number"] = cid_num
            if cid_name:
                profile["Caller-ID-Name"] = cid_name
        else:
            num = cid_num or "0000000000"
            profile = {"Caller-ID-Number": num, "Orig-Caller-ID-Number": num, "ANI": num, "Context": "default"}
            if cid_name:
                profile["Caller-ID-Name"] = cid_name
        profile.update({"Direction": "outbound", "Logical-Direction": "outbound", "Callee-ID-Name": "Outbound Call",
                        "Callee-ID-Number": user, "Destination-Number": user, "Source": "src/switch_ivr_originate.c"})
        uuid = lvars.get("origination_uuid") or None
        if uuid and uuid in self.channels:
            uuid = None
        leg = Channel(self, uuid=uuid, name=name, direction="outbound", profile=profile, hit_dialplan=False)
        leg.state = "CS_NONE"
        for k, v in lvars.items():
            leg.set_var(k, v)
        for k, v in (("direction", "outbound"), ("uuid", leg.uuid), ("call_uuid", leg.uuid),
                     ("channel_name", name)):
            leg.set_var(k, v)
        leg.originating = True
        if caller is not None:
            leg.call_uuid = caller.uuid
        self._register(leg)
        leg.fire("CHANNEL_OUTGOING", with_vars=False)
        leg.set_state("CS_INIT")
        leg.fire("CHANNEL_CREATE")
        leg.fire("CHANNEL_ORIGINATE")
        leg.set_state("CS_ROUTING")
        leg.set_state("CS_CONSUME_MEDIA")
        return leg

    # ------------------------------------------------------------------ called parties (outbound campaigns)
    def _gateway_leg(self, target: str, lvars: dict[str, str], caller: Channel | None) -> Channel | str:
        """``sofia/gateway/<gw>/<number>``: mod_sofia's sofia_outgoing_channel fails an unknown gateway with
        INVALID_GATEWAY and one whose status is not UP with GATEWAY_DOWN, both by ``goto error``, which
        destroys the session it had requested (src/mod/endpoints/mod_sofia/mod_sofia.c): the capture's bare
        CHANNEL_DESTROY. Otherwise the leg is named ``sofia/<gateway's profile>/<dest>`` (sofia_glue_set_name,
        ``;params`` cut) and its Destination-Number is the number (switch_sanitize_number)."""
        gw, _, dest = target[len("sofia/gateway/"):].partition("/")
        pop = self.parties
        state = pop.gateways.get(gw) if pop is not None else None
        if state is None or state != "up" or not dest:
            cause = "INVALID_GATEWAY" if state is None or not dest else "GATEWAY_DOWN"
            self._no_gateway(lvars.get("origination_uuid") or new_uuid())
            if pop is not None:
                self.party_stats.failed_without_leg(cause)
            return cause
        assert pop is not None
        dest = dest.split(";", 1)[0]
        number = dest.partition("@")[0]
        return self._party_leg(f"sofia/{pop.profile}/{dest}", number, lvars, caller)

    def _party_leg(self, name: str, number: str, lvars: dict[str, str], caller: Channel | None) -> Channel:
        """A leg to a called party of the population: it rings and answers, or refuses (cc.sim.parties)."""
        assert self.parties is not None
        spec = self.parties.dial(number)
        leg = self._new_leg(name, number, lvars, caller)
        party = PartyLeg(spec, self.party_stats)
        leg.endpoint = party
        party.on_start(leg)
        sched = self.scheduler
        log.info("call %s: party %s %s", leg.uuid, mask_number(number), spec.outcome)
        if spec.outcome in PARTY_REFUSALS:
            sig = refusal_for(spec)
            sched.call_later(spec.refuse_after, self._refuse, leg, sig.cause, str(sig.sip), sig.phrase,
                             str(sig.q850 if sig.q850 is not None else Q850.get(sig.cause, 16)))
            return leg
        sched.call_later(0.02, leg.ring_ready)
        if spec.outcome == "no_answer":
            if spec.no_answer_after is not None:
                sig = refusal_for(spec)
                sched.call_later(spec.no_answer_after, self._refuse, leg, sig.cause, str(sig.sip), sig.phrase,
                                 str(sig.q850 if sig.q850 is not None else Q850.get(sig.cause, 16)))
        else:
            sched.call_later(max(0.02, spec.ring), leg.answer)
        return leg

    def _refuse(self, leg: Channel, cause: str, status: str, phrase: str, term_cause: str) -> None:
        """The far end answers the INVITE with a failure (sofia.c, sofia_handle_sip_i_state, terminated: the
        SIP variables are set before the hang-up; ``recv_refuse``)."""
        if leg.hungup or leg.answered:
            return
        leg.profile.setdefault("Network-Addr", self.endpoint_host)
        for k, v in (("sip_term_status", status), ("sip_term_cause", term_cause),
                     ("proto_specific_hangup_cause", f"sip:{status}"), ("sip_invite_failure_status", status),
                     ("sip_invite_failure_phrase", phrase), ("sip_hangup_disposition", "recv_refuse")):
            leg.set_var(k, v)
        leg.hangup(cause)

    def _no_gateway(self, uuid: str) -> None:
        """An unknown gateway: the session FreeSWITCH had begun is destroyed before it is a channel (a bare
        CHANNEL_DESTROY: CS_NONE, Channel-Name N/A, no caller profile, no Hangup-Cause; CHANNEL_STATE
        CS_DESTROY), and nothing else."""
        self.sessions_since_startup += 1
        base = [("Channel-Call-State", "DOWN"), ("Channel-State-Number", "0"), ("Channel-Name", "N/A"),
                ("Unique-ID", uuid), ("Call-Direction", "outbound"), ("Presence-Call-Direction", "outbound"),
                ("Channel-HIT-Dialplan", "false"), ("Channel-Call-UUID", uuid), ("Answer-State", "ringing")]
        bus = self.bus
        if bus.wanted("CHANNEL_DESTROY", uuid):
            vs = [("variable_direction", "outbound"), ("variable_is_outbound", "true"), ("variable_uuid", uuid),
                  ("variable_call_uuid", uuid), ("variable_session_id", str(self.sessions_since_startup))]
            bus.publish(SimEvent("CHANNEL_DESTROY", [*bus.core_headers("CHANNEL_DESTROY"),
                                                     ("Channel-State", "CS_NONE"), *base, *vs], uuid=uuid))
        if bus.wanted("CHANNEL_STATE", uuid):
            bus.publish(SimEvent("CHANNEL_STATE", [*bus.core_headers("CHANNEL_STATE"),
                                                   ("Channel-State", "CS_DESTROY"), *base], uuid=uuid))

    def _fail_leg(self, leg: Channel, cause: str, far_end: bool = True) -> None:
        """The leg fails before an answer: refused by the far end (the SIP answer's variables are set before
        CHANNEL_HANGUP, ``recv_refuse``; ``far_end`` False: nobody answered, FreeSWITCH's own 503, no
        Network-Addr), or NO_ANSWER: we CANCEL, the phone answers 487 (``send_cancel``, no sip_term_*)."""
        if leg.hungup or leg.answered:
            return
        if cause == "NO_ANSWER":
            leg.hangup(cause)
            for k, v in (("sip_hangup_disposition", "send_cancel"), ("sip_invite_failure_status", "487"),
                         ("sip_invite_failure_phrase", "CANCEL")):
                leg.set_var(k, v)
            return
        sip = _SIP_FAIL.get(cause)
        if sip is not None:
            if far_end:
                self._refuse(leg, cause, sip[0], sip[1], str(Q850.get(cause, 16)))
                return
            status, phrase = sip
            for k, v in (("sip_term_status", status), ("sip_term_cause", str(Q850.get(cause, 16))),
                         ("proto_specific_hangup_cause", f"sip:{status}"), ("sip_invite_failure_status", status),
                         ("sip_invite_failure_phrase", phrase), ("sip_hangup_disposition", "recv_refuse")):
                leg.set_var(k, v)
        leg.hangup(cause)

    def originate(self, dial: str, *, extra_vars: Mapping[str, str] | None = None, timeout: float | None = None,
                  caller: Channel | None = None, after: list[Callable[[], None]] | None = None
                  ) -> tuple[Channel | None, str]:
        """Ring ``dial``; block until a leg answers (-> (leg, "SUCCESS")) or all fail (-> (None, cause)).

        ``after``: where the failed legs' last events go when the result is an originate's BACKGROUND_JOB,
        to run once the job is out: a refused leg's CHANNEL_DESTROY (the job comes after its
        CHANNEL_HANGUP_COMPLETE), a leg we gave up on its whole end (the job comes right after its
        CHANNEL_HANGUP). Without it they run at once. ``originate_timeout=N`` ends on the N-th turn of the
        clock's second (between N-1 and N seconds), as FreeSWITCH counts it.
        """
        gvars, groups = parse_dial(dial)
        gvars.update(extra_vars or {})
        if not groups:
            return None, "DESTINATION_OUT_OF_ORDER"
        if timeout is None:
            raw = gvars.get("originate_timeout") or gvars.get("call_timeout") or gvars.get("leg_timeout") or "60"
            try:
                timeout = float(raw)
            except ValueError:
                timeout = 60.0
        cause = "NORMAL_TEMPORARY_FAILURE"
        for n, group in enumerate(groups):
            if caller is not None and caller.hungup:
                return None, "ORIGINATOR_CANCEL"
            made = [self._make_leg(t, {**gvars, **lv}, caller) for t, lv in group]
            legs = [x for x in made if isinstance(x, Channel)]
            if not legs:
                cause = next(x for x in made if isinstance(x, str))
                continue
            wall = self.scheduler.wall()
            winner, cause = self._race(legs, max(0.0, math.floor(wall) + timeout - wall), caller)
            last = winner is None and n == len(groups) - 1
            for leg in legs:
                if leg is winner:
                    leg.originating = False
                    continue
                leg.originating = False
                if not last or after is None or leg.hangup_cause in ("LOSE_RACE", "ORIGINATOR_CANCEL"):
                    leg.teardown()
                elif leg.hangup_cause == "NO_ANSWER" and leg.get_var("sip_hangup_disposition") != "recv_refuse":
                    after.append(leg.teardown)      # we cancelled it: the job comes right after CHANNEL_HANGUP
                else:
                    leg.teardown("report")
                    after.append(leg.teardown)
            if winner is not None:
                return winner, "SUCCESS"
        return None, cause

    def _race(self, legs: list[Channel], timeout: float, caller: Channel | None) -> tuple[Channel | None, str]:
        ev = gevent.event.Event()

        def changed(_: Channel) -> None:
            ev.set()

        for leg in legs:
            leg.on_answer.append(changed)
            leg.on_hangup.append(changed)
        if caller is not None:
            caller.on_hangup.append(changed)

        def expire() -> None:
            for leg in legs:
                self._fail_leg(leg, "NO_ANSWER")

        timer = self.scheduler.call_later(timeout, expire)
        try:
            while True:
                if caller is not None and caller.hungup:
                    for leg in legs:
                        leg.hangup("NORMAL_CLEARING" if leg.answered else "ORIGINATOR_CANCEL")
                    return None, "ORIGINATOR_CANCEL"
                answered = [x for x in legs if x.answered and not x.hungup]
                if answered:
                    for other in legs:
                        if other is not answered[0]:
                            other.hangup("LOSE_RACE")
                    return answered[0], "SUCCESS"
                if all(x.hungup for x in legs):
                    return None, legs[-1].hangup_cause or "NORMAL_TEMPORARY_FAILURE"
                ev.wait()
                ev.clear()
        finally:
            timer.cancel()
            for leg in legs:
                for hooks in (leg.on_answer, leg.on_hangup):
                    if changed in hooks:
                        hooks.remove(changed)
            if caller is not None and changed in caller.on_hangup:
                caller.on_hangup.remove(changed)

    # ------------------------------------------------------------------ bridging
    def _link(self, a: Channel, b: Channel, kind: str, sa: list[tuple[str, str]] | None = None,
              sb: list[tuple[str, str]] | None = None) -> None:
        sa = sa if sa is not None else a.snapshot_other()
        sb = sb if sb is not None else b.snapshot_other()
        a.other = ("originatee", sb)
        b.other = ("originator", sa)
        a.bridged_to, b.bridged_to = b, a
        a.bridge_kind = b.bridge_kind = kind
        a.bridge_a, b.bridge_a = True, False
        a.ever_bridged_to, b.ever_bridged_to = b.uuid, a.uuid
        now_us = a.micros()
        now = self.scheduler.now()
        for x, y in ((a, b), (b, a)):
            x.times["Channel-Bridged-Time"] = now_us
            x.bridged_at = now
            if kind == "uuid_bridge":       # set before the bridge (the captures' CHANNEL_UNPARK has them)
                x.set_var("bridge_uuid", y.uuid)
            x.set_var("signal_bond", y.uuid)
        a.fire("CHANNEL_BRIDGE", pre=[("Bridge-A-Unique-ID", a.uuid), ("Bridge-B-Unique-ID", b.uuid)])
        for x, y in ((a, b), (b, a)):       # set once bridged (the captures: after CHANNEL_BRIDGE)
            x.set_var("last_bridge_to", y.uuid)
            x.set_var("bridge_uuid", y.uuid)
        if kind == "uuid_bridge":
            b.call_uuid = a.uuid            # the B-leg joins the A-leg's call from CS_EXCHANGE_MEDIA on
            b.set_state("CS_EXCHANGE_MEDIA")
        log.info("call %s: bridged to %s (%s)", a.uuid, b.uuid, kind)
        for x in (a, b):
            if x.endpoint is not None:
                x.endpoint.on_bridged(x)
            x.poke()

    def _unlink(self, ch: Channel) -> None:
        peer = ch.bridged_to
        if peer is None:
            return
        a, b = (ch, peer) if getattr(ch, "bridge_a", False) else (peer, ch)
        cause = (b.hangup_cause if b.hungup else a.hangup_cause) or "NORMAL_CLEARING"
        downs = [x for x in (a, b) if x.hungup]
        first = min(downs, key=lambda x: x.times.get("Channel-Hangup-Time", 0)) if downs else None
        if a.hungup and not b.hungup and b.next_program is None and \
                (b.get_var("park_after_bridge") or "").lower() != "true":
            b.set_var("last_bridge_hangup_cause", cause)
            b.hangup(cause)     # the A-leg went: the bridge takes the B-leg down before A's CHANNEL_UNBRIDGE
        a.set_var("bridge_hangup_cause", cause)       # the A-leg's; the leg that ended it gets no last_*
        for x in (a, b):
            x.bridged_to = None
            if x is not first and x.next_program is None:      # not when it leaves by a transfer
                x.set_var("last_bridge_hangup_cause", cause)
        a.fire("CHANNEL_UNBRIDGE", pre=[("Bridge-A-Unique-ID", a.uuid), ("Bridge-B-Unique-ID", b.uuid)])
        peer.poke()

    def bridge_loop(self, ch: Channel) -> None:
        """While bridged: run queued applications; return when either side left (unbridged then)."""
        def over() -> bool:
            peer = ch.bridged_to
            return ch.hungup or peer is None or peer.hungup or ch.next_program is not None

        while True:
            ch.wait(None, lambda: over() or bool(ch.queue) or bool(ch.broadcasts))
            if (ch.queue or ch.broadcasts) and not over():
                ch.run_queued()
                continue
            break
        self._unlink(ch)

    def _after_bridge(self, ch: Channel) -> None:
        if ch.hungup or ch.next_program is not None:
            return
        if (ch.get_var("park_after_bridge") or "").lower() == "true":
            ch.parked_by = "state"
        elif (ch.get_var("transfer_after_bridge") or ""):
            self.transfer(ch, ch.get_var("transfer_after_bridge") or "")
        # otherwise the session finds nothing more to run and hangs up (NORMAL_CLEARING)

    def bridge_app(self, a: Channel, dial: str) -> None:
        """The ``bridge`` application."""
        leg, cause = self.originate(dial, caller=a)
        if leg is None:
            a.set_var("originate_disposition", cause)
            a.set_var("DIALSTATUS", DIALSTATUS.get(cause, cause))
            a.set_var("originate_failed_cause", cause)
            return
        a.set_var("originate_disposition", "SUCCESS")
        a.set_var("DIALSTATUS", "SUCCESS")
        if not a.answered:
            a.answer()
        sa, sb = a.snapshot_other(), leg.snapshot_other()
        a.profile["Callee-ID-Name"] = leg.profile.get("Callee-ID-Name") or "Outbound Call"
        a.profile["Callee-ID-Number"] = leg.profile.get("Destination-Number", "")
        leg.start_session([("__bridge_peer__", a.uuid, None)])
        self._link(a, leg, "bridge", sa, sb)
        self.bridge_loop(a)
        if not a.hungup and (a.get_var("hangup_after_bridge") or "").lower() == "true":
            a.hangup(a.get_var("bridge_hangup_cause") or "NORMAL_CLEARING")

    def bridge_peer(self, b: Channel) -> None:
        """Session of a ``bridge`` B-leg: wait while bridged, then park or hang up."""
        b.wait(None, lambda: b.bridged_to is not None or b.hungup)
        self.bridge_loop(b)
        self._after_bridge(b)

    def uuid_bridge(self, a: Channel, b: Channel) -> None:
        """``uuid_bridge a b``: take both out of what they run and bridge them."""
        sa, sb = a.snapshot_other(), b.snapshot_other()
        stamp = int(self.scheduler.wall())
        for x, y, snap, first in ((a, b, sb, True), (b, a, sa, False)):
            x.pending_bridge = (y.uuid, first, snap)
            x.bridge_ready = False   # a leg bridged before is ready again only in its new uuid_bridge session
            x.other = ("originatee" if first else "originator", snap)
            self.new_profile(x, f"{stamp}:{new_uuid()}:uuid_br:{y.uuid}")
        a.profile.setdefault("Callee-ID-Number", b.profile.get("Orig-Caller-ID-Number") or "0000000000")
        b.profile.setdefault("Callee-ID-Number", b.profile.get("Orig-Caller-ID-Number") or "0000000000")
        a.transfer([("uuid_bridge", b.uuid, None)])
        b.transfer([("uuid_bridge", a.uuid, None)])

    def uuid_bridge_session(self, ch: Channel, other_uuid: str) -> None:
        """Each leg's side of uuid_bridge (after its CHANNEL_EXECUTE uuid_bridge)."""
        pend = getattr(ch, "pending_bridge", None)
        peer = self.channels.get(other_uuid)
        ch.bridge_ready = True
        try:
            if pend is None or peer is None or peer.hungup:
                return
            pp = getattr(peer, "pending_bridge", None)
            if getattr(peer, "bridge_ready", False) and pp is not None and pp[0] == ch.uuid:
                a, b = (ch, peer) if pend[1] else (peer, ch)
                sa = pp[2] if pend[1] else pend[2]
                sb = pend[2] if pend[1] else pp[2]
                self._link(a, b, "uuid_bridge", sa, sb)
            else:
                ch.wait(None, lambda: ch.hungup or peer.hungup or ch.bridged_to is not None
                        or ch.next_program is not None)
            if ch.bridged_to is not None:
                self.bridge_loop(ch)
                if ch.next_program is not None and peer.hungup:
                    peer.gone.wait(5.0)     # transferred away from a leg that hangs up: it is gone first
        finally:
            ch.bridge_ready = False
            if getattr(ch, "pending_bridge", None) is pend:   # not a newer uuid_bridge that takes it out of this one
                ch.pending_bridge = None
        self._after_bridge(ch)

    # ------------------------------------------------------------------ media
    def _resolve(self, path: str, base: Path | None) -> Path:
        p = Path(path)
        if not p.is_absolute() and base is not None:
            p = base / p
        return p

    def prompt_duration(self, path: str) -> float | None:
        """Seconds a prompt plays; None when it cannot be played (missing file, no default set)."""
        if path in self._prompt_cache:
            return self._prompt_cache[path]
        dur: float | None
        if path.startswith("local_stream://"):      # music on hold: plays until broken
            dur = 365 * 86400.0
        elif path.startswith("silence_stream://"):
            raw = path[len("silence_stream://"):].split(",")[0]
            ms = int(raw) if raw.lstrip("-").isdigit() else 0
            dur = ms / 1000 if ms >= 0 else 3600.0
        elif path.startswith(("tone_stream://", "say:", "phrase:", "speak:", "ivr/", "digits/")) and \
                not self._resolve(path, self.sounds_dir).exists():
            dur = 1.0 if self.missing_prompt is None else self.missing_prompt
        elif path.startswith("file_string://"):
            parts = [self.prompt_duration(x) for x in path[len("file_string://"):].split("!") if x]
            dur = None if any(x is None for x in parts) else sum(x for x in parts if x is not None)
        else:
            p = self._resolve(path, self.sounds_dir)
            if p.is_file():
                dur = wav_duration(p)
                if dur is None:
                    dur = 1.0
            else:
                dur = self.missing_prompt
        self._prompt_cache[path] = dur
        return dur

    def start_recording(self, ch: Channel, path: str, how: str) -> None:
        """Start recording ``ch`` into ``path`` (RECORD_START)."""
        ch.recordings[path] = (self.scheduler.now(), how)
        ch.fire("RECORD_START", post=[("Record-File-Path", path)])
        ch.fire("MEDIA_BUG_START", pre=[("Media-Bug-Function", "session_record"), ("Media-Bug-Target", path)])

    def stop_recording(self, ch: Channel, path: str, cause: str) -> bool:
        """Stop one recording (or ``all``): write the WAV, set record_ms, RECORD_STOP; False if none."""
        paths = list(ch.recordings) if path == "all" else ([path] if path in ch.recordings else [])
        for p in paths:
            started, _how = ch.recordings.pop(p)
            # the file holds whole 20 ms frames (160 samples at 8 kHz); record_* count the file, not the clock
            samples = int(max(0.0, self.scheduler.now() - started) * 50 + 1e-6) * 160
            target = self._resolve(p, self.recordings_dir)
            try:
                write_silence(target, samples / 8000)
            except OSError as exc:
                log.error("call %s: cannot write recording %s: %s", ch.uuid, target, exc)
            ms = samples // 8
            ch.set_var("record_file_size", str(44 + 2 * samples))
            ch.set_var("record_samples", str(samples))
            ch.set_var("record_seconds", str(ms // 1000))
            ch.set_var("record_ms", str(ms))
            ch.set_var("record_completion_cause", cause)
            ch.fire("RECORD_STOP", post=[("Record-File-Path", p), ("Record-Completion-Cause", cause)])
            ch.fire("MEDIA_BUG_STOP", pre=[("Media-Bug-Function", "session_record"), ("Media-Bug-Target", p)],
                    calling=("switch_core_media_bug.c", "switch_core_media_bug_destroy", "84"))
        return bool(paths)

    def stop_recordings(self, ch: Channel, cause: str) -> None:
        """Hang-up: stop whatever still records."""
        if ch.recordings:
            self.stop_recording(ch, "all", cause)
