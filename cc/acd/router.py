"""The indexed router: waiting members and free agents kept in sorted indexes so a decision is O(log n).

Indexes:

* ``groups[queue][sig]``: waiting members whose current requirement step is ``sig``, in a binary heap
  with lazy deletion by (key, seq) — key = joined_at - priority x weight, so the head is the highest
  score, FIFO among equals; the head is O(1), in-order walks (tier rules) cost O(k log k) for k entries.
* ``idle[queue][sig][level]``: free agents of the queue at a tier level that satisfy ``sig``, by the
  queue strategy's key (``strategies.agent_key``): a ``SortedList`` for round-robin (which bisects after
  the last agent offered) and ring-all (which offers them all in order), else a lazy-deletion heap (only
  the head is ever taken). A ``sig`` is registered for a queue the first time a member needs it (one
  scan of the queue's agents), then kept up to date incrementally.

An agent that becomes free picks the best head among the member groups it satisfies in each of its
queues (a handful of groups, each O(1)); a member picks the head of its (queue, sig) agent index at
the lowest allowed level (O(log n) for round-robin's bisect, O(1) otherwise).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from typing import Any, Protocol

from sortedcontainers import SortedList  # type: ignore[import-untyped]

from cc.acd.skills import Signature, satisfies
from cc.acd.state import AgentRt, MemberRt, QueueRt, World
from cc.acd.strategies import INF, agent_key, allowed_level
from cc.model import Strategy

__all__ = ["IndexedRouter", "LazyHeap", "MemberHeap", "Router"]

Entry = tuple[float, int, str]

_heappush, _heappop = heapq.heappush, heapq.heappop
# read once: reading a member off its Enum class goes through EnumType.__getattr__ (slow in Python 3.11)
_RING_ALL, _SKILLS_BASED, _ROUND_ROBIN = Strategy.RING_ALL, Strategy.SKILLS_BASED, Strategy.ROUND_ROBIN

_SORTED = frozenset({Strategy.ROUND_ROBIN, Strategy.RING_ALL})
"""Strategies whose free-agent indexes must be walked in order (a SortedList); the others keep a heap."""


class LazyHeap:
    """Distinct sort keys in a binary heap with lazy deletion: O(log n) add/discard, O(1) amortized head."""

    __slots__ = ("_dead", "_heap", "_size")

    def __init__(self) -> None:
        self._heap: list[Any] = []
        self._dead: set[Any] = set()
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def add(self, entry: Any) -> None:
        """Insert an entry (an entry discarded earlier and still in the heap simply comes back to life)."""
        dead = self._dead
        if dead and entry in dead:
            dead.remove(entry)
        else:
            _heappush(self._heap, entry)
        self._size += 1

    def discard(self, entry: Any) -> None:
        """Remove an entry that is in the heap (at once if it is the head, else lazily; compacted when
        half the heap is dead)."""
        self._size -= 1
        heap, dead = self._heap, self._dead
        if heap[0] == entry:
            _heappop(heap)
            while dead and heap and heap[0] in dead:
                dead.remove(_heappop(heap))
            return
        dead.add(entry)
        if len(self._dead) > 64 and len(self._dead) * 2 > len(self._heap):
            dead = self._dead
            self._heap = [e for e in self._heap if e not in dead]
            heapq.heapify(self._heap)
            dead.clear()

    def head(self) -> Any:
        """The smallest live entry, or None."""
        heap, dead = self._heap, self._dead
        while dead and heap and heap[0] in dead:
            dead.remove(_heappop(heap))
        return heap[0] if heap else None

    def ordered(self) -> Iterator[Any]:
        """Live entries in increasing order, lazily (best-first walk of the heap tree)."""
        heap, dead = self._heap, self._dead
        if not heap:
            return
        frontier: list[tuple[Any, int]] = [(heap[0], 0)]
        n = len(heap)
        while frontier:
            entry, i = heapq.heappop(frontier)
            if entry not in dead:
                yield entry
            for child in (2 * i + 1, 2 * i + 2):
                if child < n:
                    heapq.heappush(frontier, (heap[child], child))


MemberHeap = LazyHeap
"""The member groups' heap (entries ``(key, seq, uuid)``)."""


