"""Pure Event Socket protocol: frame parsing, lazy events (plain + json), URL escaping, command rendering.

Nothing here touches a socket, gevent or the clock. :class:`FrameParser` turns bytes into
:class:`Frame` objects incrementally and with bounded memory; :class:`Event` reads a header only when
it is asked for and URL-decodes only that value, which is what keeps the wire path fast (a real
FreeSWITCH event is ~4 KB of which a controller reads a handful of headers).
"""

from __future__ import annotations

import json
import json.decoder as _json_decoder
import re
import uuid as _uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Final

from cc.errors import ESLProtocolError, InvalidValue

__all__ = [
    "MAX_BODY",
    "MAX_HEADER_BLOCK",
    "Event",
    "Frame",
    "FrameParser",
    "JsonEvent",
    "PlainEvent",
    "iter_frames",
    "new_uuid",
    "render_api",
    "render_auth",
    "render_bgapi",
    "render_connect",
    "render_event",
    "render_execute",
    "render_exit",
    "render_filter",
    "render_filter_delete",
    "render_getvar",
    "render_linger",
    "render_myevents",
    "render_nixevent",
    "render_noevents",
    "render_nolinger",
    "url_decode",
    "url_encode",
]

_scanstring: Callable[[str, int], tuple[str, int]] = _json_decoder.scanstring  # type: ignore[attr-defined]

#: The longest header block a peer may send before the blank line (bytes).
MAX_HEADER_BLOCK: Final = 1 << 20
#: The largest Content-Length accepted (bytes).
MAX_BODY: Final = 16 << 20
#: Arguments longer than this (or with a newline) go into a sendmsg body instead of a header.
LONG_ARG: Final = 2048

# --------------------------------------------------------------------------------------------- escaping

_UNSAFE = frozenset(b"\r\n #%&+:;<=>?@[\\]^`{|}\"")
_HEX_UPPER = frozenset(b"0123456789ABCDEF")
_ENC_TABLE = tuple(
    f"%{b:02X}" if (b < 0x20 or b > 0x7E or b in _UNSAFE) else chr(b) for b in range(256)
)
_NEEDS_ENCODING = re.compile(r"[^!$'()*,\-./0-9A-Z_a-z~]")
_PCT = re.compile(rb"%([0-9A-Fa-f]{2})")


def url_encode(s: str) -> str:
    """Escape ``s`` exactly like FreeSWITCH's ``switch_url_encode`` (UTF-8 bytes, uppercase ``%XX``).

    Bytes below 0x20 or above 0x7E and the characters ``\\r \\n space # % & + : ; < = > ? @ [ \\ ] ^ `
    { | } "`` are escaped; a ``%`` already followed by two uppercase hex digits is copied unchanged.
    """
    if not _NEEDS_ENCODING.search(s):
        return s
    raw = s.encode("utf-8", "surrogateescape")
    out: list[str] = []
    n = len(raw)
    for i, b in enumerate(raw):
        if b == 0x25 and i + 2 < n and raw[i + 1] in _HEX_UPPER and raw[i + 2] in _HEX_UPPER:
            out.append("%")
        else:
            out.append(_ENC_TABLE[b])
    return "".join(out)


def _pct_sub(m: re.Match[bytes]) -> bytes:
    return bytes((int(m.group(1), 16),))


def url_decode(s: str) -> str:
    """Undo ``%XX`` escapes (either case, like ``switch_url_decode``); ``+`` stays ``+``.

    Decoded bytes are read as UTF-8; invalid sequences become U+FFFD rather than raising.
    """
    if "%" not in s:
        return s
    raw = _PCT.sub(_pct_sub, s.encode("utf-8", "surrogateescape"))
    return raw.decode("utf-8", "replace")


def new_uuid() -> str:
    """A fresh random UUID string (for Event-UUID and Job-UUID headers)."""
    return str(_uuid.uuid4())


# --------------------------------------------------------------------------------------------- events


