"""blur_region: boxes a reviewer marks to blur by hand in a clip's public derivatives

A box in relative units (0-1 of the frame) over start..end seconds, blurred on top of the
face detector (app/review/blur_regions.py, app/public/faceblur.py).

Revision ID: d7a3b9e2f415
Revises: 7d3f0a2b9e15
Create Date: 2026-12-03 07:30:00.000000+00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = 'd7a3b9e2f415'
down_revision: Union[str, Sequence[str], None] = '7d3f0a2b9e15'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'blur_region',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('clip_id', sa.Integer(), nullable=False),
        sa.Column('x', sa.Double(), nullable=False),
        sa.Column('y', sa.Double(), nullable=False),
        sa.Column('w', sa.Double(), nullable=False),
        sa.Column('h', sa.Double(), nullable=False),
        sa.Column('start_seconds', sa.Double(), nullable=False),
        sa.Column('end_seconds', sa.Double(), nullable=False),
        sa.Column('created_by', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            'x >= 0 AND y >= 0 AND w > 0 AND h > 0 AND x + w <= 1 AND y + h <= 1',
            name=op.f('ck_blur_region_box'),
        ),
        sa.CheckConstraint(
            'start_seconds >= 0 AND end_seconds >= start_seconds',
            name=op.f('ck_blur_region_range'),
        ),
        sa.ForeignKeyConstraint(
            ['clip_id'], ['clip.id'], name=op.f('fk_blur_region_clip_id_clip'), ondelete='CASCADE'
        ),
        sa.ForeignKeyConstraint(
            ['created_by'], ['user_account.id'],
            name=op.f('fk_blur_region_created_by_user_account'), ondelete='SET NULL',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_blur_region')),
    )
    op.create_index('ix_blur_region_clip_id', 'blur_region', ['clip_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_blur_region_clip_id', table_name='blur_region')
    op.drop_table('blur_region')
