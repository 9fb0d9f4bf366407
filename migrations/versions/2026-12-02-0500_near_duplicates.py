"""near-duplicate search: PDQ frame hashes, candidate pairs, and the 'match' job step

frame_hash holds a 256-bit PDQ hash (32 bytes) and its quality per sampled frame of an
original; duplicate_candidate one row per pair of clips found by the match step, with the
reviewer's decision. processing_job.step may be 'match' (queued after 'hashes'); like the
playback migration, the CHECK constraint is replaced in batch mode (a table copy on SQLite).
Downgrading deletes match job rows first.

Revision ID: 772910cc536d
Revises: 8d2e6f0a4c19
Create Date: 2026-12-02 04:43:34.467878+00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '772910cc536d'
down_revision: Union[str, Sequence[str], None] = '8d2e6f0a4c19'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


OLD = "step IN ('probe','keyframes','hashes','playback')"
NEW = "step IN ('probe','keyframes','hashes','playback','match')"


def _replace_check(condition: str) -> None:
    with op.batch_alter_table('processing_job', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_processing_job_step'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_processing_job_step'), condition)


def upgrade() -> None:
    """Upgrade schema."""
    _replace_check(NEW)
    op.create_table('duplicate_candidate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('clip_a_id', sa.Integer(), nullable=False),
    sa.Column('clip_b_id', sa.Integer(), nullable=False),
    sa.Column('a_pct', sa.Double(), nullable=False),
    sa.Column('b_pct', sa.Double(), nullable=False),
    sa.Column('a_ranges', sa.JSON(), nullable=False),
    sa.Column('b_ranges', sa.JSON(), nullable=False),
    sa.Column('orientation', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("state IN ('open','same_footage','same_event','not_related')", name=op.f('ck_duplicate_candidate_state')),
    sa.CheckConstraint('clip_a_id < clip_b_id', name=op.f('ck_duplicate_candidate_ordered')),
    sa.ForeignKeyConstraint(['clip_a_id'], ['clip.id'], name=op.f('fk_duplicate_candidate_clip_a_id_clip'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['clip_b_id'], ['clip.id'], name=op.f('fk_duplicate_candidate_clip_b_id_clip'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user_account.id'], name=op.f('fk_duplicate_candidate_decided_by_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_duplicate_candidate')),
    sa.UniqueConstraint('clip_a_id', 'clip_b_id', name='uq_duplicate_candidate_pair')
    )
    with op.batch_alter_table('duplicate_candidate', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_duplicate_candidate_clip_b_id'), ['clip_b_id'], unique=False)

    op.create_table('frame_hash',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('media_id', sa.Integer(), nullable=False),
    sa.Column('clip_id', sa.Integer(), nullable=False),
    sa.Column('timestamp', sa.Double(), nullable=False),
    sa.Column('pdq', sa.LargeBinary(length=32), nullable=False),
    sa.Column('quality', sa.SmallInteger(), nullable=False),
    sa.Column('keyframe_position', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['clip_id'], ['clip.id'], name=op.f('fk_frame_hash_clip_id_clip'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['media_id'], ['media.id'], name=op.f('fk_frame_hash_media_id_media'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_frame_hash'))
    )
    with op.batch_alter_table('frame_hash', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_frame_hash_clip_id'), ['clip_id'], unique=False)
        batch_op.create_index('ix_frame_hash_media_id', ['media_id'], unique=False)



def downgrade() -> None:
    """Downgrade schema."""
    op.execute("DELETE FROM processing_job WHERE step = 'match'")
    _replace_check(OLD)
    with op.batch_alter_table('frame_hash', schema=None) as batch_op:
        batch_op.drop_index('ix_frame_hash_media_id')
        batch_op.drop_index(batch_op.f('ix_frame_hash_clip_id'))

    op.drop_table('frame_hash')
    with op.batch_alter_table('duplicate_candidate', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_duplicate_candidate_clip_b_id'))

    op.drop_table('duplicate_candidate')
