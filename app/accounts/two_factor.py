"""Two-factor log-in with TOTP (RFC 6238, through pyotp) and single-use recovery codes.

- Enrolment: :func:`begin_enrolment` keeps a fresh base32 secret on the user (not yet
  enabled) and gives the ``otpauth://`` URI and its QR code, rendered here as SVG (segno);
  :func:`confirm_enrolment` turns two-factor on once the user types a valid code, and
  returns ten recovery codes, shown once (only their SHA-256 is stored).
- Log-in: :func:`verify` accepts a current code (30-second steps, one step of clock drift
  either way) or an unused recovery code. The last accepted time step is stored, so a code
  (or an earlier one) is never accepted twice, even inside its window.

The TOTP secret itself cannot be hashed (checking a code needs it): it is stored encrypted
with a key derived from ARCHIVE_SECRET_KEY (app/accounts/secret_box.py), never logged,
never shown again after enrolment, and never leaves the team database.
"""

from __future__ import annotations

import hmac
import secrets
import time

import pyotp
import segno
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.accounts import secret_box
from app.accounts.exceptions import InvalidCode
from app.accounts.models import RecoveryCode, User
from app.accounts.security import sha256_hex
from app.custody import service as custody
from app.errors import Conflict
from app.kit.clock import utcnow

ISSUER = "Video evidence archive"
RECOVERY_CODES = 10
DRIFT_STEPS = 1


def enabled(user: User) -> bool:
    return user.totp_enabled_at is not None


def secret_of(user: User) -> str | None:
    """The user's base32 TOTP secret in clear (None when there is none, or it cannot be
    decrypted with this ARCHIVE_SECRET_KEY: then no code is accepted)."""
    if user.totp_secret is None:
        return None
    try:
        return secret_box.unseal(user.totp_secret)
    except secret_box.SecretUnreadable:
        return None


def otpauth_uri(user: User) -> str:
    secret = secret_of(user)
    assert secret is not None
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_svg(uri: str, title: str = "QR code") -> str:
    """The QR code of ``uri`` as an inline SVG element (no script, no external reference);
    ``title`` is its accessible name, in the page's language."""
    return str(segno.make(uri, error="m").svg_inline(scale=5, title=title))


def begin_enrolment(session: Session, user: User) -> str:
    """Keep a secret on the user for enrolling (the same one until enrolment is confirmed)
    and return the otpauth URI."""
    if enabled(user):
        raise Conflict("two-factor log-in is already on", code="two_factor_enabled")
    if secret_of(user) is None:
        user.totp_secret = secret_box.seal(pyotp.random_base32())
        session.flush()
    return otpauth_uri(user)


def _matching_step(secret: str, code: str, last_step: int | None) -> int | None:
    code = "".join(code.split())
    if not (len(code) == 6 and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    now_step = totp.timecode(time.time())
    for step in range(now_step - DRIFT_STEPS, now_step + DRIFT_STEPS + 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _normalise_recovery(code: str) -> str:
    return "".join(c for c in code.lower() if c.isalnum())


def _new_recovery_code() -> str:
    raw = secrets.token_hex(5)  # 40 random bits, like GitHub's recovery codes
    return f"{raw[:5]}-{raw[5:]}"


def confirm_enrolment(session: Session, user: User, code: str, *, actor: str) -> list[str]:
    """Turn two-factor log-in on with a first valid code; return the recovery codes."""
    user = session.get(User, user.id, with_for_update=True) or user
    if enabled(user):
        raise Conflict("two-factor log-in is already on", code="two_factor_enabled")
    secret = secret_of(user)
    if secret is None:
        raise InvalidCode("start the set-up first (reload the page)", field="code")
    step = _matching_step(secret, code, None)
    if step is None:
        raise InvalidCode(
            "that code is not right: type the 6 digits your app shows now", field="code"
        )
    user.totp_enabled_at = utcnow()
    user.totp_last_step = step
    codes = _replace_recovery_codes(session, user)
    session.flush()
    custody.record(
        session, actor=actor, action="user.two_factor_enabled", payload={"email": user.email}
    )
    return codes


def _replace_recovery_codes(session: Session, user: User) -> list[str]:
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODES)]
    session.add_all(
        RecoveryCode(user_id=user.id, code_hash=sha256_hex(_normalise_recovery(c))) for c in codes
    )
    return codes


def verify(session: Session, user: User, code: str) -> str | None:
    """Check a second factor: 'totp' or 'recovery' when accepted (and used up), else None."""
    if not enabled(user) or user.totp_secret is None:
        return None
    locked = session.get(User, user.id, with_for_update=True) or user
    secret = secret_of(locked)
    step = _matching_step(secret, code, locked.totp_last_step) if secret else None
    if step is not None:
        locked.totp_last_step = step
        session.flush()
        return "totp"
    digest = sha256_hex(_normalise_recovery(code))
    row = session.scalar(
        select(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == digest,
            RecoveryCode.used_at.is_(None),
        )
        .with_for_update()
    )
    if row is None:
        return None
    row.used_at = utcnow()
    session.flush()
    return "recovery"


def recovery_codes_left(session: Session, user: User) -> int:
    return len(
        session.scalars(
            select(RecoveryCode.id).where(
                RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
            )
        ).all()
    )


def disable(session: Session, user: User, *, actor: str) -> None:
    """Turn two-factor log-in off (an admin's reset, or the CLI's) and drop the codes."""
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    session.flush()
    custody.record(
        session, actor=actor, action="user.two_factor_disabled", payload={"email": user.email}
    )
