"""What to dial next: heaps of waiting leads by (owner, time zone, callback?), a heap of leads not yet due.

Order: due callbacks, then due retries, then new leads; within a class higher priority first, then older
first. Every operation is O(log n) (heaps with lazy deletion); nothing scans all leads. Leads are
grouped by owner and time zone, so a closed calling window (per zone, cached until it may change) skips
its whole group at once and an agent only looks at his own groups and the unowned ones.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["CALLBACK", "NEW", "RETRY", "GroupKey", "LeadQueue"]

CALLBACK, RETRY, NEW = 0, 1, 2
"""Classes of waiting leads, in the order they are dialed."""

GroupKey = tuple[str | None, str, bool]
"""(owner agent or None, IANA zone, is a callback)."""


@dataclass(frozen=True)
class _Item:
    lead_id: str
    group: GroupKey
    key: tuple[int, int, float]   # (class, -priority, created_at)


class LeadQueue:
    """Waiting leads: ``ready`` heaps per group and a ``pending`` heap by due time."""

    def __init__(self) -> None:
        self._groups: dict[GroupKey, list[tuple[tuple[int, int, float], int, str]]] = {}
        self._by_owner: dict[str | None, set[GroupKey]] = {}
        self._pending: list[tuple[float, int, str]] = []
        self._live: dict[str, tuple[int, _Item, float | None]] = {}   # lead -> (seq, item, due or None if ready)
        self._seq = 0

    def __len__(self) -> int:
        """How many leads wait (due or not)."""
        return len(self._live)

    def __contains__(self, lead_id: object) -> bool:
        """True when the lead waits here."""
        return lead_id in self._live

    def put(self, lead_id: str, group: GroupKey, key: tuple[int, int, float], due: float | None, now: float) -> None:
        """Queue ``lead_id`` (replacing any earlier entry): ready now when ``due`` is None or past."""
        self._seq += 1
        item = _Item(lead_id, group, key)
        if due is not None and due > now:
            self._live[lead_id] = (self._seq, item, due)
            heapq.heappush(self._pending, (due, self._seq, lead_id))
        else:
            self._live[lead_id] = (self._seq, item, None)
            self._push_ready(item, self._seq)

    def _push_ready(self, item: _Item, seq: int) -> None:
        heap = self._groups.get(item.group)
        if heap is None:
            heap = self._groups[item.group] = []
            self._by_owner.setdefault(item.group[0], set()).add(item.group)
        heapq.heappush(heap, (item.key, seq, item.lead_id))

    def discard(self, lead_id: str) -> None:
        """Take ``lead_id`` out (lazily: its heap entries are skipped later)."""
        self._live.pop(lead_id, None)

    def due_at(self, lead_id: str) -> float | None:
        """When a waiting lead becomes due (None: due now, or not here)."""
        entry = self._live.get(lead_id)
        return None if entry is None else entry[2]

    def next_due(self) -> float | None:
        """The earliest time a pending lead becomes due."""
        while self._pending:
            due, seq, lead = self._pending[0]
            entry = self._live.get(lead)
            if entry is not None and entry[0] == seq:
                return due
            heapq.heappop(self._pending)
        return None

    def advance(self, now: float) -> list[str]:
        """Move the leads due at ``now`` to their ready heaps; return them."""
        out: list[str] = []
        while self._pending and self._pending[0][0] <= now:
            _, seq, lead = heapq.heappop(self._pending)
            entry = self._live.get(lead)
            if entry is None or entry[0] != seq:
                continue
            self._live[lead] = (seq, entry[1], None)
            self._push_ready(entry[1], seq)
            out.append(lead)
        return out

    def _top(self, group: GroupKey) -> tuple[tuple[int, int, float], int, str] | None:
        heap = self._groups.get(group)
        while heap:
            _key, seq, lead = heap[0]
            entry = self._live.get(lead)
            if entry is not None and entry[0] == seq and entry[2] is None:
                return heap[0]
            heapq.heappop(heap)
        if heap is not None:
            del self._groups[group]
            owned = self._by_owner.get(group[0])
            if owned is not None:
                owned.discard(group)
                if not owned:
                    del self._by_owner[group[0]]
        return None

    def groups(self, owners: Iterable[str | None]) -> list[GroupKey]:
        """The groups (with ready leads, maybe stale) of these owners."""
        out: list[GroupKey] = []
        for o in owners:
            out.extend(self._by_owner.get(o, ()))
        return out

    def best(self, groups: Iterable[GroupKey]) -> str | None:
        """The first lead in dialing order among the tops of ``groups`` (not removed)."""
        best: tuple[tuple[int, int, float], int, str] | None = None
        for g in groups:
            top = self._top(g)
            if top is not None and (best is None or top < best):
                best = top
        return None if best is None else best[2]

    def ready_count_hint(self, owners: Iterable[str | None]) -> bool:
        """True when any group of ``owners`` may hold a ready lead (cheap, may be stale-true)."""
        return any(self._by_owner.get(o) for o in owners)
