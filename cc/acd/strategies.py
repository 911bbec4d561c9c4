"""Strategy sort keys and mod_callcenter's tier rules: the ordering both routers (indexed, reference) obey.

Agents of a queue are ranked within a tier level by the queue's strategy key (lower wins):

================================  ===========================================================
longest-idle-agent                (idle since, position, id)
round-robin                       (position, id), starting after the last agent offered
ring-all                          (position, id); every eligible idle agent is offered
top-down                          (position, id)
sequentially-by-agent-order       (position, last offered at, id)
agent-with-fewest-calls           (calls answered today, position, id)
agent-with-least-talk-time        (talk time today, position, id)
random                            (a random ticket drawn when the agent became free, id)
skills-based                      (-proficiency match, idle since, id), across all allowed levels
================================  ===========================================================

Every strategy but skills-based takes the lowest allowed level that has an eligible idle agent first.
"""

from __future__ import annotations

import math
from typing import Any

from cc.acd.skills import Signature, match_score
from cc.acd.state import AgentRt, QueueRt
from cc.model import Strategy, Tier

__all__ = ["INF", "agent_key", "allowed_level", "next_tier_at"]

INF = math.inf

# read once: reading a member off its Enum class goes through EnumType.__getattr__ (slow in Python 3.11)
_LONGEST_IDLE_AGENT, _SEQUENTIALLY_BY_AGENT_ORDER = Strategy.LONGEST_IDLE_AGENT, Strategy.SEQUENTIALLY_BY_AGENT_ORDER
_AGENT_WITH_FEWEST_CALLS = Strategy.AGENT_WITH_FEWEST_CALLS
_AGENT_WITH_LEAST_TALK_TIME = Strategy.AGENT_WITH_LEAST_TALK_TIME
_RANDOM, _SKILLS_BASED = Strategy.RANDOM, Strategy.SKILLS_BASED


def agent_key(strategy: Strategy, agent: AgentRt, tier: Tier, sig: Signature) -> tuple[Any, ...]:
    """Return the agent's rank key within its tier level (lower wins); the last element is the agent id."""
    if strategy is _LONGEST_IDLE_AGENT:
        return (agent.idle_since, tier.position, agent.id)
    if strategy is _SEQUENTIALLY_BY_AGENT_ORDER:
        return (tier.position, agent.last_offered_at, agent.id)
    if strategy is _AGENT_WITH_FEWEST_CALLS:
        return (agent.calls_answered, tier.position, agent.id)
    if strategy is _AGENT_WITH_LEAST_TALK_TIME:
        return (agent.talk_time_s, tier.position, agent.id)
    if strategy is _RANDOM:
        return (agent.rand_ticket, agent.id)
    if strategy is _SKILLS_BASED:
        return (-match_score(agent.cfg.skills, sig), agent.idle_since, agent.id)
    # ROUND_ROBIN, RING_ALL, TOP_DOWN
    return (tier.position, agent.id)


def allowed_level(queue: QueueRt, joined_at: float, now: float) -> float:
    """The highest tier level a member who joined at ``joined_at`` may be offered to at ``now``.

    Without tier rules every level is allowed (``INF``). With them, the lowest level is always allowed
    and each next level opens when the member has waited ``tier_rule_wait_s`` (times the level if
    ``tier_rule_wait_multiply_level``), or at once when ``tier_rule_no_agent_no_wait`` is set and no
    agent of the levels opened since the last timed step is logged in (mod_callcenter's rule).
    """
    cfg = queue.cfg
    levels = queue.levels
    if not cfg.tier_rules_apply or not levels:
        return INF
    allowed = levels[0]
    staffed = queue.staffed
    avail = staffed.get(allowed, 0)
    for level in levels[1:]:
        if cfg.tier_rule_no_agent_no_wait and avail == 0:
            allowed = level
            avail += staffed.get(level, 0)
            continue
        need = cfg.tier_rule_wait_s * (level if cfg.tier_rule_wait_multiply_level else 1)
        if now >= joined_at + need:
            allowed = level
            avail = staffed.get(level, 0)
            continue
        break
    return allowed


def next_tier_at(queue: QueueRt, joined_at: float, now: float) -> float | None:
    """The time at which ``allowed_level`` next grows by waiting alone, or None if it never will."""
    cfg = queue.cfg
    if not cfg.tier_rules_apply or not queue.levels:
        return None
    current = allowed_level(queue, joined_at, now)
    for level in queue.levels:
        if level > current:
            due = joined_at + cfg.tier_rule_wait_s * (level if cfg.tier_rule_wait_multiply_level else 1)
            return due if due > now else None
    return None
