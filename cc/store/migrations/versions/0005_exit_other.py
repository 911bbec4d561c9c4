"""queue_events.type EXIT_OTHER: a stay ended by someone other than the caller (a supervisor's hang-up, a failed
transfer, a call cut at shutdown), with the cause as its detail, so that it is not counted as an abandon

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 02:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD = ("ENTER", "OFFER", "RING_NO_ANSWER", "AGENT_BUSY", "AGENT_REJECT", "CONNECT", "ABANDON", "COMPLETE_CALLER",
        "COMPLETE_AGENT", "TRANSFER", "EXIT_TIMEOUT", "EXIT_NO_AGENT", "EXIT_FULL", "EXIT_KEY",
        "CALLBACK_REQUESTED", "CALLBACK_COMPLETED", "CALLBACK_FAILED")
_NEW = (*_OLD, "EXIT_OTHER")


def _enum(values: tuple[str, ...]) -> sa.Enum:
    return sa.Enum(*values, name="type", native_enum=False, create_constraint=True, length=32)


def upgrade() -> None:
    with op.batch_alter_table('queue_events', schema=None) as batch_op:
        batch_op.alter_column('type', existing_type=_enum(_OLD), type_=_enum(_NEW), existing_nullable=False)


def downgrade() -> None:
    op.execute("DELETE FROM queue_events WHERE type = 'EXIT_OTHER'")
    with op.batch_alter_table('queue_events', schema=None) as batch_op:
        batch_op.alter_column('type', existing_type=_enum(_NEW), type_=_enum(_OLD), existing_nullable=False)
