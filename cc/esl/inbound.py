"""Inbound ESL client: ``Switch`` (api, bgapi -> Job, subscriptions, filters, reconnect with backoff).

Built on greenswitch's ``InboundESL`` for its identity (host, port, password) and handler registry
(``register_handle`` / ``unregister_handle``); the wire path is cc's own (:class:`cc.esl.connection.Link`
with the lazy :mod:`cc.esl.protocol` parser), because greenswitch's reader URL-decodes whole header
blocks, crashes on json frames and waits without timeouts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

import gevent
import gevent.event
import gevent.queue
import gevent.socket
from greenswitch.esl import InboundESL

from cc.errors import CommandFailed, ESLAuthError, ESLDisconnected, ESLError, ESLTimeout
from cc.esl import protocol as P
from cc.esl.connection import Link
from cc.esl.deadline import StallTimeout, wait_result
from cc.esl.protocol import Event, Frame

__all__ = ["Job", "Switch"]

log = logging.getLogger(__name__)

Handler = Callable[[Event], None]


class Job:
    """A ``bgapi`` command in flight; its result arrives with the BACKGROUND_JOB of the same Job-UUID."""

    def __init__(self, job_uuid: str, command: str) -> None:
        self.job_uuid = job_uuid
        self.command = command
        self._result = gevent.event.AsyncResult()
        self.event: Event | None = None

    @property
    def done(self) -> bool:
        """Whether the result (or a failure) is in."""
        return bool(self._result.ready())

    def _set(self, ev: Event) -> None:
        self.event = ev
        self._result.set(ev.body)

    def _fail(self, exc: ESLError) -> None:
        if not self._result.ready():
            self._result.set_exception(exc)

    def wait(self, timeout: float | None = None, *, check: bool = False) -> str:
        """The job's output (BACKGROUND_JOB body, e.g. ``+OK <uuid>\\n`` or ``-ERR USER_BUSY\\n``).

        Raises ESLTimeout after ``timeout`` s, ESLDisconnected if the connection dropped first, and with
        ``check=True`` CommandFailed when the output starts with ``-ERR``.
        """
        try:
            out: str = wait_result(self._result, timeout)
        except StallTimeout as exc:
            raise ESLTimeout(f"bgapi {self.command!r} (job {self.job_uuid}): {exc}") from None
        if check and out.startswith("-ERR"):
            raise CommandFailed(f"bgapi {self.command}", out.strip())
        return out

    def __repr__(self) -> str:
        return f"<Job {self.job_uuid} {self.command!r} {'done' if self.done else 'pending'}>"


class Switch(InboundESL):  # type: ignore[misc]
    """A client of one FreeSWITCH's event socket (port 8021), safe to share between greenlets.

    Example::

        sw = Switch("127.0.0.1", 8021, "ClueCon")
        sw.connect()
        sw.subscribe(["CHANNEL_ANSWER", "CHANNEL_HANGUP"])
        print(sw.api("status"))
        job = sw.bgapi("originate user/1000 &park()")
        print(job.wait(30))
        ev = sw.events.get()
    """

    def __init__(self, host: str, port: int, password: str, *, connect_timeout: float = 5.0,
                 command_timeout: float = 10.0, backoff: tuple[float, float] = (0.1, 5.0),
                 reconnect: bool = True, event_queue_size: int = 100_000) -> None:
        super().__init__(host, port, password, timeout=connect_timeout)
        self.connect_timeout = connect_timeout
        self.command_timeout = command_timeout
        self.backoff = backoff
        self.reconnect = reconnect
        #: every event received (except BACKGROUND_JOBs that belong to a Job), oldest first
        self.events: gevent.queue.Queue[Event] = gevent.queue.Queue(maxsize=event_queue_size or None)
        self.dropped_events = 0
        self.reconnects = 0
        self._fmt = "plain"
        self._names: list[str] = []
        self._filters: list[tuple[str, str]] = []
        self._jobs: dict[str, Job] = {}
        self._want_jobs = False   # set by the first bgapi: BACKGROUND_JOB is then always subscribed
        self._link: Link | None = None
        self._closing = False
        self._reconnector: gevent.Greenlet | None = None
        self._up = gevent.event.Event()
        self.last_error: ESLError | None = None
        #: called (without arguments, must not block) each time the connection is up again after a drop
        self.on_reconnect: list[Callable[[], None]] = []

    # ----------------------------------------------------------------------------------------- state
    @property
    def address(self) -> str:
        """``host:port``."""
        return f"{self.host}:{self.port}"

    @property
    def is_connected(self) -> bool:
        """Whether a connection is up and authenticated."""
        return self._up.is_set() and self._link is not None and not self._link.closed

    @property
    def pending(self) -> int:
        """Commands sent on the connection and still waiting for their reply."""
        link = self._link
        return link.pending if link is not None and not link.closed else 0

    def wait_connected(self, timeout: float | None = None) -> bool:
        """Wait until connected (e.g. after a drop, while reconnecting); False on timeout."""
        return bool(self._up.wait(timeout))

    # ----------------------------------------------------------------------------------------- connect
    def connect(self) -> None:
        """Connect, authenticate, re-apply subscriptions and filters.

        Raises ESLAuthError (password refused), ESLDisconnected (cannot connect) or ESLTimeout.
        """
        if self.is_connected:
            return
        self._closing = False
        self._open()

    def _open(self) -> None:
        try:
            sock = gevent.socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
        except OSError as e:
            raise ESLDisconnected(f"cannot connect to {self.address}: {e}") from None
        sock.settimeout(None)
        link = Link(sock, f"esl {self.address}", on_event=self._on_event, on_notice=self._on_notice,
                    on_close=lambda exc: self._on_close(link, exc))
        link.start()
        try:
            if not link.auth_request.wait(self.connect_timeout) or link.closed:
                if link.rejected:
                    raise ESLAuthError(self.host, self.port, link.rejected)
                raise ESLDisconnected(f"{self.address}: no auth/request from the server")
            reply = link.command(P.render_auth(self.password), self.connect_timeout)
            if reply.reply_text != "+OK accepted":
                raise ESLAuthError(self.host, self.port, reply.reply_text)
            names = self._subscription_names()
            if names:
                self._check(link.command(P.render_event(names, self._fmt), self.command_timeout), "event")
            for header, value in self._filters:
                self._check(link.command(P.render_filter(header, value), self.command_timeout), "filter")
        except BaseException:
            link.close()
            raise
        if link.closed:   # dropped right after set-up: let the caller (or the reconnect loop) retry
            raise ESLDisconnected(f"connection to {self.address} closed during set-up")
        self._link = link
        self._up.set()
        log.info("connected to FreeSWITCH at %s (events %s %s)", self.address, self._fmt, " ".join(names))

    def _subscription_names(self) -> list[str]:
        names = list(self._names)
        if self._want_jobs and "ALL" not in names and "BACKGROUND_JOB" not in names:
            names.insert(0, "BACKGROUND_JOB")
        return names

    def _on_close(self, link: Link, exc: ESLError | None) -> None:
        if link is not self._link:
            return
        self._up.clear()
        self.last_error = exc
        err = ESLDisconnected(f"connection to {self.address} lost" + (f": {exc}" if exc else ""))
        jobs, self._jobs = self._jobs, {}
        for job in jobs.values():
            job._fail(err)
        if self._closing or not self.reconnect:
            return
        log.warning("connection to %s lost (%s); reconnecting", self.address, exc or "closed by peer")
        if self._reconnector is None or self._reconnector.dead:
            self._reconnector = gevent.spawn(self._reconnect_loop)

    def _reconnect_loop(self) -> None:
        delay, cap = self.backoff
        while not self._closing:
            gevent.sleep(delay)
            if self._closing:
                return
            try:
                self._open()
                self.reconnects += 1
                for hook in list(self.on_reconnect):
                    try:
                        hook()
                    except Exception:
                        log.exception("%s: reconnect hook failed", self.address)
                return
            except ESLError as e:
                log.warning("reconnect to %s failed: %s (next try in %.1f s)", self.address, e,
                            min(delay * 2, cap))
                delay = min(delay * 2, cap)

    def close(self) -> None:
        """Say ``exit`` if connected, close the socket, stop reconnecting; pending jobs fail."""
        self._closing = True
        if self._reconnector is not None:
            self._reconnector.kill(block=False)
        link = self._link
        if link is not None and not link.closed:
            try:
                link.command(P.render_exit(), 1.0)
            except ESLError:
                pass
            link.close()
        self._up.clear()

    def stop(self) -> None:
        """Same as :meth:`close` (greenswitch's name)."""
        self.close()

    def send(self, data: str) -> Frame:
        """greenswitch-compatible raw send: ``data`` plus the blank line; returns the reply frame."""
        return self.command((data + "\n\n").encode())

    def __enter__(self) -> Switch:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------------------------------- commands
    def _require(self) -> Link:
        link = self._link
        if link is None or link.closed or not self._up.is_set():
            raise ESLDisconnected(f"not connected to {self.address}")
        return link

    @staticmethod
    def _check(reply: Frame, what: str) -> str:
        text = reply.reply_text
        if text.startswith("-ERR") or text.startswith("-USAGE"):
            raise CommandFailed(what, text)
        return text

    def command(self, raw: bytes, timeout: float | None = None) -> Frame:
        """Send raw command bytes (from :mod:`cc.esl.protocol`) and return the reply frame."""
        return self._require().command(raw, self.command_timeout if timeout is None else timeout)

    def api(self, cmd: str, timeout: float | None = None) -> str:
        """Run ``api <cmd>``; returns its output; ``-ERR ...`` raises CommandFailed.

        ``api`` blocks this connection's event flow on FreeSWITCH until it returns: use bgapi for slow
        commands such as originate.
        """
        fr = self.command(P.render_api(cmd), timeout)
        if fr.content_type == "command/reply":   # e.g. "-ERR command not found" before auth
            text = fr.reply_text
        else:
            text = fr.text
        if text.startswith("-ERR"):
            raise CommandFailed(f"api {cmd}", text.strip())
        return text

    def bgapi(self, cmd: str, job_uuid: str | None = None, timeout: float | None = None) -> Job:
        """Run ``bgapi <cmd>`` (with a ``Job-UUID`` header when ``job_uuid`` is given).

        The returned Job's result arrives with the BACKGROUND_JOB event of its Job-UUID; the job is
        registered from the reply inside the reader, so a fast result cannot slip past it.
        """
        link = self._require()
        if not self._want_jobs:
            self._want_jobs = True
            if "ALL" not in self._names and "BACKGROUND_JOB" not in self._names:
                self._check(link.command(P.render_event(["BACKGROUND_JOB"], self._fmt), self.command_timeout),
                            "event")
        job = Job(job_uuid or "", cmd)
        if job_uuid:
            self._jobs[job_uuid] = job

        def register(fr: Frame) -> None:
            got = fr.get("Job-UUID")
            if got and got != job.job_uuid:
                self._jobs.pop(job.job_uuid, None)
                job.job_uuid = got
                self._jobs[got] = job

        try:
            fr = link.command(P.render_bgapi(cmd, job_uuid), self.command_timeout if timeout is None
                              else timeout, on_reply=register)
            self._check(fr, f"bgapi {cmd}")
        except ESLError:
            self._jobs.pop(job.job_uuid, None)
            raise
        return job

    def subscribe(self, names: Iterable[str] | str, fmt: str = "plain") -> None:
        """Add events to the subscription (``event plain|json NAME ...``); all are re-sent after a reconnect.

        ``CUSTOM`` subclasses are given after ``CUSTOM`` (``["CUSTOM", "callcenter::info"]``). The format
        applies to the whole connection (the last one given wins).
        """
        new = [names] if isinstance(names, str) else list(names)
        P.render_event(new, fmt)                 # validates
        for n in new:
            if n not in self._names:
                self._names.append(n)
        self._fmt = fmt
        if self._up.is_set():
            self._check(self.command(P.render_event(new, fmt)), "event")

    def unsubscribe(self, names: Iterable[str] | str) -> None:
        """``nixevent NAME ...`` and forget them for reconnects."""
        gone = [names] if isinstance(names, str) else list(names)
        self._names = [n for n in self._names if n not in gone]
        if self._up.is_set():
            self._check(self.command(P.render_nixevent(gone)), "nixevent")

    def noevents(self) -> None:
        """``noevents``: drop every subscription (Jobs then need a new bgapi to re-subscribe)."""
        self._names = []
        self._want_jobs = False
        if self._up.is_set():
            self._check(self.command(P.render_noevents()), "noevents")

    def filter(self, header: str, value: str) -> None:
        """``filter <header> <value>``: only events matching a filter are delivered; re-sent on reconnect."""
        if (header, value) not in self._filters:
            self._filters.append((header, value))
        if self._up.is_set():
            self._check(self.command(P.render_filter(header, value)), "filter")

    def filter_delete(self, header: str, value: str | None = None) -> None:
        """``filter delete <header> [<value>]``."""
        self._filters = [(h, v) for h, v in self._filters if not (h == header and value in (None, v))]
        if self._up.is_set():
            self._check(self.command(P.render_filter_delete(header, value)), "filter delete")

    def on(self, name: str, handler: Handler) -> None:
        """Call ``handler(event)`` for events named ``name`` (or a CUSTOM subclass; ``*`` = any).

        Handlers run inline in the reader greenlet: they must only translate and enqueue, never block.
        Their exceptions are logged and swallowed.
        """
        self.register_handle(name, handler)

    def off(self, name: str, handler: Handler) -> None:
        """Remove a handler added with :meth:`on`."""
        self.unregister_handle(name, handler)

    # ----------------------------------------------------------------------------------------- events
    def _on_event(self, fr: Frame) -> None:
        ev = fr.event()
        name = ev.name
        if name == "BACKGROUND_JOB":
            job = self._jobs.pop(ev.job_uuid or "", None)
            if job is not None:
                job._set(ev)
                return
        handlers = self.event_handlers.get(ev.subclass if name == "CUSTOM" else name) or \
            self.event_handlers.get("*")
        if handlers:
            for h in list(handlers):
                try:
                    h(ev)
                except Exception:
                    log.exception("event handler %r failed on %s", h, name)
        try:
            self.events.put_nowait(ev)
        except gevent.queue.Full:
            self.dropped_events += 1
            if self.dropped_events in (1, 10, 100) or self.dropped_events % 1000 == 0:
                log.warning("event queue full: %d events dropped (oldest kept)", self.dropped_events)

    def _on_notice(self, fr: Frame) -> None:
        log.info("%s: disconnect notice: %s", self.address, fr.text.strip().split("\n")[0])
