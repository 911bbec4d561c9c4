"""The writer's append-only spill file: JSON lines written with one write(2) each, replayed in order.

Layout next to ``path``: ``path`` holds the lines, ``path.pos`` the byte offset up to which lines are
known to be in the database (advanced after each committed replay batch), ``path.rejected`` the lines
the database refused for good (with the reason), so that nothing is ever dropped silently.

Durability: every line reaches the operating system before :meth:`Journal.append` returns, so a crash
of the process loses nothing. ``fsync="always"`` also forces each line to disk (each call pays a disk
flush); ``fsync="interval"`` (the default) lets the writer call :meth:`Journal.sync` every
``fsync_interval_s`` seconds, so a power cut can lose at most that much of the spilled tail.
A torn last line (the process died inside write(2)) is moved to the rejected file on open.

Size cap: ``max_bytes`` bounds the bytes not yet in the database (:attr:`Journal.backlog_bytes`). Crossing
``warn_share`` of it logs one WARNING, reaching it one ERROR (each once until the backlog is back under the
high-water mark, which logs one INFO). The journal itself never drops a line: at the cap it reports
:attr:`Journal.level` ``full`` and the controller refuses new calls at the door (reason ``journal``), so only
the calls already in progress add records; once the database takes the backlog, calls are let in again.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
import time
from pathlib import Path

from cc.errors import Conflict, InvalidValue, StoreError

__all__ = ["DEFAULT_MAX_BYTES", "FSYNC_POLICIES", "LEVELS", "Journal"]

log = logging.getLogger(__name__)

FSYNC_POLICIES = ("always", "interval", "never")
#: the default size cap of the records not yet in the database (1 GiB)
DEFAULT_MAX_BYTES = 1 << 30
#: the journal's levels, from good to bad
LEVELS = ("ok", "high", "full")


class Journal:
    """An append-only JSON-lines file with a replay cursor; one Journal per file (locked)."""

    def __init__(self, path: str | os.PathLike[str], *, fsync: str = "interval", max_bytes: int = DEFAULT_MAX_BYTES,
                 warn_share: float = 0.8) -> None:
        if fsync not in FSYNC_POLICIES:
            raise InvalidValue("fsync", fsync, f"must be one of {', '.join(FSYNC_POLICIES)}")
        if max_bytes < 1:
            raise InvalidValue("journal max_bytes", max_bytes, "must be at least 1")
        if not 0 < warn_share <= 1:
            raise InvalidValue("journal warn_share", warn_share, "must be more than 0 and at most 1")
        self.max_bytes = max_bytes
        self.warn_share = warn_share
        #: "ok", "high" (past the high-water mark) or "full" (at the cap): see the module docstring
        self.level = "ok"
        #: times the level went up to high / full (the alarms raised)
        self.alarms = 0
        self.path = Path(path)
        self.fsync = fsync
        self._pos_path = self.path.with_name(self.path.name + ".pos")
        self.rejected_path = self.path.with_name(self.path.name + ".rejected")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        except OSError as exc:
            raise StoreError(f"journal {self.path}: cannot open: {exc}") from exc
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self._fd)
            raise Conflict("journal", str(self.path), "is in use by another writer") from None
        self._dirty = False
        self._last_sync = time.monotonic()
        self.rejected = 0  # lines moved to the rejected file by this instance
        self._reject_lock = threading.Lock()
        self._read_pos = self._load_pos()
        self._repair_tail()
        self._appended = self._count_lines(self._read_pos)
        self._replayed = 0
        self._bytes = self._size()   # the file's size, kept up to date by append (no fstat per line)
        self._check_level()

    @property
    def pending(self) -> int:
        """Lines appended and not yet replayed into the database."""
        return self._appended - self._replayed

    @property
    def file_bytes(self) -> int:
        """The journal file's size."""
        return self._bytes

    @property
    def backlog_bytes(self) -> int:
        """Bytes of lines not yet in the database (after the replay cursor)."""
        return max(0, self._bytes - self._read_pos)

    def _check_level(self) -> None:
        """Move :attr:`level` with the backlog; log each change once (WARNING high, ERROR full, INFO back)."""
        size = self.backlog_bytes
        high = self.max_bytes * self.warn_share
        level = "full" if size >= self.max_bytes else "high" if size >= high else "ok"
        if level == self.level:
            return
        before, self.level = self.level, level
        mb = 1 / (1 << 20)
        if LEVELS.index(level) > LEVELS.index(before):
            self.alarms += 1
            if level == "full":
                log.error("journal %s: %.3f MB of records wait for the database: at its cap of %.3f MB; new calls "
                          "are refused until the database takes them (no record is dropped)", self.path, size * mb,
                          self.max_bytes * mb)
            else:
                log.warning("journal %s: %.3f MB of records wait for the database, past %.0f %% of its cap of "
                            "%.3f MB (at the cap new calls are refused)", self.path, size * mb,
                            100 * self.warn_share, self.max_bytes * mb)
        elif level == "ok":
            log.info("journal %s: back under its high-water mark (%.3f MB wait for the database)", self.path,
                     size * mb)

    # ------------------------------------------------------------------ state on disk

    def _size(self) -> int:
        return os.fstat(self._fd).st_size

    def _load_pos(self) -> int:
        try:
            pos = int(self._pos_path.read_text(encoding="ascii").strip() or 0)
        except FileNotFoundError:
            return 0
        except (OSError, ValueError) as exc:
            log.warning("journal %s: unreadable cursor (%s); replaying from the start", self.path, exc)
            return 0
        return max(0, min(pos, self._size()))

    def _repair_tail(self) -> None:
        """Move a torn last line (no trailing newline) to the rejected file and cut it off."""
        size = self._size()
        if size == 0:
            return
        with open(self.path, "rb") as f:
            f.seek(max(0, size - 1))
            if f.read(1) == b"\n":
                return
            start = max(0, size - 65536)
            while True:
                f.seek(start)
                chunk = f.read(size - start)
                nl = chunk.rfind(b"\n")
                if nl >= 0 or start == 0:
                    cut = start + nl + 1 if nl >= 0 else 0
                    break
                start = max(0, start - 65536)
            f.seek(cut)
            torn = f.read()
        log.error("journal %s: torn last line of %d bytes moved to %s", self.path, len(torn),
                  self.rejected_path)
        self.reject(torn.decode("utf-8", "replace"), "torn write (the process stopped mid-line)")
        os.ftruncate(self._fd, cut)
        self._read_pos = min(self._read_pos, cut)

    def _count_lines(self, start: int) -> int:
        count = 0
        with open(self.path, "rb") as f:
            f.seek(start)
            for block in iter(lambda: f.read(1 << 20), b""):
                count += block.count(b"\n")
        return count

    # ------------------------------------------------------------------ writing

    def append(self, line: str) -> None:
        """Append one newline-terminated line with a single write(2) (callers serialize appends)."""
        data = line.encode("utf-8")
        written = os.write(self._fd, data)
        while written < len(data):  # only on a full disk or a signal; keep the line whole
            written += os.write(self._fd, data[written:])
        self._appended += 1
        self._bytes += len(data)
        if self.level != "full" and self._bytes - self._read_pos >= self.max_bytes * self.warn_share:
            self._check_level()
        if self.fsync == "always":
            os.fsync(self._fd)
        else:
            self._dirty = True

    def sync(self, *, min_interval_s: float = 0.0) -> None:
        """fsync the file if lines were appended since the last sync and ``min_interval_s`` passed."""
        if not self._dirty or self.fsync == "never":
            return
        now = time.monotonic()
        if now - self._last_sync < min_interval_s:
            return
        os.fsync(self._fd)
        self._dirty = False
        self._last_sync = now

    def reject(self, line: str, why: str) -> None:
        """Keep a line the database refused for good in ``path.rejected`` (JSON lines with the reason)."""
        entry = json.dumps({"error": why, "line": line.rstrip("\n")}) + "\n"
        with self._reject_lock, open(self.rejected_path, "a", encoding="utf-8") as f:
            f.write(entry)
            f.flush()
            os.fsync(f.fileno())
            self.rejected += 1

    # ------------------------------------------------------------------ replay

    def read_batch(self, max_lines: int) -> tuple[list[str], int]:
        """Up to ``max_lines`` complete lines after the cursor, and the offset just past them."""
        lines: list[str] = []
        end = self._read_pos
        with open(self.path, "rb") as f:
            f.seek(self._read_pos)
            while len(lines) < max_lines:
                raw = f.readline()
                if not raw.endswith(b"\n"):
                    break
                end += len(raw)
                lines.append(raw.decode("utf-8", "replace"))
        return lines, end

    def commit(self, end: int, count: int) -> None:
        """Mark the lines up to ``end`` as in the database (the cursor survives a restart)."""
        self._read_pos = end
        self._replayed += count
        if self.level != "ok":
            self._check_level()
        tmp = self._pos_path.with_name(self._pos_path.name + ".tmp")
        tmp.write_text(str(end), encoding="ascii")
        os.replace(tmp, self._pos_path)

    def exhausted(self) -> bool:
        """True when every line has been replayed."""
        return self._read_pos >= self._size()

    def reset(self) -> None:
        """Empty a fully replayed journal (callers hold the lock that serializes appends)."""
        os.ftruncate(self._fd, 0)
        self._read_pos = 0
        self._appended = self._replayed = 0
        self._bytes = 0
        self._dirty = False
        self._pos_path.unlink(missing_ok=True)
        self._check_level()

    def prepend(self, lines: list[str]) -> None:
        """Rewrite the journal as ``lines`` + the unreplayed tail (shutdown: older records first)."""
        if not lines:
            return
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "wb") as out, open(self.path, "rb") as old:
            for line in lines:
                out.write(line.encode("utf-8"))
            old.seek(self._read_pos)
            for block in iter(lambda: old.read(1 << 20), b""):
                out.write(block)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.path)
        new_fd = os.open(self.path, os.O_RDWR | os.O_APPEND)
        fcntl.flock(new_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.close(self._fd)
        self._fd = new_fd
        self._pos_path.unlink(missing_ok=True)
        self._read_pos = 0
        self._appended = self._appended - self._replayed + len(lines)
        self._replayed = 0
        self._bytes = self._size()
        self._check_level()
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def close(self) -> None:
        """fsync (unless ``never``) and release the file; a fully replayed journal is truncated."""
        if self._fd < 0:
            return
        if self.fsync != "never" and self._dirty:
            os.fsync(self._fd)
        empty = self.exhausted()
        if empty:
            os.ftruncate(self._fd, 0)
            self._pos_path.unlink(missing_ok=True)
        os.close(self._fd)
        self._fd = -1
