"""The write-behind writer: calls hand history records over in O(1) and never wait for the database.

``Writer.submit(record)`` appends to a bounded in-memory queue (or, once that is full, to the
append-only :class:`~cc.store.journal.Journal`) and returns. One background drainer takes the queue
in batches and inserts each batch in one transaction with multi-row ``INSERT ... ON CONFLICT (id) DO
NOTHING`` statements (see :class:`_Bulk`), so a record written twice is stored once. Calls, call legs
and recordings describe something that changes (answered, ended, stopped): for them the insert is
``ON CONFLICT (id) DO UPDATE``, so submitting the same uuid again with more filled in updates the row
(last one wins; still idempotent). When the database cannot be reached the drainer keeps its batch
and retries with capped exponential backoff while new records pile up in the queue and then in the
journal. Order is kept: the queue holds the older records and, as soon as one record has spilled,
every later one goes to the journal too until the journal has been replayed; a journal left by an
earlier process is replayed first. Records the database refuses for good (a value too long, a
constraint) go to ``<journal>.rejected`` with the reason; nothing is dropped. The journal's size cap
(``journal_max_bytes``) never drops a record either: the journal's level (:meth:`Writer.stats`) turns
``high`` or ``full`` (logged once each), and the controller refuses new calls while it is ``full``
(see cc/store/journal.py). While the database is unavailable every new record goes to the journal at once
(not to the memory queue first): a process killed during an outage loses at most the batch the drainer
holds and what was queued before the first failure, not up to ``max_queue`` records.

The drainer is started with ``threading``: a native thread, or a greenlet when gevent has patched
``threading`` (as the cc runtime does); ``submit`` is safe from greenlets and from plain threads.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import os
import threading
import time
from typing import Any

from sqlalchemy import String
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError

from cc.errors import CCError, InvalidValue, StoreError
from cc.store.codec import KINDS, KINDS_BY_NAME, HistoryRecord, Kind, decode_line, encode_line, kind_of
from cc.store.db import Database
from cc.store.journal import DEFAULT_MAX_BYTES, Journal

__all__ = ["WARN_EVERY_S", "Writer", "WriterStats"]

log = logging.getLogger(__name__)

#: while the database keeps failing and answering by turns, its "unavailable" warning is logged this seldom
WARN_EVERY_S = 30.0


@dataclasses.dataclass(frozen=True)
class WriterStats:
    """A snapshot of the writer for /healthz: what is waiting where, and how the database is doing."""

    queued: int
    in_flight: int
    journaled: int
    written: int
    rejected: int
    retries: int
    database_available: bool
    last_error: str | None
    #: bytes of journal lines not yet in the database, and the journal's cap on them
    journal_bytes: int = 0
    journal_max_bytes: int = DEFAULT_MAX_BYTES
    #: "ok", "high" (past the high-water mark) or "full" (at the cap: new calls are refused)
    journal_level: str = "ok"

    @property
    def backlog(self) -> int:
        """Records accepted but not yet in the database."""
        return self.queued + self.in_flight + self.journaled

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready figures, backlog included (for /healthz)."""
        return {**dataclasses.asdict(self), "backlog": self.backlog}


