"""Everything held about one customer, found by any of his numbers: read for an export, or anonymised.

A customer is found by id (his CRM row and its numbers) or by a number (the customers holding it, and
the number itself even when no CRM row has it). History stores numbers as the switch sent them, so
each E.164 number is searched in its usual spellings (``+8613812341234``, ``8613812341234``,
``008613812341234``, ``13812341234``, ``013812341234``). Tables of other areas (campaigns) are read
when their revision has been applied.
"""

from __future__ import annotations

import datetime
import importlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import phonenumbers
from sqlalchemy import ColumnElement, Table, delete, false, inspect, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from cc.errors import InvalidValue, NotFound, StoreError
from cc.privacy.mask import mask_number
from cc.store.db import Database
from cc.store.repos import normalize_phone
from cc.store.tables import Base

__all__ = ["CustomerDataRepo", "Erasure", "Subject", "spellings", "text_columns"]

for _name in ("cc.store.campaign_tables",):
    try:
        importlib.import_module(_name)
    except ImportError:   # pragma: no cover - a tree without the campaign area
        pass


def spellings(e164: str) -> set[str]:
    """The ways a switch may have written ``e164`` in history (E.164, without +, with 00, national, 0+national)."""
    out = {e164, e164.lstrip("+"), "00" + e164.lstrip("+")}
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return out
    national = phonenumbers.national_significant_number(parsed)
    out |= {national, "0" + national}
    return {s for s in out if len(s) >= 5}


@dataclass(frozen=True)
class Subject:
    """One customer's identity: CRM ids, E.164 numbers, every spelling of them, names."""

    customer_ids: tuple[str, ...]
    numbers: tuple[str, ...]
    spellings: frozenset[str]
    names: tuple[str, ...]

    def key(self) -> str:
        """What the request was about, without a number in it (audit rows keep no numbers)."""
        if self.customer_ids:
            return "customer:" + ",".join(self.customer_ids)
        return "number:" + ",".join(mask_number(n) for n in self.numbers)


@dataclass
class Erasure:
    """What an erasure changed: rows per table (anonymised or deleted) and the recording files to unlink."""

    counts: dict[str, int] = field(default_factory=dict)
    recording_paths: list[str] = field(default_factory=list)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if hasattr(value, "value") and isinstance(value.value, str):   # enums stored by value
        return value.value
    return value


