"""One call under cc's control: a FlowRun driven over its CallChannel, queue waits, the agent bridge.

Each call runs in its own greenlet (the outbound server's), so a call never waits for another. What
other greenlets have to tell it (an Announce, an Exit, "your agent answered", a digit pressed while on
hold) goes into its inbox; music on hold is interrupted with ``uuid_break`` until the message is taken.
"""

from __future__ import annotations

import json
import logging
import os
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

import gevent
import gevent.event
import gevent.queue

from cc.acd import Acd, Announce, CallbackRequested, Connect, Exit, MemberJoined, MemberLeft
from cc.config import ServiceConfig
from cc.errors import CallGone, CCError, CommandFailed, Conflict, ESLError, ESLTimeout, FlowError
from cc.esl.outbound import CallChannel
from cc.esl.protocol import Event
from cc.ivr_dsl import (
    Answer,
    CallerHangup,
    Collect,
    Command,
    Digits,
    Done,
    Enqueue,
    Failed,
    Flow,
    FlowRun,
    Hangup,
    Http,
    HttpResponse,
    NoInput,
    Play,
    QueueOutcome,
    QueueResult,
    Record,
    RecordCall,
    Recorded,
    RecordNotice,
    Result,
    Say,
    SetLanguage,
    SetVar,
    StoreSurvey,
    Transfer,
    Voicemail,
)
from cc.model import (
    BusinessCalendar,
    CallLeg,
    CallSegment,
    ExitReason,
    QueueEventType,
    RecordingRecord,
    RecordPolicy,
)
from cc.privacy.mask import mask_number
from cc.runtime.acd_driver import AcdDriver
from cc.runtime.call_transfer import KEEP, CallTransfer, TransferRequest
from cc.runtime.dispatcher import EXIT_CAUSES, Ringing
from cc.runtime.flows import FlowBook
from cc.runtime.history import connect_id, enter_detail, new_id
from cc.runtime.hooks import HookEvent, Hooks
from cc.runtime.nodes import Node
from cc.runtime.recorder import CallRecorder, RecordingHost
from cc.runtime.settle import Settler

__all__ = ["CallHost", "CallSession"]

log = logging.getLogger(__name__)

_OUTCOMES = {
    ExitReason.TIMEOUT: QueueOutcome.TIMEOUT,
    ExitReason.NO_AGENT: QueueOutcome.NO_AGENT,
    ExitReason.FULL: QueueOutcome.FULL,
    ExitReason.EXIT_KEY: QueueOutcome.EXIT_KEY,
}
_BEEP = "tone_stream://%(250,0,800)"
MAX_FLOW_HOPS = 16
#: how long a call's end waits for the switch to name the hang-up cause after a notice came first
CAUSE_WAIT_S = 1.0
#: the longest one part of a queue announcement (a prompt, a spoken number) may take, in call time; one that has
#: not completed by then was lost by the switch: the call is settled as failed (never left waiting for it)
ANNOUNCE_MAX_S = 300.0
#: the longest a flow's prompt (playback, say, a digit collection's prompts) may take, in call time: likewise
PLAY_MAX_S = 3600.0
#: real seconds a prompt may keep playing after cc first asked the switch to break it (uuid_break), and how many
#: breaks it must have ignored (a stall of the process sends none): after that the switch has lost it, and the call
#: is settled as failed
BREAK_GIVE_UP_S = 60.0
BREAK_GIVE_UP_TRIES = 10


def _is_announcement(msg: Any) -> bool:
    """Whether an inbox message is a position/EWT announcement (the Acd's Announce or the flow's timer)."""
    return isinstance(msg, Announce) or (isinstance(msg, tuple) and msg[0] == "announce")


@dataclass
class _Stay:
    """The caller's current queue stay."""

    queue: str
    joined_at: float
    cmd: Enqueue
    ringing: Ringing | None = None
    bridged_at: float | None = None
    callback_offered: bool = False
    done: bool = False
    #: the id of the stay's ENTER line (``cc_enter``): its CONNECT's id derives from it (history.connect_id)
    enter_id: str | None = None


class CallHost(RecordingHost, Protocol):
    """What a call needs of the controller that runs it (cc.runtime.Controller has it; a call never imports it)."""

    #: uuid_bridge refused because the caller or the agent leg was gone (the race at answer)
    bridge_races: int
    #: calls whose outbound socket closed with their channel up (no hang-up)
    sockets_lost: int

    @property
    def config(self) -> ServiceConfig:
        """The service's configuration."""

    @property
    def acd(self) -> Acd:
        """The ACD (read: queues, positions, waits)."""

    @property
    def driver(self) -> AcdDriver:
        """Where the call's events for the ACD go."""

    @property
    def flows(self) -> FlowBook:
        """The flows by number and by name."""

    @property
    def calendars(self) -> Mapping[str, BusinessCalendar]:
        """The business calendars flows refer to."""

    @property
    def hooks(self) -> Hooks:
        """Where hook events go."""

    @property
    def settler(self) -> Settler:
        """Ends calls cc cannot run (the overload cause or fallback)."""

    @property
    def sessions(self) -> dict[str, CallSession]:
        """Every call in progress, by its channel UUID."""

    @property
    def members(self) -> dict[str, CallSession]:
        """The calls waiting in a queue, by channel UUID."""

    @property
    def callback_nodes(self) -> dict[str, str]:
        """Callback entries (their call is gone): member UUID -> node name."""

    def next_segment(self, uuid: str) -> int:
        """The segment number of a new session for channel ``uuid`` (1, or more when it comes back)."""

    def stored_segment(self, uuid: str, timeout_s: float = 3.0) -> int:
        """The segment number of a call that comes back after this process started (asks the store)."""


