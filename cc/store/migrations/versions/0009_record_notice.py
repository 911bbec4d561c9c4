"""the recording notice: queues.record_notice (the prompt played before a queue-started recording when the flow
did not play the notice) and calls.recording_refused (why cc refused to start a recording of the call)

Revision ID: 0009_record_notice
Revises: 0008_qa
Create Date: 2026-12-08 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009_record_notice'
down_revision: str | None = '0008_qa'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('queues', schema=None) as batch_op:
        batch_op.add_column(sa.Column('record_notice', sa.String(length=1024), nullable=True))
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recording_refused', sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_column('recording_refused')
    with op.batch_alter_table('queues', schema=None) as batch_op:
        batch_op.drop_column('record_notice')