class CustomerDataRepo:
    """Finds, reads and anonymises one customer's data across every table that can hold it."""

    def __init__(self, db: Database, *, default_region: str | None = None) -> None:
        self.db = db
        self.default_region = default_region
        self._present: set[str] | None = None

    def _table(self, name: str) -> Table | None:
        if self._present is None:
            self._present = set(inspect(self.db.engine).get_table_names())
        table = Base.metadata.tables.get(name)
        return table if table is not None and name in self._present else None

    def _t(self, name: str) -> Table:
        table = self._table(name)
        if table is None:
            raise StoreError(f"table {name} is missing: run `ccctl db upgrade`")
        return table

    # ------------------------------------------------------------------ who
    def resolve(self, *, number: str | None = None, customer_id: str | None = None) -> Subject:
        """The subject of a request by number or by customer id; NotFound when an id is unknown."""
        if (number is None) == (customer_id is None):
            raise InvalidValue("customer", number or customer_id, "give exactly one of --number and --id")
        try:
            with self.db.transaction() as s:
                return self._resolve(s, number, customer_id)
        except SQLAlchemyError as exc:
            raise StoreError(f"customer lookup: {exc}") from exc

    def _resolve(self, s: Session, number: str | None, customer_id: str | None) -> Subject:
        customers, phones = self._t("customers"), self._t("customer_phones")
        numbers: set[str] = set()
        if number is not None:
            e164 = normalize_phone(number, self.default_region)
            numbers.add(e164)
            ids = set(s.execute(select(phones.c.customer_id).where(phones.c.number == e164)).scalars())
        else:
            if s.execute(select(customers.c.id).where(customers.c.id == customer_id)).first() is None:
                raise NotFound("customer", str(customer_id))
            ids = {str(customer_id)}
        numbers |= set(s.execute(select(phones.c.number).where(phones.c.customer_id.in_(ids))).scalars())
        names = {n for n in s.execute(select(customers.c.name).where(customers.c.id.in_(ids))).scalars() if n}
        every: set[str] = set()
        for n in numbers:
            every |= spellings(n)
        return Subject(tuple(sorted(ids)), tuple(sorted(numbers)), frozenset(every), tuple(sorted(names)))

    # ------------------------------------------------------------------ where
    def _call_uuids(self, s: Session, subj: Subject) -> set[str]:
        v = list(subj.spellings)
        out: set[str] = set()
        for name in ("calls", "call_segments"):
            table = self._table(name)
            if table is not None and v:
                col = table.c.uuid if name == "calls" else table.c.call_uuid
                out |= set(s.execute(select(col).where(or_(table.c.caller.in_(v), table.c.callee.in_(v)))).scalars())
        inter = self._t("interactions")
        if subj.customer_ids:
            out |= {u for u in s.execute(select(inter.c.call_uuid)
                                          .where(inter.c.customer_id.in_(subj.customer_ids))).scalars() if u}
        return out

    def _lead_ids(self, s: Session, subj: Subject) -> set[int]:
        leads, numbers = self._table("leads"), self._table("lead_numbers")
        if leads is None or numbers is None:
            return set()
        out = set(s.execute(select(numbers.c.lead_id).where(numbers.c.number.in_(list(subj.spellings)))).scalars())
        if subj.customer_ids:
            out |= set(s.execute(select(leads.c.id).where(leads.c.customer_id.in_(subj.customer_ids))).scalars())
        return {int(i) for i in out}

    def _where(self, s: Session, subj: Subject) -> dict[str, ColumnElement[bool]]:
        """table -> the rows of it that concern the subject."""
        v = list(subj.spellings)
        calls = list(self._call_uuids(s, subj))
        leads = sorted(self._lead_ids(s, subj))
        ids = list(subj.customer_ids)
        out: dict[str, ColumnElement[bool]] = {}

        def add(name: str, clause: Any) -> None:
            if self._table(name) is not None:
                out[name] = clause(self._t(name))

        add("customers", lambda t: t.c.id.in_(ids))
        add("customer_phones", lambda t: t.c.customer_id.in_(ids))
        add("interactions", lambda t: or_(t.c.customer_id.in_(ids), t.c.call_uuid.in_(calls)))
        add("calls", lambda t: or_(t.c.uuid.in_(calls), t.c.caller.in_(v), t.c.callee.in_(v)))
        add("call_segments", lambda t: or_(t.c.call_uuid.in_(calls), t.c.caller.in_(v), t.c.callee.in_(v)))
        add("call_legs", lambda t: or_(t.c.call_uuid.in_(calls),
                                       *(t.c.dial_string.contains(n, autoescape=True) for n in v)))
        add("queue_events", lambda t: t.c.member_uuid.in_(calls))
        add("queue_calls", lambda t: t.c.member_uuid.in_(calls))
        add("recordings", lambda t: t.c.call_uuid.in_(calls))
        add("survey_results", lambda t: t.c.call_uuid.in_(calls))
        add("leads", lambda t: t.c.id.in_(leads))
        add("lead_numbers", lambda t: or_(t.c.lead_id.in_(leads), t.c.number.in_(v)))
        add("dial_attempts", lambda t: or_(t.c.lead_id.in_([str(i) for i in leads]), t.c.number.in_(v)))
        add("callbacks", lambda t: t.c.lead_id.in_(leads) if leads else false())
        add("dnc", lambda t: t.c.number.in_(v))
        return out

    # ------------------------------------------------------------------ export
    def collect(self, subj: Subject) -> dict[str, list[dict[str, Any]]]:
        """Every row about the subject, table by table, as JSON-ready dicts (numbers unmasked: it is his)."""
        try:
            with self.db.transaction() as s:
                out: dict[str, list[dict[str, Any]]] = {}
                for name, clause in self._where(s, subj).items():
                    table = self._t(name)
                    rows = s.execute(select(table).where(clause)).mappings().all()
                    out[name] = [{k: _plain(v) for k, v in r.items()} for r in rows]
                return out
        except SQLAlchemyError as exc:
            raise StoreError(f"customer export: {exc}") from exc

    # ------------------------------------------------------------------ erase
    def erase(self, subj: Subject, pseudonym: str, *, before_commit: Any = None) -> Erasure:
        """Anonymise the subject's history (numbers and names -> ``pseudonym``), delete his CRM rows,
        recording rows and do-not-call entries, in one transaction. ``before_commit(paths)`` runs with the
        recording files' paths just before the commit (the caller journals them)."""
        result = Erasure()
        try:
            with self.db.transaction() as s:
                where = self._where(s, subj)
                self._erase(s, subj, pseudonym, where, result)
                if before_commit is not None:
                    before_commit(result.recording_paths)
        except SQLAlchemyError as exc:
            raise StoreError(f"customer erasure: {exc}") from exc
        return result

    def _erase(self, s: Session, subj: Subject, pseudonym: str, where: Mapping[str, ColumnElement[bool]],
               result: Erasure) -> None:
        v = sorted(subj.spellings, key=len, reverse=True)
        texts = [*v, *(mask_number(n) for n in v), *subj.names]

        def scrub(text: str | None) -> str | None:
            if text is None:
                return None
            for old in texts:
                if old:
                    text = text.replace(old, pseudonym)
            return text

        def count(name: str, n: int) -> None:
            if n:
                result.counts[name] = result.counts.get(name, 0) + n

        def anonymise(name: str, columns: Sequence[str], key: str) -> None:
            """Rewrite the text of ``columns`` in the subject's rows of ``name`` (row by row: the text changes)."""
            if name not in where:
                return
            table = self._t(name)
            cols = [table.c[c] for c in columns]
            rows = s.execute(select(table.c[key], *cols).where(where[name])).all()
            n = 0
            for row in rows:
                values = {c: scrub(row[i + 1]) for i, c in enumerate(columns)}
                if any(values[c] != row[i + 1] for i, c in enumerate(columns)):
                    s.execute(update(table).where(table.c[key] == row[0]).values(**values))
                    n += 1
            count(name, n)

        def remove(name: str) -> None:
            if name in where:
                table = self._t(name)
                count(name, int(s.execute(delete(table).where(where[name])).rowcount or 0))  # type: ignore[attr-defined]

        if "recordings" in where:
            rec = self._t("recordings")
            paths = s.execute(select(rec.c.path).where(where["recordings"])).scalars()
            result.recording_paths = [str(p) for p in paths]
        anonymise("calls", ("caller", "callee"), "uuid")
        anonymise("call_segments", ("caller", "callee"), "id")
        anonymise("call_legs", ("dial_string",), "uuid")
        anonymise("queue_events", ("detail",), "id")
        if "interactions" in where:
            inter = self._t("interactions")
            n = s.execute(update(inter).where(where["interactions"])
                          .values(note="", customer_id=pseudonym if subj.customer_ids else inter.c.customer_id))
            count("interactions", int(n.rowcount or 0))   # type: ignore[attr-defined]
        remove("recordings")
        if "leads" in where:
            leads = self._t("leads")
            n = s.execute(update(leads).where(where["leads"]).values(name=pseudonym, extra={}, customer_id=None))
            count("leads", int(n.rowcount or 0))   # type: ignore[attr-defined]
        if "lead_numbers" in where:
            numbers = self._t("lead_numbers")
            for lead_id, position in s.execute(select(numbers.c.lead_id, numbers.c.position)
                                               .where(where["lead_numbers"])).all():
                s.execute(update(numbers).where(numbers.c.lead_id == lead_id, numbers.c.position == position)
                          .values(number=f"{pseudonym}.{lead_id}.{position}"[:32], label=""))
                count("lead_numbers", 1)
        if "dial_attempts" in where:
            att = self._t("dial_attempts")
            n = s.execute(update(att).where(where["dial_attempts"]).values(number=pseudonym))
            count("dial_attempts", int(n.rowcount or 0))   # type: ignore[attr-defined]
        if "callbacks" in where:
            cb = self._t("callbacks")
            n = s.execute(update(cb).where(where["callbacks"]).values(note=""))
            count("callbacks", int(n.rowcount or 0))   # type: ignore[attr-defined]
        remove("dnc")
        remove("customer_phones")
        remove("customers")


def text_columns(db: Database) -> Iterable[tuple[str, list[str]]]:
    """(table, its text and JSON columns) of every table in the database (the erasure test's scan)."""
    insp = inspect(db.engine)
    for name in insp.get_table_names():
        cols = [c["name"] for c in insp.get_columns(name)
                if any(w in str(c["type"]).upper() for w in ("CHAR", "TEXT", "JSON", "CLOB"))]
        yield name, cols

