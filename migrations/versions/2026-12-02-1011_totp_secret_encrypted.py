"""TOTP secrets encrypted at rest: user_account.totp_secret holds "fernet:<token>"

The column widens to 255 characters and every clear-text secret is encrypted with the key
derived from ARCHIVE_SECRET_KEY (HKDF-SHA256, the same derivation as
app/accounts/secret_box.py, copied here so this migration keeps working whatever that
module becomes). Downgrading decrypts them again and narrows the column.

Revision ID: c52f1d8e0b11
Revises: b41e0c7d9a10
Create Date: 2026-12-02 10:11:00.000000+00:00

"""
import base64
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


# revision identifiers, used by Alembic.
revision: str = 'c52f1d8e0b11'
down_revision: Union[str, Sequence[str], None] = 'b41e0c7d9a10'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

PREFIX = "fernet:"
PURPOSE = b"archive/totp-secret/v1"


def _fernet() -> Fernet:
    from app.config import get_settings

    material = get_settings().secret_key.encode()
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=PURPOSE).derive(material)
    return Fernet(base64.urlsafe_b64encode(key))


def _rows() -> list[tuple[int, str]]:
    return [
        (r[0], r[1])
        for r in op.get_bind().execute(
            sa.text("SELECT id, totp_secret FROM user_account WHERE totp_secret IS NOT NULL")
        )
    ]


def _set(user_id: int, value: str) -> None:
    op.get_bind().execute(
        sa.text("UPDATE user_account SET totp_secret = :v WHERE id = :i"),
        {"v": value, "i": user_id},
    )


def upgrade() -> None:
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.alter_column(
            'totp_secret', existing_type=sa.String(length=64), type_=sa.String(length=255)
        )
    rows = [r for r in _rows() if not r[1].startswith(PREFIX)]
    if rows:
        box = _fernet()
        for user_id, plain in rows:
            _set(user_id, PREFIX + box.encrypt(plain.encode()).decode())


def downgrade() -> None:
    rows = [r for r in _rows() if r[1].startswith(PREFIX)]
    if rows:
        box = _fernet()
        for user_id, sealed in rows:
            _set(user_id, box.decrypt(sealed[len(PREFIX):].encode()).decode())
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.alter_column(
            'totp_secret', existing_type=sa.String(length=255), type_=sa.String(length=64)
        )
