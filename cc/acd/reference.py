"""The slow, obviously-correct reference router: scan everything, filter, sort. Tests and bench/acd.py
cross-check the indexed router against it (same decisions on the same state)."""

from __future__ import annotations

from cc.acd.skills import satisfies
from cc.acd.state import AgentRt, MemberRt, MemberState, QueueRt, World
from cc.acd.strategies import agent_key, allowed_level
from cc.model import Strategy

__all__ = ["ReferenceRouter", "eligible"]


def eligible(queue: QueueRt, agent: AgentRt, member: MemberRt, now: float) -> bool:
    """May ``member`` (waiting in ``queue``) be offered to ``agent`` now, if the agent were free?"""
    tier = agent.tiers.get(queue.name)
    if tier is None or member.queue != queue.name:
        return False
    if not satisfies(agent.cfg.skills, member.sig):
        return False
    return tier.level <= allowed_level(queue, member.joined_at, now)


class ReferenceRouter:
    """Keeps no index: every decision scans all members or all agents of the queues concerned."""

    def __init__(self, world: World) -> None:
        self._w = world

    def agent_free(self, agent: AgentRt) -> None:
        """Nothing to maintain."""

    def agent_unfree(self, agent: AgentRt) -> None:
        """Nothing to maintain."""

    def agent_reindex(self, agent: AgentRt) -> None:
        """Nothing to maintain."""

    def agent_removed(self, agent: AgentRt) -> None:
        """Nothing to maintain."""

    def queue_reindex(self, queue: QueueRt) -> None:
        """Nothing to maintain."""

    def queue_removed(self, name: str) -> None:
        """Nothing to maintain."""

    def member_waiting(self, member: MemberRt) -> None:
        """Nothing to maintain."""

    def member_unwaiting(self, member: MemberRt) -> None:
        """Nothing to maintain."""

    def member_prepare(self, member: MemberRt) -> None:
        """Nothing to prepare."""

    def pick_member(self, agent: AgentRt, now: float) -> MemberRt | None:
        """Scan every waiting member of every queue the agent serves; the lowest (key, seq) wins."""
        candidates: list[MemberRt] = []
        for qname in agent.tiers:
            queue = self._w.queues[qname]
            for member in queue.members.values():
                if member.state is MemberState.WAITING and eligible(queue, agent, member, now):
                    candidates.append(member)
        if not candidates:
            return None
        return min(candidates, key=lambda m: (m.key, m.seq))

    def pick_agents(self, member: MemberRt, now: float) -> list[AgentRt]:
        """Scan every agent of the member's queue; sort the eligible free ones by (level, strategy key)."""
        queue = self._w.queues[member.queue]
        strategy = queue.cfg.strategy
        candidates = []
        for agent_id, tier in queue.tiers.items():
            agent = self._w.agents[agent_id]
            if agent.free and eligible(queue, agent, member, now):
                candidates.append((tier.level, agent_key(strategy, agent, tier, member.sig), agent))
        if not candidates:
            return []
        candidates.sort(key=lambda c: (c[0], c[1]))
        if strategy is Strategy.RING_ALL:
            return [c[2] for c in candidates]
        if strategy is Strategy.SKILLS_BASED:
            return [min(candidates, key=lambda c: c[1])[2]]
        if strategy is Strategy.ROUND_ROBIN and queue.rr_last is not None:
            lowest = [c for c in candidates if c[0] == candidates[0][0]]
            after = [c for c in lowest if c[1] > queue.rr_last]
            return [(after or lowest)[0][2]]
        return [candidates[0][2]]
