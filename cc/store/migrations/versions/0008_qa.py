"""quality assurance: scorecards and their versions, the QA work list (one item per call), scores with
comments at times in the recording, disputes and their resolutions

Revision ID: 0008_qa
Revises: 0007_campaigns
Create Date: 2026-12-07 04:06:01.990420
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008_qa'
down_revision: str | None = '0007_campaigns'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('qa_items',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('call_uuid', sa.String(length=64), nullable=False),
    sa.Column('agent_id', sa.String(length=64), nullable=False),
    sa.Column('call_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('week', sa.String(length=16), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('seed', sa.String(length=128), nullable=False),
    sa.Column('state', sa.Enum('todo', 'in_progress', 'scored', 'disputed', 'resolved', name='state',
                                     native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('assigned_to', sa.String(length=128), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qa_items')),
    sa.UniqueConstraint('call_uuid', name=op.f('uq_qa_items_call_uuid'))
    )
    with op.batch_alter_table('qa_items', schema=None) as batch_op:
        batch_op.create_index('ix_qa_items_agent_week', ['agent_id', 'week'], unique=False)
        batch_op.create_index('ix_qa_items_state_week', ['state', 'week'], unique=False)

    op.create_table('qa_scorecards',
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('description', sa.String(length=1024), nullable=False),
    sa.Column('current_version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_qa_scorecards'))
    )
    op.create_table('qa_scorecard_versions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('scorecard', sa.String(length=128), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('body', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    sa.ForeignKeyConstraint(['scorecard'], ['qa_scorecards.name'],
                            name=op.f('fk_qa_scorecard_versions_scorecard_qa_scorecards'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qa_scorecard_versions')),
    sa.UniqueConstraint('scorecard', 'version', name='scorecard_version')
    )
    op.create_table('qa_scores',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('scorecard_version_id', sa.Integer(), nullable=False),
    sa.Column('call_uuid', sa.String(length=64), nullable=False),
    sa.Column('agent_id', sa.String(length=64), nullable=False),
    sa.Column('qa_login', sa.String(length=128), nullable=False),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('total', sa.Float(), nullable=True),
    sa.Column('scored_total', sa.Float(), nullable=True),
    sa.Column('raw_total', sa.Float(), nullable=True),
    sa.Column('critical_failed', sa.Boolean(), nullable=False),
    sa.Column('scored_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['qa_items.id'],
                            name=op.f('fk_qa_scores_item_id_qa_items'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['scorecard_version_id'], ['qa_scorecard_versions.id'],
                            name=op.f('fk_qa_scores_scorecard_version_id_qa_scorecard_versions'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qa_scores')),
    sa.UniqueConstraint('item_id', name=op.f('uq_qa_scores_item_id'))
    )
    with op.batch_alter_table('qa_scores', schema=None) as batch_op:
        batch_op.create_index('ix_qa_scores_agent_scored', ['agent_id', 'scored_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_qa_scores_call_uuid'), ['call_uuid'], unique=False)
        batch_op.create_index(batch_op.f('ix_qa_scores_scorecard_version_id'), ['scorecard_version_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_qa_scores_scored_at'), ['scored_at'], unique=False)

    op.create_table('qa_comments',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('score_id', sa.Integer(), nullable=False),
    sa.Column('offset_s', sa.Float(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('author', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['score_id'], ['qa_scores.id'],
                            name=op.f('fk_qa_comments_score_id_qa_scores'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qa_comments'))
    )
    with op.batch_alter_table('qa_comments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_qa_comments_score_id'), ['score_id'], unique=False)

    op.create_table('qa_disputes',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('score_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('disputed_by', sa.String(length=128), nullable=False),
    sa.Column('disputed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolution', sa.Enum('upheld', 'changed', name='resolution', native_enum=False,
                                          create_constraint=True, length=32), nullable=True),
    sa.Column('resolved_total', sa.Float(), nullable=True),
    sa.Column('resolved_by', sa.String(length=128), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['score_id'], ['qa_scores.id'],
                            name=op.f('fk_qa_disputes_score_id_qa_scores'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qa_disputes')),
    sa.UniqueConstraint('score_id', name=op.f('uq_qa_disputes_score_id'))
    )


def downgrade() -> None:
    op.drop_table('qa_disputes')
    with op.batch_alter_table('qa_comments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_qa_comments_score_id'))

    op.drop_table('qa_comments')
    with op.batch_alter_table('qa_scores', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_qa_scores_scored_at'))
        batch_op.drop_index(batch_op.f('ix_qa_scores_scorecard_version_id'))
        batch_op.drop_index(batch_op.f('ix_qa_scores_call_uuid'))
        batch_op.drop_index('ix_qa_scores_agent_scored')

    op.drop_table('qa_scores')
    op.drop_table('qa_scorecard_versions')
    op.drop_table('qa_scorecards')
    with op.batch_alter_table('qa_items', schema=None) as batch_op:
        batch_op.drop_index('ix_qa_items_state_week')
        batch_op.drop_index('ix_qa_items_agent_week')

    op.drop_table('qa_items')
