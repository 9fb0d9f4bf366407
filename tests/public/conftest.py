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
            key, plain = partners.create_key(
                session, p, scope_list, rate_per_minute=rate, actor="test"
            )
            if revoked:
                partners.revoke_key(session, key.id, actor="test")
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


CANARY_GPS = "+35.6892+051.3890/"
CANARY_DEVICE = "CANARY-DEVICE-SERIAL-7731"


@dataclass
class MediaClip:
    code: str
    sha256: str
    playback: object  # Path of the playback copy


def make_original(path: object) -> None:
    """A 2-second H.264/AAC .mov carrying GPS and device tags (like a phone video)."""
    import subprocess

    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=2",
         "-f", "lavfi", "-i", "sine=frequency=440:duration=2",
         "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac",
         "-metadata", f"location={CANARY_GPS}",
         "-metadata", f"com.apple.quicktime.model={CANARY_DEVICE}",
         "-movflags", "use_metadata_tags", str(path)],
        check=True, timeout=60,
    )  # fmt: skip


@pytest.fixture()
def media_clip(db_url: str, add_clip: Callable[..., str], tmp_path: object) -> MediaClip:
    """A published clip with an original, keyframes, a poster and a playback copy, flagged
    as showing graphic violence (so its images wait behind the content warning)."""
    import hashlib
    from pathlib import Path

    from PIL import Image
    from sqlalchemy import select

    from app.clips.models import Clip
    from app.ingest.models import Keyframe, Media
    from app.public import sources
    from app.public.playback import make_playback_copy
    from app.storage.store import get_store

    code = add_clip(
        title_en="Footage with media", city="Abadan", province="Khuzestan", graphic_violence=True
    )
    original = Path(str(tmp_path)) / "original.mov"
    make_original(original)
    sha = hashlib.sha256(original.read_bytes()).hexdigest()
    store = get_store()
    store.ensure()
    gen, folder = store.new_generation(sha)
    colours = [(200, 40, 40), (40, 160, 60), (40, 60, 200)]
    for i, colour in enumerate(colours):
        Image.new("RGB", (320, 240), colour).save(folder / f"kf_{i:04d}.jpg", "JPEG")
    Image.new("RGB", (320, 240), (240, 200, 0)).save(folder / "poster.jpg", "JPEG")
    with session_scope() as session:
        clip = session.scalar(select(Clip).where(Clip.code == code))
        assert clip is not None
        media = Media(
            clip_id=clip.id,
            sha256=sha,
            size=original.stat().st_size,
            filename="IMG_0001-CANARY-FILENAME.MOV",
            content_type="video/quicktime",
            container="mov,mp4,m4a,3gp,3g2,mj2",
            probe={
                "duration": 2.0, "width": 320, "height": 240, "video_codec": "h264",
                "gps": CANARY_GPS, "device_model": CANARY_DEVICE, "encoder": "CANARY-ENC",
            },
            via="raw",
            derivative_generation=gen,
        )  # fmt: skip
        session.add(media)
        session.flush()
        for i in range(len(colours)):
            session.add(
                Keyframe(
                    media_id=media.id, original_sha256=sha, generation=gen, position=i,
                    timestamp=0.5 * i, width=320, height=240, sha256="0" * 64,
                    phash=f"{i:016x}", source="keyframe",
                )
            )  # fmt: skip
        info = sources.MediaInfo(sha, 2.0, 320, 240, gen)
    dest = sources.playback_path(info)
    make_playback_copy(original, dest, timeout=60)
    return MediaClip(code, sha, dest)