class Event:
    """A FreeSWITCH event, read lazily: a header is found when asked for and decoded on access.

    Use :meth:`PlainEvent.parse`, :meth:`JsonEvent.parse` or :meth:`Frame.event` to get one. Header
    names are matched exactly (FreeSWITCH spells them consistently: ``Event-Name``, ``Unique-ID`` ...).
    """

    __slots__ = ("_cache",)

    def __init__(self) -> None:
        self._cache: dict[str, str | None] = {}

    # subclasses provide these three
    def _lookup(self, name: str) -> str | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _all(self) -> list[tuple[str, str]]:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def body(self) -> str:
        """The event's body (a BACKGROUND_JOB result, ...); ``""`` when it has none."""
        raise NotImplementedError  # pragma: no cover - abstract

    def header(self, name: str, default: str | None = None) -> str | None:
        """The decoded value of header ``name`` (first occurrence), or ``default``."""
        cache = self._cache
        if name in cache:
            v = cache[name]
        else:
            v = cache[name] = self._lookup(name)
        return default if v is None else v

    def __getitem__(self, name: str) -> str:
        """The decoded value of header ``name``; KeyError when absent."""
        v = self.header(name)
        if v is None:
            raise KeyError(name)
        return v

    def __contains__(self, name: object) -> bool:
        """Whether the event has header ``name``."""
        return isinstance(name, str) and self.header(name) is not None

    def get(self, name: str, default: str | None = None) -> str | None:
        """Same as :meth:`header` (dict-like spelling)."""
        return self.header(name, default)

    def variable(self, name: str, default: str | None = None) -> str | None:
        """The channel variable ``name`` (header ``variable_<name>``), or ``default``."""
        return self.header("variable_" + name, default)

    def headers(self) -> list[tuple[str, str]]:
        """Every header as (name, decoded value), in the order FreeSWITCH sent them."""
        return self._all()

    def as_dict(self) -> dict[str, str]:
        """Every header in a dict (first occurrence wins)."""
        out: dict[str, str] = {}
        for k, v in self._all():
            out.setdefault(k, v)
        return out

    # typed accessors -----------------------------------------------------------------------------
    @property
    def name(self) -> str | None:
        """``Event-Name`` (``CHANNEL_EXECUTE_COMPLETE``, ``CUSTOM`` ...)."""
        return self.header("Event-Name")

    @property
    def subclass(self) -> str | None:
        """``Event-Subclass`` of a CUSTOM event (``callcenter::info``)."""
        return self.header("Event-Subclass")

    @property
    def uuid(self) -> str | None:
        """The channel's ``Unique-ID``."""
        return self.header("Unique-ID")

    @property
    def job_uuid(self) -> str | None:
        """``Job-UUID`` of a BACKGROUND_JOB."""
        return self.header("Job-UUID")

    @property
    def application(self) -> str | None:
        """``Application`` of CHANNEL_EXECUTE[_COMPLETE]."""
        return self.header("Application")

    @property
    def application_uuid(self) -> str | None:
        """``Application-UUID``: the Event-UUID cc sent with the execute."""
        return self.header("Application-UUID")

    @property
    def application_data(self) -> str | None:
        """``Application-Data``: the application's argument."""
        return self.header("Application-Data")

    @property
    def application_response(self) -> str | None:
        """``Application-Response`` (``FILE PLAYED``, ``_none_``, ``PLAYBACK ERROR`` ...)."""
        return self.header("Application-Response")

    @property
    def dtmf_digit(self) -> str | None:
        """``DTMF-Digit`` of a DTMF event."""
        return self.header("DTMF-Digit")

    @property
    def hangup_cause(self) -> str | None:
        """``Hangup-Cause`` (``NORMAL_CLEARING``, ``USER_BUSY`` ...)."""
        return self.header("Hangup-Cause")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} {self.uuid or ''}>"


