"""InteractionRepo.put: insert, or replace the row with the same id (a call's result saved after its end)."""

from __future__ import annotations

import pytest

from cc.errors import InvalidValue
from cc.model import Customer, Interaction, InteractionKind, PhoneNumber
from cc.store.db import Database
from cc.store.repos import CustomerRepo, InteractionRepo


def test_put_inserts_then_replaces(db: Database) -> None:
    CustomerRepo(db).create(Customer("c1", name="A", phones=(PhoneNumber("+8613812345678"),)))
    repo = InteractionRepo(db)
    repo.put(Interaction("call-u1", 100.0, InteractionKind.CALL, agent_id="1001", call_uuid="u1", queue="q"))
    assert repo.get("call-u1").customer_id is None
    repo.put(Interaction("call-u1", 100.0, InteractionKind.CALL, customer_id="c1", agent_id="1001", call_uuid="u1",
                         queue="q", disposition="resolved", note="done"))
    got = repo.for_customer("c1")
    assert [(i.id, i.disposition, i.note) for i in got] == [("call-u1", "resolved", "done")]
    with pytest.raises(InvalidValue):
        repo.put("not an interaction")  # type: ignore[arg-type]
