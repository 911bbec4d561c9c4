"""Outbound campaigns on loopback for the wire tests: a Harness call center, called parties on cc.sim, a campaign
and its leads in the store."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import gevent

from cc.dialer import CampaignMode, CampaignSettings, DialAttempt, RetryRule
from cc.leadfile import LeadInput
from cc.model import Agent, QueueConfig
from cc.sim.endpoints import AgentSpec
from cc.sim.parties import PartyPopulation, PartySpec
from cc.store.campaigns import Campaign, CampaignRepos
from tests.wire.harness import Harness

GATEWAY = "carrier"


def agents(n: int, *, answer_after: float = 1.0, start: int = 1001) -> list[tuple[Agent, AgentSpec]]:
    """``n`` agents whose phones answer after ``answer_after`` s and never hang up first (the party does)."""
    return [(Agent(str(i), contact=f"user/{i}", wrap_up_s=5.0),
             AgentSpec(str(i), answer_after=answer_after, talk_time=None)) for i in range(start, start + n)]


def harness(tmp: Path, n_agents: int, *, scale: float = 0.01, **kw: Any) -> Harness:
    """A call center with ``n_agents`` agents and one (unused) inbound queue."""
    return Harness(tmp, [QueueConfig("in")], agents(n_agents, **kw), [], scale=scale)


def parties(h: Harness, numbers: Mapping[str, PartySpec] | None = None, **kw: Any) -> PartyPopulation:
    """Give every simulator of ``h`` the same called-party population (explicit ``numbers`` first)."""
    pop = PartyPopulation(numbers=dict(numbers or {}), gateways={GATEWAY: "up"}, **kw)
    for sim in h.sims:
        sim.parties = pop
    return pop


def campaign(h: Harness, name: str, mode: CampaignMode, numbers: Iterable[str | tuple[str, ...]], *,
             agent_ids: Iterable[str], **settings: Any) -> CampaignRepos:
    """Create campaign ``name`` with one lead per entry of ``numbers`` (a tuple: several numbers)."""
    repos = CampaignRepos(h.db)
    s = CampaignSettings(name, mode=mode, caller_ids=("+861088880000",), dial_string="sofia/gateway/{gw}/{number}",
                         gateway=GATEWAY, dial_timeout_s=settings.pop("dial_timeout_s", 15.0),
                         retry_rules=settings.pop("retry_rules", {c: RetryRule(60, 1)
                                                                  for c in ("busy", "no_answer", "unreachable")}),
                         **settings)
    repos.campaigns.create(Campaign(s, agents=tuple(agent_ids)))
    rows = []
    for i, entry in enumerate(numbers, 1):
        nums = (entry,) if isinstance(entry, str) else entry
        rows.append(LeadInput(row=i, numbers=[(n, "mobile") for n in nums], name=f"lead {i}", tz="Asia/Shanghai"))
    out = repos.leads.import_rows(name, "test.csv", rows, [], total_rows=len(rows))
    assert out.committed and out.imported == len(rows), out
    return repos


def attempts(repos: CampaignRepos, name: str) -> list[DialAttempt]:
    """Every dial attempt of campaign ``name`` (all its leads), oldest first."""
    out: list[DialAttempt] = []
    for d in repos.leads.list(name, limit=100_000):
        out.extend(repos.attempts.for_lead(d.lead.lead_id))
    return sorted(out, key=lambda a: a.started_at)


def wait_until(cond: Any, timeout: float = 30.0, step: float = 0.05) -> bool:
    """Poll ``cond()`` (real seconds) until it holds."""
    deadline = gevent.get_hub().loop.now() + timeout
    while gevent.get_hub().loop.now() < deadline:
        if cond():
            return True
        gevent.sleep(step)
    return bool(cond())
