"""The inbound callbacks still to remind (CRM interactions of kind callback with an owner), by due time."""

from __future__ import annotations

from sqlalchemy import select

from cc.model import Interaction, InteractionKind
from cc.store import tables as t
from cc.store.codec import KINDS, to_utc
from cc.store.repo_base import _Repo

__all__ = ["DueCallbackRepo"]


class DueCallbackRepo(_Repo):
    """The read the reminder timer makes once, at start: a range of ix_interactions_kind_at (kind, at), in due
    order, without scanning the other kinds."""

    def upcoming(self, since: float, limit: int = 100_000) -> list[Interaction]:
        """Callbacks with an owner agent due at or after ``since`` (epoch seconds), earliest first."""
        kind = KINDS[Interaction]
        ir = t.InteractionRow
        q = (select(ir).where(ir.kind == InteractionKind.CALLBACK, ir.agent_id.is_not(None), ir.at >= to_utc(since))
             .order_by(ir.at, ir.id).limit(limit))
        return self._read(lambda s: [kind.from_row(r) for r in s.scalars(q)])
