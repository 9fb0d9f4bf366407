"""Search by image: a still (a screenshot from social media) or one of the archive's own
keyframes, against every stored frame hash; clips and timestamps ranked by distance.

The still is hashed the way stored frames are (box-averaged to 64x64, then PDQ), and its
eight dihedral variants are searched at once, so a mirrored or rotated screenshot finds
its clip; each hit keeps the variant that came closest. Bad input gets a clear 4xx:
over ``ARCHIVE_IMAGE_SEARCH_MAX_BYTES`` a 413 ``too_large``; more pixels than
``ARCHIVE_IMAGE_SEARCH_MAX_PIXELS`` (a decompression bomb: a tiny file that claims to be
enormous, refused before it is decoded) a 413 ``image_too_many_pixels``; anything Pillow
cannot read as an image a 415 ``not_an_image``.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field

from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clips.models import Clip
from app.config import get_settings
from app.duplicates import service
from app.errors import InvalidInput, PayloadTooLarge, UnsupportedMedia
from app.ingest import service as ingest
from app.ingest.models import FrameHash, Keyframe, Media
from app.storage import derivatives
from app.video.pdq import DIHEDRAL_NAMES, MATCH_DISTANCE, PdqResult, pdq_image

MAX_TIMES_PER_CLIP = 10


class NotAnImage(UnsupportedMedia):
    code = "not_an_image"


class TooManyPixels(PayloadTooLarge):
    code = "image_too_many_pixels"


@dataclass(frozen=True)
class FrameHit:
    timestamp: float
    distance: int
    orientation: str  # which dihedral variant of the still came closest
    keyframe_position: int | None


@dataclass
class ClipHit:
    code: str
    status: str
    distance: int  # the best frame's
    frames: list[FrameHit] = field(default_factory=list)  # best first, at most 10
    matched_frames: int = 0
    thumbnail_position: int | None = None  # the keyframe nearest the best frame


@dataclass(frozen=True)
class ImageSearch:
    quality: int  # PDQ quality of the still (0-100; below 50 answers are unreliable)
    hash: str  # hex
    results: list[ClipHit]


def decode(data: bytes) -> Image.Image:
    """The still as RGB, or the 4xx that says what is wrong with it."""
    settings = get_settings()
    if len(data) > settings.image_search_max_bytes:
        raise PayloadTooLarge(
            f"the image is {len(data)} bytes; the limit is {settings.image_search_max_bytes} "
            "(ARCHIVE_IMAGE_SEARCH_MAX_BYTES)",
            field="image",
        )
    if not data:
        raise InvalidInput("the image is empty", field="image")
    limit = settings.image_search_max_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                width, height = im.size
                if width * height > limit:
                    raise TooManyPixels(
                        f"the image claims {width}x{height} pixels; the limit is {limit} "
                        "(ARCHIVE_IMAGE_SEARCH_MAX_PIXELS)",
                        field="image",
                    )
                im.load()
                return im.convert("RGB")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise TooManyPixels(f"the image has too many pixels ({exc})", field="image") from exc
    except (OSError, SyntaxError, ValueError, Image.UnidentifiedImageError) as exc:
        raise NotAnImage(
            "the file is not an image that can be read (JPEG, PNG, WebP, GIF, ...)",
            field="image",
        ) from exc


def still_pdq(im: Image.Image) -> PdqResult:
    """PDQ as the stored frames are hashed (app/ingest/frame_hashes.py)."""
    return pdq_image(im.resize((64, 64), Image.Resampling.BOX))


def keyframe_pdq(session: Session, code: str, position: int) -> PdqResult:
    """PDQ of one of the archive's own keyframes."""
    with (
        ingest.derivative_file(session, code, derivatives.keyframe(position)) as path,
        Image.open(path) as im,
    ):
        return still_pdq(im.convert("RGB"))


def search_pdq(
    session: Session, result: PdqResult, *, limit: int = 50, radius: int = MATCH_DISTANCE
) -> ImageSearch:
    """Clips with a frame within ``radius`` of any dihedral variant; nearest first."""
    variants = result.dihedral()
    hits = service.search(session, variants)
    best: dict[int, tuple[int, int]] = {}  # frame id -> (distance, variant)
    info: dict[int, tuple[int, float]] = {}
    for h in hits:
        if h.distance > radius:
            continue
        if h.frame_id not in best or h.distance < best[h.frame_id][0]:
            best[h.frame_id] = (h.distance, h.query)
            info[h.frame_id] = (h.clip_id, h.timestamp)
    positions = dict(
        session.execute(
            select(FrameHash.id, FrameHash.keyframe_position).where(FrameHash.id.in_(list(best)))
        ).all()
    ) if best else {}  # fmt: skip
    by_clip: dict[int, list[FrameHit]] = {}
    for fid, (dist, variant) in best.items():
        clip_id, ts = info[fid]
        by_clip.setdefault(clip_id, []).append(
            FrameHit(ts, dist, DIHEDRAL_NAMES[variant], positions.get(fid))
        )
    clips = {
        r[0]: (r[1], r[2])
        for r in session.execute(
            select(Clip.id, Clip.code, Clip.status).where(
                Clip.id.in_(list(by_clip)), Clip.deleted_at.is_(None)
            )
        )
    }
    out = []
    for clip_id, frames in by_clip.items():
        if clip_id not in clips:
            continue
        frames.sort(key=lambda f: (f.distance, f.timestamp))
        code, status = clips[clip_id]
        out.append(
            ClipHit(
                code,
                str(status),
                frames[0].distance,
                frames[:MAX_TIMES_PER_CLIP],
                len(frames),
                _nearest_keyframe(session, clip_id, frames[0].timestamp),
            )
        )
    out.sort(key=lambda c: (c.distance, -c.matched_frames, c.code))
    return ImageSearch(result.quality, result.hash.hex(), out[:limit])


def _nearest_keyframe(session: Session, clip_id: int, at: float) -> int | None:
    rows = session.execute(
        select(Keyframe.position, Keyframe.timestamp)
        .join(Media, Media.id == Keyframe.media_id)
        .where(Media.clip_id == clip_id)
    ).all()
    if not rows:
        return None
    return int(min(rows, key=lambda r: abs(r[1] - at))[0])


def search_image(
    session: Session,
    *,
    data: bytes | None = None,
    code: str | None = None,
    keyframe: int | None = None,
    limit: int = 50,
) -> ImageSearch:
    """The still in ``data``, or keyframe ``keyframe`` of clip ``code``."""
    if data is not None:
        return search_pdq(session, still_pdq(decode(data)), limit=limit)
    if code and keyframe is not None:
        return search_pdq(session, keyframe_pdq(session, code, keyframe), limit=limit)
    raise InvalidInput(
        "send an image (the 'image' file field) or a clip code and a keyframe position",
        field="image",
    )
