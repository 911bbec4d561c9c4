"""The queue_calls table: one summed-up row per stay of a call in a queue, and the queue report over it.

The controller writes a QueueCall per stay (cc.reports.summary); a month's queue report is then one
GROUP BY over these rows instead of a join of the queue log with itself and the agent log. Slots whose
rows are missing (history logged before revision 0003 and not yet summarized, calls still open, a
crash) are found by comparing the row count with the ENTER lines per slot; the report computes those
slots from the queue log instead, so the figures never depend on whether the summaries are complete.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, case, func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from cc.errors import InvalidValue
from cc.model import QueueCall, QueueEventType
from cc.store import tables as t
from cc.store.repo_base import SLOT_S, QueueSlot, _flag, _fsum, _HistoryRepo, _num, _window, survey_slot_query

__all__ = ["QueueCallRepo"]

_EXIT_OUTCOMES = {"timeouts": "timeout", "no_agent": "no_agent", "full": "full", "exit_key": "exit_key",
                  "other_exits": "other"}


class QueueCallRepo(_HistoryRepo):
    """QueueCall rows: by member, scans by enter time, per-slot sums and the slots they do not cover yet."""

    record = QueueCall
    time_field = "entered_at"

    def for_member(self, member_uuid: str) -> list[QueueCall]:
        """A call's stays, in the order they entered."""
        kind = self._kind
        r = t.QueueCallRow
        q = select(r).where(r.member_uuid == member_uuid).order_by(r.entered_at, r.id)
        return self._read(lambda s: [kind.from_row(x) for x in s.scalars(q)])

    def uncovered_slots(self, start: float, end: float, *, queue: str | None = None) -> list[tuple[str, int]]:
        """(queue, slot number) of the SLOT_S slots in ``[start, end)`` whose ENTER lines outnumber their rows.

        Those slots' calls have no (or not all their) QueueCall rows: compute them from the queue log.
        """
        lo, hi = _window(start, end)
        if start < 0:
            raise InvalidValue("start", start, "must be >= 0")
        e, r = t.QueueEventRow, t.QueueCallRow
        enters = (select(e.queue, self._slot(e.at).label("slot"), func.count())
                  .where(e.type == QueueEventType.ENTER, e.at >= lo, e.at < hi).group_by(e.queue, "slot"))
        rows = (select(r.queue, self._slot(r.entered_at).label("slot"), func.count())
                .where(r.entered_at >= lo, r.entered_at < hi).group_by(r.queue, "slot"))
        if queue is not None:
            enters = enters.where(e.queue == queue)
            rows = rows.where(r.queue == queue)

        pg = self.db.dialect == "postgresql"

        def run(session: Session) -> list[tuple[str, int]]:
            if pg:
                session.execute(text("SET LOCAL jit = off"))   # compiling costs more than it saves here
            have = {(q, int(n)): int(c) for q, n, c in session.execute(rows)}
            return sorted((q, int(n)) for q, n, c in session.execute(enters) if have.get((q, int(n)), 0) < int(c))

        return self._read(run)

    def slot_totals(self, start: float, end: float, *, queue: str | None = None, short_abandon_s: float = 0.0,
                    default_sl_threshold_s: float = 20.0,
                    skip: frozenset[tuple[str, int]] = frozenset()) -> list[QueueSlot]:
        """The queue report's figures per (queue, UTC slot) summed over the rows entered in ``[start, end)``.

        Same definitions as QueueEventRepo.queue_report_slots (docs/reports.md); survey figures are not
        included (they come from the survey table). ``skip``: (queue, slot number) pairs left out.
        """
        lo, hi = _window(start, end)
        if start < 0:
            raise InvalidValue("start", start, "must be >= 0")
        _num("short_abandon_s", short_abandon_s)
        r = t.QueueCallRow
        threshold = func.coalesce(t.QueueRow.sl_threshold_s, default_sl_threshold_s)
        short = r.abandon_wait_s < short_abandon_s
        counted_abandon = r.abandon_wait_s >= short_abandon_s
        slot = self._slot(r.entered_at).label("slot")
        figures = (
            select(
                r.queue, slot, func.count(), _flag(short), _flag(counted_abandon),
                func.sum(r.answered),
                func.sum(case((and_(r.answered > 0, func.coalesce(r.answer_wait_s, 0.0) <= threshold), r.answered),
                              else_=0)),
                func.coalesce(func.sum(r.answer_wait_s), 0.0),
                *(_flag(r.outcome == o) for o in _EXIT_OUTCOMES.values()),
                func.sum(r.callbacks_requested), func.sum(r.callbacks_completed), func.sum(r.callbacks_failed),
                func.sum(r.transfers), func.sum(r.waits), func.sum(r.wait_sum), func.max(r.max_wait_s),
                _fsum(counted_abandon, r.abandon_wait_s), func.max(case((counted_abandon, r.abandon_wait_s))),
                func.sum(r.handled), func.sum(r.talk_s), func.sum(r.hold_s), func.sum(r.wrap_s),
            )
            .select_from(r)
            .outerjoin(t.QueueRow, t.QueueRow.name == r.queue)
            .where(r.entered_at >= lo, r.entered_at < hi)
            .group_by(r.queue, "slot")
        )
        if queue is not None:
            figures = figures.where(r.queue == queue)

        pg = self.db.dialect == "postgresql"

        def run(session: Session) -> list[QueueSlot]:
            if pg:  # ~11 k groups, not the 1 M the planner guesses from a computed key: hash them in memory;
                # compiling the 24 aggregates (JIT) costs more than it saves at this size
                session.execute(text("SET LOCAL work_mem = '64MB'"))
                session.execute(text("SET LOCAL jit = off"))
                session.execute(text("SET LOCAL enable_sort = off"))
            out = []
            for row in session.execute(figures):
                (q, n, count, n_short, n_aband, answered, in_sl, answered_wait, timeouts, no_agent, full, exit_key,
                 other, cb_req, cb_done, cb_failed, transfers, waits, wait_sum, max_wait, aband_sum, aband_max,
                 handled, talk, hold, wrap) = row
                if (q, int(n)) in skip:
                    continue
                peak = [float(x) for x in (max_wait, aband_max) if x is not None]
                out.append(QueueSlot(
                    q, float(int(n) * SLOT_S), offered=int(count) - int(n_short), answered=int(answered or 0),
                    answered_in_sl=int(in_sl or 0), answered_wait=float(answered_wait), abandoned=int(n_aband),
                    short_abandoned=int(n_short), timeouts=int(timeouts), no_agent=int(no_agent), full=int(full),
                    exit_key=int(exit_key), other_exits=int(other), callbacks_requested=int(cb_req or 0),
                    callbacks_completed=int(cb_done or 0), callbacks_failed=int(cb_failed or 0),
                    transfers=int(transfers or 0), waits=int(waits or 0) + int(n_aband),
                    wait_sum=float(wait_sum or 0.0) + float(aband_sum), max_wait=max(peak) if peak else None,
                    handled=int(handled or 0), talk=float(talk or 0.0), hold=float(hold or 0.0),
                    wrap=float(wrap or 0.0)))
            return sorted(out, key=lambda x: (x.slot, x.queue))

        return self._read(run)

    def survey_slots(self, start: float, end: float, *, queue: str | None = None) -> list[tuple[str, int, int, float]]:
        """(queue, slot number, answers, score sum) of survey answers dated in ``[start, end)``."""
        lo, hi = _window(start, end)
        q = survey_slot_query(self._slot, lo, hi, queue)
        return self._read(lambda s: [(str(a), int(n), int(c), float(total)) for a, n, c, total in s.execute(q)])

    def put(self, records: Iterable[QueueCall], *, batch: int = 1_000) -> int:
        """Insert or replace (by id) the rows, in transactions of ``batch`` rows; returns how many."""
        kind = self._kind
        table = kind.table
        insert = pg_insert if self.db.dialect == "postgresql" else sqlite_insert
        n = 0

        base = insert(table)
        stmt = base.on_conflict_do_update(index_elements=[kind.key],
                                          set_={c: base.excluded[c] for c in kind.fields if c != kind.key})

        def write(rows: list[dict[str, Any]]) -> None:   # executemany: one compiled statement, batched rows
            self._tx(lambda session: session.execute(stmt, rows), kind="queue_call")

        rows: list[dict[str, Any]] = []
        for r in records:
            rows.append(kind.to_row(r))
            if len(rows) >= batch:
                write(list({row[kind.key]: row for row in rows}.values()))
                n += len(rows)
                rows = []
        if rows:
            write(list({row[kind.key]: row for row in rows}.values()))
            n += len(rows)
        return n

    def delete_window(self, start: float, end: float, *, queue: str | None = None) -> int:
        """Remove the rows entered in ``[start, end)`` (before a re-summarize); returns how many."""
        lo, hi = _window(start, end)
        r = t.QueueCallRow
        stmt: Any = r.__table__.delete().where(r.entered_at >= lo, r.entered_at < hi)  # type: ignore[attr-defined]
        if queue is not None:
            stmt = stmt.where(r.queue == queue)

        def run(session: Session) -> int:
            result: Any = session.execute(stmt)
            return int(result.rowcount)

        return self._tx(run, kind="queue_call", key=f"{start}-{end}")
