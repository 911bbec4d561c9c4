"""AgentDayRepo: an agent's calls, results, talk time and callbacks between two times (SQLite)."""

from __future__ import annotations

from pathlib import Path

from cc.model import Interaction, InteractionKind, QueueEvent, QueueEventType
from cc.store.agent_day import AgentDayRepo
from cc.store.db import Database, upgrade
from cc.store.repos import InteractionRepo, QueueEventRepo

DAY = 1_795_000_000.0


def test_day_counts_only_the_agent_and_the_period(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path}/d.db")
    upgrade(engine=db.engine)
    ir = InteractionRepo(db)
    for i, (agent, at, kind, disp) in enumerate([
            ("1001", DAY + 10, InteractionKind.CALL, "resolved"), ("1001", DAY + 20, InteractionKind.CALL, "resolved"),
            ("1001", DAY + 30, InteractionKind.CALL, None), ("1002", DAY + 40, InteractionKind.CALL, "resolved"),
            ("1001", DAY - 10, InteractionKind.CALL, "complaint"), ("1001", DAY + 600, InteractionKind.CALLBACK, None),
            ("1001", DAY + 90_000, InteractionKind.CALLBACK, None)]):
        ir.add(Interaction(f"i{i}", at, kind, customer_id="c1", agent_id=agent, note=f"n{i}", disposition=disp))
    qe = QueueEventRepo(db)
    qe.add(QueueEvent("e1", DAY + 15, "support", "u1", QueueEventType.COMPLETE_AGENT, agent_id="1001", talk_s=61.5))
    qe.add(QueueEvent("e2", DAY + 25, "support", "u2", QueueEventType.COMPLETE_CALLER, agent_id="1001", talk_s=30.0))
    qe.add(QueueEvent("e3", DAY + 35, "support", "u3", QueueEventType.COMPLETE_CALLER, agent_id="1002", talk_s=99.0))
    repo = AgentDayRepo(db)
    day = repo.day("1001", DAY, DAY + 86_400)
    assert (day.calls, day.talk_s, day.results, day.callbacks_due, day.callbacks_kept) == (
        3, 91.5, {"resolved": 2}, 1, 0)
    assert [c.id for c in repo.callbacks("1001", DAY, DAY + 86_400)] == ["i5"]
