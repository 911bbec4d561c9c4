"""The simulator's Event Socket ends: the inbound server cc connects to, and outbound sockets to cc.

Frames are written exactly as FreeSWITCH writes them (see tests/data/esl-captures/README.md): replies,
api responses, events in plain or json, the three disconnect notices. One writer greenlet per
connection drains an unbounded queue, so publishing an event never blocks and never drops it.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import gevent
import gevent.queue
import gevent.server

from cc.esl.protocol import new_uuid
from cc.sim.api import Api
from cc.sim.channel import Channel
from cc.sim.events import MYEVENTS, EventBus, SimEvent, Subscriber, Subscription
from cc.sim.scheduler import Scheduler

__all__ = ["BYE_TEXT", "Connection", "InboundServer", "OutboundConnection", "ServerSwitch"]

log = logging.getLogger(__name__)

BYE_TEXT = b"Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"
_MAX_COMMAND = 1 << 20


def reply_frame(text: str, extra: list[tuple[str, str]] | None = None) -> bytes:
    """A command/reply frame (Reply-Text not encoded)."""
    head = f"Content-Type: command/reply\nReply-Text: {text}\n"
    for k, v in extra or ():
        head += f"{k}: {v}\n"
    return (head + "\n").encode("utf-8")


def api_frame(body: str) -> bytes:
    """An api/response frame with the output as its body."""
    raw = body.encode("utf-8")
    return b"Content-Type: api/response\nContent-Length: %d\n\n" % len(raw) + raw


class ServerSwitch(Protocol):
    """What the Event Socket ends need of the switch (cc.sim.Simulator has it)."""

    @property
    def api(self) -> Api:
        """Runs ``api`` and ``bgapi`` commands."""

    @property
    def bus(self) -> EventBus:
        """Where connections subscribe to events."""

    @property
    def scheduler(self) -> Scheduler:
        """The simulated clock and its timers."""

    @property
    def channels(self) -> Mapping[str, Channel]:
        """The live channels by uuid."""

    def sendmsg(self, uuid: str, headers: dict[str, str], body: str) -> str:
        """``sendmsg [uuid]`` -> the reply text."""


class Connection:
    """What inbound and outbound ESL connections share: command reading, subscriptions, the writer."""

    def __init__(self, sim: ServerSwitch, sock: socket.socket) -> None:
        self.sim = sim
        self.sock = sock
        self.sub = Subscription()
        self.subscriber: Subscriber | None = None
        self.out: gevent.queue.Queue[bytes | None] = gevent.queue.Queue()
        self.closed = False
        self._hold: list[bytes] | None = None
        self._writer = gevent.spawn(self._write_loop)
        self._buf = b""

    # -- writing
    def send(self, data: bytes) -> None:
        """Queue bytes for the peer (in order)."""
        if not self.closed:
            self.out.put(data)

    def reply(self, text: str, extra: list[tuple[str, str]] | None = None) -> None:
        """Queue a command/reply."""
        self.send(reply_frame(text, extra))

    def deliver(self, ev: SimEvent) -> None:
        """Bus callback: queue the event in this connection's format (held back during a blocking api)."""
        frame = ev.frame(self.sub.fmt)
        if self._hold is not None:
            self._hold.append(frame)
        else:
            self.send(frame)

    def close(self) -> None:
        """Flush what is queued, then close the socket."""
        if self.closed:
            return
        self.detach()
        self.out.put(None)
        self.closed = True

    def join(self, timeout: float) -> None:
        """Wait until everything queued was written and the socket is closed."""
        self._writer.join(timeout)

    def detach(self) -> None:
        """Stop receiving events."""
        if self.subscriber is not None:
            self.sim.bus.detach(self.subscriber)
            self.subscriber = None

    def _write_loop(self) -> None:
        sock = self.sock
        try:
            while True:
                item = self.out.get()
                if item is None:
                    break
                chunks = [item]
                stop = False
                while not self.out.empty() and len(chunks) < 256:
                    nxt = self.out.get_nowait()
                    if nxt is None:
                        stop = True
                        break
                    chunks.append(nxt)
                sock.sendall(b"".join(chunks))
                if stop:
                    break
        except OSError as exc:
            log.debug("esl connection write failed: %s", exc)
        finally:
            self.closed = True
            self.detach()
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    # -- reading
    def read_command(self) -> tuple[str, dict[str, str], str] | None:
        """The next command: (first line, lower-cased headers, body); None at end of stream."""
        while True:
            buf = self._buf
            i = buf.find(b"\n\n")
            if i >= 0:
                head = buf[:i].decode("utf-8", "replace")
                self._buf = buf[i + 2:]
                lines = [ln.rstrip("\r") for ln in head.split("\n")]
                while lines and not lines[0].strip():
                    lines.pop(0)
                if not lines:
                    continue
                headers: dict[str, str] = {}
                for ln in lines[1:]:
                    k, sep, v = ln.partition(":")
                    if sep:
                        headers[k.strip().lower()] = v.strip()
                body = ""
                n = headers.get("content-length", "")
                if n.isdigit() and int(n) > 0:
                    need = int(n)
                    while len(self._buf) < need:
                        if not self._recv():
                            return None
                    body = self._buf[:need].decode("utf-8", "replace")
                    self._buf = self._buf[need:]
                return lines[0].strip(), headers, body
            if len(buf) > _MAX_COMMAND:
                log.warning("esl peer sent %d bytes without a blank line; closing", len(buf))
                return None
            if not self._recv():
                return None

    def _recv(self) -> bool:
        if self.closed:
            return False
        try:
            data = self.sock.recv(65536)
        except OSError:
            return False
        if not data:
            return False
        self._buf += data.replace(b"\r\n", b"\n")
        return True

    # -- commands both kinds of connection answer
    def ensure_attached(self) -> None:
        """Subscribe to the bus (first event command)."""
        if self.subscriber is None and not self.closed:
            self.subscriber = self.sim.bus.attach(self.sub, self.deliver)

    def common(self, line: str, headers: dict[str, str], body: str) -> bool:
        """Handle a command both ends know; False when it is not one of them."""
        cmd, _, rest = line.partition(" ")
        cmd = cmd.lower()
        rest = rest.strip()
        if cmd == "event":
            toks = rest.split()
            fmt = "plain"
            if toks and toks[0].lower() in ("plain", "json", "xml"):
                fmt = toks.pop(0).lower()
            if fmt == "xml":
                self.reply("-ERR cc.sim does not render xml events; use plain or json")
                return True
            self.sub.fmt = fmt
            self.sub.add(toks)
            self.ensure_attached()
            self.reply(f"+OK event listener enabled {fmt}")
        elif cmd == "nixevent":
            self.sub.remove(rest.split())
            self.reply("+OK events nixed")
        elif cmd == "noevents":
            self.sub.clear()
            self.reply("+OK no longer listening for events")
        elif cmd == "filter":
            self._filter(rest)
        elif cmd == "api":
            self.run_api(rest)
        elif cmd == "bgapi":
            self.run_bgapi(rest, headers.get("job-uuid") or new_uuid())
        elif cmd == "log":
            self.reply(f"+OK log level {rest or 'debug'} [{rest or '7'}]")
        elif cmd == "nolog":
            self.reply("+OK no longer logging")
        elif cmd == "divert_events":
            self.reply("+OK events diverted" if rest.lower() == "on" else "+OK events not diverted")
        else:
            return False
        return True

    def _filter(self, rest: str) -> None:
        toks = rest.split(None, 1)
        if toks and toks[0].lower() == "delete":
            args = toks[1].split(None, 1) if len(toks) > 1 else []
            if not args:
                self.reply("-ERR invalid syntax")
            elif args[0].lower() == "all":
                self.sub.filters.clear()
                self.reply("+OK filter deleted.")
            else:
                name = args[0]
                value = args[1].strip() if len(args) > 1 else None
                self.sub.filters = [(k, v) for k, v in self.sub.filters
                                    if not (k == name and (value is None or v == value))]
                self.reply(f"+OK filter deleted. [{name}][{value or ''}]")
            return
        if len(toks) < 2:
            self.reply("-ERR invalid syntax")
            return
        name, value = toks[0], toks[1].strip()
        self.sub.filters.append((name, value))
        self.reply(f"+OK filter added. [{name}]=[{value}]")

    def run_api(self, rest: str) -> None:
        """``api``: runs on the reader (no events flow on this connection until it answers)."""
        cmd, _, arg = rest.partition(" ")
        self._hold = []
        try:
            out = self.sim.api.execute(cmd, arg.strip(), conn=self)
        finally:
            held, self._hold = self._hold, None
            self.send(api_frame(out))
            for frame in held:
                self.send(frame)

    def run_bgapi(self, rest: str, job: str) -> None:
        """``bgapi``: reply with the Job-UUID at once; BACKGROUND_JOB carries the output."""
        cmd, _, arg = rest.partition(" ")
        arg = arg.strip()
        self.reply(f"+OK Job-UUID: {job}", [("Job-UUID", job)])

        def job_run() -> None:
            after: list[Callable[[], None]] = []
            try:
                out = self.sim.api.execute(cmd, arg, conn=None, after=after)
            except Exception:
                log.exception("bgapi %s failed", cmd)
                out = f"-ERR {cmd} failed\n"
            bus = self.sim.bus
            if bus.wanted("BACKGROUND_JOB", None):
                h = bus.core_headers("BACKGROUND_JOB")
                h += [("Job-UUID", job), ("Job-Command", cmd)]
                if arg:
                    h.append(("Job-Command-Arg", arg))
                bus.publish(SimEvent("BACKGROUND_JOB", h, body=out))
            for fn in after:        # e.g. a refused leg's CHANNEL_DESTROY: after the job, as FreeSWITCH
                fn()

        gevent.spawn(job_run)


