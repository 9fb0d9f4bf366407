"""corrections: proposed changes to verified and published clips, and their approvals

One open correction per clip is enforced by a partial unique index (state = 'open').

Revision ID: f2d78809af8d
Revises: 5b0e91c4d2f8
Create Date: 2026-12-02 04:10:00.000000+00:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision: str = 'f2d78809af8d'
down_revision: Union[str, Sequence[str], None] = '5b0e91c4d2f8'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        'clip_correction',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('clip_id', sa.Integer(), nullable=False),
        sa.Column('author_id', sa.Integer(), nullable=True),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('changes', sa.JSON(), nullable=False),
        sa.Column('requested', sa.JSON(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('public_reason', sa.Text(), nullable=False),
        sa.Column('confirmed', sa.JSON(), nullable=False),
        sa.Column('decision_note', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "state IN ('open', 'applied', 'rejected')", name=op.f('ck_clip_correction_state')
        ),
        sa.ForeignKeyConstraint(
            ['author_id'], ['user_account.id'],
            name=op.f('fk_clip_correction_author_id_user_account'), ondelete='SET NULL',
        ),
        sa.ForeignKeyConstraint(
            ['clip_id'], ['clip.id'], name=op.f('fk_clip_correction_clip_id_clip'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_clip_correction')),
    )
    op.create_index('ix_clip_correction_clip_id_id', 'clip_correction', ['clip_id', 'id'])
    op.create_index(
        'uq_clip_correction_open', 'clip_correction', ['clip_id'], unique=True,
        sqlite_where=sa.text("state = 'open'"), postgresql_where=sa.text("state = 'open'"),
    )
    op.create_table(
        'clip_correction_approval',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('correction_id', sa.Integer(), nullable=False),
        sa.Column('reviewer_id', sa.Integer(), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['correction_id'], ['clip_correction.id'],
            name=op.f('fk_clip_correction_approval_correction_id_clip_correction'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['reviewer_id'], ['user_account.id'],
            name=op.f('fk_clip_correction_approval_reviewer_id_user_account'),
            ondelete='RESTRICT',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_clip_correction_approval')),
        sa.UniqueConstraint(
            'correction_id', 'reviewer_id', name='uq_clip_correction_approval_reviewer'
        ),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('clip_correction_approval')
    op.drop_index('uq_clip_correction_open', table_name='clip_correction')
    op.drop_index('ix_clip_correction_clip_id_id', table_name='clip_correction')
    op.drop_table('clip_correction')
