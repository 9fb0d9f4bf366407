"""footage through a correction: media.correction_id holds an original back from the public

An original uploaded to a verified or published clip that had none comes with a
correction (app/review/footage.py). Its row points to that correction until the
correction is applied (then NULL: the footage is the clip's, public once published). A
rejected correction keeps the pointer, so the footage is never public; the file stays in
the write-once store. Downgrading drops the column (held footage would then count as
attached: the downgrade refuses while any is held).

Revision ID: b41e0c7d9a10
Revises: 5e4c1a9b7d20 (full-text search)
Create Date: 2026-12-02 10:10:00.000000+00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = 'b41e0c7d9a10'
down_revision: Union[str, Sequence[str], None] = '5e4c1a9b7d20'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('media', schema=None) as batch_op:
        batch_op.add_column(sa.Column('correction_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_media_correction_id_clip_correction'),
            'clip_correction', ['correction_id'], ['id'], ondelete='RESTRICT',
        )
        batch_op.create_index(batch_op.f('ix_media_correction_id'), ['correction_id'])


def downgrade() -> None:
    held = op.get_bind().execute(
        sa.text("SELECT count(*) FROM media WHERE correction_id IS NOT NULL")
    ).scalar()
    if held:
        raise RuntimeError(
            f"{held} original(s) are held by a correction; downgrading would make them "
            "public: decide those corrections first"
        )
    with op.batch_alter_table('media', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_media_correction_id'))
        batch_op.drop_constraint(
            batch_op.f('fk_media_correction_id_clip_correction'), type_='foreignkey'
        )
        batch_op.drop_column('correction_id')
