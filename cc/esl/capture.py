"""Pure reader of the `.esl` wire-capture container (comment header, then `#> DIR T N` records)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from cc.errors import ConfigError
from cc.esl.protocol import Frame, FrameParser

__all__ = ["Capture", "Record", "parse_capture", "read_capture"]

_CONN_RE = re.compile(r"connection (\d+) = records (\d+)-(\d+)")


@dataclass(frozen=True)
class Record:
    """One record: ``send`` (bytes the client wrote) or ``recv`` (one whole frame FreeSWITCH sent)."""

    direction: str
    t: float
    data: bytes
    index: int = 0        #: 1-based record number in the file
    connection: int = 1   #: 1-based connection number (inbound_auth.esl holds three)

    @property
    def is_send(self) -> bool:
        """Whether the client sent these bytes."""
        return self.direction == "send"

    def frame(self) -> Frame:
        """The recv record's frame (raises ESLProtocolError when it is not exactly one frame)."""
        p = FrameParser()
        frames = p.feed(self.data)
        p.eof()
        if len(frames) != 1:
            from cc.errors import ESLProtocolError
            raise ESLProtocolError(f"record {self.index} holds {len(frames)} frames, not 1")
        return frames[0]


@dataclass(frozen=True)
class Capture:
    """A parsed capture file: its comment lines and its records, split by connection."""

    name: str
    comments: tuple[str, ...]
    records: tuple[Record, ...]
    connections: tuple[tuple[Record, ...], ...] = field(default=())

    @property
    def sends(self) -> list[Record]:
        """Every send record, in order."""
        return [r for r in self.records if r.direction == "send"]

    @property
    def recvs(self) -> list[Record]:
        """Every recv record, in order."""
        return [r for r in self.records if r.direction == "recv"]

    def frames(self) -> list[Frame]:
        """The frame of every recv record, in order."""
        return [r.frame() for r in self.records if r.direction == "recv"]


def read_capture(path: str | Path) -> Capture:
    """Read and parse a capture file; a malformed file raises ConfigError naming file and offset."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read capture: {exc.strerror}", file=str(p)) from None
    return parse_capture(data, name=p.stem, file=str(p))


def parse_capture(data: bytes, name: str = "", file: str = "<capture>") -> Capture:
    """Parse capture bytes (never line by line: record data holds blank lines and arbitrary bytes)."""
    comments: list[str] = []
    records: list[Record] = []
    pos = 0
    line_no = 1
    n_total = len(data)
    while pos < n_total:
        nl = data.find(b"\n", pos)
        if nl < 0:
            raise ConfigError(f"{file}:{line_no}: line without a newline at byte {pos}",
                              file=file, line=line_no)
        line = data[pos:nl]
        if line.startswith(b"#> "):
            parts = line[3:].split(b" ")
            try:
                direction, t_raw, n_raw = (x.decode("ascii") for x in parts)
                n = int(n_raw)
                t = float(t_raw)
            except (ValueError, UnicodeDecodeError):
                raise ConfigError(f"{file}:{line_no}: bad record header {line[:80]!r}",
                                  file=file, line=line_no) from None
            if direction not in ("send", "recv") or n < 0:
                raise ConfigError(f"{file}:{line_no}: bad record header {line[:80]!r}",
                                  file=file, line=line_no)
            start = nl + 1
            if start + n + 1 > n_total or data[start + n:start + n + 1] != b"\n":
                raise ConfigError(f"{file}:{line_no}: record of {n} bytes is truncated or lacks its newline",
                                  file=file, line=line_no)
            chunk = data[start:start + n]
            records.append(Record(direction, t, chunk, len(records) + 1))
            line_no += 1 + chunk.count(b"\n") + 1
            pos = start + n + 1
        elif line.startswith(b"#") and not records:
            comments.append(line.decode("utf-8", "replace"))
            line_no += 1
            pos = nl + 1
        else:
            raise ConfigError(f"{file}:{line_no}: expected a `#> DIR T N` record header, got {line[:80]!r}",
                              file=file, line=line_no)
    bounds = _connection_bounds(comments)
    out: list[Record] = []
    conn_no = 1
    for r in records:
        if bounds:
            conn_no = next((c for c, lo, hi in bounds if lo <= r.index <= hi), conn_no)
        elif r.index > 1 and r.direction == "recv" and r.data.startswith(b"Content-Type: auth/request\n"):
            conn_no += 1
        out.append(Record(r.direction, r.t, r.data, r.index, conn_no))
    conns: dict[int, list[Record]] = {}
    for r in out:
        conns.setdefault(r.connection, []).append(r)
    return Capture(name, tuple(comments), tuple(out), tuple(tuple(v) for _, v in sorted(conns.items())))


def _connection_bounds(comments: list[str]) -> list[tuple[int, int, int]]:
    for c in comments:
        if c.startswith("# Connections:"):
            return [(int(a), int(b), int(e)) for a, b, e in _CONN_RE.findall(c)]
    return []
