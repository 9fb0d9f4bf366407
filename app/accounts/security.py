"""Password hashing (argon2) and random secrets stored as SHA-256."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def new_secret(prefix: str) -> tuple[str, str, str]:
    """A fresh secret with 256 random bits: (plain text shown once, display prefix, hash)."""
    plain = f"{prefix}_{secrets.token_urlsafe(32)}"
    return plain, plain[: len(prefix) + 7], sha256_hex(plain)


def generate_password() -> str:
    return secrets.token_urlsafe(15)