class PlainEvent(Event):
    """An event from a ``text/event-plain`` body, or a URL-encoded header block (the connect reply)."""

    __slots__ = ("_end", "_text")

    def __init__(self, text: str, end: int | None = None) -> None:
        super().__init__()
        self._text = text   # header lines ("Name: value\n" ...), then maybe a blank line and a body
        self._end = len(text) if end is None else end  # where the header lines stop (before "\n\n")

    @classmethod
    def parse(cls, data: bytes | str) -> PlainEvent:
        """Build from a text/event-plain body: header lines, a blank line, then Content-Length bytes."""
        text = data.decode("utf-8", "surrogateescape") if isinstance(data, bytes) else data
        # Where do the header lines stop? FreeSWITCH writes an event body as a last header
        # "Content-Length: M", a blank line, then M bytes; without one, the only blank line is the last.
        # Values are URL-encoded (no raw newline), so the first "\nContent-Length:" is that header.
        # (Looking for it is ~2x faster than looking for "\n\n", a needle every line start half-matches.)
        i = text.find("\nContent-Length:")
        if i < 0:
            if not text.startswith("Content-Length:"):
                return cls(text, len(text))
            i = -1
        j = text.find("\n", i + 1)
        if j >= 0 and text.startswith("\n", j + 1):
            return cls(text, j + 1)
        end = text.find("\n\n")          # not FreeSWITCH's layout: fall back to the first blank line
        return cls(text, len(text) if end < 0 else end + 1)

    def header(self, name: str, default: str | None = None) -> str | None:
        """The decoded value of header ``name`` (first occurrence), or ``default``."""
        cache = self._cache
        if name in cache:
            v = cache[name]
            return default if v is None else v
        text = self._text
        end = self._end
        # "\nName:" (not "\nName: "): ':' is URL-encoded inside values, so it only ever follows a name,
        # and a needle ending in a rarer character is found faster
        if text.startswith(name) and text[len(name):len(name) + 1] == ":":
            start = len(name) + 1
        else:
            i = text.find("\n" + name + ":", 0, end)
            if i < 0:
                cache[name] = None
                return default
            start = i + len(name) + 2
        if text[start:start + 1] == " ":
            start += 1
        stop = text.find("\n", start, end)
        v = text[start:] if stop < 0 else text[start:stop]
        if "%" in v:
            v = url_decode(v)
        cache[name] = v
        return v

    def _lookup(self, name: str) -> str | None:
        return self.header(name)

    def _all(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for line in self._text[: self._end].split("\n"):
            if not line:
                continue
            k, sep, v = line.partition(": ")
            if not sep:
                k, _, v = line.partition(":")
                v = v.lstrip(" ")
            out.append((k, url_decode(v)))
        return out

    @property
    def body(self) -> str:
        """The event's body (a BACKGROUND_JOB result, ...); ``""`` when it has none."""
        if self._end >= len(self._text):
            return ""
        return self._text[self._end + 1:]


class JsonEvent(Event):
    """An event from a ``text/event-json`` body: one JSON object whose values are strings."""

    __slots__ = ("_full", "_text")

    def __init__(self, text: str) -> None:
        super().__init__()
        self._text = text
        self._full: dict[str, str] | None = None

    @classmethod
    def parse(cls, data: bytes | str) -> JsonEvent:
        """Build from a text/event-json body; raises ESLProtocolError when it is not a JSON object."""
        text = data.decode("utf-8", "surrogateescape") if isinstance(data, bytes) else data
        s = text.strip()
        if not (s.startswith("{") and s.endswith("}")):
            raise ESLProtocolError(f"text/event-json body is not a JSON object: {s[:60]!r}")
        return cls(s)

    def _pairs(self) -> list[tuple[str, str]]:
        try:
            pairs = json.loads(self._text, object_pairs_hook=lambda kv: kv)
        except ValueError as exc:
            raise ESLProtocolError(f"text/event-json body is not valid JSON: {exc}") from None
        if not isinstance(pairs, list):
            raise ESLProtocolError("text/event-json body is not a JSON object")
        return [(str(k), _json_value(v)) for k, v in pairs]

    def _decoded(self) -> dict[str, str]:
        if self._full is None:
            full: dict[str, str] = {}
            for k, v in self._pairs():
                full.setdefault(k, v)   # first occurrence wins, as in the plain form and in FreeSWITCH
            self._full = full
        return self._full

    def _lookup(self, name: str) -> str | None:
        if self._full is not None:
            return self._full.get(name)
        text = self._text
        key = '"' + name + '":'
        i = text.find(key)
        while i >= 0:
            before = text[i - 1] if i > 0 else ""
            if before in "{,":
                j = i + len(key)
                if j < len(text) and text[j] == '"':
                    try:
                        return _scanstring(text, j + 1)[0]
                    except ValueError:
                        break
                break  # not a plain string value: let the full parse decide
            i = text.find(key, i + 1)
        else:
            return None
        return self._decoded().get(name)

    def _all(self) -> list[tuple[str, str]]:
        return [(k, v) for k, v in self._pairs() if k != "_body"]

    @property
    def body(self) -> str:
        """The event's body (``_body`` in json framing); ``""`` when it has none."""
        return self.header("_body") or ""


def _json_value(v: Any) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, list):  # FreeSWITCH array headers: same spelling as the plain form
        return "ARRAY::" + "|:".join(str(x) for x in v)
    return str(v)


