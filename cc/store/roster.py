"""Bulk roster import: many agents (with skills and queue tiers) checked row by row, written in one transaction.

Every row is validated completely before anything is written (fields, team, skills, queues, duplicates), so
no row is ever half-written: valid rows are committed together, or none at all with ``all_or_nothing``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from cc.errors import CCError, InvalidValue, NotFound
from cc.model import Agent, Tier
from cc.store import tables as t
from cc.store.repo_base import _int, _Repo
from cc.store.repos import AgentRepo, _agent_values

__all__ = ["ImportResult", "RosterEntry", "RosterRepo"]


@dataclass(frozen=True)
class RosterEntry:
    """One roster row: the agent, whether its skills replace the stored ones, and queues to put it in."""

    agent: Agent
    replace_skills: bool = True
    tiers: tuple[Tier, ...] = ()


@dataclass
class ImportResult:
    """What an import did: agents created and updated, rows rejected (row number, reason), committed or not."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)
    committed: bool = False


class RosterRepo(_Repo):
    """Agents in bulk."""

    def import_entries(self, entries: Sequence[tuple[int, RosterEntry]], *, all_or_nothing: bool = False,
                       write: bool = True, progress: Callable[[int], None] | None = None) -> ImportResult:
        """Validate every (row number, entry), then write the valid ones in one transaction.

        With ``all_or_nothing`` a single rejected row means nothing is written; ``write=False`` only checks.
        ``progress(n)`` is called as rows are checked.
        """
        result = ImportResult()
        good: list[tuple[int, RosterEntry, dict[str, object], dict[str, int]]] = []

        def run(session: Session) -> None:
            teams = set(session.scalars(select(t.TeamRow.name)))
            skills = set(session.scalars(select(t.SkillRow.name)))
            queues = set(session.scalars(select(t.QueueRow.name)))
            seen: dict[str, int] = {}
            for row_no, entry in entries:
                try:
                    values = _agent_values(entry.agent)
                    agent_skills = AgentRepo._skills(entry.agent)
                    if values["team"] is not None and values["team"] not in teams:
                        raise NotFound("team", values["team"])
                    for name in agent_skills:
                        if name not in skills:
                            raise NotFound("skill", name)
                    for tier in entry.tiers:
                        if tier.queue not in queues:
                            raise NotFound("queue", tier.queue)
                        _int("tier.level", tier.level, 1)
                        _int("tier.position", tier.position, 1)
                    if entry.agent.id in seen:
                        raise InvalidValue("id", entry.agent.id, f"already on row {seen[entry.agent.id]}")
                except CCError as exc:
                    result.rejected.append((row_no, str(exc)))
                else:
                    seen[entry.agent.id] = row_no
                    good.append((row_no, entry, values, agent_skills))
                if progress is not None:
                    progress(1)
            if not write or (all_or_nothing and result.rejected):
                return
            ids = [entry.agent.id for _row, entry, _v, _s in good]
            rows: dict[str, t.AgentRow] = {}
            tiers: dict[tuple[str, str], t.TierRow] = {}
            for chunk in range(0, len(ids), 500):
                part = ids[chunk:chunk + 500]
                rows.update((r.id, r) for r in session.scalars(select(t.AgentRow).where(t.AgentRow.id.in_(part))))
                tiers.update(((r.agent_id, r.queue), r) for r in
                             session.scalars(select(t.TierRow).where(t.TierRow.agent_id.in_(part))))
            replaced = [e.agent.id for _row, e, _v, _s in good if e.agent.id in rows and e.replace_skills]
            for chunk in range(0, len(replaced), 500):
                part = replaced[chunk:chunk + 500]
                session.execute(delete(t.AgentSkillRow).where(t.AgentSkillRow.agent_id.in_(part)))
            for _row_no, entry, values, agent_skills in good:
                agent_id = entry.agent.id
                row = rows.get(agent_id)
                if row is None:
                    session.add(t.AgentRow(**values))
                    result.created.append(agent_id)
                else:
                    for k, v in values.items():
                        setattr(row, k, v)
                    result.updated.append(agent_id)
                if entry.replace_skills or row is None:
                    session.add_all(t.AgentSkillRow(agent_id=agent_id, skill=k, proficiency=v)
                                    for k, v in agent_skills.items())
                for tier in entry.tiers:
                    tier_row = tiers.get((agent_id, tier.queue))
                    if tier_row is None:
                        tier_row = t.TierRow(agent_id=agent_id, queue=tier.queue, level=tier.level,
                                             position=tier.position)
                        tiers[(agent_id, tier.queue)] = tier_row
                        session.add(tier_row)
                    else:
                        tier_row.level, tier_row.position = tier.level, tier.position
            session.flush()
            result.committed = True

        try:
            self._tx(run, kind="roster", key=f"{len(entries)} rows")
        except CCError:
            result.created.clear()
            result.updated.clear()
            result.committed = False
            raise
        if not result.committed:
            result.created.clear()
            result.updated.clear()
        return result