class _Bulk:
    """A multi-row ``INSERT ... ON CONFLICT`` for one table, with its columns' bind processors.

    SQLite gets ``VALUES (?, ...), (?, ...)`` with up to ``ROWS`` rows per statement; PostgreSQL gets
    ``SELECT * FROM unnest(CAST(%s AS type[]), ...)`` with one array per column, a short statement
    whatever the batch size. Values go through the same SQLAlchemy type processors as ORM writes (UTC
    timestamps, Enum values, JSON), so repositories read back exactly what they would have written.
    """

    ROWS = 500  # rows per VALUES statement: well under SQLite's bound-parameter limit

    def __init__(self, kind: Kind, dialect: Any) -> None:
        quote = dialect.identifier_preparer.quote
        cols = list(kind.fields)
        columns = [kind.table.c[c] for c in cols]
        self.procs = [
            (c, col.type.dialect_impl(dialect).bind_processor(dialect)) for c, col in zip(cols, columns, strict=True)
        ]
        names = ", ".join(quote(c) for c in cols)
        if kind.upsert:
            sets = ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in cols if c != kind.key)
            self.tail = f" ON CONFLICT ({quote(kind.key)}) DO UPDATE SET {sets}"
        else:
            self.tail = f" ON CONFLICT ({quote(kind.key)}) DO NOTHING"
        self.arrays = dialect.name == "postgresql"
        if self.arrays:
            # Strings are cast to TEXT[], not VARCHAR(n)[]: an explicit cast to VARCHAR(n) silently
            # truncates, while the assignment into the column refuses an over-long value (DataError).
            casts = ", ".join(
                f"CAST(%s AS {'TEXT' if isinstance(col.type, String) else col.type.compile(dialect=dialect)}[])"
                for col in columns
            )
            self._unnest = f"INSERT INTO {quote(kind.table.name)} ({names}) SELECT * FROM unnest({casts}){self.tail}"
        else:
            self.head = f"INSERT INTO {quote(kind.table.name)} ({names}) VALUES "
            self.one = "(" + ", ".join(["?"] * len(cols)) + ")"
        self._sql: dict[int, str] = {}

    @property
    def rows_per_statement(self) -> int:
        """How many rows one statement takes."""
        return 1_000_000 if self.arrays else self.ROWS

    def sql(self, n: int) -> str:
        """The statement for ``n`` rows (cached per size)."""
        if self.arrays:
            return self._unnest
        text = self._sql.get(n)
        if text is None:
            text = self._sql[n] = self.head + ", ".join([self.one] * n) + self.tail
        return text

    def params(self, rows: list[dict[str, Any]]) -> tuple[Any, ...]:
        """Positional parameters of ``rows``: one list per column (PostgreSQL) or flat (SQLite)."""
        if self.arrays:
            return tuple(
                [row[c] if proc is None or row[c] is None else proc(row[c]) for row in rows] for c, proc in self.procs
            )
        out: list[Any] = []
        append = out.append
        for row in rows:
            for col, proc in self.procs:
                value = row[col]
                append(proc(value) if proc is not None and value is not None else value)
        return tuple(out)


@dataclasses.dataclass
class _Batch:
    """Records the drainer holds until they are committed; ``journal_end`` when read from the journal."""

    records: list[Any]
    journal_end: int | None = None
    journal_lines: int = 0


class _BadRow(ValueError):
    """A row whose values the column types cannot bind (raised before the database sees it)."""


def _bad_data(exc: BaseException) -> bool:
    """True when ``exc`` blames the data (a constraint, a value out of range): isolate and reject the
    offending records. Anything else (unreachable, locked, a missing table, a read-only database) is
    the database's problem: the batch is kept and retried with backoff, so nothing is rejected for it."""
    return isinstance(exc, IntegrityError | DataError | _BadRow)


