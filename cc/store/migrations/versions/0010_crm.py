"""the CRM: customers.owner_agent_id and customers.fields (the admin's custom fields, defined in customer_fields);
a number belongs to one customer only (unique customer_phones.number); the search indexes on PostgreSQL; leads by
created_at (retention) and interactions by (kind, at) (the callback reminders)

Existing duplicates: when a number is held by two or more customers, the upgrade refuses (nothing is changed)
and names each such number with its customers; merge or correct them in the CRM, then upgrade again.

PostgreSQL only: ``CREATE EXTENSION IF NOT EXISTS pg_trgm`` and a GIN trigram index on customer_phones.number
(a search by digits anywhere in a number). When the extension cannot be created (the migrating role is not
allowed to), a warning is logged, the index is left out and the search scans instead (slower, same results);
create the extension as a superuser and run the upgrade's index again with ``ccctl db upgrade`` after
``ccctl db downgrade 0009_record_notice`` (or create the index by hand, see docs/store.md). The name search uses
``cc_name_grams(name)``, an immutable SQL function (every 1- and 2-character piece of the lower-cased name),
and a GIN index on it: no extension needed; a 1-character CJK query is served by it too.

Revision ID: 0010_crm
Revises: 0009_record_notice
Create Date: 2026-12-09 10:00:00.000000
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010_crm'
down_revision: str | None = '0009_record_notice'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("cc.store.migrations")

#: every distinct 1- and 2-character piece of the lower-cased text (the name search's GIN index)
NAME_GRAMS = """
CREATE OR REPLACE FUNCTION cc_name_grams(name text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT coalesce(array_agg(DISTINCT g), '{}'::text[]) FROM (
    SELECT substr(lower(name), i, 1) AS g FROM generate_series(1, char_length(name)) AS i
    UNION ALL
    SELECT substr(lower(name), i, 2) FROM generate_series(1, char_length(name) - 1) AS i) AS grams
$$
"""

#: how many conflicting numbers the refusal names at most
SHOWN = 20


def _refuse_duplicates() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT number, customer_id FROM customer_phones WHERE number IN "
        "(SELECT number FROM customer_phones GROUP BY number HAVING count(*) > 1) ORDER BY number, customer_id"
    )).all()
    if not rows:
        return
    held: dict[str, list[str]] = {}
    for number, customer in rows:
        held.setdefault(number, []).append(customer)
    shown = "; ".join(f"{n}: customers {', '.join(c)}" for n, c in list(held.items())[:SHOWN])
    more = f" (and {len(held) - SHOWN} more)" if len(held) > SHOWN else ""
    raise RuntimeError(
        f"revision 0010_crm makes a number belong to one customer only, but {len(held)} number(s) belong to "
        f"several: {shown}{more}. Nothing was changed: remove each number from all but one customer "
        "(the CRM pages, or DELETE FROM customer_phones), then upgrade again.")


def _trgm_schema() -> str | None:
    """The schema pg_trgm is in (None: not installed in this database)."""
    return op.get_bind().execute(sa.text(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        "WHERE e.extname = 'pg_trgm'")).scalar()


def _pg_search_indexes() -> None:
    bind = op.get_bind()
    op.execute(NAME_GRAMS)
    op.execute("CREATE INDEX ix_customers_name_grams ON customers USING gin (cc_name_grams(name))")
    if _trgm_schema() is None:
        try:
            with bind.begin_nested():
                bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
        except sa.exc.DBAPIError as exc:
            log.warning("0010_crm: pg_trgm could not be created (%s); the search by digits of a number scans "
                        "customer_phones (slower, same results). See docs/store.md.",
                        str(getattr(exc, "orig", exc)).splitlines()[0])
    schema = _trgm_schema()
    if schema is not None:   # its operator class named with its schema: that need not be on the search path
        ops = f'"{schema}".gin_trgm_ops'
        op.execute(f"CREATE INDEX ix_customer_phones_number_trgm ON customer_phones USING gin (number {ops})")


def upgrade() -> None:
    _refuse_duplicates()
    op.create_table(
        'customer_fields',
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('label_zh', sa.String(length=128), nullable=False),
        sa.Column('label_en', sa.String(length=128), nullable=False),
        sa.Column('type', sa.String(length=16), nullable=False),
        sa.Column('choices', sa.JSON(), nullable=False),
        sa.Column('required', sa.Boolean(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.CheckConstraint("type IN ('text', 'number', 'date', 'choice')", name=op.f('ck_customer_fields_type')),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_customer_fields')),
    )
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('owner_agent_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('fields', sa.JSON(), nullable=True))
        batch_op.create_index(batch_op.f('ix_customers_owner_agent_id'), ['owner_agent_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_customers_owner_agent_id_agents'), 'agents',
                                    ['owner_agent_id'], ['id'], ondelete='SET NULL')
        batch_op.drop_index(batch_op.f('ix_customers_name'))
        batch_op.create_index('ix_customers_name_id', ['name', 'id'], unique=False)
    with op.batch_alter_table('customer_phones', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_phones_number'))
        batch_op.create_index(batch_op.f('ix_customer_phones_number'), ['number'], unique=True)
    with op.batch_alter_table('leads', schema=None) as batch_op:
        batch_op.create_index('ix_leads_created_at', ['created_at'], unique=False)
    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.create_index('ix_interactions_kind_at', ['kind', 'at'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        _pg_search_indexes()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_customer_phones_number_trgm")
        op.execute("DROP INDEX IF EXISTS ix_customers_name_grams")
        op.execute("DROP FUNCTION IF EXISTS cc_name_grams(text)")
        # pg_trgm stays: other databases' objects may use it, and creating it again needs the same rights
    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.drop_index('ix_interactions_kind_at')
    with op.batch_alter_table('leads', schema=None) as batch_op:
        batch_op.drop_index('ix_leads_created_at')
    with op.batch_alter_table('customer_phones', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_phones_number'))
        batch_op.create_index(batch_op.f('ix_customer_phones_number'), ['number'], unique=False)
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_customers_owner_agent_id_agents'), type_='foreignkey')
        batch_op.drop_index('ix_customers_name_id')
        batch_op.create_index(batch_op.f('ix_customers_name'), ['name'], unique=False)
        batch_op.drop_index(batch_op.f('ix_customers_owner_agent_id'))
        batch_op.drop_column('fields')
        batch_op.drop_column('owner_agent_id')
    op.drop_table('customer_fields')