class CallSession:
    """Runs one call: see the module docstring. Built by the Controller for each outbound connection."""

    def __init__(self, ctl: CallHost, ch: CallChannel, node: Node) -> None:
        self.ctl = ctl
        self.ch = ch
        self.node = node
        self.uuid = ch.uuid
        # What the switch really sends in the connect reply (tests/data/esl-captures): the Caller-* profile
        # headers; the dialplan of freeswitch-conf/ also sets cc_service_number (the number's flow key).
        data = ch.channel_data
        self.caller = data.header("Caller-Caller-ID-Number") or ""
        self.caller_name = data.header("Caller-Caller-ID-Name") or ""
        self.dnis = data.variable("cc_service_number") or data.header("Caller-Destination-Number") or ""
        self.started_at = ctl.clock.now()
        #: 1 for a call's first visit; a call back under the same UUID (a transfer out and in) is 2, 3 ...
        self.segment = ctl.next_segment(self.uuid)
        self.answered_at: float | None = None
        self.disposition: str | None = None
        self.flow_name: str | None = None
        self.flow_run: FlowRun | None = None
        self.inbox: gevent.queue.Queue[Any] = gevent.queue.Queue()
        self.recorder = CallRecorder(self)
        #: the agent's transfers of this call (run in its greenlet, see _bridged)
        self.transfers = CallTransfer(self)
        # the recording notice: required by the running flow (else by cc.yaml recordings.notice), and whether the
        # caller heard it (cc's own cc_record_notice survives a restart or a transfer back under the same UUID)
        self.notice_required = ctl.config.record_notice == "required"
        self.notified = data.variable("cc_record_notice") == "played"
        self.recorder.refused = data.variable("cc_rec_refused") or None
        self.stay: _Stay | None = None
        self.last_agent: str | None = None
        self.last_queue: str | None = None
        self.transferred = False
        #: who ended the call when it was not the caller (a supervisor's hang-up, a failed transfer, shutdown):
        #: its stay in a queue ends as EXIT_OTHER with that cause, and the cause is the call's disposition
        self.ended_by: ExitReason | None = None
        #: a supervisor's transfer waiting for the dialplan to take the call: (target, its outcome: None when the
        #: target runs an application, the hang-up cause when the call ends instead)
        self._transfer_watch: tuple[str, gevent.event.AsyncResult[str | None]] | None = None
        self.greenlet: Any = None
        self._posted = 0
        self._taken = 0
        self._breaking = False
        self._interruptible = False
        self._on_hold = False         # the interruptible play is music on hold (any message cuts it)
        self._plays = 0               # interruptible plays started (which one a uuid_break was sent for)
        self._broke: tuple[int, float, int] | None = None   # (the play, when cc first broke it, breaks sent)
        self._barge = False
        self._barge_digit: str | None = None
        self._moh_failures = 0
        ch.on_dtmf(self._on_dtmf)
        ch.on("CHANNEL_UNBRIDGE", lambda ev: self._put(("unbridged", ev)))
        ch.on("CHANNEL_HANGUP", self._on_hangup)
        ch.on("CHANNEL_EXECUTE", self._on_execute)
        ch.on_socket_lost = self._socket_lost

    # ------------------------------------------------------------------ messages from other greenlets
    def _socket_lost(self) -> None:
        """The outbound socket closed with the channel still up: the call ends as cc's loss (EXIT_OTHER socket-lost,
        disposition socket-lost), not as the caller's hang-up; its channel is settled when the session ends."""
        self.ended_by = self.ended_by or ExitReason.SOCKET_LOST
        self.ctl.sockets_lost += 1
        self._put(("hangup", None))

    def _on_hangup(self, ev: Event) -> None:
        watch = self._transfer_watch
        if watch is not None and not watch[1].ready():
            watch[1].set(ev.hangup_cause or "NORMAL_CLEARING")
        self._put(("hangup", ev))

    def _on_execute(self, ev: Event) -> None:
        watch = self._transfer_watch
        # the transfer's extension runs an application (not only ``hangup``; ``socket``: back to a controller,
        # which may still refuse it, so only a hang-up or the wait's end decides)
        if (watch is not None and not watch[1].ready() and ev.application not in ("hangup", "socket")
                and ev.header("Caller-Destination-Number") == watch[0]):
            watch[1].set(None)

    def transfer_out(self, target: str, context: str, confirm_s: float) -> str | None:
        """``uuid_transfer`` the call to ``target`` and wait at most ``confirm_s`` for the dialplan to take it:
        None when it did (or did not end within the wait), else the hang-up cause of the call that ended instead;
        its queue stay then ends as EXIT_OTHER transfer-failed."""
        outcome: gevent.event.AsyncResult[str | None] = gevent.event.AsyncResult()
        before = self.ended_by
        self._transfer_watch = (target, outcome)
        self.ended_by = before or ExitReason.TRANSFER_FAILED   # a hang-up from now on is the failed transfer's
        try:
            self.node.api(f"uuid_transfer {self.uuid} {target} XML {context}")
            cause: str | None = outcome.get(timeout=confirm_s)
        except gevent.Timeout:
            cause = None
        except BaseException:
            self.ended_by = before
            raise
        finally:
            self._transfer_watch = None
        if cause is None:
            self.ended_by = before
            stay = self.stay
            if stay is not None and not stay.done and stay.ringing is None:
                # a waiting caller left cc's socket for the target: the stay ends now (not when the caller
                # hangs up later, which would be an abandon), the channel is the dialplan's, not hung up by cc
                self.ended_by = ExitReason.TRANSFERRED
                self.transferred = True
                self.post(("transferred",))
        log.log(logging.WARNING if cause else logging.INFO, "call %s: transfer to %s %s", self.uuid, target,
                f"failed: the call ended ({cause})" if cause else "taken by the dialplan")
        return cause

    def _put(self, msg: Any) -> None:
        self.inbox.put_nowait(msg)
        self._posted += 1

    def post(self, msg: Any) -> None:
        """Give the call a message (Announce, Exit ...) and interrupt its music on hold until it is taken."""
        self._put(msg)
        if not self._breaking:
            gevent.spawn(self._breaker)

    def connect(self, ringing: Ringing, cmd: Connect) -> None:
        """The Acd connected this caller to an agent who answered: the call's greenlet bridges them."""
        self.post(("connect", ringing, cmd))

    def _urgent(self) -> bool:
        """Whether a message other than an announcement waits in the inbox (it cuts an announcement short)."""
        return any(not _is_announcement(m) for m in self.inbox.queue)

    def _breaker(self) -> None:
        self._breaking = True
        try:
            delay = 0.02
            idle = 0   # turns with nothing to break (the call is not playing a prompt): bounded; breaking is
            while idle < 200:   # bounded by the give-up below
                if self._taken >= self._posted or self.ch.hung_up:
                    return
                # music on hold gives way to any message; an announcement only to one that matters more (a
                # newer announcement waits for it: they are coalesced, see _wait_in_queue)
                if self._interruptible and (self._on_hold or self._urgent()):
                    broke = self._broke
                    if broke is None or broke[0] != self._plays:
                        broke = (self._plays, time.monotonic(), 0)
                    elif time.monotonic() - broke[1] > BREAK_GIVE_UP_S and broke[2] >= BREAK_GIVE_UP_TRIES:
                        self._stuck(self._plays)
                        return
                    self._broke = (broke[0], broke[1], broke[2] + 1)
                    try:
                        # not ``all``: that flushes the queued sendmsg too, whose execute then never
                        # completes; a break that comes before the prompt starts is simply repeated
                        self.ch.api(f"uuid_break {self.uuid}", timeout=5.0)
                    except CCError as exc:
                        log.debug("call %s: uuid_break: %s", self.uuid, exc)
                else:
                    idle += 1
                gevent.sleep(delay)
                delay = min(delay * 2, 0.5)
        finally:
            self._breaking = False

    def _stuck(self, play: int) -> None:
        """The switch never ended a prompt cc broke (its completion was lost): the call is settled as failed."""
        if not self._interruptible or self._plays != play or self.ch.hung_up:
            return
        log.warning("call %s: a prompt still plays %.0f s after uuid_break; the call is given up", self.uuid,
                    BREAK_GIVE_UP_S)
        self.ch.fail_waits(ESLTimeout(f"call {self.uuid}: the prompt did not end after uuid_break"))

    def _interruptible_play(self, app: str, arg: str, timeout: float | None, *, hold: bool = False) -> Any:
        """Run a prompt that a message may cut (uuid_break); ``hold``: music on hold, cut by any message."""
        self._plays += 1
        self._interruptible = True
        self._on_hold = hold
        try:
            if hold:
                return self.ch.playback(arg, timeout)
            return self.ch.execute(app, arg, timeout)
        finally:
            self._interruptible = False
            self._on_hold = False

    def _take(self, timeout: float | None = None) -> Any:
        """The next message; raises CallGone when the caller hangs up while waiting."""
        while True:
            try:
                msg = self.inbox.get(timeout=1.0 if timeout is None else min(timeout, 1.0))
            except gevent.queue.Empty:
                if self.ch.hung_up:
                    raise CallGone(self.uuid, self.ch.hangup_cause or "NORMAL_CLEARING") from None
                if timeout is not None:
                    timeout -= 1.0
                    if timeout <= 0:
                        return None
                continue
            self._taken += 1
            if isinstance(msg, tuple) and msg[0] == "hangup":
                raise CallGone(self.uuid, self.ch.hangup_cause or "NORMAL_CLEARING")
            return msg

    def _on_dtmf(self, digit: str) -> None:
        if self._barge and self._barge_digit is None:
            self._barge_digit = digit
            gevent.spawn(self._break_once)
        elif self.stay is not None and not self.stay.done and self.stay.ringing is None:
            self.post(("dtmf", digit))

    def _break_once(self) -> None:
        try:
            self.ch.api(f"uuid_break {self.uuid}", timeout=5.0)
        except CCError as exc:
            log.debug("call %s: uuid_break: %s", self.uuid, exc)

    # ------------------------------------------------------------------ the call
    def cut(self, cause: str = "SYSTEM_SHUTDOWN") -> None:
        """Hang the call up from outside (shutdown): the far end goes, the call's greenlet unwinds."""
        self.ended_by = self.ended_by or ExitReason.SHUTDOWN
        try:
            self.node.api(f"uuid_kill {self.uuid} {cause}")
        except CCError:
            try:
                self.ch.hangup(cause)
            except CCError as exc:
                log.warning("call %s: could not hang up for shutdown: %s", self.uuid, exc)

    def run(self) -> None:
        """Run the call to its end; writes the call's history whatever happens."""
        ctl = self.ctl
        self.greenlet = gevent.getcurrent()
        ctl.sessions[self.uuid] = self
        log.info("call %s: from %s to %s on node %s", self.uuid, mask_number(self.caller), mask_number(self.dnis),
                 self.node.name)
        if self.segment == 1 and self._ran_before():
            # back under its UUID after this process started (a restart between its visits): the store numbers it
            self.segment = ctl.stored_segment(self.uuid)
        ctl.hooks.emit(HookEvent("call_started", self.started_at, call_uuid=self.uuid,
                                 data={"caller": self.caller, "destination": self.dnis,
                                       "node": self.node.name}))
        self._progress()
        try:
            flow = ctl.flows.for_number(self.dnis)
            if flow is None:
                log.warning("call %s: no flow for %s; hanging up", self.uuid, mask_number(self.dnis))
                self.disposition = "no-route"
                self.ch.hangup("UNALLOCATED_NUMBER")
                return
            self._run_flow(flow)
        except CallGone as exc:
            self._caller_gone(exc.cause)
            # gone before the flow settled the call
            self.disposition = self.disposition or (EXIT_CAUSES[self.ended_by] if self.ended_by else "caller-hangup")
            if self.ch.socket_lost:   # the channel may be up with nobody controlling it: hung up or the fallback
                self._give_up()
        except ESLError as exc:
            log.warning("call %s: ESL failure: %s", self.uuid, exc)
            self.disposition = self.disposition or "esl-error"
            self._caller_gone("NORMAL_TEMPORARY_FAILURE")
            self._give_up()
        except Exception:
            log.exception("call %s: controller failure", self.uuid)
            self.disposition = self.disposition or "error"
            self._caller_gone("NORMAL_TEMPORARY_FAILURE")
            self._give_up()
        finally:
            self._finish()

    def _ran_before(self) -> bool:
        """Whether the channel carries what cc keeps on a call it ran (``cc_state``, ``cc_started``): a visit
        before this one, by this process before a restart or by another controller."""
        data = self.ch.channel_data
        return bool(data.variable("cc_state") or data.variable("cc_started"))

    def _give_up(self) -> None:
        """cc gives up on this call: the channel is hung up (or sent to the fallback) over the inbound link."""
        if not self.ch.channel_down and not self.transferred:
            self.ctl.settler.end(self.node, self.uuid, self.ctl.config.overload.cause)

    def leg_gone(self) -> None:
        """The switch no longer has the bridged agent leg (reconciliation): the talk ends as the agent's."""
        self._put(("unbridged", None))

    def _run_flow(self, flow: Flow) -> None:
        for _hop in range(MAX_FLOW_HOPS):
            nxt = self._drive(flow)
            if nxt is None:
                break
            flow = nxt
        else:
            log.warning("call %s: more than %d flow transfers; hanging up", self.uuid, MAX_FLOW_HOPS)
        if not self.ch.hung_up and not self.transferred:
            self.ch.hangup("NORMAL_CLEARING")

    def _drive(self, flow: Flow) -> Flow | None:
        """Run ``flow``; returns the flow it transfers to, if any."""
        ctl = self.ctl
        self.flow_name = flow.name
        self.notice_required = flow.notice_required
        run = FlowRun(flow, call_uuid=self.uuid, caller_id=self.caller, destination=self.dnis,
                      variables={"caller_name": self.caller_name}, answered=self.answered_at is not None,
                      calendars=ctl.calendars)
        self.flow_run = run
        commands = run.start(ctl.clock.now())
        while True:
            result: Result | None = None
            for cmd in commands:
                if isinstance(cmd, Transfer) and cmd.to == "flow":
                    return ctl.flows.by_ref(cmd.target, flow)
                out = self._do(cmd)
                if cmd.awaits:
                    result = out
            if run.done or result is None:
                if isinstance(run.final, Command):
                    self.disposition = self.disposition or run.final.kind
                return None
            commands = run.feed(result, ctl.clock.now())

    # ------------------------------------------------------------------ commands
    def _do(self, cmd: Command) -> Result | None:
        ch = self.ch
        if isinstance(cmd, Answer):
            self._answer()
            return None
        if isinstance(cmd, Play):
            return self._play(cmd)
        if isinstance(cmd, Say):
            gender = f" {cmd.gender}" if cmd.gender else ""
            return self._app("say", f"{cmd.language} {cmd.say_type} {cmd.method}{gender} {cmd.text}")
        if isinstance(cmd, Collect):
            return self._collect(cmd)
        if isinstance(cmd, Record):
            return self._record(self._path(cmd.path), cmd.max_s, cmd.silence_threshold, cmd.silence_s,
                                cmd.beep, cmd.terminators, store=cmd.store)
        if isinstance(cmd, Enqueue):
            return self._enqueue(cmd)
        if isinstance(cmd, Transfer):
            self._transfer(cmd)
            return None
        if isinstance(cmd, Hangup):
            self.disposition = self.disposition or "hangup"
            ch.hangup(cmd.cause)
            return None
        if isinstance(cmd, SetVar):
            ch.set(cmd.name, cmd.value)
            return None
        if isinstance(cmd, SetLanguage):
            ch.set("default_language", cmd.language)
            return None
        if isinstance(cmd, Http):
            return self._http(cmd)
        if isinstance(cmd, RecordNotice):
            self._notice_played("flow")
            return None
        if isinstance(cmd, RecordCall):
            rec = self.recorder
            {"start": lambda: rec.start(self.last_queue, cmd.path or None, "flow"), "pause": rec.pause,
             "resume": rec.resume, "stop": rec.stop}.get(cmd.action, lambda: None)()
            return None
        if isinstance(cmd, StoreSurvey):
            self.ctl.history.survey(self.uuid, cmd.survey, cmd.question, cmd.score,
                                    cmd.agent_id or self.last_agent, cmd.queue or self.last_queue)
            return None
        if isinstance(cmd, Voicemail):
            if cmd.greeting:
                self._app("playback", cmd.greeting)
            box_dir = os.path.join(self.ctl.recordings_dir, "voicemail", cmd.box)
            return self._record(os.path.join(box_dir, f"{self.uuid}.wav"), cmd.max_s, 200, 3.0, True, "#",
                                store=True)
        log.warning("call %s: command %s is not supported by this runtime", self.uuid, cmd.kind)
        return Failed(f"unsupported command {cmd.kind}") if cmd.awaits else None

    def _answer(self) -> None:
        if self.answered_at is None:
            self.ch.answer()
            self.answered_at = self.ctl.clock.now()
            self._progress()

    def _progress(self) -> None:
        """Write the call's row as it stands (at its start and answer; ``_finish`` writes the end)."""
        if self.segment == 1:
            record = self.ctl.history.inbound_call(self.uuid, self.caller, self.dnis, self.started_at,
                                                   self.node.name)
            self.ctl.history.call(replace(record, answered_at=self.answered_at, flow=self.flow_name))

    def _setvars(self, **variables: object) -> None:
        """Set channel variables in one ``uuid_setvar_multi`` on the call's own socket (like ``set``: a call
        that is gone raises CallGone)."""
        pairs = ";".join(f"{k}={v}" for k, v in variables.items() if v is not None)
        try:
            self.ch.api(f"uuid_setvar_multi {self.uuid} {pairs}")
        except CommandFailed:
            if self.ch.hung_up or not self._still_there():
                raise CallGone(self.uuid, self.ch.hangup_cause or "NORMAL_CLEARING") from None
            raise

    @property
    def notice_missing(self) -> bool:
        """Whether the recording notice is required for this call and the caller has not heard it."""
        return self.notice_required and not self.notified

    def _notice_played(self, how: str) -> None:
        """The caller heard the recording notice: kept in memory and on the channel (``cc_record_notice``)."""
        self.notified = True
        log.info("call %s: the caller heard the recording notice (%s)", self.uuid, how)
        self.mark(record_notice="played")

    def _queue_notice(self, queue: str, prompt: str) -> None:
        """Play the queue's recording notice (``{language}``: the call's language) before its recording starts."""
        language = self.flow_run.language if self.flow_run is not None else "en"
        out = self._app("playback", prompt.replace("{language}", language))
        if isinstance(out, Failed):
            log.warning("call %s: queue %s: the recording notice did not play: %s", self.uuid, queue, out.reason)
        else:
            self._notice_played(f"queue {queue}")

    def mark(self, **variables: object) -> None:
        """Keep what cc knows of the call on the switch as ``cc_*`` channel variables (``uuid_setvar_multi``
        on the call's own socket), so that a restarted controller can take the call over; best effort."""
        if self.ch.hung_up:
            return
        pairs = ";".join(f"cc_{k}={v}" for k, v in variables.items() if v is not None)
        try:
            self.ch.api(f"uuid_setvar_multi {self.uuid} {pairs}", timeout=5.0)
        except CCError as exc:
            log.debug("call %s: keeping its state on the switch: %s", self.uuid, exc)

    def _bound(self, call_s: float) -> float:
        """Real seconds an app that should take at most ``call_s`` of call time may take (at least a command's
        timeout): after that its completion was lost by the switch."""
        return max(self.ch.command_timeout, self.ctl.clock.real(call_s))

    def _app(self, app: str, arg: str) -> Result:
        try:
            ev = self.ch.execute(app, arg, self._bound(PLAY_MAX_S))
        except (CallGone, ESLTimeout):
            raise   # a completion that never came: the call is settled as failed, not driven on against the switch
        except CCError as exc:
            return Failed(str(exc))
        resp = ev.application_response or ""
        if "ERROR" in resp or resp.startswith("-ERR"):
            return Failed(resp)
        return Done()

    def _path(self, path: str) -> str:
        return path if os.path.isabs(path) else os.path.join(self.ctl.recordings_dir, path)

    def _play(self, cmd: Play) -> Result:
        self._barge = cmd.barge_in
        self._barge_digit = None
        try:
            failed: Failed | None = None
            for f in cmd.files:
                out = self._app("playback", f)
                if self._barge_digit is not None:
                    return Digits(self._barge_digit)
                if isinstance(out, Failed):
                    failed = out
            return failed or Done()
        finally:
            self._barge = False

    def _collect(self, cmd: Collect) -> Result:
        prompt = cmd.prompt[0] if len(cmd.prompt) == 1 else "file_string://" + "!".join(cmd.prompt)
        try:
            digits = self.ch.play_and_get_digits(cmd.min_digits, cmd.max_digits, 1, int(cmd.timeout_s * 1000),
                                                 cmd.terminators or "none", prompt or "silence_stream://250",
                                                 "silence_stream://250", "cc_digits", "^[0-9*#]+$",
                                                 int(cmd.digit_timeout_s * 1000),
                                                 timeout=self._bound(PLAY_MAX_S + cmd.timeout_s
                                                                     + cmd.digit_timeout_s * cmd.max_digits))
        except (CallGone, ESLTimeout):
            raise
        except CCError as exc:
            return Failed(str(exc))
        return Digits(digits) if digits else NoInput()

    def _record(self, path: str, max_s: float, threshold: int, silence_s: float, beep: bool, terminators: str,
                *, store: bool) -> Result:
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
        except OSError:
            pass
        started = self.ctl.clock.now()
        try:
            if terminators:
                self.ch.set("playback_terminators", terminators)
            if beep:
                self.ch.execute("playback", _BEEP, self._bound(PLAY_MAX_S))
            ev = self.ch.execute("record", f"{path} {int(max_s)} {threshold} {max(1, round(silence_s))}",
                                 self._bound(PLAY_MAX_S + max_s))
        except (CallGone, ESLTimeout):
            raise
        except CCError as exc:
            return Failed(str(exc))
        seconds = ev.variable("record_seconds")
        ms = ev.variable("record_ms")
        duration = float(seconds) if seconds else (float(ms) / 1000 if ms else self.ctl.clock.now() - started)
        if store:
            self.ctl.history.recording(RecordingRecord(uuid=new_id(), call_uuid=self.uuid, path=path,
                                                       started_at=started, stopped_at=self.ctl.clock.now(),
                                                       duration_s=duration))
        return Recorded(path=path, duration_s=duration, cause=ev.application_response or "")

    def _transfer(self, cmd: Transfer) -> None:
        self.disposition = f"transfer:{cmd.to}"
        if self.last_queue:
            self.ctl.history.queue_event(QueueEventType.TRANSFER, self.last_queue, self.uuid,
                                         agent_id=self.last_agent, detail=f"{cmd.to} {cmd.target}")
        if cmd.to == "extension":
            self.transferred = True
            self.ch.execute("transfer", f"{cmd.target} XML {cmd.context or 'default'}")
        else:  # a number: bridge it through the configured gateway, then the call ends
            self.ch.bridge(self.ctl.config.callback.dial.format(number=cmd.target))

    def _http(self, cmd: Http) -> Result:
        def call() -> HttpResponse:
            data = None
            headers = dict(cmd.headers)
            if cmd.body is not None:
                data = cmd.body.encode() if isinstance(cmd.body, str) else json.dumps(cmd.body).encode()
                headers.setdefault("Content-Type", "application/json")
            req = urllib.request.Request(cmd.url, data=data, headers=headers, method=cmd.method.upper())
            try:
                with urllib.request.urlopen(req, timeout=cmd.timeout_s) as resp:
                    raw = resp.read(1_000_000)
                    status = resp.status
            except urllib.error.HTTPError as exc:
                raw, status = exc.read(1_000_000), exc.code
            except (OSError, ValueError) as exc:
                return HttpResponse(status=0, error=str(exc))
            text = raw.decode("utf-8", "replace")
            try:
                body: Any = json.loads(text)
            except ValueError:
                body = text
            return HttpResponse(status=status, body=body)

        pool = gevent.get_hub().threadpool
        try:
            res: HttpResponse = pool.spawn(call).get(timeout=cmd.timeout_s + 1.0)
            return res
        except gevent.Timeout:
            return HttpResponse(status=0, error=f"no answer within {cmd.timeout_s} s")

    # ------------------------------------------------------------------ queue
    def _enqueue(self, cmd: Enqueue) -> Result:
        ctl = self.ctl
        q = ctl.acd.world.queues.get(cmd.queue)
        if q is None:
            log.warning("call %s: no queue %s", self.uuid, cmd.queue)
            return Failed(f"no queue {cmd.queue}")
        self._answer()
        while not self.inbox.empty():   # what an earlier stay left behind (a late announcement, a digit)
            stale = self.inbox.get_nowait()
            self._taken += 1
            if isinstance(stale, tuple) and stale[0] == "hangup":
                raise CallGone(self.uuid, self.ch.hangup_cause or "NORMAL_CLEARING")
        if not self.notified and q.cfg.record_notice and q.cfg.record_policy is RecordPolicy.ALWAYS:
            self._queue_notice(cmd.queue, q.cfg.record_notice)
        now = ctl.clock.now()
        enter_id = new_id()
        # what the bridge needs (the caller stays when the agent hangs up) and what a restarted controller
        # needs to take the caller over, in one command, before the member exists
        self._setvars(park_after_bridge="true", hangup_after_bridge="false", cc_state="queued", cc_queue=cmd.queue,
                      cc_joined=repr(now), cc_priority=cmd.priority, cc_enter=enter_id,
                      cc_started=repr(self.started_at), cc_answered=repr(self.answered_at),
                      cc_flow=self.flow_name, cc_node=self.flow_run.node if self.flow_run is not None else None)
        stay = _Stay(cmd.queue, now, cmd, enter_id=enter_id)
        self.stay = stay
        self.last_queue = cmd.queue
        ctl.members[self.uuid] = self
        ctl.history.queue_event(QueueEventType.ENTER, cmd.queue, self.uuid, at=now, detail=enter_detail(cmd.priority),
                                id_=enter_id)
        ctl.hooks.emit(HookEvent("entered_queue", now, call_uuid=self.uuid, queue=cmd.queue,
                                 data={"priority": cmd.priority}))
        ctl.dispatcher.joined_at[self.uuid] = time.perf_counter()
        ctl.driver.submit(MemberJoined(self.uuid, cmd.queue, cmd.priority, cmd.skills,
                                       caller={"number": self.caller, "name": self.caller_name,
                                               "destination": self.dnis}, joined_at=now))
        if ctl.acd.member_queue(self.uuid) is None and self.inbox.empty():
            # neither waiting nor already sent on (Exit, Connect): the engine refused the member (logged)
            ctl.members.pop(self.uuid, None)
            self.stay = None
            self._stay_ended(QueueEventType.EXIT_FULL, cmd.queue, ExitReason.FULL, wait_s=0.0, detail="refused")
            self.mark(state="flow")
            return Failed(f"queue {cmd.queue} refused the caller")
        timers = self._queue_timers(cmd)
        try:
            return self._wait_in_queue(stay, q.cfg.moh if not cmd.moh else cmd.moh)
        except CallGone:
            self._hung_up_in_queue(stay)
            raise
        except BaseException:
            # an ESL failure or a controller failure in the middle of the stay: the member leaves the Acd
            # like a hang-up (no ghost member), an agent who answered is freed (none stays reserved)
            self._left_on_error(stay)
            raise
        finally:
            self._release_pending(stay)
            stay.done = True
            ctl.dispatcher.joined_at.pop(self.uuid, None)
            for t in timers:
                t.kill(block=False)
            if ctl.members.get(self.uuid) is self:
                del ctl.members[self.uuid]
            self.stay = None
            self.mark(state="flow")

    def _queue_timers(self, cmd: Enqueue) -> list[gevent.Greenlet]:
        real = self.ctl.clock.real
        timers = []
        if cmd.max_wait_s is not None:
            timers.append(gevent.spawn_later(real(cmd.max_wait_s), self.post,
                                             ("timeout", ExitReason.TIMEOUT)))
        if cmd.max_wait_no_agent_s is not None:
            timers.append(gevent.spawn_later(real(cmd.max_wait_no_agent_s), self.post, ("no_agent_check",)))
        if cmd.callback is not None:
            timers.append(gevent.spawn_later(real(cmd.callback.after_s), self.post, ("offer_callback",)))
        if cmd.announce_every_s:
            timers.append(gevent.spawn(self._announce_timer, cmd.announce_every_s))
        return timers

    def _announce_timer(self, every_s: float) -> None:
        while True:
            gevent.sleep(self.ctl.clock.real(every_s))
            self.post(("announce",))

    def _next_message(self, moh: str) -> Any:
        """Play music on hold until a message comes (or, if it cannot be played, just wait)."""
        while True:
            if not self.inbox.empty():
                return self._take()
            if self.ch.hung_up:
                raise CallGone(self.uuid, self.ch.hangup_cause or "NORMAL_CLEARING")
            if self._moh_failures >= 2 or not moh:
                return self._take()
            t0 = time.monotonic()
            ev = self._interruptible_play("playback", moh, None, hold=True)
            if ev.application_response != "FILE PLAYED" and time.monotonic() - t0 < 0.05:
                self._moh_failures += 1
                log.warning("call %s: music on hold %s does not play (%s)", self.uuid, moh,
                            ev.application_response)

    def _wait_in_queue(self, stay: _Stay, moh: str) -> Result:
        ctl = self.ctl
        cmd = stay.cmd
        while True:
            msg = self._next_message(moh)
            if _is_announcement(msg) and not self.inbox.empty():
                # a newer announcement, or a message that matters more, waits: announcements that come faster
                # than they can be played are coalesced (only the latest is played), never queued up in front
                # of a Connect
                continue
            if isinstance(msg, Exit):
                if msg.member_uuid != self.uuid:
                    continue
                self.disposition = f"queue-{msg.reason.value.lower()}"
                return QueueResult(_OUTCOMES.get(msg.reason, QueueOutcome.TIMEOUT), wait_s=msg.wait_s)
            if isinstance(msg, Announce):
                self._announce(msg.position, msg.ewt_s, cmd)
                continue
            kind = msg[0]
            if kind == "xfer":   # an agent's transfer action reached the call after his talk ended
                msg[1].reply.set_exception(Conflict("call", self.uuid, "is not talking to an agent"))
                continue
            if kind == "transferred":   # a supervisor sent the caller elsewhere (transfer_out)
                raise CallGone(self.uuid, "TRANSFERRED")
            if kind == "connect":
                result = self._talk(stay, msg[1], msg[2])
                if result is not None:
                    return result
            elif not self._in_acd(stay):
                # the Acd has already sent the member on (a Connect or an Exit waits in the inbox): a timer
                # or a digit that comes after it is normal and has nothing left to act on
                continue
            elif kind == "announce":
                self._announce(ctl.acd.position(self.uuid), ctl.acd.ewt(self.uuid), cmd)
            elif kind == "timeout":
                ctl.driver.submit(MemberLeft(self.uuid, msg[1]))
            elif kind == "no_agent_check":
                q = ctl.acd.world.queues.get(stay.queue)
                if q is not None and q.staffed_total == 0:
                    ctl.driver.submit(MemberLeft(self.uuid, ExitReason.NO_AGENT))
            elif kind == "offer_callback" and cmd.callback is not None and not stay.callback_offered:
                stay.callback_offered = True
                if cmd.callback.prompt:
                    self._interruptible_play("playback", cmd.callback.prompt, self._announce_bound())
            elif kind == "dtmf":
                digit = msg[1]
                if cmd.exit_key and digit == cmd.exit_key:
                    ctl.driver.submit(MemberLeft(self.uuid, ExitReason.EXIT_KEY))
                elif cmd.callback is not None and stay.callback_offered and digit == cmd.callback.digit:
                    return self._to_callback(stay)

    def _in_acd(self, stay: _Stay) -> bool:
        """Whether the Acd still has this caller as a member of its stay's queue (read after every yield)."""
        return self.ctl.acd.member_queue(self.uuid) == stay.queue

    def _left_on_error(self, stay: _Stay) -> None:
        """The stay ends on a failure that is not a hang-up: leave the Acd, free the agent, log the end (an
        EXIT_OTHER controller-error: cc failed the caller, who did not abandon)."""
        ctl = self.ctl
        r = stay.ringing
        if r is not None:
            if not r.ended:
                ctl.dispatcher.release(r, "system")
                now = ctl.clock.now()
                if stay.bridged_at is None:   # cc failed the caller: not an abandon
                    self._stay_ended(QueueEventType.EXIT_OTHER, stay.queue, ExitReason.CONTROLLER_ERROR,
                                     agent_id=r.agent_id, wait_s=now - stay.joined_at, detail="controller-error")
                else:
                    hold = r.bridge_hold_s(now)
                    ctl.history.queue_event(QueueEventType.COMPLETE_CALLER, stay.queue, self.uuid,
                                            agent_id=r.agent_id, wait_s=stay.bridged_at - stay.joined_at,
                                            talk_s=max(0.0, now - stay.bridged_at - hold), hold_s=hold,
                                            detail="controller error")
            return
        pending = self._release_pending(stay)
        if pending is not None:
            self._stay_ended(QueueEventType.EXIT_OTHER, stay.queue, ExitReason.CONTROLLER_ERROR,
                             agent_id=pending.agent_id, wait_s=ctl.clock.now() - stay.joined_at,
                             detail="controller-error")
        elif self._in_acd(stay):
            ctl.driver.submit(MemberLeft(self.uuid, ExitReason.CONTROLLER_ERROR))

    def _stay_ended(self, type_: QueueEventType, queue: str, reason: ExitReason, *, wait_s: float,
                    agent_id: str | None = None, detail: str = "") -> None:
        """A stay that ends here rather than by the Acd's Exit (which the dispatcher logs): its final queue-log
        line and its ``left_queue`` event, so that the pages, the event stream and the demo's dashboard count
        it as they count the Acd's exits."""
        self.ctl.dispatcher.log_exit(type_, queue, self.uuid, reason, wait_s, agent_id=agent_id, detail=detail)

    def _release_pending(self, stay: _Stay) -> Ringing | None:
        """Free the agents of Connects left in the inbox when the stay ends (the first one, if any)."""
        keep: list[Any] = []
        pending: list[Ringing] = []
        while not self.inbox.empty():
            msg = self.inbox.get_nowait()
            if isinstance(msg, tuple) and msg[0] == "connect":
                pending.append(msg[1])
                self._taken += 1
            else:
                keep.append(msg)
        for msg in keep:
            self.inbox.put_nowait(msg)
        for r in pending:
            log.info("call %s: agent %s answered as the stay in %s ended; freed", self.uuid, r.agent_id,
                     stay.queue)
            self.ctl.dispatcher.release(r, "system")
        return pending[0] if pending else None

    def _to_callback(self, stay: _Stay) -> Result:
        ctl = self.ctl
        number = self.caller
        wait = ctl.clock.now() - stay.joined_at
        ctl.callback_nodes[self.uuid] = self.node.name
        ctl.members.pop(self.uuid, None)
        ctl.driver.submit(CallbackRequested(self.uuid, number))
        if self.uuid not in ctl.acd.world.queues[stay.queue].members:
            ctl.callback_nodes.pop(self.uuid, None)
            return QueueResult(QueueOutcome.TIMEOUT, wait_s=wait)
        ctl.history.queue_event(QueueEventType.CALLBACK_REQUESTED, stay.queue, self.uuid, wait_s=wait,
                                detail=mask_number(number))
        self.disposition = "callback"
        return QueueResult(QueueOutcome.CALLBACK, wait_s=wait, digit=stay.cmd.callback.digit
                           if stay.cmd.callback else "")

    def _announce(self, position: int | None, ewt_s: float | None, cmd: Enqueue) -> None:
        ctl = self.ctl
        q = ctl.acd.world.queues.get(cmd.queue)
        want_position = cmd.announce_position or (q is not None and q.cfg.announce_position)
        lang = self.flow_run.language if self.flow_run is not None else "en"
        parts: list[tuple[str, str]] = []
        if q is not None and q.cfg.announce_prompt:
            parts.append(("playback", q.cfg.announce_prompt))
        if want_position and position is not None:
            parts.append(("say", f"{lang} number pronounced {position}"))
        if cmd.announce_ewt and ewt_s is not None:
            parts.append(("say", f"{lang} number pronounced {max(1, round(ewt_s / 60))}"))
        for app, arg in parts:
            if self._urgent():
                return   # a Connect (an Exit, a digit) came: the rest of the announcement is not played
            # bounded: an app whose completion never comes raises ESLTimeout, the stay ends and the call is settled
            self._interruptible_play(app, arg, self._announce_bound())

    def _announce_bound(self) -> float:
        """Real seconds one part of an announcement may take (ANNOUNCE_MAX_S of call time)."""
        return self._bound(ANNOUNCE_MAX_S)

    def transfer(self, request: TransferRequest, timeout_s: float = 10.0) -> dict[str, Any]:
        """Hand an agent's transfer action to the call's greenlet and wait for its answer (raises its refusal:
        Conflict, NotFound ...; Conflict when the call does not take it within ``timeout_s``)."""
        self.post(("xfer", request))
        try:
            answer: dict[str, Any] = request.reply.get(timeout=timeout_s)
        except gevent.Timeout:
            raise Conflict("call", self.uuid, f"did not take the {request.action} in time") from None
        return answer

    def _talk(self, stay: _Stay, r: Ringing, cmd: Connect) -> Result | None:
        """Bridge the caller to the agent who answered and wait until one of them hangs up."""
        ctl = self.ctl
        stay.ringing = r
        ctl.members.pop(self.uuid, None)
        if not ctl.dispatcher.bridge(r, self.uuid):
            ctl.dispatcher.release(r, "system")
            ctl.bridge_races += 1
            gone = self.ch.hung_up
            if not gone and not self._still_there():
                self.ch.wait_hangup(1.0)   # the caller is gone: its hang-up event is on the way
                gone = True
            if gone:
                self._abandoned_at_answer(stay, r)
                raise CallGone(self.uuid, self.ch.hangup_cause or "NORMAL_CLEARING")
            stay.ringing = None
            log.info("call %s: bridge to agent %s failed; back in queue %s", self.uuid, r.agent_id,
                     stay.queue)
            ctl.members[self.uuid] = self
            ctl.driver.submit(MemberJoined(self.uuid, stay.queue, stay.cmd.priority, stay.cmd.skills,
                                           joined_at=stay.joined_at))
            return None
        now = ctl.clock.now()
        stay.bridged_at = now
        wait = now - stay.joined_at   # until the caller hears the agent
        self.last_agent = r.agent_id
        self.mark(state="bridged", agent=r.agent_id, leg=r.leg_uuid, bridged=repr(now))
        ctl.history.queue_event(QueueEventType.CONNECT, stay.queue, self.uuid, agent_id=r.agent_id,
                                wait_s=wait, at=now, id_=connect_id(stay.enter_id, now) if stay.enter_id else None)
        ctl.hooks.emit(HookEvent("bridged", now, call_uuid=self.uuid, agent_id=r.agent_id, queue=stay.queue,
                                 data={"wait_s": wait}))
        started_recording = False
        if ctl.dispatcher.record_policy(stay.queue) is RecordPolicy.ALWAYS:
            self.recorder.start(stay.queue, reason="queue")
            started_recording = True
        return self._bridged(stay, r, now, wait, started_recording)

    def _bridged(self, stay: _Stay, r: Ringing, now: float, wait: float, started_recording: bool) -> Result | None:
        """Wait while the caller talks to the agent (bridged at ``now``); log the end and free the agent. The agent's
        transfer (a ``("xfer", TransferRequest)`` message) is run here (cc.runtime.call_transfer): None when it
        sends the caller back to waiting in a queue."""
        ctl = self.ctl
        while True:
            unbridged: Event | None = None
            request: TransferRequest | None = None
            try:
                while True:
                    msg = self._take()
                    if isinstance(msg, tuple) and msg[0] == "xfer":
                        request = msg[1]
                        break
                    if isinstance(msg, tuple) and msg[0] == "unbridged":
                        unbridged = msg[1]
                        gevent.sleep(0.02)   # a caller's own hang-up also unbridges: let its HANGUP land
                        if self.ch.hung_up:
                            raise CallGone(self.uuid, self.ch.hangup_cause or "NORMAL_CLEARING")
                        break
            except CallGone:
                self._caller_ended_talk(stay, r, now, wait, unbridged)
                raise
            if request is None:
                break
            out = self.transfers.handle(stay, r, request, now, wait, started_recording)
            if out is not KEEP:
                result: Result | None = out
                return result
        end = self._switch_time(unbridged)   # when the switch unbridged, not when cc got to it (a stall)
        hold = r.bridge_hold_s(end)
        talk = max(0.0, end - now - hold)
        ctl.history.queue_event(QueueEventType.COMPLETE_AGENT, stay.queue, self.uuid, agent_id=r.agent_id,
                                wait_s=wait, talk_s=talk, hold_s=hold, at=end)
        ctl.dispatcher.release(r, "agent")
        if started_recording:
            self.recorder.stop()
        self.disposition = "answered"
        return QueueResult(QueueOutcome.SERVED, agent_id=r.agent_id, wait_s=wait, talk_s=talk)

    def _caller_ended_talk(self, stay: _Stay, r: Ringing, now: float, wait: float, unbridged: Event | None) -> None:
        """The caller hung up while talking to ``r``'s agent (bridged at ``now``): COMPLETE_CALLER, agent freed."""
        ctl = self.ctl
        self.disposition = "answered"   # the caller hung up while talking: answered like an agent's end
        end = self._switch_time(self._hangup_event() or unbridged)
        hold = r.bridge_hold_s(end)
        talk = max(0.0, end - now - hold)   # talk_s: bridged time minus the agent's hold (docs/reports.md)
        # the caller's leg went; the detail names who ended it when it was not the caller
        ctl.history.queue_event(QueueEventType.COMPLETE_CALLER, stay.queue, self.uuid, agent_id=r.agent_id,
                                wait_s=wait, talk_s=talk, hold_s=hold,
                                detail=EXIT_CAUSES[self.ended_by] if self.ended_by else "", at=end)
        ctl.dispatcher.release(r, "caller")

    def _switch_time(self, ev: Event | None) -> float:
        """When ``ev`` happened on the call's switch, on the controller's clock (now, without an event)."""
        now = self.ctl.clock.now()
        return now if ev is None else self.node.when(ev, now)

    def _hangup_event(self) -> Event | None:
        """The caller's CHANNEL_HANGUP[_COMPLETE] when it is the latest event of the outbound socket."""
        ev: Event | None = getattr(self.ch, "last_event", None)
        return ev if ev is not None and ev.name in ("CHANNEL_HANGUP", "CHANNEL_HANGUP_COMPLETE") else None

    def _still_there(self) -> bool:
        """Whether the switch still has this call (``uuid_exists``); True when it cannot tell."""
        try:
            return self.node.api(f"uuid_exists {self.uuid}").strip() != "false"
        except CCError:
            return True

    def _abandoned_at_answer(self, stay: _Stay, r: Ringing) -> None:
        """The caller hung up just as an agent answered: an abandon for the queue, the agent is freed (ended by
        someone else: an EXIT_OTHER with the cause)."""
        wait = self.ctl.clock.now() - stay.joined_at
        if self.ended_by is not None:
            cause = EXIT_CAUSES[self.ended_by]
            self._stay_ended(QueueEventType.EXIT_OTHER, stay.queue, self.ended_by, agent_id=r.agent_id, wait_s=wait,
                             detail=cause)
            self.disposition = cause
            return
        self._stay_ended(QueueEventType.ABANDON, stay.queue, ExitReason.CALLER_ABANDON, agent_id=r.agent_id,
                         wait_s=wait, detail="as the agent answered")
        self.disposition = "abandoned"

    def _hung_up_in_queue(self, stay: _Stay) -> None:
        """The caller hung up while in a queue (not talking): leave the Acd, or free an agent who answered."""
        ctl = self.ctl
        if stay.ringing is not None:
            return   # talking or being bridged: _talk logged the end and freed the agent
        pending = []
        while not self.inbox.empty():
            msg = self.inbox.get_nowait()
            if isinstance(msg, tuple) and msg[0] == "connect":
                pending.append(msg[1])
        if pending:
            for r in pending:
                ctl.dispatcher.release(r, "caller")
            self._abandoned_at_answer(stay, pending[0])
        else:
            reason = self.ended_by or ExitReason.CALLER_ABANDON
            ctl.driver.submit(MemberLeft(self.uuid, reason))
            self.disposition = EXIT_CAUSES.get(reason, "abandoned")

    # ------------------------------------------------------------------ the end
    def _caller_gone(self, cause: str) -> None:
        ctl = self.ctl
        run = self.flow_run
        if run is not None and not run.done:
            try:
                run.feed(CallerHangup(cause), ctl.clock.now())
            except FlowError as exc:
                log.warning("call %s: flow refused the hang-up: %s", self.uuid, exc)
            except CCError as exc:
                log.warning("call %s: flow refused the hang-up: %s", self.uuid, exc)

    def _finish(self) -> None:
        ctl = self.ctl
        if ctl.sessions.get(self.uuid) is self:   # a later session under the same UUID keeps its entry
            del ctl.sessions[self.uuid]
        if ctl.members.get(self.uuid) is self:
            del ctl.members[self.uuid]
        self.recorder.call_ended()
        ended = ctl.clock.now()
        if self.ch.hung_up:
            self.ch.wait_cause(CAUSE_WAIT_S)   # the switch's CHANNEL_HANGUP may still be on its way
        cause = self.ch.hangup_cause or ("NORMAL_CLEARING" if self.ch.hung_up else None)
        if self.transferred and not self.ch.hung_up:
            cause = None
        if self.ch.socket_lost:   # the switch named no cause: the one cc settles the channel with (none: fallback)
            cause = None if ctl.settler.fallback else ctl.settler.cause
        leg_uuid = self.uuid
        if self.segment == 1:
            record = ctl.history.inbound_call(self.uuid, self.caller, self.dnis, self.started_at, self.node.name)
            ctl.history.call(replace(record, answered_at=self.answered_at, ended_at=ended, hangup_cause=cause,
                                     flow=self.flow_name, disposition=self.disposition,
                                     recording_refused=self.recorder.refused))
        else:   # the call came back under its UUID: a row of its own, the first one is never overwritten
            leg_uuid = f"{self.uuid}/{self.segment}"
            ctl.history.call_segment(CallSegment(leg_uuid, self.uuid, self.segment, self.caller, self.dnis,
                                                 self.started_at, self.node.name, self.answered_at, ended, cause,
                                                 self.flow_name, self.disposition))
        ctl.history.leg(CallLeg(uuid=leg_uuid, call_uuid=self.uuid, role="caller", dial_string=self.caller,
                                started_at=self.started_at, answered_at=self.answered_at, ended_at=ended,
                                hangup_cause=cause))
        where = self.flow_run.node if self.flow_run is not None else ""
        log.info("call %s: ended (%s) at %s/%s, disposition %s", self.uuid, cause, self.flow_name, where,
                 self.disposition)
        ctl.hooks.emit(HookEvent("call_ended", ended, call_uuid=self.uuid, agent_id=self.last_agent,
                                 queue=self.last_queue, data={"cause": cause, "disposition": self.disposition,
                                                               "flow": self.flow_name, "node": where}))