class Router(Protocol):
    """What the engine asks of a router; the engine tells it every change to members and free agents."""

    def agent_free(self, agent: AgentRt) -> None:
        """The agent became free (routable); its sort keys are final until ``agent_unfree``."""

    def agent_unfree(self, agent: AgentRt) -> None:
        """The agent is no longer free."""

    def agent_reindex(self, agent: AgentRt) -> None:
        """The agent's skills or tiers changed."""

    def agent_removed(self, agent: AgentRt) -> None:
        """The agent is gone (it had no tiers any more)."""

    def queue_reindex(self, queue: QueueRt) -> None:
        """The queue is new or its strategy changed."""

    def queue_removed(self, name: str) -> None:
        """The queue is gone (it had no members and no tiers any more)."""

    def member_waiting(self, member: MemberRt) -> None:
        """The member is (again) waiting in line with its current ``sig``."""

    def member_unwaiting(self, member: MemberRt) -> None:
        """The member left the line (offered, connected, exited, or about to change ``sig``)."""

    def member_prepare(self, member: MemberRt) -> None:
        """Get ready for ``pick_agents(member)`` before the member is in line (a new member that may be
        offered at once, without ever entering the indexes)."""

    def pick_member(self, agent: AgentRt, now: float) -> MemberRt | None:
        """The best-scored waiting member the free ``agent`` may take, across its queues."""

    def pick_agents(self, member: MemberRt, now: float) -> list[AgentRt]:
        """The free agents to offer ``member`` to per its queue's strategy (several only for ring-all)."""