class Writer:
    """Batched, idempotent, never-blocking writer of history records (see the module docstring)."""

    def __init__(
        self,
        db: Database | str | None,
        journal_path: str | os.PathLike[str],
        *,
        max_queue: int = 100_000,
        batch_size: int = 1_000,
        backoff_initial_s: float = 0.05,
        backoff_max_s: float = 5.0,
        fsync: str = "interval",
        fsync_interval_s: float = 1.0,
        journal_max_bytes: int = DEFAULT_MAX_BYTES,
        journal_warn_share: float = 0.8,
        start: bool = True,
    ) -> None:
        if max_queue < 1:
            raise InvalidValue("max_queue", max_queue, "must be at least 1")
        if batch_size < 1:
            raise InvalidValue("batch_size", batch_size, "must be at least 1")
        if not 0 < backoff_initial_s <= backoff_max_s:
            raise InvalidValue("backoff_initial_s", backoff_initial_s, "must be > 0 and <= backoff_max_s")
        self._own_db = not isinstance(db, Database)
        self.db = db if isinstance(db, Database) else Database(db)
        if self.db.dialect == "sqlite" and self.db.engine.url.database in (None, "", ":memory:"):
            raise InvalidValue(
                "database url", self.db.url, "the writer needs a database file or server, not an in-memory SQLite"
            )
        self.max_queue = max_queue
        self.batch_size = batch_size
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.fsync_interval_s = fsync_interval_s
        self.journal = Journal(journal_path, fsync=fsync, max_bytes=journal_max_bytes, warn_share=journal_warn_share)
        self._queue: collections.deque[Any] = collections.deque()
        self._lock = threading.Lock()  # serializes journal appends and the spill -> queue switch
        self._spilling = self.journal.pending > 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._done = threading.Condition()
        self._hand: _Batch | None = None
        self._closed = False
        self._written = 0
        self._retries = 0
        self._available = True
        #: when the last "unavailable" warning was logged (monotonic), and the failures not logged since
        self._warned_at: float | None = None
        self._unlogged = 0
        self._last_error: str | None = None
        self._statements = self._build_statements()
        self._thread: threading.Thread | None = None
        if self._spilling:
            log.warning(
                "journal %s holds %d records from an earlier run; replaying them first",
                self.journal.path,
                self.journal.pending,
            )
        if start:
            self.start()

    def _build_statements(self) -> dict[str, _Bulk]:
        """Per kind: the idempotent multi-row INSERT and the bind processors of its columns."""
        dialect = self.db.engine.dialect
        ok = {"sqlite": ("qmark",), "postgresql": ("format", "pyformat")}
        if dialect.paramstyle not in ok.get(dialect.name, ()):  # pragma: no cover - make_engine checks
            raise InvalidValue("database url", self.db.url, f"no idempotent bulk insert for {dialect.name}")
        return {kind.name: _Bulk(kind, dialect) for kind in KINDS.values()}

    # ------------------------------------------------------------------ the producer side

    def start(self) -> None:
        """Start the drainer (done by the constructor unless ``start=False``)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="cc-store-writer", daemon=True)
            self._thread.start()

    def submit(self, record: HistoryRecord) -> None:
        """Hand a history record over; O(1), never waits for the database, never drops it."""
        if self._closed:
            raise StoreError("the writer is closed; records can no longer be accepted")
        if type(record) not in KINDS:
            kind_of(record)  # raises InvalidValue naming the type
        if not self._spilling and self._available and len(self._queue) < self.max_queue:
            self._queue.append(record)
        else:
            try:
                line = encode_line(record)
            except CCError as exc:  # a value JSON cannot hold (NaN, an object): kept aside, not raised
                self._reject(record, str(exc))
                return
            with self._lock:
                if not self._spilling and self._available and len(self._queue) < self.max_queue:
                    self._queue.append(record)
                else:
                    if not self._spilling:
                        why = (f"queue full ({self.max_queue} records)" if self._available
                               else "database unavailable")
                        log.warning("writer %s: new records go to %s until it is replayed", why, self.journal.path)
                    self._spilling = True
                    self.journal.append(line)
        if not self._wake.is_set():
            self._wake.set()

    def stats(self) -> WriterStats:
        """A snapshot of queue, in-flight batch, journal, counters and database availability."""
        hand = self._hand
        in_flight = 0
        if hand is not None:
            in_flight = len(hand.records) if hand.journal_end is None else 0
        return WriterStats(
            queued=len(self._queue),
            in_flight=in_flight,
            journaled=self.journal.pending,
            written=self._written,
            rejected=self.journal.rejected,
            retries=self._retries,
            database_available=self._available,
            last_error=self._last_error,
            journal_bytes=self.journal.backlog_bytes,
            journal_max_bytes=self.journal.max_bytes,
            journal_level=self.journal.level,
        )

    @property
    def journal_full(self) -> bool:
        """True while the journal's backlog is at its cap (the controller refuses new calls then)."""
        return self.journal.level == "full"

    @property
    def backlog(self) -> int:
        """Records accepted but not yet committed (queue + in-flight batch + journal)."""
        return self.stats().backlog

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything submitted so far is in the database; False if ``timeout`` passed first."""
        self._wake.set()
        with self._done:
            return self._done.wait_for(lambda: self.backlog == 0, timeout)

    def close(self, timeout: float = 10.0) -> int:
        """Flush for up to ``timeout`` s, stop the drainer, journal what is left; return how many are left."""
        if self._closed:
            return self.journal.pending
        self._closed = True
        self.flush(timeout)
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=max(1.0, self.backoff_max_s) + 30.0)
        with self._lock:
            left: list[Any] = []
            hand = self._hand
            if hand is not None and hand.journal_end is None:
                left.extend(hand.records)
            self._hand = None
            left.extend(self._queue)
            self._queue.clear()
            lines = []
            for r in left:
                try:
                    lines.append(encode_line(r))
                except CCError as exc:
                    self._reject(r, str(exc))
            self.journal.prepend(lines)
            remaining = self.journal.pending
            self.journal.close()
        if self._own_db:
            self.db.dispose()
        if remaining:
            log.warning("writer closed with %d records journaled in %s", remaining, self.journal.path)
        return remaining

    # ------------------------------------------------------------------ the drainer

    def _take(self) -> _Batch | None:
        """The next batch: the queue first (older), then the journal, then leave spill mode."""
        if not self._queue and (self.journal.pending or not self.journal.exhausted()) and not self._queue:
            # Checked again after the journal: records can reach the queue between the first check and
            # the spill that filled the journal; those are older and must go first. Once the journal
            # holds anything, new records go behind it (spill mode), so an empty queue now stays older.
            lines, end = self.journal.read_batch(self.batch_size)
            if lines:
                records = []
                for line in lines:
                    try:
                        records.append(decode_line(line))
                    except CCError as exc:
                        self._reject_line(line, str(exc))
                return _Batch(records, journal_end=end, journal_lines=len(lines))
        if self._queue:
            n = min(self.batch_size, len(self._queue))
            return _Batch([self._queue.popleft() for _ in range(n)])
        if self._spilling:
            with self._lock:
                if self.journal.exhausted():
                    self.journal.reset()
                    self._spilling = False
                    log.info("journal %s replayed; back to the in-memory queue", self.journal.path)
        return None

    def _reject_line(self, line: str, why: str) -> None:
        log.error("writer: record rejected for good (%s), kept in %s", why, self.journal.rejected_path)
        self.journal.reject(line, why)

    def _reject(self, record: Any, why: str) -> None:
        try:
            line = encode_line(record)
        except CCError:
            line = repr(record)
        self._reject_line(line, why)

    def _rows(self, records: list[Any]) -> dict[str, list[tuple[Any, dict[str, Any]]]]:
        grouped: dict[str, list[tuple[Any, dict[str, Any]]]] = {}
        for record in records:
            kind: Kind = KINDS[type(record)]
            try:
                row = kind.to_row(record)
            except (CCError, TypeError, ValueError, OverflowError) as exc:
                self._reject(record, str(exc))
                continue
            grouped.setdefault(kind.name, []).append((record, row))
        for name, pairs in grouped.items():
            if KINDS_BY_NAME[name].upsert and len(pairs) > 1:
                # one row per key and statement (PostgreSQL refuses to update a row twice): last wins
                key = KINDS_BY_NAME[name].key
                latest = {row[key]: (record, row) for record, row in pairs}
                grouped[name] = list(latest.values())
        return grouped

    def _insert(self, grouped: dict[str, list[tuple[Any, dict[str, Any]]]]) -> None:
        """One transaction; per table, multi-row INSERT statements (see :class:`_Bulk`)."""
        with self.db.engine.begin() as conn:
            for name, pairs in grouped.items():
                bulk = self._statements[name]
                step = bulk.rows_per_statement
                for i in range(0, len(pairs), step):
                    chunk = pairs[i : i + step]
                    try:
                        params = bulk.params([row for _, row in chunk])
                    except (TypeError, ValueError, OverflowError) as exc:
                        raise _BadRow(f"{name}: {exc}") from exc
                    conn.exec_driver_sql(bulk.sql(len(chunk)), params)

    def _write(self, records: list[Any]) -> None:
        """Insert ``records`` in one transaction; bad records are isolated and rejected one by one."""
        grouped = self._rows(records)
        if not grouped:
            return
        try:
            self._insert(grouped)
        except Exception as exc:
            if not _bad_data(exc):
                raise
            log.warning(
                "writer: batch of %d refused (%s); isolating the bad records", len(records), exc.__class__.__name__
            )
            for name, pairs in grouped.items():
                for pair in pairs:
                    try:
                        self._insert({name: [pair]})
                    except Exception as one:
                        if not _bad_data(one):
                            raise
                        why = getattr(one, "orig", None) or one
                        self._reject(pair[0], f"{name}: {one.__class__.__name__}: {why}")

    def _pause(self, seconds: float) -> None:
        """Back off for ``seconds`` (cut short by close()), keeping the journal's fsync schedule."""
        deadline = time.monotonic() + seconds
        while not self._stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self._stop.wait(min(left, self.fsync_interval_s))
            self.journal.sync(min_interval_s=self.fsync_interval_s)

    def _run(self) -> None:
        backoff = self.backoff_initial_s
        while True:
            self.journal.sync(min_interval_s=self.fsync_interval_s)
            if self._hand is None:
                self._hand = self._take()
            hand = self._hand
            if hand is None:
                with self._done:
                    self._done.notify_all()
                if self._stop.is_set():
                    return
                self._wake.wait(self.fsync_interval_s)
                self._wake.clear()
                continue
            rejected_before = self.journal.rejected
            try:
                self._write(hand.records)
            except SQLAlchemyError as exc:
                self._retries += 1
                self._last_error = f"{exc.__class__.__name__}: {getattr(exc, 'orig', None) or exc}"
                if self._available:
                    self._warn_unavailable()
                self._available = False
                if self._stop.is_set():
                    return
                self._pause(backoff)
                backoff = min(backoff * 2, self.backoff_max_s)
                continue
            except Exception as exc:  # never let the drainer die: keep the records, log, back off
                self._retries += 1
                self._last_error = f"{exc.__class__.__name__}: {exc}"
                log.exception("writer: unexpected failure; batch kept and retried")
                if self._stop.is_set():
                    return
                self._pause(backoff)
                backoff = min(backoff * 2, self.backoff_max_s)
                continue
            if hand.journal_end is not None:
                self.journal.commit(hand.journal_end, hand.journal_lines)
            if not self._available:
                log.info("writer: database available again after %d retries", self._retries)
            self._available = True
            self._written += len(hand.records) - (self.journal.rejected - rejected_before)
            self._hand = None
            backoff = self.backoff_initial_s
            with self._done:
                self._done.notify_all()
            if self._stop.is_set():
                return  # close() gave up waiting: it journals whatever is left

    def _warn_unavailable(self) -> None:
        """One warning per outage, and at most one per :data:`WARN_EVERY_S` while the database comes and goes
        (a pool whose old connections work while new ones are refused succeeds and fails by turns)."""
        now = time.monotonic()
        if self._warned_at is not None and now - self._warned_at < WARN_EVERY_S:
            self._unlogged += 1
            return
        again = f"; {self._unlogged} more outages since the last warning" if self._unlogged else ""
        log.warning(
            "writer: database unavailable or refusing writes (%s); retrying with backoff up to %.1f s, "
            "%d records waiting%s",
            self._last_error,
            self.backoff_max_s,
            self.backlog,
            again,
        )
        self._warned_at, self._unlogged = now, 0

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        s = self.stats()
        return f"<Writer {self.db.dialect} backlog={s.backlog} written={s.written} available={s.database_available}>"
