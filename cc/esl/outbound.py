"""Outbound ESL: ``OutboundServer`` accepts FreeSWITCH's ``socket`` connections; one ``CallChannel`` each.

FreeSWITCH's dialplan ``socket 127.0.0.1:8084 async full`` connects here for every call. The server
accepts with gevent's StreamServer (no accept polling) and runs ``handler(channel)`` in the
connection's own greenlet. :class:`CallChannel` subclasses greenswitch's ``ESLProtocol`` for its handler
registry only; reading, reply pairing and completion matching are cc's own: every ``execute`` carries
an Event-UUID and waits for the CHANNEL_EXECUTE_COMPLETE whose Application-UUID is that id. The far end
hanging up raises :class:`~cc.errors.CallGone` in whatever the channel is waiting on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import gevent
import gevent.event
import gevent.queue
import gevent.server
import gevent.socket
from greenswitch.esl import ESLProtocol

from cc.errors import CallGone, CommandFailed, ConfigError, ESLDisconnected, ESLError, ESLTimeout
from cc.esl import protocol as P
from cc.esl.connection import Link
from cc.esl.deadline import StallTimeout, wait_result
from cc.esl.protocol import Event, Frame

__all__ = ["CallChannel", "OutboundServer"]

log = logging.getLogger(__name__)

HANGUP_EVENTS = frozenset(("CHANNEL_HANGUP", "CHANNEL_HANGUP_COMPLETE"))
#: mod_event_socket's reply to a sendmsg for a session it no longer has: the channel is gone (hung up)
NO_SESSION_REPLY = "-ERR invalid session id"
#: real seconds our ``hangup``'s completion may trail the channel's hang-up: when the far end hung up first, the
#: queued hangup never runs and its completion never comes
HANGUP_GRACE_S = 1.0


class CallChannel(ESLProtocol):  # type: ignore[misc]
    """One call under cc's control over an outbound socket (use it from the call's own greenlet).

    Attributes: ``uuid``, ``channel_data`` (the connect reply as an Event), ``hung_up``, ``hangup_cause``,
    ``dtmf`` (a queue of digits), ``events`` (every event of this channel, oldest first; empty when the channel
    was made with ``keep_events=False``, for a user that reads events only through handlers), ``socket_lost``.
    """

    #: the socket closed while the switch had not said the channel is down (no hang-up event, no disconnect
    #: notice) and cc had not closed it: the channel may still be up, out of cc's control
    socket_lost = False
    #: called (in the reader) when the socket is lost, before anything waiting on the call is told it is gone
    on_socket_lost: Callable[[], None] | None = None
    _closing = False

    def __init__(self, sock: gevent.socket.socket, address: tuple[Any, ...] | None = None, *,
                 command_timeout: float = 10.0, linger: bool | int = True, addressed: bool = False,
                 event_lock: bool = True, keep_events: bool = True) -> None:
        ESLProtocol.__init__(self)
        self.keep_events = keep_events
        self.event_lock = event_lock   # sendmsg event-lock on answer / pre_answer / playback
        self.address = address
        self.command_timeout = command_timeout
        self.linger_setting = linger
        self.addressed = addressed
        self.uuid = ""
        self.channel_data: Event = P.PlainEvent("")
        self.last_event: Event | None = None
        self.hung_up = False
        self.hangup_cause: str | None = None
        #: the switch said the channel is down (a hang-up event or a disconnect notice), not just our socket
        self.channel_down = False
        self.lingering = False
        self.dtmf: gevent.queue.Queue[str] = gevent.queue.Queue()
        self.events: gevent.queue.Queue[Event] = gevent.queue.Queue()
        self._waiters: dict[str, gevent.event.AsyncResult] = {}
        self._hanging_up = False
        self._grace_armed = False   # the wait for our hangup's completion is scheduled (once a channel)
        self._gone = gevent.event.Event()
        #: set once the switch named the hang-up cause (a CHANNEL_HANGUP[_COMPLETE]) or the socket closed;
        #: a disconnect notice or a close can come before the hang-up event, and its cause is only a default
        self._cause_known = gevent.event.Event()
        self._dtmf_ready = gevent.event.Event()
        self.started_at = time.monotonic()
        self._link = Link(sock, f"outbound {address}", on_event=self._on_event, on_notice=self._on_notice,
                          on_close=self._on_close)
        self.connected = True

    # ----------------------------------------------------------------------------------------- set-up
    def start(self) -> None:
        """Start reading, send ``connect`` (channel data), ``myevents`` and ``linger``."""
        self.open()
        self.setup()

    def open(self) -> None:
        """Start reading and send ``connect``: the channel data (and ``uuid``) are known after it."""
        self._link.start()
        reply = self._link.command(P.render_connect(), self.command_timeout)
        self.channel_data = reply.event()
        self.session_data = self.channel_data
        self.uuid = self.channel_data.uuid or ""
        self._link.name = f"call {self.uuid}"

    def setup(self) -> None:
        """Send ``myevents`` and ``linger`` (after :meth:`open`)."""
        self._expect_ok(self._link.command(P.render_myevents(), self.command_timeout), "myevents")
        if self.linger_setting is not False:
            secs = None if self.linger_setting is True else int(self.linger_setting)
            self._expect_ok(self._link.command(P.render_linger(secs), self.command_timeout), "linger")
        log.debug("call %s: connected", self.uuid)

    @staticmethod
    def _expect_ok(reply: Frame, what: str) -> str:
        text = reply.reply_text
        if not text.startswith("+OK"):
            raise CommandFailed(what, text)
        return text

    # ----------------------------------------------------------------------------------------- events
    def _on_event(self, fr: Frame) -> None:
        ev = fr.event()
        name = ev.name
        self.last_event = ev
        if name == "CHANNEL_EXECUTE_COMPLETE":
            au = ev.application_uuid
            if au is not None:
                ar = self._waiters.pop(au, None)
                if ar is not None:
                    ar.set(ev)
        elif name == "DTMF":
            digit = ev.dtmf_digit
            if digit:
                self.dtmf.put_nowait(digit)
                self._dtmf_ready.set()
        elif name in HANGUP_EVENTS:
            self.channel_down = True
            cause = ev.hangup_cause
            if cause and not self._cause_known.is_set() and self.hung_up and self.hangup_cause != cause:
                log.info("call %s: hang-up cause %s (the switch's, not %s)", self.uuid, cause, self.hangup_cause)
                self.hangup_cause = cause   # the switch's own word beats the default taken from a notice
            self._mark_gone(cause or "NORMAL_CLEARING")
            if cause:
                self._cause_known.set()
        handlers = self.event_handlers.get(name) or self.event_handlers.get("*")
        if handlers:
            for h in list(handlers):
                try:
                    h(ev)
                except Exception:
                    log.exception("call %s: event handler %r failed on %s", self.uuid, h, name)
        if self.keep_events:
            self.events.put_nowait(ev)

    def _on_notice(self, fr: Frame) -> None:
        self.channel_down = True
        disp = fr.get("Content-Disposition")
        if disp == "linger":
            self.lingering = True     # the channel is down; events keep coming until exit
            self._mark_gone(self.hangup_cause or "NORMAL_CLEARING")
        else:
            self._mark_gone(self.hangup_cause or "NORMAL_CLEARING")

    def _on_close(self, exc: ESLError | None) -> None:
        self.connected = False
        if not self.channel_down and not self.hung_up and not self._closing and self.uuid:
            self.socket_lost = True
            log.warning("call %s: outbound socket lost (closed with the channel still up: no hang-up event, no "
                        "disconnect notice%s)", self.uuid, f": {exc}" if exc is not None else "")
            if self.on_socket_lost is not None:
                try:
                    self.on_socket_lost()
                except Exception:
                    log.exception("call %s: socket-lost handler failed", self.uuid)
        self._mark_gone(self.hangup_cause or "NORMAL_CLEARING", closed=True)
        self._cause_known.set()   # nothing more will come

    def wait_cause(self, timeout: float) -> str | None:
        """The hang-up cause once the switch has named it (up to ``timeout`` s while the socket is still open:
        a notice can come before the CHANNEL_HANGUP that carries the real cause)."""
        self._cause_known.wait(timeout)
        return self.hangup_cause

    def _mark_gone(self, cause: str, closed: bool = False) -> None:
        if not self.hung_up:
            self.hung_up = True
            self.hangup_cause = cause
            log.info("call %s: hung up (%s)", self.uuid, cause)
        self._gone.set()
        if self._hanging_up and not closed:
            # our own hangup: its completion comes next, unless the far end hung up first (then it never runs)
            if not self._grace_armed:
                self._grace_armed = True
                gevent.spawn_later(HANGUP_GRACE_S, self._fail_waits_gone)
            return
        waiters, self._waiters = self._waiters, {}
        for ar in waiters.values():
            ar.set_exception(CallGone(self.uuid, self.hangup_cause or cause))

    # ----------------------------------------------------------------------------------------- commands
    def variable(self, name: str) -> str | None:
        """Channel variable ``name`` as of the latest event of this channel (or the connect data)."""
        ev = self.last_event
        if ev is not None:
            v = ev.variable(name)
            if v is not None:
                return v
        return self.channel_data.variable(name)

    def execute(self, app: str, arg: str = "", timeout: float | None = None, *, event_lock: bool = False,
                loops: int | None = None) -> Event:
        """Run dialplan application ``app`` and wait for its CHANNEL_EXECUTE_COMPLETE (matched by UUID).

        ``timeout`` (s) bounds the wait (None = no bound: a playback can last); raises CallGone when the
        call ends first, ESLTimeout, or CommandFailed when FreeSWITCH refuses the sendmsg.
        """
        if self.hung_up:
            raise CallGone(self.uuid, self.hangup_cause or "NORMAL_CLEARING")
        event_uuid = P.new_uuid()
        ar = gevent.event.AsyncResult()
        self._waiters[event_uuid] = ar
        raw = P.render_execute(app, arg, event_uuid=event_uuid, uuid=self.uuid if self.addressed else None,
                               event_lock=event_lock, loops=loops)
        try:
            reply = self._link.command(raw, self.command_timeout)
            if reply.reply_text.startswith(NO_SESSION_REPLY):   # a hang-up whose events have not come (yet)
                self.channel_down = True
                self._mark_gone(self.hangup_cause or "NORMAL_CLEARING")
                raise CallGone(self.uuid, self.hangup_cause or "NORMAL_CLEARING")
            self._expect_ok(reply, f"execute {app}")
        except ESLDisconnected:
            self._waiters.pop(event_uuid, None)
            raise CallGone(self.uuid, self.hangup_cause or "NORMAL_CLEARING") from None
        except ESLError:
            self._waiters.pop(event_uuid, None)
            raise
        try:
            ev: Event = wait_result(ar, timeout)
        except StallTimeout as exc:
            self._waiters.pop(event_uuid, None)
            raise ESLTimeout(f"call {self.uuid}: {app} did not complete: {exc}") from None
        log.debug("call %s: %s -> %s", self.uuid, app, ev.application_response)
        return ev

    def _fail_waits_gone(self) -> None:
        self.fail_waits(CallGone(self.uuid, self.hangup_cause or "NORMAL_CLEARING"))

    def fail_waits(self, exc: ESLError) -> int:
        """Fail every ``execute`` still waiting for its completion with ``exc`` (the switch lost them); how many."""
        waiters, self._waiters = self._waiters, {}
        for ar in waiters.values():
            ar.set_exception(exc)
        return len(waiters)

    def answer(self) -> Event:
        """``answer``."""
        return self.execute("answer", event_lock=self.event_lock)

    def pre_answer(self) -> Event:
        """``pre_answer`` (early media)."""
        return self.execute("pre_answer", event_lock=self.event_lock)

    def playback(self, path: str, timeout: float | None = None) -> Event:
        """``playback <path>``; ``application_response`` is ``FILE PLAYED`` when it ran to its end."""
        return self.execute("playback", path, timeout, event_lock=self.event_lock)

    def play_and_get_digits(self, min_digits: int, max_digits: int, tries: int, timeout_ms: int,
                            terminators: str, file: str, invalid_file: str, var: str, regexp: str,
                            digit_timeout_ms: int | None = None, timeout: float | None = None) -> str | None:
        """``play_and_get_digits``; returns the digits (``variable_<var>``) or None (timeout/failure)."""
        if not var or " " in var:
            raise ConfigError(f"play_and_get_digits: bad variable name {var!r}", path="var")
        args = [str(min_digits), str(max_digits), str(tries), str(timeout_ms), terminators or "none", file,
                invalid_file or "silence_stream://250", var, regexp or "\\d+"]
        if digit_timeout_ms is not None:
            args.append(str(digit_timeout_ms))
        ev = self.execute("play_and_get_digits", " ".join(args), timeout)
        result = ev.variable("read_result")
        digits = ev.variable(var)
        if result not in (None, "success") or not digits:
            return None
        return digits

    def bridge(self, dial: str, timeout: float | None = None) -> Event:
        """``bridge <dial>``; returns the completion (outcome in ``variable_DIALSTATUS`` etc.)."""
        return self.execute("bridge", dial, timeout)

    def record_session(self, path: str) -> Event:
        """``record_session <path>`` (completes at once; the recording runs on)."""
        return self.execute("record_session", path, self.command_timeout)

    def stop_record_session(self, path: str) -> Event:
        """``stop_record_session <path>``."""
        return self.execute("stop_record_session", path, self.command_timeout)

    def set(self, var: str, value: str) -> Event:
        """``set var=value`` on this channel."""
        return self.execute("set", f"{var}={value}", self.command_timeout)

    def export(self, var: str, value: str) -> Event:
        """``export var=value`` (also onto legs bridged later)."""
        return self.execute("export", f"{var}={value}", self.command_timeout)

    def hangup(self, cause: str = "NORMAL_CLEARING") -> None:
        """``hangup <cause>``; a call already gone is not an error."""
        if self.hung_up:
            return
        self._hanging_up = True
        try:
            self.execute("hangup", cause, self.command_timeout)
        except CallGone:
            pass

    def api(self, cmd: str, timeout: float | None = None) -> str:
        """``api <cmd>`` over this socket (needs ``full``); ``-ERR`` raises CommandFailed."""
        fr = self._link.command(P.render_api(cmd), self.command_timeout if timeout is None else timeout)
        text = fr.text if fr.content_type == "api/response" else fr.reply_text
        if text.startswith("-ERR"):
            raise CommandFailed(f"api {cmd}", text.strip())
        return text

    def getvar(self, name: str) -> str | None:
        """``getvar <name>``: the variable's current value from FreeSWITCH (None when unset)."""
        text = self._link.command(P.render_getvar(name), self.command_timeout).reply_text
        if text.startswith("-ERR"):
            raise CommandFailed(f"getvar {name}", text)
        return None if text in ("", "_undef_") else text

    def send(self, data: str) -> Frame:
        """greenswitch-compatible raw send: ``data`` plus the blank line; returns the reply frame."""
        return self._link.command((data + "\n\n").encode(), self.command_timeout)

    def on(self, name: str, handler: Callable[[Event], None]) -> None:
        """Call ``handler(event)`` for this channel's events named ``name`` (``*`` = any); must not block."""
        self.register_handle(name, handler)

    def on_dtmf(self, handler: Callable[[str], None]) -> None:
        """Call ``handler(digit)`` for every DTMF digit (inline in the reader: must not block)."""
        self.register_handle("DTMF", lambda ev: handler(ev.dtmf_digit or ""))

    def read_dtmf(self, timeout: float | None = None) -> str | None:
        """The next DTMF digit (queued ones first); None on timeout; CallGone when the call ends first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if not self.dtmf.empty():
                digit: str = self.dtmf.get_nowait()
                return digit
            if self.hung_up:
                raise CallGone(self.uuid, self.hangup_cause or "NORMAL_CLEARING")
            self._dtmf_ready.clear()
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return None
            gevent.wait([self._dtmf_ready, self._gone], timeout=left, count=1)

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` while the call lasts; CallGone as soon as it ends."""
        if self._gone.wait(seconds) or self.hung_up:
            raise CallGone(self.uuid, self.hangup_cause or "NORMAL_CLEARING")

    def wait_hangup(self, timeout: float | None = None) -> bool:
        """Wait until the call is down; False on timeout."""
        return bool(self._gone.wait(timeout))

    def forget(self, cause: str) -> None:
        """The switch no longer has this channel: whatever waits on it gets CallGone; the socket closes."""
        self.channel_down = True
        self._mark_gone(cause, closed=True)
        self._link.close()

    def close(self) -> None:
        """Send ``exit`` (when still connected) and close the socket."""
        self._closing = True
        if not self._link.closed:
            try:
                self._link.command(P.render_exit(), 1.0)
            except ESLError:
                pass
        self._link.close()
        self.connected = False

    def stop(self) -> None:
        """Same as :meth:`close` (greenswitch's name)."""
        self.close()

    def release(self) -> None:
        """After the session (the socket closed): drop the events, handlers and waiters the channel holds.

        The channel and its link refer to each other (the link's callbacks), and a session's handlers to the
        session: without this, a finished call and every event it received (some kB each) stay in memory until
        the cyclic collector runs, and the unread ``events`` queue holds every event of the call."""
        self.events = gevent.queue.Queue()
        self.dtmf = gevent.queue.Queue()
        self.event_handlers.clear()
        self._waiters.clear()
        self.last_event = None
        self.on_socket_lost = None
        self._link.release()


