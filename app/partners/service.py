"""Partners and their API keys. Keys are shown once and stored as SHA-256.

Creating and revoking a key is in the custody log (``apikey.created``, ``apikey.revoked``),
written here for every caller (the admin pages and the CLI).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.security import new_secret, sha256_hex
from app.custody import service as custody
from app.errors import Conflict, InvalidInput, NotFound
from app.kit.clock import utcnow
from app.partners.models import SCOPES, ApiKey, Partner

KEY_PREFIX = "vak"


def get_or_create_partner(session: Session, name: str, contact: str = "") -> Partner:
    name = name.strip()
    if not name:
        raise InvalidInput("a partner needs a name", field="name")
    partner = session.scalar(select(Partner).where(Partner.name == name))
    if partner is None:
        partner = Partner(name=name, contact=contact)
        session.add(partner)
        session.flush()
    return partner


def create_key(
    session: Session,
    partner: Partner,
    scopes: list[str],
    rate_per_minute: int = 600,
    *,
    actor: str,
) -> tuple[ApiKey, str]:
    bad = [s for s in scopes if s not in SCOPES]
    if bad or not scopes:
        raise InvalidInput(
            f"scopes must be some of {', '.join(SCOPES)}; got {', '.join(scopes) or 'none'}",
            field="scopes",
        )
    plain, prefix, digest = new_secret(KEY_PREFIX)
    key = ApiKey(
        partner_id=partner.id,
        prefix=prefix,
        key_hash=digest,
        scopes=sorted(set(scopes)),
        rate_per_minute=rate_per_minute,
    )
    session.add(key)
    session.flush()
    custody.record(
        session,
        actor=actor,
        action="apikey.created",
        payload={
            "key_id": key.id,
            "partner": partner.name,
            "prefix": key.prefix,
            "scopes": key.scopes,
            "rate_per_minute": rate_per_minute,
        },
    )
    return key, plain


def revoke_key(session: Session, key_id: int, *, actor: str) -> ApiKey:
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"no API key with id {key_id}", field="id")
    if key.revoked_at is not None:
        raise Conflict(f"API key {key_id} was already revoked at {key.revoked_at.isoformat()}")
    key.revoked_at = utcnow()
    session.flush()
    custody.record(
        session,
        actor=actor,
        action="apikey.revoked",
        payload={"key_id": key.id, "prefix": key.prefix},
    )
    return key


def resolve_key(session: Session, plain: str) -> tuple[ApiKey, Partner] | None:
    """Look a key up. Returns revoked keys too, so the caller can say 'revoked'."""
    row = session.execute(
        select(ApiKey, Partner)
        .join(Partner, Partner.id == ApiKey.partner_id)
        .where(ApiKey.key_hash == sha256_hex(plain))
    ).first()
    return (row[0], row[1]) if row else None


def list_keys(session: Session) -> list[tuple[ApiKey, Partner]]:
    rows = session.execute(
        select(ApiKey, Partner).join(Partner, Partner.id == ApiKey.partner_id).order_by(ApiKey.id)
    ).all()
    return [(r[0], r[1]) for r in rows]
