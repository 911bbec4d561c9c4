"""Finding recordings: by time, agent, number, customer, queue or campaign, and result, newest first, a page at a time
(keyset paging on the start time), within the agents a user may see; and one recording with what it belongs to.

A recording's agent, queue and result come from its call's stays in queues (queue_calls), its campaign dial
(dial_attempts) and its CRM interaction (interactions); its customer from that interaction.
"""

from __future__ import annotations

import datetime
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import Select, and_, func, literal, or_, select
from sqlalchemy.orm import Session

from cc.model import InteractionKind
from cc.store import tables as t
from cc.store.campaign_tables import DialAttemptRow
from cc.store.codec import to_epoch, to_utc
from cc.store.repo_base import _Repo

__all__ = ["RecordingFilter", "RecordingHit", "RecordingSearch"]

#: at most this many per page
MAX_PAGE = 200


@dataclass(frozen=True)
class RecordingFilter:
    """What to look for; empty fields do not filter. ``number``: digits anywhere in the caller's or the called
    number; ``customer``: a customer id or the start of a name."""

    start: float | None = None
    end: float | None = None
    agent: str = ""
    number: str = ""
    customer: str = ""
    queue: str = ""
    campaign: str = ""
    result: str = ""


@dataclass(frozen=True)
class RecordingHit:
    """One recording found, with what it belongs to (``path`` never leaves the server)."""

    id: str
    call_uuid: str
    path: str
    started_at: float
    duration_s: float | None
    size_bytes: int | None
    caller: str
    callee: str
    agent_id: str | None
    queue: str | None
    campaign: str | None
    customer_id: str | None
    customer_name: str | None
    result: str | None


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class RecordingSearch(_Repo):
    """Read-only queries over recordings and the call history around them."""

    def _base(self) -> Select[tuple[object, ...]]:
        r, c, i = t.RecordingRow, t.CallRow, t.InteractionRow
        qc, d = t.QueueCallRow, DialAttemptRow
        stay_agent = (select(qc.agent_id).where(qc.member_uuid == r.call_uuid, qc.agent_id.is_not(None))
                      .order_by(qc.entered_at.desc()).limit(1).scalar_subquery())
        stay_queue = (select(qc.queue).where(qc.member_uuid == r.call_uuid)
                      .order_by(qc.entered_at.desc()).limit(1).scalar_subquery())
        agent = func.coalesce(stay_agent, d.agent_id, i.agent_id)
        return (select(r.uuid, r.call_uuid, r.path, r.started_at, r.duration_s, r.size_bytes,
                       func.coalesce(c.caller, literal("")), func.coalesce(c.callee, literal("")),
                       agent.label("agent"), stay_queue.label("queue"), d.campaign, i.customer_id,
                       t.CustomerRow.name,
                       func.coalesce(i.disposition, d.result, c.disposition).label("result"))
                .select_from(r)
                .outerjoin(c, c.uuid == r.call_uuid)
                .outerjoin(d, d.uuid == r.call_uuid)
                .outerjoin(i, and_(i.call_uuid == r.call_uuid, i.kind == InteractionKind.CALL))
                .outerjoin(t.CustomerRow, t.CustomerRow.id == i.customer_id))

    @staticmethod
    def _hit(row: tuple[object, ...]) -> RecordingHit:
        (uuid, call_uuid, path, started, duration, size, caller, callee, agent, queue, campaign, customer_id,
         customer_name, result) = row
        assert isinstance(started, datetime.datetime)
        return RecordingHit(str(uuid), str(call_uuid), str(path), to_epoch(started),
                            float(duration) if isinstance(duration, int | float) else None,
                            int(size) if isinstance(size, int) else None, str(caller or ""), str(callee or ""),
                            str(agent) if agent else None, str(queue) if queue else None,
                            str(campaign) if campaign else None, str(customer_id) if customer_id else None,
                            str(customer_name) if customer_name else None, str(result) if result else None)

    def search(self, f: RecordingFilter, *, agents: Collection[str] | None, before: tuple[float, str] | None = None,
               limit: int = 50) -> list[RecordingHit]:
        """Recordings matching ``f``, newest first, after the key ``before`` (the last hit's (started_at, id)),
        only of ``agents`` (None: all, including recordings of no agent)."""
        limit = max(1, min(limit, MAX_PAGE))
        q = self._base()
        r = t.RecordingRow
        cols = q.selected_columns
        if f.start is not None:
            q = q.where(r.started_at >= to_utc(f.start))
        if f.end is not None:
            q = q.where(r.started_at < to_utc(f.end))
        if agents is not None:
            if not agents:
                return []
            q = q.where(cols.agent.in_(sorted(agents)))
        if f.agent:
            q = q.where(cols.agent == f.agent)
        if f.queue:
            q = q.where(cols.queue == f.queue)
        if f.campaign:
            q = q.where(cols.campaign == f.campaign)
        if f.result:
            q = q.where(cols.result == f.result)
        digits = _digits(f.number)
        if digits:
            q = q.where(or_(t.CallRow.caller.like(_like(digits), escape="\\"),
                            t.CallRow.callee.like(_like(digits), escape="\\")))
        if f.customer:
            q = q.where(or_(cols.customer_id == f.customer,
                            t.CustomerRow.name.like(_like(f.customer)[1:], escape="\\")))
        if before is not None:
            at = to_utc(before[0])
            q = q.where(or_(r.started_at < at, and_(r.started_at == at, r.uuid < before[1])))
        q = q.order_by(r.started_at.desc(), r.uuid.desc()).limit(limit)

        def run(session: Session) -> list[RecordingHit]:
            return [self._hit(tuple(row)) for row in session.execute(q)]

        return self._read(run)

    def get(self, recording_id: str) -> RecordingHit | None:
        """One recording with what it belongs to; None when unknown."""
        q = self._base().where(t.RecordingRow.uuid == recording_id).limit(1)

        def run(session: Session) -> RecordingHit | None:
            row = session.execute(q).first()
            return self._hit(tuple(row)) if row is not None else None

        return self._read(run)

    def first_of_calls(self, call_uuids: Collection[str]) -> dict[str, str]:
        """For each of these calls that has a recording, the id of its first one (by start time)."""
        wanted = sorted(set(call_uuids))
        if not wanted:
            return {}
        r = t.RecordingRow
        q = select(r.call_uuid, r.uuid).where(r.call_uuid.in_(wanted)).order_by(r.started_at, r.uuid)

        def run(session: Session) -> dict[str, str]:
            first: dict[str, str] = {}
            for call, rid in session.execute(q):
                first.setdefault(call, rid)
            return first

        return self._read(run)