class IndexedRouter:
    """Sorted indexes per queue, requirement signature and tier level; see the module docstring."""

    def __init__(self, world: World) -> None:
        self._w = world
        # signatures are interned as small ints: hashing an int is much cheaper than a tuple of tuples
        self._sids: dict[Signature, int] = {}
        self._sig_of: list[Signature] = []
        self.groups: dict[str, dict[int, MemberHeap]] = {}
        self.idle: dict[str, dict[int, dict[int, Any]]] = {}
        self.agent_sigs: dict[str, dict[str, set[int]]] = {}
        # agents of a queue by skill they have: registering a signature scans only the agents that have
        # its rarest skill, not the whole queue
        self._by_skill: dict[str, dict[str, set[str]]] = {}
        self._skill_keys: dict[str, set[tuple[str, str]]] = {}

    def _sid(self, sig: Signature) -> int:
        sid = self._sids.get(sig)
        if sid is None:
            sid = self._sids[sig] = len(self._sig_of)
            self._sig_of.append(sig)
        return sid

    # -- bookkeeping -------------------------------------------------------------------------------

    def _register(self, queue: QueueRt, sid: int) -> None:
        by_sig = self.idle.setdefault(queue.name, {})
        if sid in by_sig:
            return
        by_sig[sid] = {}
        sig = self._sig_of[sid]
        agents = self._w.agents
        candidates: Any = queue.tiers
        if sig:
            by_skill = self._by_skill.get(queue.name, {})
            candidates = min((by_skill.get(skill, set()) for skill, _op, _level in sig), key=len)
        for agent_id in candidates:
            agent = agents[agent_id]
            if satisfies(agent.cfg.skills, sig):
                self.agent_sigs.setdefault(agent_id, {}).setdefault(queue.name, set()).add(sid)
                if agent.free:
                    self._insert(agent, queue, sid)

    def _insert(self, agent: AgentRt, queue: QueueRt, sid: int) -> None:
        tier = agent.tiers[queue.name]
        by_level = self.idle[queue.name][sid]
        index = by_level.get(tier.level)
        strategy = queue.cfg.strategy
        if index is None:
            index = by_level[tier.level] = SortedList() if strategy in _SORTED else LazyHeap()
        key = agent_key(strategy, agent, tier, self._sig_of[sid])
        index.add(key)
        agent.index_entries.append((index, key))

    def _drop_entries(self, agent: AgentRt) -> None:
        for index, key in agent.index_entries:
            index.discard(key)
        agent.index_entries.clear()

    def _compute_sigs(self, agent: AgentRt) -> None:
        old = self._skill_keys.pop(agent.id, set())
        new = {(qname, skill) for qname in agent.tiers for skill in agent.cfg.skills}
        for qname, skill in old - new:
            self._by_skill.get(qname, {}).get(skill, set()).discard(agent.id)
        for qname, skill in new - old:
            self._by_skill.setdefault(qname, {}).setdefault(skill, set()).add(agent.id)
        self._skill_keys[agent.id] = new
        mine: dict[str, set[int]] = {}
        sig_of = self._sig_of
        for qname in agent.tiers:
            sids = self.idle.get(qname, {})
            mine[qname] = {sid for sid in sids if satisfies(agent.cfg.skills, sig_of[sid])}
        self.agent_sigs[agent.id] = mine

    # -- notifications -----------------------------------------------------------------------------

    def agent_free(self, agent: AgentRt) -> None:
        """Insert the agent into every (queue, sig, level) index it belongs to."""
        if agent.index_entries:
            self._drop_entries(agent)
        mine = self.agent_sigs.get(agent.id)
        if not mine:
            return
        queues = self._w.queues
        entries = agent.index_entries
        for qname, tier in agent.tiers.items():
            sids = mine.get(qname)
            if not sids:
                continue
            strategy = queues[qname].cfg.strategy
            by_sig = self.idle[qname]
            level = tier.level
            for sid in sids:  # ``_insert``, inlined
                by_level = by_sig[sid]
                index = by_level.get(level)
                if index is None:
                    index = by_level[level] = SortedList() if strategy in _SORTED else LazyHeap()
                key = agent_key(strategy, agent, tier, self._sig_of[sid])
                index.add(key)
                entries.append((index, key))

    def agent_unfree(self, agent: AgentRt) -> None:
        """Remove the agent from every index it is in."""
        entries = agent.index_entries
        if entries:
            for index, key in entries:
                index.discard(key)
            entries.clear()

    def agent_reindex(self, agent: AgentRt) -> None:
        """Recompute which signatures the agent satisfies and re-insert it if free."""
        self._drop_entries(agent)
        self._compute_sigs(agent)
        if agent.free:
            self.agent_free(agent)

    def agent_removed(self, agent: AgentRt) -> None:
        """Forget the agent."""
        self._drop_entries(agent)
        self.agent_sigs.pop(agent.id, None)
        for qname, skill in self._skill_keys.pop(agent.id, set()):
            self._by_skill.get(qname, {}).get(skill, set()).discard(agent.id)

    def queue_reindex(self, queue: QueueRt) -> None:
        """Rebuild the queue's agent indexes (new queue or new strategy)."""
        old = self.idle.get(queue.name, {})
        self.idle[queue.name] = {sid: {} for sid in old}
        self.groups.setdefault(queue.name, {})
        agents = self._w.agents
        for agent_id in queue.tiers:
            agent = agents[agent_id]
            self._drop_entries(agent)
            self._compute_sigs(agent)
            if agent.free:
                self.agent_free(agent)

    def queue_removed(self, name: str) -> None:
        """Forget the queue's indexes."""
        self.groups.pop(name, None)
        self.idle.pop(name, None)
        self._by_skill.pop(name, None)
        for mine in self.agent_sigs.values():
            mine.pop(name, None)

    def member_waiting(self, member: MemberRt) -> None:
        """Add the member to its (queue, sig) group, registering the sig for the queue if new."""
        queue = self._w.queues[member.queue]
        sid = self._sid(member.sig)
        self._register(queue, sid)
        groups = self.groups.setdefault(member.queue, {})
        group = groups.get(sid)
        if group is None:
            group = groups[sid] = MemberHeap()
        group.add(member.entry)

    def member_prepare(self, member: MemberRt) -> None:
        """Register the member's sig for its queue (so that ``pick_agents`` can answer) without adding it."""
        sid = self._sids.get(member.sig)
        if sid is None or sid not in self.idle.get(member.queue, ()):
            self._register(self._w.queues[member.queue], self._sid(member.sig))

    def member_unwaiting(self, member: MemberRt) -> None:
        """Remove the member from its group."""
        groups = self.groups[member.queue]
        sid = self._sids[member.sig]
        group = groups[sid]
        group.discard(member.entry)
        if not group:
            del groups[sid]

    # -- decisions ---------------------------------------------------------------------------------

    def pick_member(self, agent: AgentRt, now: float) -> MemberRt | None:
        """Best waiting member for a free agent: the lowest entry among eligible group heads."""
        best: Entry | None = None
        best_queue: QueueRt | None = None
        queues = self._w.queues
        mine = self.agent_sigs.get(agent.id)
        if not mine:
            return None
        for qname, tier in agent.tiers.items():
            groups = self.groups.get(qname)
            if not groups:
                continue
            sigs = mine.get(qname)
            if not sigs:
                continue
            queue = queues[qname]
            timed = queue.cfg.tier_rules_apply and bool(queue.levels) and tier.level > queue.levels[0]
            if len(groups) <= len(sigs):
                chosen = [g for sid, g in groups.items() if sid in sigs]
            else:
                chosen = [groups[sid] for sid in sigs if sid in groups]
            if not timed:  # the best live head among the groups
                for group in chosen:
                    heap = group._heap
                    if not heap:
                        continue
                    head = heap[0]
                    if group._dead and head in group._dead:
                        live = group.head()
                        if live is None:
                            continue
                        head = live
                    if best is None or head < best:
                        best, best_queue = head, queue
                continue
            for group in chosen:
                members = queue.members
                for entry in group.ordered():
                    if best is not None and entry >= best:
                        break
                    if allowed_level(queue, members[entry[2]].joined_at, now) >= tier.level:
                        best, best_queue = entry, queue
                        break
        if best is None or best_queue is None:
            return None
        return best_queue.members[best[2]]

    def pick_agents(self, member: MemberRt, now: float) -> list[AgentRt]:
        """Free agents for a waiting member per its queue's strategy, lowest allowed level first."""
        qname = member.queue
        by_sig = self.idle.get(qname)
        by_level = by_sig.get(self._sids.get(member.sig)) if by_sig is not None else None  # type: ignore[arg-type]
        if not by_level:
            return []
        queue = self._w.queues[qname]
        cfg = queue.cfg
        strategy = cfg.strategy
        top = allowed_level(queue, member.joined_at, now) if cfg.tier_rules_apply else INF
        if len(by_level) == 1:
            ((level, index),) = by_level.items()
            if not index or level > top:
                return []
            if strategy is not _RING_ALL and strategy is not _ROUND_ROBIN:  # a heap: its head
                return [self._w.agents[index.head()[-1]]]
            levels = [level]
        else:
            levels = sorted(level for level, index in by_level.items() if index and level <= top)
            if not levels:
                return []
            index = by_level[levels[0]]
        agents = self._w.agents
        if strategy is _RING_ALL:
            return [agents[key[-1]] for level in levels for key in by_level[level]]
        if strategy is _SKILLS_BASED:
            best = min(by_level[level].head() for level in levels)
            return [agents[best[-1]]]
        if strategy is _ROUND_ROBIN:
            rr_last = queue.rr_last
            if rr_last is not None:
                i = index.bisect_right(rr_last)
                key = index[i] if i < len(index) else index[0]
            else:
                key = index[0]
        else:
            key = index.head()
        return [agents[key[-1]]]
