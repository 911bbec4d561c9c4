"""api tokens: bearer tokens of the HTTP API (hash, role, agent)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 11:32:12.887914
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('api_tokens',
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('role', sa.Enum('admin', 'supervisor', 'agent', name='role', native_enum=False,
                              create_constraint=True, length=32), nullable=False),
    sa.Column('agent_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("role <> 'agent' OR agent_id IS NOT NULL", name=op.f('ck_api_tokens_agent_token_has_agent')),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], name=op.f('fk_api_tokens_agent_id_agents'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('sha256', name=op.f('uq_api_tokens_sha256'))
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_agent_id'), ['agent_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_agent_id'))

    op.drop_table('api_tokens')
