"""The CRM store (revision 0010_crm): a number held by one customer only, enforced by the database; the owner
filter; custom fields checked against their definitions; the same search results on SQLite (scan) and on
PostgreSQL (GIN indexes) for a seeded set with CJK and Latin names; the upgrade refusing existing duplicates."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from cc.errors import Conflict, InvalidValue, NotFound
from cc.model import Agent, PhoneNumber
from cc.store import db as store_db
from cc.store import tables as t
from cc.store.crm import NO_OWNER, CustomerDraft, CustomerQuery, CustomerSearch
from cc.store.customer_fields import CustomerField, CustomerFieldRepo, check_values
from cc.store.db import Database
from cc.store.repos import Repos

from .conftest import BACKENDS, PgDatabases

T0 = 1_780_000_000.0

#: (name, numbers): CJK names of 2 and 3 characters sharing characters, Latin ones in mixed case, LIKE's
#: special characters in a name
SEED: list[tuple[str, tuple[str, ...]]] = [
    ("王伟", ("+8613800000001",)),
    ("王芳芳", ("+8613800000002", "+8613912345678")),
    ("李伟", ("+8613800000003",)),
    ("张伟明", ("+8613700012345",)),
    ("伟", ()),
    ("Wang Wei", ("+4930123456",)),
    ("wanda", ("+4930999999",)),
    ("100% Ltd_x", ("+8613600000100",)),
    ("欧阳明", ("+8613512340000",)),
]

QUERIES = ["伟", "王", "王伟", "芳芳", "伟明", "明", "欧阳明", "阳明", "wang", "WAN", "an", "wei", "%", "_x",
           "100%", "1234", "345", "138000", "+86138", "00000", "9999", "zzz", "张王", "W"]


def _seed(db: Database) -> dict[str, str]:
    repo = CustomerSearch(db)
    return {name: repo.save(CustomerDraft(name, None, "", None, tuple(PhoneNumber(n, "") for n in numbers)),
                            now=T0 + i)
            for i, (name, numbers) in enumerate(SEED)}


def _found(db: Database, q: str) -> list[str]:
    return sorted(ln.name for ln in CustomerSearch(db).page(CustomerQuery(text=q), limit=200))


@pytest.mark.postgres
def test_search_finds_the_same_customers_on_sqlite_and_postgresql(make_url_for: Callable[[str], str]) -> None:
    lite, pg = Database(make_url_for("sqlite")), Database(make_url_for("postgresql"))
    try:
        _seed(lite), _seed(pg)
        for q in QUERIES:
            assert _found(lite, q) == _found(pg, q), q
        assert _found(pg, "伟") == ["伟", "张伟明", "李伟", "王伟"]
        assert _found(pg, "wang") == ["Wang Wei"]
        assert _found(pg, "%") == ["100% Ltd_x"]
        assert _found(pg, "1234") == ["Wang Wei", "张伟明", "欧阳明", "王芳芳"]
        with pg.engine.connect() as conn:   # the name search is one the GIN index serves (no seq scan needed)
            conn.execute(text("SET enable_seqscan = off"))
            stmt = CustomerSearch(pg)._filtered(CustomerQuery(text="伟")).limit(51)
            from sqlalchemy.dialects import postgresql

            sql = str(stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
            plan = "\n".join(r[0] for r in conn.execute(text("EXPLAIN " + sql)))
        assert "ix_customers_name_grams" in plan
    finally:
        lite.dispose(), pg.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_number_belongs_to_one_customer_in_the_database(db: Database) -> None:
    ids = _seed(db)
    with pytest.raises(IntegrityError), db.transaction() as s:   # past the repository's check: the index refuses
        s.add(t.CustomerPhoneRow(customer_id=ids["李伟"], number="+8613800000001", label=""))
    with pytest.raises(Conflict) as err:
        CustomerSearch(db).save(CustomerDraft("李伟", None, "", None, (PhoneNumber("+8613800000001", ""),)),
                                ids["李伟"])
    assert ids["王伟"] in str(err.value)


@pytest.mark.parametrize("backend", BACKENDS)
def test_owner_filter(db: Database) -> None:
    repos = Repos(db)
    repos.agents.create(Agent("1001", "Ann"))
    repos.agents.create(Agent("1002", "Bo"))
    repo = CustomerSearch(db)
    a = repo.save(CustomerDraft("甲", None, "", None, (), owner="1001"))
    b = repo.save(CustomerDraft("乙", None, "", None, (), owner="1002"))
    c = repo.save(CustomerDraft("丙", None, "", None, ()))
    assert [ln.id for ln in repo.page(CustomerQuery(owner="1001"))] == [a]
    assert [ln.id for ln in repo.page(CustomerQuery(owner="1002"))] == [b]
    assert [ln.id for ln in repo.page(CustomerQuery(owner=NO_OWNER))] == [c]
    assert repo.extra(a).owner == "1001"
    with pytest.raises(NotFound):
        repo.save(CustomerDraft("丁", None, "", None, (), owner="9999"))
    repos.agents.delete("1002")                     # his customers stay, without an owner
    assert sorted(ln.id for ln in repo.page(CustomerQuery(owner=NO_OWNER))) == sorted([b, c])


FIELDS = [CustomerField("age", "number", "年龄", "Age", required=True, position=1),
          CustomerField("since", "date", "客户自", "Customer since", position=2),
          CustomerField("level", "choice", "等级", "Level", ("gold", "silver"), position=3),
          CustomerField("job", "text", "职业", "Occupation", position=4)]


def test_custom_field_values_are_checked_against_their_definitions() -> None:
    assert check_values(FIELDS, {"age": "42", "since": "2024-02-29", "level": "gold", "job": " 教师 "}) == \
        {"age": 42, "since": "2024-02-29", "level": "gold", "job": "教师"}
    assert check_values(FIELDS, {"age": "1.5", "since": ""}) == {"age": 1.5}
    for raw, key in (({"age": ""}, "age"), ({"age": "old"}, "age"), ({"age": "nan"}, "age"),
                     ({"age": "1", "since": "2023-02-29"}, "since"), ({"age": "1", "level": "bronze"}, "level"),
                     ({"age": "1", "job": "x" * 1025}, "job"), ({"age": "1", "colour": "red"}, "colour")):
        with pytest.raises(InvalidValue) as err:
            check_values(FIELDS, raw)
        assert err.value.field == key, raw
    # a value of a field without a definition (any more) stays
    assert check_values(FIELDS, {"age": "3"}, {"old": "kept", "age": 1}) == {"old": "kept", "age": 3}


@pytest.mark.parametrize("backend", BACKENDS)
def test_custom_fields_saved_with_the_customer(db: Database) -> None:
    fields = CustomerFieldRepo(db)
    for f in FIELDS:
        fields.save(f)
    assert fields.list() == FIELDS
    with pytest.raises(InvalidValue):
        fields.save(CustomerField("tier", "choice"))            # a choice field without choices
    with pytest.raises(InvalidValue):
        fields.save(CustomerField("Bad Key", "text"))
    repo = CustomerSearch(db)
    with pytest.raises(InvalidValue):
        repo.save(CustomerDraft("无年龄", None, "", None, (), fields={"job": "x"}))
    cid = repo.save(CustomerDraft("有", None, "", None, (), fields={"age": "30", "level": "silver"}))
    assert repo.extra(cid).fields == {"age": 30, "level": "silver"}
    fields.delete("level")
    repo.save(CustomerDraft("有", None, "", None, (), fields={"age": "31"}), cid)
    assert repo.extra(cid).fields == {"age": 31, "level": "silver"}    # the deleted field's value is kept
    repo.save(CustomerDraft("有了", None, "", None, ()), cid)          # fields None: left as they are
    assert repo.extra(cid).fields == {"age": 31, "level": "silver"}
    with pytest.raises(NotFound):
        fields.delete("level")


@pytest.fixture
def fresh_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """An empty, never migrated database."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh.db'}"
    dbs: PgDatabases = request.getfixturevalue("pg_databases")
    return dbs.create()


