"""scheduled fixity: each original's last finding, and one row per fixity run

media gains fixity_status (ok, changed, missing, unreadable), fixity_detail and
fixity_attempted_at; fixity_run records each run (scheduled or `archive fixity`) with its
figures, for the team dashboard (last pass, overdue, failures).

Revision ID: 5b0e91c4d2f8
Revises: 5a7c2e9d1b34
Create Date: 2026-12-02 04:50:00.000000+00:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision: str = '5b0e91c4d2f8'
down_revision: Union[str, Sequence[str], None] = '5a7c2e9d1b34'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        'fixity_run',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('trigger', sa.String(length=16), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('files', sa.Integer(), nullable=False),
        sa.Column('bytes', sa.BigInteger(), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('seconds', sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_fixity_run')),
    )
    with op.batch_alter_table('fixity_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fixity_run_started_at'), ['started_at'], unique=False)
    with op.batch_alter_table('media', schema=None) as batch_op:
        batch_op.add_column(sa.Column('fixity_status', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('fixity_detail', sa.String(length=300), nullable=True))
        batch_op.add_column(
            sa.Column('fixity_attempted_at', sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('media', schema=None) as batch_op:
        batch_op.drop_column('fixity_attempted_at')
        batch_op.drop_column('fixity_detail')
        batch_op.drop_column('fixity_status')
    with op.batch_alter_table('fixity_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fixity_run_started_at'))
    op.drop_table('fixity_run')