class InboundServer:
    """The simulator's port 8021: password auth, then api/bgapi/event/filter/... as FreeSWITCH answers."""

    def __init__(self, sim: ServerSwitch, listen: tuple[str, int], password: str) -> None:
        self.sim = sim
        self.password = password
        self.server = gevent.server.StreamServer(listen, self._handle)
        self.connections: set[InboundConnection] = set()
        #: a cut link (tests): every connection is dropped and new ones are closed at once
        self.refusing = False

    @property
    def address(self) -> tuple[str, int]:
        """(host, port) actually bound."""
        addr = self.server.address
        return str(addr[0]), int(addr[1])

    def start(self) -> None:
        """Bind and accept."""
        self.server.start()

    def stop(self) -> None:
        """Stop accepting and close every connection."""
        self.server.stop(timeout=1)
        for c in list(self.connections):
            c.close()

    def cut(self, on: bool = True) -> None:
        """Cut the inbound link (drop every connection, refuse new ones) or, with ``on=False``, restore it."""
        self.refusing = on
        if on:
            for c in list(self.connections):
                c.close()

    def _handle(self, sock: socket.socket, addr: Any) -> None:
        if self.refusing:
            sock.close()
            return
        conn = InboundConnection(self.sim, sock, self.password)
        self.connections.add(conn)
        try:
            conn.run()
        finally:
            self.connections.discard(conn)
            conn.close()
            conn.join(5.0)


