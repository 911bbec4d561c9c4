"""Capture replayer: plays FreeSWITCH's side of a capture (`recv` records) in answer to a client's `send`s.

Over real TCP: :class:`ReplayServer` stands in for FreeSWITCH's inbound port (one script per accepted
connection); :func:`dial` connects to an outbound server like the dialplan's ``socket`` app. A client
command is matched to the captured ``send`` loosely: UUIDs may differ (fresh Event-UUIDs, Job-UUIDs);
each captured UUID is then mapped to the client's and rewritten in every later frame played, so
Application-UUIDs in completions match what the client sent. Everything else must be byte-equal;
differences are collected in ``problems``.
"""

from __future__ import annotations

import re
import socket as _socket
from collections.abc import Sequence
from dataclasses import dataclass, field

import gevent
import gevent.event
import gevent.server
import gevent.socket

from cc.esl.capture import Record

__all__ = ["ReplayServer", "Session", "dial", "dial_async", "loose_match", "play", "read_command", "rewrite"]

UUID_RE = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_CL_RE = re.compile(rb"(?im)^content-length: (\d+)$")


@dataclass
class Session:
    """What happened on one replayed connection."""

    received: list[bytes] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    mapping: dict[bytes, bytes] = field(default_factory=dict)
    played: int = 0
    finished: gevent.event.Event = field(default_factory=gevent.event.Event)
    client_closed: bool = False


def read_command(sock: gevent.socket.socket, buf: bytearray, timeout: float | None) -> bytes | None:
    """One client command: a header block up to the blank line, plus a content-length body if any."""
    with gevent.Timeout(timeout, False):
        while True:
            end = buf.find(b"\n\n")
            if end >= 0:
                m = _CL_RE.search(bytes(buf[:end]))
                total = end + 2 + (int(m.group(1)) if m else 0)
                if len(buf) >= total:
                    cmd = bytes(buf[:total])
                    del buf[:total]
                    return cmd
            data = sock.recv(65536)
            if not data:
                return None
            buf += data
    return None


def rewrite(data: bytes, mapping: dict[bytes, bytes]) -> bytes:
    """Replace captured UUIDs by the client's (same length: frame lengths stay right)."""
    if not mapping:
        return data
    return UUID_RE.sub(lambda m: mapping.get(m.group(0), m.group(0)), data)


def loose_match(expected: bytes, got: bytes, mapping: dict[bytes, bytes]) -> bool:
    """Equal except for UUIDs; learns captured -> client UUIDs into ``mapping``."""
    if UUID_RE.sub(b"<uuid>", expected) != UUID_RE.sub(b"<uuid>", got):
        return False
    for e, g in zip(UUID_RE.findall(expected), UUID_RE.findall(got), strict=True):
        if e != g and mapping.get(e, g) == g:
            mapping[e] = g
    return True


def play(sock: gevent.socket.socket, records: Sequence[Record], session: Session, *,
         speed: float | None = None, command_timeout: float = 10.0, close: bool = True) -> None:
    """Play ``records`` on ``sock``: write recv records, wait for and check send records."""
    buf = bytearray()
    prev_t = None
    sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)   # FreeSWITCH writes frames at once too
    try:
        for i, rec in enumerate(records):
            if speed and prev_t is not None and rec.t > prev_t:
                gevent.sleep((rec.t - prev_t) / speed)
            prev_t = rec.t
            if rec.direction == "recv":
                try:
                    sock.sendall(rewrite(rec.data, session.mapping))
                except OSError:
                    session.client_closed = True
                    session.problems.append(f"record {rec.index}: client gone before it could be played")
                    return
                session.played += 1
            else:
                got = read_command(sock, buf, command_timeout)
                if got is None:
                    session.client_closed = True
                    session.problems.append(f"record {rec.index}: client sent nothing (expected "
                                            f"{rec.data[:60]!r}) [{i}/{len(records)}]")
                    return
                session.received.append(got)
                if not loose_match(rec.data, got, session.mapping):
                    session.problems.append(f"record {rec.index}: expected {rec.data!r}, got {got!r}")
    finally:
        if close:
            try:
                sock.close()
            except OSError:
                pass
        session.finished.set()


class ReplayServer:
    """A fake FreeSWITCH inbound port: connection N plays ``scripts[N]`` (the last one repeats)."""

    def __init__(self, scripts: Sequence[Sequence[Record]], *, speed: float | None = None,
                 port: int = 0, hold: float = 0.0) -> None:
        self.scripts = list(scripts)
        self.speed = speed
        self.hold = hold   # seconds to keep a socket open after its script ends (0 = close at once)
        self.sessions: list[Session] = []
        self.server = gevent.server.StreamServer(("127.0.0.1", port), self._handle)
        self.connected = gevent.event.Event()

    def start(self) -> ReplayServer:
        """Listen (port 0 = a free port)."""
        self.server.start()
        return self

    @property
    def port(self) -> int:
        """The bound port."""
        return int(self.server.address[1])

    def stop(self) -> None:
        """Stop listening and close every connection."""
        self.server.stop(timeout=1)

    def _handle(self, sock: gevent.socket.socket, addr: object) -> None:
        idx = min(len(self.sessions), len(self.scripts) - 1)
        session = Session()
        self.sessions.append(session)
        self.connected.set()
        play(sock, self.scripts[idx], session, speed=self.speed, close=not self.hold)
        if self.hold:
            gevent.sleep(self.hold)
            sock.close()

    @property
    def problems(self) -> list[str]:
        """Every mismatch of every session."""
        return [p for s in self.sessions for p in s.problems]


def dial(host: str, port: int, records: Sequence[Record], *, speed: float | None = None,
         command_timeout: float = 10.0) -> Session:
    """Connect to an outbound server like FreeSWITCH's ``socket`` app and play ``records`` (blocking)."""
    session = Session()
    sock = gevent.socket.create_connection((host, port), timeout=5)
    sock.settimeout(None)
    play(sock, records, session, speed=speed, command_timeout=command_timeout)
    return session


def dial_async(host: str, port: int, records: Sequence[Record], **kw: object) -> gevent.Greenlet:
    """:func:`dial` in a new greenlet; ``.get()`` returns the Session."""
    return gevent.spawn(dial, host, port, records, **kw)
