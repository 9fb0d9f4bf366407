"""Encryption at rest for the TOTP secrets (which cannot be hashed: checking a code needs
the secret itself).

Fernet (AES-128-CBC with HMAC-SHA256, from ``cryptography``) with a key derived from
``ARCHIVE_SECRET_KEY`` by HKDF-SHA256 under a purpose label, so the key is used for nothing
else. A stored value is ``fernet:<token>``; a database dump without the secret key does not
give the secrets away. Changing ``ARCHIVE_SECRET_KEY`` makes the stored secrets unreadable:
the users concerned enrol again (an admin resets their two-factor log-in).
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.config import get_settings

PREFIX = "fernet:"
PURPOSE = b"archive/totp-secret/v1"


class SecretUnreadable(Exception):
    """The stored secret does not decrypt with this ARCHIVE_SECRET_KEY."""


def _fernet(secret_key: str | None = None) -> Fernet:
    material = (secret_key or get_settings().secret_key).encode()
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=PURPOSE).derive(material)
    return Fernet(base64.urlsafe_b64encode(key))


def seal(plain: str, secret_key: str | None = None) -> str:
    return PREFIX + _fernet(secret_key).encrypt(plain.encode()).decode()


def is_sealed(stored: str) -> bool:
    return stored.startswith(PREFIX)


def unseal(stored: str, secret_key: str | None = None) -> str:
    if not is_sealed(stored):
        raise SecretUnreadable("the stored TOTP secret is not encrypted")
    try:
        return _fernet(secret_key).decrypt(stored[len(PREFIX) :].encode()).decode()
    except InvalidToken:
        raise SecretUnreadable(
            "the stored TOTP secret does not decrypt with this ARCHIVE_SECRET_KEY"
        ) from None
