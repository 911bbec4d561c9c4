"""call segments: a call that comes back to cc under the same channel UUID gets a row per later visit

A call that leaves cc's socket by a dialplan transfer and reaches a `socket` extension again arrives with
the same Unique-ID; its first `calls` row is kept as it was and each later visit is one `call_segments` row.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 01:20:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('call_segments',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('call_uuid', sa.String(length=64), nullable=False),
    sa.Column('segment', sa.Integer(), nullable=False),
    sa.Column('caller', sa.String(length=128), nullable=False),
    sa.Column('callee', sa.String(length=128), nullable=False),
    sa.Column('node', sa.String(length=128), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('hangup_cause', sa.String(length=128), nullable=True),
    sa.Column('flow', sa.String(length=1024), nullable=True),
    sa.Column('disposition', sa.String(length=128), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_call_segments'))
    )
    with op.batch_alter_table('call_segments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_call_segments_call_uuid'), ['call_uuid'], unique=False)
        batch_op.create_index(batch_op.f('ix_call_segments_started_at'), ['started_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('call_segments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_call_segments_started_at'))
        batch_op.drop_index(batch_op.f('ix_call_segments_call_uuid'))

    op.drop_table('call_segments')
