"""queue calls: one summed-up row per stay of a call in a queue; hold time on the queue log's COMPLETE lines

Rows are written by the controller from now on; history logged before this revision gets them with
`ccctl report summarize --from ... --to ...` (until then the queue report computes those days from the queue log).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 13:40:37.385655
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('queue_calls',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('entered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('queue', sa.String(length=128), nullable=False),
    sa.Column('member_uuid', sa.String(length=64), nullable=False),
    sa.Column('outcome', sa.String(length=32), nullable=False),
    sa.Column('agent_id', sa.String(length=64), nullable=True),
    sa.Column('answered', sa.Integer(), nullable=False),
    sa.Column('answer_wait_s', sa.Float(), nullable=True),
    sa.Column('abandon_wait_s', sa.Float(), nullable=True),
    sa.Column('waits', sa.Integer(), nullable=False),
    sa.Column('wait_sum', sa.Float(), nullable=False),
    sa.Column('max_wait_s', sa.Float(), nullable=True),
    sa.Column('handled', sa.Integer(), nullable=False),
    sa.Column('talk_s', sa.Float(), nullable=False),
    sa.Column('hold_s', sa.Float(), nullable=False),
    sa.Column('wrap_s', sa.Float(), nullable=False),
    sa.Column('transfers', sa.Integer(), nullable=False),
    sa.Column('callbacks_requested', sa.Integer(), nullable=False),
    sa.Column('callbacks_completed', sa.Integer(), nullable=False),
    sa.Column('callbacks_failed', sa.Integer(), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_queue_calls'))
    )
    with op.batch_alter_table('queue_calls', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_queue_calls_entered_at'), ['entered_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_queue_calls_member_uuid'), ['member_uuid'], unique=False)
        batch_op.create_index('ix_queue_calls_queue_entered', ['queue', 'entered_at'], unique=False)
    with op.batch_alter_table('queue_events', schema=None) as batch_op:
        batch_op.create_index('ix_queue_events_type_at', ['type', 'at', 'queue'], unique=False)
        batch_op.add_column(sa.Column('hold_s', sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('queue_events', schema=None) as batch_op:
        batch_op.drop_column('hold_s')
        batch_op.drop_index('ix_queue_events_type_at')
    with op.batch_alter_table('queue_calls', schema=None) as batch_op:
        batch_op.drop_index('ix_queue_calls_queue_entered')
        batch_op.drop_index(batch_op.f('ix_queue_calls_member_uuid'))
        batch_op.drop_index(batch_op.f('ix_queue_calls_entered_at'))

    op.drop_table('queue_calls')
