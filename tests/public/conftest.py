"""Fixtures for the public site and partner API: the demo archive, partner keys, clips."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from app.db import session_scope


@dataclass
class Key:
    id: int
    plain: str
    scopes: list[str]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.plain}"}


@pytest.fixture()
def demo(db_url: str) -> int:
    """The shipped demo archive (103 published clips without media). Returns the count."""
    from app.clips.demo import load_demo

    with session_scope() as session:
        report = load_demo(session)
    assert report is not None
    return 103


@pytest.fixture()
def make_key(db_url: str) -> Callable[..., Key]:
    from app.partners import service as partners

    def make(
        *scopes: str, rate: int = 600, partner: str = "Newsroom", revoked: bool = False
    ) -> Key:
        scope_list = list(scopes or ("read",))
        with session_scope() as session:
            p = partners.get_or_create_partner(session, partner)
            key, plain = partners.create_key(session, p, scope_list, rate_per_minute=rate)
            if revoked:
                partners.revoke_key(session, key.id)
            return Key(key.id, plain, scope_list)

    return make


@pytest.fixture()
def full_key(make_key: Callable[..., Key]) -> Key:
    return make_key("read", "export", "feed")


@pytest.fixture()
def add_clip(db_url: str) -> Callable[..., str]:
    """Create a clip with the given status; returns its code."""
    from app.clips import service as clips
    from app.clips.schemas import ClipCreate

    def add(status: str = "published", user_id: int | None = None, **fields: object) -> str:
        data = {"city": "Shiraz", "province": "Fars", "date": "16 Nov 2019", **fields}
        with session_scope() as session:
            clip = clips.create(
                session,
                ClipCreate(**data),  # type: ignore[arg-type]
                actor="test",
                user_id=user_id,
                status=status,
            )
            return clip.code

    return add


def set_status(code: str, status: str) -> None:
    from sqlalchemy import select

    from app.clips.models import Clip

    with session_scope() as session:
        clip = session.scalar(select(Clip).where(Clip.code == code))
        assert clip is not None
        clip.status = status
