"""processing_job.step may be 'playback' (the public playback copy, queued on publishing)

SQLite cannot alter a CHECK constraint, so both directions use batch mode (a table copy
on SQLite, plain ALTER TABLE on PostgreSQL). Downgrading deletes playback job rows first:
the old constraint would reject them (the playback files themselves stay on disk).

Revision ID: 3c1f6b2a9d47
Revises: e7aae2eaa392
Create Date: 2026-11-25 09:00:00.000000+00:00

"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = '3c1f6b2a9d47'
down_revision: Union[str, Sequence[str], None] = 'e7aae2eaa392'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

OLD = "step IN ('probe','keyframes','hashes')"
NEW = "step IN ('probe','keyframes','hashes','playback')"


def _replace_check(condition: str) -> None:
    with op.batch_alter_table('processing_job', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_processing_job_step'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_processing_job_step'), condition)


def upgrade() -> None:
    """Upgrade schema."""
    _replace_check(NEW)


def downgrade() -> None:
    """Downgrade schema."""
    op.execute("DELETE FROM processing_job WHERE step = 'playback'")
    _replace_check(OLD)