class InboundConnection(Connection):
    """One client on the inbound port."""

    def __init__(self, sim: ServerSwitch, sock: socket.socket, password: str) -> None:
        super().__init__(sim, sock)
        self.password = password
        self.authed = False

    def _bye(self) -> None:
        self.send(b"Content-Type: text/disconnect-notice\nContent-Length: 67\n\n" + BYE_TEXT)
        self.close()

    def run(self) -> None:
        """Serve commands until exit or the peer goes away."""
        self.send(b"Content-Type: auth/request\n\n")
        while not self.closed:
            got = self.read_command()
            if got is None:
                return
            line, headers, body = got
            cmd = line.split(" ", 1)[0].lower()
            if not self.authed:
                if cmd == "auth":
                    if line[5:].strip() == self.password:
                        self.authed = True
                        self.reply("+OK accepted")
                    else:
                        self.reply("-ERR invalid")
                        self._bye()
                        return
                else:
                    self.reply("-ERR command not found")
                continue
            if cmd == "exit":
                self.reply("+OK bye")
                self._bye()
                return
            if cmd == "sendmsg":
                uuid = line[7:].strip() or headers.get("unique-id", "")
                self.reply(self.sim.sendmsg(uuid, headers, body))
                continue
            if cmd == "myevents":
                toks = line.split()[1:]
                fmt = "plain"
                if toks and toks[0].lower() in ("plain", "json"):
                    fmt = toks.pop(0).lower()
                if not toks or toks[0] not in self.sim.channels:
                    self.reply("-ERR Usage: myevents [plain|json] <uuid>" if not toks else "-ERR invalid uuid")
                    continue
                self.sub.uuid = toks[0]
                self.sub.fmt = fmt
                self.sub.names |= MYEVENTS
                self.ensure_attached()
                self.reply("+OK Events Enabled")
                continue
            if not self.common(line, headers, body):
                self.reply("-ERR command not found")


