"""One Event Socket TCP connection: cc's parser on the read path, FIFO reply pairing, timeouts on every wait.

Used by both :class:`cc.esl.inbound.Switch` and :class:`cc.esl.outbound.CallChannel`. The reader
greenlet never blocks on anything but the socket: frames are handed to callbacks that only translate
and enqueue. A protocol error or EOF closes the socket and fails every pending command.
"""

from __future__ import annotations

import logging
import socket as _stdsocket
from collections import deque
from collections.abc import Callable

import gevent
import gevent.event
import gevent.lock
import gevent.socket

from cc.errors import ESLDisconnected, ESLError, ESLProtocolError, ESLTimeout
from cc.esl.deadline import StallTimeout, wait_result
from cc.esl.protocol import Frame, FrameParser

__all__ = ["Link"]

log = logging.getLogger(__name__)

READ_SIZE = 65536


class Link:
    """A connected ESL socket: ``command(bytes) -> Frame`` (FIFO replies), frames to callbacks."""

    def __init__(self, sock: gevent.socket.socket, name: str, *,
                 on_event: Callable[[Frame], None],
                 on_notice: Callable[[Frame], None] | None = None,
                 on_close: Callable[[ESLError | None], None] | None = None) -> None:
        self.sock = sock
        self.name = name
        self._on_event = on_event
        self._on_notice = on_notice
        self._on_close = on_close
        self._parser = FrameParser()
        self._pending: deque[tuple[Callable[[Frame], None] | None, gevent.event.AsyncResult]] = deque()
        self._lock = gevent.lock.Semaphore()
        self.closed = False
        self.error: ESLError | None = None
        self.auth_request = gevent.event.Event()
        self.rejected: str | None = None
        self._reader: gevent.Greenlet | None = None
        try:
            sock.setsockopt(_stdsocket.IPPROTO_TCP, _stdsocket.TCP_NODELAY, 1)
        except OSError:  # pragma: no cover - not TCP (tests may use socketpair)
            pass

    def start(self) -> None:
        """Start the reader greenlet."""
        self._reader = gevent.spawn(self._run)

    # ----------------------------------------------------------------------------------------- reading
    def _run(self) -> None:
        exc: ESLError | None = None
        sock, parser, dispatch = self.sock, self._parser, self._dispatch
        try:
            while True:
                data = sock.recv(READ_SIZE)
                if not data:
                    parser.eof()
                    break
                for fr in parser.feed(data):
                    dispatch(fr)
        except ESLProtocolError as e:
            log.warning("%s: protocol error, closing: %s", self.name, e)
            exc = e
        except OSError as e:
            if not self.closed:
                exc = ESLDisconnected(f"{self.name}: {e}")
        except gevent.GreenletExit:
            pass
        finally:
            self._shutdown(exc)

    def _dispatch(self, fr: Frame) -> None:
        ct = fr.content_type
        if ct == "text/event-plain" or ct == "text/event-json":
            self._on_event(fr)
        elif ct == "command/reply" or ct == "api/response":
            if self._pending:
                on_reply, ar = self._pending.popleft()
                if on_reply is not None:
                    try:
                        on_reply(fr)
                    except Exception:
                        log.exception("%s: reply hook failed", self.name)
                ar.set(fr)
            else:
                log.warning("%s: reply with no command waiting: %r", self.name, fr.reply_text or fr.text[:60])
        elif ct == "auth/request":
            self.auth_request.set()
        elif ct == "text/disconnect-notice":
            if self._on_notice is not None:
                self._on_notice(fr)
        elif ct == "text/rude-rejection":
            self.rejected = fr.text.strip()
            self.auth_request.set()
        else:
            log.debug("%s: ignoring %s frame", self.name, ct)

    # ----------------------------------------------------------------------------------------- commands
    def command(self, raw: bytes, timeout: float | None,
                on_reply: Callable[[Frame], None] | None = None) -> Frame:
        """Send one command and wait for its reply (command/reply or api/response) in FIFO order.

        ``on_reply(frame)`` runs in the reader greenlet before any later frame is dispatched.
        """
        ar = self.send(raw, on_reply)
        try:
            fr: Frame = wait_result(ar, timeout)
        except StallTimeout as exc:
            raise ESLTimeout(f"{self.name}: no reply to {_first_line(raw)!r}: {exc}") from None
        return fr

    @property
    def pending(self) -> int:
        """Commands sent and still waiting for their reply."""
        return len(self._pending)

    def send(self, raw: bytes, on_reply: Callable[[Frame], None] | None = None) -> gevent.event.AsyncResult:
        """Send one command; the returned AsyncResult gets its reply frame (or the connection's error)."""
        if self._reader is not None and gevent.getcurrent() is self._reader:
            raise ESLError(f"{self.name}: a command sent from an event handler would wait for itself; "
                           "handlers must only enqueue")
        ar = gevent.event.AsyncResult()
        with self._lock:
            if self.closed:
                raise self._closed_error(raw)
            self._pending.append((on_reply, ar))
            try:
                self.sock.sendall(raw)
            except OSError as e:
                self._shutdown(ESLDisconnected(f"{self.name}: send failed: {e}"))
                raise self._closed_error(raw) from None
        return ar

    def _closed_error(self, raw: bytes) -> ESLError:
        if isinstance(self.error, ESLProtocolError):
            return self.error
        return ESLDisconnected(f"{self.name}: not connected (cannot send {_first_line(raw)!r})")

    # ----------------------------------------------------------------------------------------- closing
    def close(self) -> None:
        """Close the socket; pending commands fail with ESLDisconnected."""
        self._shutdown(None)
        if self._reader is not None and self._reader is not gevent.getcurrent():
            self._reader.join(timeout=1)

    def release(self) -> None:
        """Once closed: forget the callbacks (they refer to the owner, which refers to this link)."""
        if self.closed:
            self._on_event = _ignore
            self._on_notice = self._on_close = None

    def _shutdown(self, exc: ESLError | None) -> None:
        if self.closed:
            return
        self.closed = True
        self.error = exc
        try:
            self.sock.close()
        except OSError:  # pragma: no cover
            pass
        err: ESLError = exc if isinstance(exc, ESLProtocolError) else ESLDisconnected(
            f"{self.name}: connection closed" + (f" ({exc})" if exc else ""))
        while self._pending:
            _, ar = self._pending.popleft()
            ar.set_exception(err)
        self.auth_request.set()
        if self._on_close is not None:
            try:
                self._on_close(exc)
            except Exception:  # a close hook must not kill the reader's cleanup
                log.exception("%s: close hook failed", self.name)


def _first_line(raw: bytes) -> str:
    return raw.split(b"\n", 1)[0].decode("utf-8", "replace")[:80]


def _ignore(fr: Frame) -> None:
    """A released link's event callback: nothing listens any more."""
