"""media.sha512: the original's SHA-512, taken once so evidence bags never hash it again

A bag (RFC 8493) lists its payload in SHA-256 and SHA-512. The SHA-256 is known from the
upload; the SHA-512 is now taken by the same read that checks the original's fixity in the
``hashes`` job step (and by ``archive fixity`` for originals stored before this), so an
export can copy the original into the tar in the kernel without reading it in Python.
Nullable: NULL means "not taken yet" (the export then hashes while it writes).

Revision ID: 7d3f0a2b9e15
Revises: c52f1d8e0b11
Create Date: 2026-12-03 07:00:00.000000+00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '7d3f0a2b9e15'
down_revision: Union[str, Sequence[str], None] = 'c52f1d8e0b11'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # a plain ADD COLUMN (no batch rebuild), on SQLite as on PostgreSQL
    op.add_column("media", sa.Column("sha512", sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("media") as batch:
        batch.drop_column("sha512")