@pytest.mark.parametrize("backend", BACKENDS)
def test_upgrade_refuses_numbers_held_by_several_customers(fresh_url: str) -> None:
    store_db.upgrade(fresh_url, "0009_record_notice")
    database = Database(fresh_url)
    try:
        at = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
        with database.engine.begin() as conn:
            for cid in ("c1", "c2", "c3"):
                conn.execute(text("INSERT INTO customers (id, name, note, created_at) VALUES (:i, :i, '', :at)"),
                             {"i": cid, "at": at})
            for cid, number in (("c1", "+861"), ("c2", "+861"), ("c3", "+862")):
                conn.execute(text("INSERT INTO customer_phones (customer_id, number, label) VALUES (:c, :n, '')"),
                             {"c": cid, "n": number})
        with pytest.raises(Exception, match=r"\+861: customers c1, c2"):
            store_db.upgrade(fresh_url)
        assert store_db.current_revision(fresh_url) == "0009_record_notice"
        with database.engine.begin() as conn:
            conn.execute(text("DELETE FROM customer_phones WHERE customer_id = 'c2'"))
        store_db.upgrade(fresh_url)
        assert store_db.current_revision(fresh_url) == store_db.head_revision()
        store_db.downgrade(fresh_url, "0009_record_notice")          # and down again, the numbers kept
        with database.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM customer_phones")).scalar() == 2
    finally:
        database.dispose()