class OutboundConnection(Connection):
    """The socket the simulator opens to cc for one call (`socket ADDR async full`)."""

    def __init__(self, sim: ServerSwitch, channel: Channel, sock: socket.socket) -> None:
        super().__init__(sim, sock)
        self.channel = channel
        self.linger: int | None = None
        self.connected = False
        self._reader: gevent.Greenlet | None = None

    def start(self) -> None:
        """Start reading cc's commands."""
        self._reader = gevent.spawn(self._run)

    def _notice_disconnect(self) -> None:
        ch = self.channel
        self.send(b"Content-Type: text/disconnect-notice\nControlled-Session-UUID: " + ch.uuid.encode()
                  + b"\nContent-Disposition: disconnect\nContent-Length: 67\n\n" + BYE_TEXT)
        self.close()
        ch.poke()

    def channel_down(self) -> None:
        """The channel finished hanging up (after CHANNEL_HANGUP_COMPLETE): linger or disconnect."""
        if self.closed:
            return
        self.detach()
        ch = self.channel
        if self.linger is None:
            self._notice_disconnect()
            return
        self.send((f"Content-Type: text/disconnect-notice\nControlled-Session-UUID: {ch.uuid}\n"
                   f"Content-Disposition: linger\nChannel-Name: {ch.name}\nLinger-Time: {self.linger}\n"
                   "Content-Length: 0\n\n").encode())
        if self.linger >= 0:
            self.sim.scheduler.call_later(self.linger, self._notice_disconnect)

    def _run(self) -> None:
        try:
            self._serve()
        except Exception:
            log.exception("call %s: outbound socket failed", self.channel.uuid)
        finally:
            if not self.closed:
                self.close()
            self.channel.poke()

    def _serve(self) -> None:
        ch = self.channel
        while not self.closed:
            got = self.read_command()
            if got is None:
                return
            line, headers, body = got
            cmd, _, rest = line.partition(" ")
            cmd = cmd.lower()
            rest = rest.strip()
            if cmd == "connect":
                self.connected = True
                self.send(ch.channel_data())
            elif cmd == "myevents":
                toks = rest.split()
                if toks and toks[0].lower() in ("plain", "json"):
                    self.sub.fmt = toks[0].lower()
                self.sub.uuid = ch.uuid
                self.sub.names |= MYEVENTS
                if not ch.gone.is_set():
                    self.ensure_attached()
                self.reply("+OK Events Enabled")
            elif cmd == "linger":
                secs = int(rest) if rest.lstrip("-").isdigit() else -1
                self.linger = secs
                self.reply("+OK will linger" if secs < 0 else f"+OK will linger {secs} seconds")
            elif cmd == "nolinger":
                self.linger = None
                self.reply("+OK will not linger")
            elif cmd == "sendmsg":
                self.reply(self.sim.sendmsg(rest or ch.uuid, headers, body))
            elif cmd == "getvar":
                self.reply(ch.get_var(rest) or "")
            elif cmd == "resume":
                self.reply("+OK")
            elif cmd == "exit":
                self.reply("+OK bye")
                self._notice_disconnect()
                return
            elif cmd == "event" and ch.gone.is_set():
                self.reply("+OK event listener enabled " + (rest.split() or ["plain"])[0].lower())
            elif not self.common(line, headers, body):
                self.reply("-ERR command not found")