# --------------------------------------------------------------------------------------------- frames


class Frame:
    """One ESL frame: a header block (not URL-encoded, except the outbound connect reply) and a body."""

    __slots__ = ("_event", "_h", "_head", "body")

    def __init__(self, head: str, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self._head = head
        self.body = body
        self._event: Event | None = None
        if headers is None:
            headers = {}
            for ln in head.split("\n"):
                k, sep, v = ln.partition(": ")
                if sep and k not in headers:
                    headers[k] = v
        self._h = headers

    def get(self, name: str, default: str | None = None) -> str | None:
        """The raw value of frame header ``name`` (first occurrence), or ``default``."""
        return self._h.get(name, default)

    @property
    def content_type(self) -> str:
        """``Content-Type`` (``command/reply``, ``text/event-plain``, ``text/disconnect-notice`` ...)."""
        return self.get("Content-Type") or ""

    @property
    def reply_text(self) -> str:
        """``Reply-Text`` of a command/reply (URL-decoded: the connect reply encodes it)."""
        v = self.get("Reply-Text") or ""
        return url_decode(v) if "%" in v else v

    @property
    def text(self) -> str:
        """The body as text (api/response output, disconnect-notice text, log data)."""
        return self.body.decode("utf-8", "replace")

    def headers(self) -> list[tuple[str, str]]:
        """Every frame header as (name, raw value), in order."""
        return [(k, v) for k, _, v in (ln.partition(": ") for ln in self._head.split("\n") if ln)]

    @property
    def is_event(self) -> bool:
        """Whether the frame carries an event (text/event-plain or text/event-json)."""
        return self.content_type in ("text/event-plain", "text/event-json")

    def event(self) -> Event:
        """The event this frame carries; for a ``connect`` reply, the channel data.

        text/event-plain and text/event-json bodies are parsed lazily; any other frame's header block
        is read as a URL-encoded event (that is what the outbound ``connect`` reply is).
        """
        if self._event is None:
            ct = self.content_type
            if ct == "text/event-plain":
                self._event = PlainEvent.parse(self.body)
            elif ct == "text/event-json":
                self._event = JsonEvent.parse(self.body)
            else:
                self._event = PlainEvent(self._head)
        return self._event

    def __repr__(self) -> str:
        return f"<Frame {self.content_type} {len(self.body)}B>"


class FrameParser:
    """Incremental, bounded frame reader: ``feed(bytes) -> [Frame]``; garbage -> ESLProtocolError.

    After an error the parser is poisoned (every later ``feed`` raises too): the connection must close.
    """

    __slots__ = ("_broken", "_buf", "_need", "_pending", "_scan", "max_body", "max_header")

    def __init__(self, max_header: int = MAX_HEADER_BLOCK, max_body: int = MAX_BODY) -> None:
        self._buf = bytearray()
        self._scan = 0          # where to resume looking for the blank line
        self._pending: tuple[str, dict[str, str]] | None = None  # header block waiting for its body
        self._need = 0          # body length of the pending frame
        self._broken: ESLProtocolError | None = None
        self.max_header = max_header
        self.max_body = max_body

    @property
    def buffered(self) -> int:
        """Bytes held that do not form a complete frame yet."""
        return len(self._buf)

    def _fail(self, msg: str) -> ESLProtocolError:
        self._broken = ESLProtocolError(msg)
        self._buf = bytearray()
        return self._broken

    def feed(self, data: bytes) -> list[Frame]:
        """Add bytes read from the socket; return every frame they complete (maybe none)."""
        if self._broken is not None:
            raise self._broken
        buf = self._buf
        buf += data
        out: list[Frame] = []
        pos = 0
        n = len(buf)
        while True:
            if self._pending is not None:
                need = self._need
                if n - pos < need:
                    break
                head, hdrs = self._pending
                out.append(Frame(head, bytes(buf[pos:pos + need]), hdrs))
                pos += need
                self._pending = None
                continue
            while pos < n and buf[pos] == 10:   # stray blank lines between frames: harmless
                pos += 1
            if pos >= n:
                break
            end = buf.find(b"\n\n", max(self._scan - 1, pos))
            if end < 0:
                if n - pos > self.max_header:
                    raise self._fail(f"header block longer than {self.max_header} bytes without a blank line")
                self._scan = n
                break
            if end - pos > self.max_header:
                raise self._fail(f"header block longer than {self.max_header} bytes")
            head, hdrs = self._check_head(bytes(buf[pos:end + 1]))
            pos = end + 2
            self._scan = 0
            frame_len = self._content_length(hdrs)
            if frame_len:
                self._pending = (head, hdrs)
                self._need = frame_len
            else:
                out.append(Frame(head, b"", hdrs))
        if pos:
            del buf[:pos]
            if self._scan:
                self._scan -= pos
        return out

    def eof(self) -> None:
        """The peer closed the connection; a partial frame left over is an ESLProtocolError."""
        if self._broken is not None:
            return
        if self._pending is not None or self._buf.strip(b"\n"):
            raise self._fail(
                f"connection closed inside a frame ({len(self._buf)} bytes of "
                f"{'body' if self._pending is not None else 'header block'} buffered)")

    def _check_head(self, raw: bytes) -> tuple[str, dict[str, str]]:
        try:
            head = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise self._fail(f"header block is not UTF-8 text (byte {exc.start}: {raw[:40]!r})") from None
        hdrs: dict[str, str] = {}
        for line in head.split("\n"):
            if not line:
                continue
            k, sep, v = line.partition(": ")
            if not sep or not k or " " in k or not k.isascii() or not k.isprintable():
                raise self._fail(f"not an ESL header line: {line[:80]!r}")
            if k not in hdrs:
                hdrs[k] = v
        if "Content-Type" not in hdrs:
            raise self._fail(f"frame without Content-Type: {head[:80]!r}")
        return head, hdrs

    def _content_length(self, hdrs: dict[str, str]) -> int:
        raw = hdrs.get("Content-Length")
        if raw is None:
            return 0
        if not raw.isdigit() or not raw.isascii():
            raise self._fail(f"bad Content-Length {raw!r}")
        n = int(raw)
        if n > self.max_body:
            raise self._fail(f"Content-Length {n} is over the limit of {self.max_body} bytes")
        return n


def iter_frames(data: bytes) -> Iterator[Frame]:
    """Parse a complete byte string into frames (a partial tail is an ESLProtocolError)."""
    p = FrameParser()
    yield from p.feed(data)
    p.eof()


# --------------------------------------------------------------------------------------------- commands


def _line(field: str, value: str) -> str:
    if "\n" in value or "\r" in value:
        raise InvalidValue(field, value, "a command line cannot contain a newline")
    return value


def render_auth(password: str) -> bytes:
    """``auth <password>``."""
    return f"auth {_line('password', password)}\n\n".encode()


def render_api(command: str) -> bytes:
    """``api <command>`` (blocks the connection's events until it returns: prefer bgapi when slow)."""
    return f"api {_line('command', command)}\n\n".encode()


def render_bgapi(command: str, job_uuid: str | None = None) -> bytes:
    """``bgapi <command>`` with an optional ``Job-UUID`` header choosing the job's id."""
    head = f"bgapi {_line('command', command)}\n"
    if job_uuid:
        head += f"Job-UUID: {_line('job_uuid', job_uuid)}\n"
    return (head + "\n").encode()


def render_execute(app: str, arg: str = "", *, event_uuid: str | None = None, uuid: str | None = None,
                   event_lock: bool = False, loops: int | None = None) -> bytes:
    """``sendmsg [uuid]`` + ``call-command: execute``; long or multi-line arguments go in the body.

    Header order is FreeSWITCH's own client order: call-command, execute-app-name, execute-app-arg,
    loops, event-lock, Event-UUID.
    """
    lines = ["sendmsg " + _line("uuid", uuid) if uuid else "sendmsg", "call-command: execute",
             "execute-app-name: " + _line("app", app)]
    body = b""
    if arg:
        if len(arg) > LONG_ARG or "\n" in arg or "\r" in arg:
            body = arg.encode()
        else:
            lines.append("execute-app-arg: " + arg)
    if loops is not None and loops != 1:
        lines.append(f"loops: {int(loops)}")
    if event_lock:
        lines.append("event-lock: true")
    if event_uuid:
        lines.append("Event-UUID: " + _line("event_uuid", event_uuid))
    if body:
        lines.append("content-type: text/plain")
        lines.append(f"content-length: {len(body)}")
    return ("\n".join(lines) + "\n\n").encode() + body


def _names(names: Iterable[str] | str) -> str:
    items = [names] if isinstance(names, str) else list(names)
    for n in items:
        _line("event name", n)
    return " ".join(items)


def render_event(names: Iterable[str] | str, fmt: str = "plain") -> bytes:
    """``event plain|json NAME ...`` (``CUSTOM sub::class`` names are passed as given)."""
    if fmt not in ("plain", "json", "xml"):
        raise InvalidValue("fmt", fmt, "must be plain, json or xml")
    return f"event {fmt} {_names(names)}\n\n".encode()


def render_filter(header: str, value: str) -> bytes:
    """``filter <header> <value>``."""
    return f"filter {_line('header', header)} {_line('value', value)}\n\n".encode()


def render_filter_delete(header: str, value: str | None = None) -> bytes:
    """``filter delete <header> [<value>]``."""
    tail = f" {_line('value', value)}" if value is not None else ""
    return f"filter delete {_line('header', header)}{tail}\n\n".encode()


def render_nixevent(names: Iterable[str] | str) -> bytes:
    """``nixevent NAME ...``."""
    return f"nixevent {_names(names)}\n\n".encode()


def render_noevents() -> bytes:
    """``noevents``."""
    return b"noevents\n\n"


def render_myevents(uuid: str | None = None, fmt: str | None = None) -> bytes:
    """``myevents`` (outbound: this channel only), or ``myevents [fmt] <uuid>`` inbound."""
    parts = ["myevents"]
    if fmt:
        parts.append(_line("fmt", fmt))
    if uuid:
        parts.append(_line("uuid", uuid))
    return (" ".join(parts) + "\n\n").encode()


def render_linger(seconds: int | None = None) -> bytes:
    """``linger`` (until exit) or ``linger <seconds>``."""
    return b"linger\n\n" if seconds is None else f"linger {int(seconds)}\n\n".encode()


def render_nolinger() -> bytes:
    """``nolinger``."""
    return b"nolinger\n\n"


def render_exit() -> bytes:
    """``exit``."""
    return b"exit\n\n"


def render_connect() -> bytes:
    """``connect`` (the first command on an outbound socket; the reply carries the channel data)."""
    return b"connect\n\n"


def render_getvar(name: str) -> bytes:
    """``getvar <name>`` (outbound only; the value comes back as Reply-Text)."""
    return f"getvar {_line('name', name)}\n\n".encode()
