"""The password rules: at least 12 characters, not one of the common passwords shipped in
common_passwords.txt (its source and licence: common_passwords.SOURCE.md), and not the
account's email address."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from app.accounts.exceptions import WeakPassword

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1000
COMMON_PASSWORDS = Path(__file__).with_name("common_passwords.txt")


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(line for line in lines if line)


def check_password(password: str, *, email: str = "", field: str = "password") -> None:
    """Refuse a password that breaks a rule (WeakPassword, 422, naming the rule)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"passwords need at least {MIN_PASSWORD_LENGTH} characters", field=field)
    if len(password) > MAX_PASSWORD_LENGTH:
        raise WeakPassword(f"passwords have at most {MAX_PASSWORD_LENGTH} characters", field=field)
    folded = password.strip().lower()
    if folded in common_passwords():
        raise WeakPassword(
            "this password is on the list of commonly used passwords; choose another",
            code="common_password",
            field=field,
        )
    if email and folded == email.strip().lower():
        raise WeakPassword("the password cannot be your email address", field=field)
