"""An agent's day for his workbench ("my day"): calls, talk time, results, callbacks kept; and his callbacks.

Cheap reads on existing indexes: interactions (agent_id, at), queue_events (agent_id, at), campaign_callbacks
(by agent). Nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cc.model import Interaction, InteractionKind, QueueEventType
from cc.store import campaign_tables as ct
from cc.store import tables as t
from cc.store.campaign_tables import CallbackState
from cc.store.codec import KINDS, to_utc
from cc.store.repo_base import _Repo

__all__ = ["AgentDay", "AgentDayRepo"]

_TALK_ENDS = (QueueEventType.COMPLETE_AGENT, QueueEventType.COMPLETE_CALLER)


@dataclass(frozen=True)
class AgentDay:
    """What an agent did between two times."""

    calls: int                       #: answered calls that became interactions
    talk_s: float                    #: talk time of his queue calls (hold excluded)
    results: dict[str, int] = field(default_factory=dict)   #: result code -> calls
    callbacks_due: int = 0           #: his callbacks due in the period
    callbacks_kept: int = 0          #: of those, the campaign callbacks done (inbound ones: called back)


class AgentDayRepo(_Repo):
    """Reads of one agent's day."""

    def day(self, agent_id: str, since: float, until: float) -> AgentDay:
        """The agent's figures for ``since`` <= time < ``until`` (epoch seconds)."""
        lo, hi = to_utc(since), to_utc(until)
        ir, qe = t.InteractionRow, t.QueueEventRow

        def run(session: Session) -> AgentDay:
            rows = session.execute(
                select(ir.kind, ir.disposition, func.count())
                .where(ir.agent_id == agent_id, ir.at >= lo, ir.at < hi)
                .group_by(ir.kind, ir.disposition)).all()
            calls, due = 0, 0
            results: dict[str, int] = {}
            for kind, disposition, n in rows:
                if kind is InteractionKind.CALL:
                    calls += n
                    if disposition:
                        results[disposition] = results.get(disposition, 0) + n
                elif kind is InteractionKind.CALLBACK:
                    due += n
            talk = session.execute(
                select(func.coalesce(func.sum(qe.talk_s), 0.0))
                .where(qe.agent_id == agent_id, qe.at >= lo, qe.at < hi, qe.type.in_(_TALK_ENDS))).scalar_one()
            cb = ct.CallbackRow
            due += session.execute(select(func.count()).select_from(cb).where(
                cb.agent_id == agent_id, cb.due_at >= lo, cb.due_at < hi)).scalar_one()
            kept = session.execute(select(func.count()).select_from(cb).where(
                cb.agent_id == agent_id, cb.due_at >= lo, cb.due_at < hi,
                cb.state == CallbackState.DONE)).scalar_one()
            return AgentDay(calls, float(talk or 0.0), dict(sorted(results.items())), due, kept)

        return self._read(run)

    def callbacks(self, agent_id: str, since: float, until: float, limit: int = 200) -> list[Interaction]:
        """The agent's inbound callbacks (interactions of kind callback) due between the two times, by due time."""
        kind = KINDS[Interaction]
        ir = t.InteractionRow
        q = (select(ir).where(ir.agent_id == agent_id, ir.kind == InteractionKind.CALLBACK, ir.at >= to_utc(since),
                              ir.at < to_utc(until)).order_by(ir.at, ir.id).limit(limit))
        return self._read(lambda s: [kind.from_row(r) for r in s.scalars(q)])