class OutboundServer:
    """Accepts FreeSWITCH's outbound socket connections and runs ``handler(channel)`` once per call.

    Example::

        def ivr(ch: CallChannel) -> None:
            ch.answer()
            ch.playback("ivr/welcome.wav")
            ch.hangup()

        srv = OutboundServer("127.0.0.1", 8084, ivr)
        srv.start()          # returns at once; srv.address has the bound port (port 0 allowed)
    """

    def __init__(self, host: str, port: int, handler: Callable[[CallChannel], None], *,
                 command_timeout: float = 10.0, linger: bool | int = True, addressed: bool = False,
                 event_lock: bool = True, max_calls: int | None = None,
                 screen: Callable[[CallChannel], bool] | None = None,
                 on_give_up: Callable[[CallChannel, str], None] | None = None,
                 gate: Callable[[], bool] | None = None, keep_events: bool = True) -> None:
        self.screen = screen
        #: False: the channels' ``events`` queues stay empty (the controller reads events through handlers only;
        #: 500 calls in progress kept ~18 MB of events nobody read)
        self.keep_events = keep_events
        #: False: a connection is closed at once, unread (a standby: the dialplan goes on to its next socket)
        self.gate = gate
        self.closed_by_gate = 0
        self.on_give_up = on_give_up
        self.gave_up = 0
        self.event_lock = event_lock
        self.host = host
        self.port = port
        self.handler = handler
        self.command_timeout = command_timeout
        self.linger = linger
        self.addressed = addressed
        self.max_calls = max_calls
        self.calls: dict[int, CallChannel] = {}
        self.handled = 0
        self.failed = 0
        self._server: gevent.server.StreamServer | None = None

    @property
    def address(self) -> tuple[str, int]:
        """(host, port) actually bound (after :meth:`start`)."""
        if self._server is None:
            return (self.host, self.port)
        addr = self._server.address
        return (str(addr[0]), int(addr[1]))

    def start(self) -> None:
        """Bind and start accepting; a port in use raises ESLDisconnected naming host:port."""
        self._server = gevent.server.StreamServer((self.host, self.port), self._accept, backlog=1024)
        try:
            self._server.start()
        except OSError as e:
            self._server = None
            raise ESLDisconnected(f"cannot listen on {self.host}:{self.port}: {e}") from None
        log.info("outbound ESL server listening on %s:%s", *self.address)

    def serve_forever(self) -> None:
        """Start (if needed) and block until stopped."""
        if self._server is None:
            self.start()
        assert self._server is not None
        self._server.serve_forever()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting; calls still running get ``timeout`` s, then their sockets close."""
        if self._server is not None:
            self._server.stop(timeout=timeout)
            self._server = None
        for ch in list(self.calls.values()):
            ch.close()

    def _accept(self, sock: gevent.socket.socket, address: tuple[Any, ...]) -> None:
        if self.gate is not None and not self.gate():
            self.closed_by_gate += 1
            sock.close()
            return
        if self.max_calls is not None and len(self.calls) >= self.max_calls:
            log.warning("outbound: refusing a call from %s: %d calls running", address, len(self.calls))
            sock.close()
            return
        ch = CallChannel(sock, address, command_timeout=self.command_timeout, linger=self.linger,
                         addressed=self.addressed, event_lock=self.event_lock, keep_events=self.keep_events)
        key = id(ch)
        self.calls[key] = ch
        reason = ""
        ran = False
        try:
            ch.open()
            if not ch.uuid:   # nothing to run, store or settle a call under: refused, the socket closed
                self.failed += 1
                log.warning("outbound: the connect reply from %s has no Unique-ID; connection closed", address)
                return
            if self.screen is not None and not self.screen(ch):
                return   # refused at the door: the screen hung it up (or sent it to a fallback)
            ch.setup()
            ran = True
            self.handler(ch)
            self.handled += 1
        except CallGone as e:
            self.handled += 1
            log.info("call %s: gone (%s); handler ended", ch.uuid, e.cause)
            if not ran and ch.uuid:
                reason = "gone"
        except ESLError as e:
            if ch.channel_down and ch.uuid and not ran:
                # the switch said the channel is down (the caller hung up while cc set the call up), and closed
                # the socket under the command: a hang-up, not a failure
                self.handled += 1
                reason = "gone"
                log.info("call %s: gone during set-up (%s)", ch.uuid, e)
                return
            self.failed += 1
            reason = "esl-timeout" if isinstance(e, ESLTimeout) else "esl-error"
            log.warning("call %s: ESL error: %s", ch.uuid or address, e)
        except Exception:
            self.failed += 1
            reason = "error"
            log.exception("call %s: handler failed", ch.uuid or address)
        finally:
            self.calls.pop(key, None)
            if reason and (not ch.channel_down or reason == "gone"):
                self._give_up(ch, reason)   # "gone": hung up before its call ran, only recorded
            ch.close()
            ch.release()

    def _give_up(self, ch: CallChannel, reason: str) -> None:
        """cc gives up on a session whose channel may still be up: ``on_give_up`` settles it (reason ``gone``: the
        caller hung up before the handler ran; nothing to settle, only to record)."""
        if reason != "gone":
            self.gave_up += 1
        if self.on_give_up is None:
            return
        try:
            self.on_give_up(ch, reason)
        except Exception:
            log.exception("call %s: give-up handler failed", ch.uuid or ch.address)

    def uuids(self) -> set[str]:
        """The channel UUIDs of the connections open now (those whose ``connect`` reply came)."""
        return {ch.uuid for ch in self.calls.values() if ch.uuid}
