"""Face-blurred public derivatives of a clip flagged ``identifiable_people`` (issue 16 §2):
the playback job, the public routes, a flag change after publishing, ARCHIVE_FACE_BLUR."""

from __future__ import annotations

import hashlib
import io
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from skimage import data
from sqlalchemy import select

from app.db import session_scope
from app.video import faces


def _faces_in(jpeg: bytes) -> list[faces.Face]:
    return faces.detect(np.asarray(Image.open(io.BytesIO(jpeg)).convert("RGB")), threshold=0.3)


def _with_face(
    add_clip: Callable[..., str], tmp_path: Path, *, flagged: bool
) -> tuple[str, int, str]:
    """A published clip whose original (1 s, 640x360) and keyframe show the astronaut."""
    from app.clips.models import Clip
    from app.ingest.models import Keyframe, Media
    from app.storage.store import get_store

    code = add_clip(title_en="people in it", identifiable_people=flagged)
    face = tmp_path / "face.png"
    Image.fromarray(data.astronaut()).resize((220, 220)).save(face)
    original = tmp_path / "original.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "color=gray:s=640x360:r=25:d=1",
         "-loop", "1", "-framerate", "25", "-i", str(face),
         "-filter_complex", "[0:v][1:v]overlay=x=300:y=70:shortest=1[v]", "-map", "[v]",
         "-c:v", "libx264", "-pix_fmt", "yuv420p", str(original)],
        check=True, timeout=60,
    )  # fmt: skip
    sha = hashlib.sha256(original.read_bytes()).hexdigest()
    store = get_store()
    store.ensure()
    target = store.original_path(sha)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(original.read_bytes())
    gen, folder = store.new_generation(sha)
    frame = Image.new("RGB", (640, 360), (128, 128, 128))
    frame.paste(Image.open(face).convert("RGB"), (300, 70))
    frame.save(folder / "kf_0000.jpg", "JPEG")
    frame.save(folder / "poster.jpg", "JPEG")
    with session_scope() as session:
        clip = session.scalar(select(Clip).where(Clip.code == code))
        assert clip is not None
        media = Media(clip_id=clip.id, sha256=sha, size=target.stat().st_size, container="mov",
                      probe={"duration": 1.0, "width": 640, "height": 360}, via="raw",
                      derivative_generation=gen)  # fmt: skip
        session.add(media)
        session.flush()
        session.add(
            Keyframe(media_id=media.id, original_sha256=sha, generation=gen, position=0,
                     timestamp=0.0, width=640, height=360, sha256="0" * 64,
                     phash="0" * 16, source="keyframe")
        )  # fmt: skip
        return code, media.id, sha


def _run(media_id: int, sha: str) -> None:
    from app.public import tasks

    outcome = tasks.run_playback(media_id, sha, lambda _: None)
    with session_scope() as session:
        outcome.apply(session)


def test_flagged_clip_is_public_only_blurred(
    client: TestClient, add_clip: Callable[..., str], tmp_path: Path
) -> None:
    from app.storage import derivatives
    from app.storage.store import get_store

    code, media_id, sha = _with_face(add_clip, tmp_path, flagged=True)
    assert client.get(f"/clips/{code}/playback.mp4").status_code == 404
    assert client.get(f"/clips/{code}/keyframes/0.jpg").status_code == 404  # not yet made
    _run(media_id, sha)
    root = Path(get_store().root)
    assert not derivatives.playback_path(root, sha).exists()  # no plain public copy
    video = client.get(f"/clips/{code}/playback.mp4")
    assert video.status_code == 200
    assert video.content == derivatives.blurred_playback_path(root, sha).read_bytes()
    kf = client.get(f"/clips/{code}/keyframes/0.jpg")
    poster = client.get(f"/clips/{code}/poster.jpg")
    assert kf.status_code == poster.status_code == 200
    assert _faces_in(kf.content) == [] and _faces_in(poster.content) == []
    # the team's frames are untouched
    with session_scope() as session:
        from app.ingest.models import Media

        gen = session.get(Media, media_id).derivative_generation  # type: ignore[union-attr]
    team = Path(get_store().generation_dir(sha, gen)) / "kf_0000.jpg"
    assert len(_faces_in(team.read_bytes())) == 1


def test_flag_turned_on_after_publishing_hides_then_reblurs(
    client: TestClient, add_clip: Callable[..., str], tmp_path: Path
) -> None:
    from app.clips import service as clips
    from app.clips.models import Clip
    from app.jobs.models import ProcessingJob

    code, media_id, sha = _with_face(add_clip, tmp_path, flagged=False)
    _run(media_id, sha)
    assert client.get(f"/clips/{code}/playback.mp4").status_code == 200
    assert len(_faces_in(client.get(f"/clips/{code}/keyframes/0.jpg").content)) == 1
    with session_scope() as session:
        clip = session.scalar(select(Clip).where(Clip.code == code))
        assert clip is not None
        clips.change_fields(
            session, clip, {"identifiable_people": True}, actor="t", action="clip.updated"
        )
        jobs = session.scalars(select(ProcessingJob).where(ProcessingJob.clip_id == clip.id)).all()
        assert [j.step for j in jobs] == ["playback"]
    # the plain files are never served for a flagged clip, even before the job runs
    assert client.get(f"/clips/{code}/playback.mp4").status_code == 404
    assert client.get(f"/clips/{code}/keyframes/0.jpg").status_code == 404
    _run(media_id, sha)
    assert client.get(f"/clips/{code}/playback.mp4").status_code == 200
    assert _faces_in(client.get(f"/clips/{code}/keyframes/0.jpg").content) == []


def test_blur_off_serves_the_plain_copy(
    client: TestClient,
    add_clip: Callable[..., str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from app.config import get_settings

    monkeypatch.setattr(get_settings(), "face_blur", "off")
    code, media_id, sha = _with_face(add_clip, tmp_path, flagged=True)
    _run(media_id, sha)
    assert len(_faces_in(client.get(f"/clips/{code}/keyframes/0.jpg").content)) == 1
    assert client.get(f"/clips/{code}/playback.mp4").status_code == 200


def test_reviewers_preview_the_blurred_copy_before_publishing(
    client: TestClient,
    add_clip: Callable[..., str],
    tmp_path: Path,
    make_user: Callable[..., object],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reviewer = make_user("reviewer")
    headers = reviewer.headers  # type: ignore[attr-defined]
    code, media_id, sha = _with_face(add_clip, tmp_path, flagged=True)
    from tests.public.conftest import set_status

    set_status(code, "in_review")
    preview = f"/api/v1/clips/{code}/public-preview"
    assert client.get(f"{preview}/playback.mp4", headers=headers).status_code == 404
    # a manual region over the top-left corner, then the job (queued by the region)
    box = {"x": 0, "y": 0, "w": 0.25, "h": 0.25, "start_seconds": 0, "end_seconds": 10}
    r = client.post(f"/api/v1/clips/{code}/blur-regions", json=box, headers=headers)
    assert r.status_code == 201
    assert client.post(preview, headers=headers).status_code == 202
    _run(media_id, sha)
    video = client.get(f"{preview}/playback.mp4", headers=headers)
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    kf = client.get(f"{preview}/keyframes/0.jpg", headers=headers)
    assert kf.status_code == 200 and _faces_in(kf.content) == []
    assert client.get(f"{preview}/poster.jpg").status_code == 401  # team only
    assert client.get(f"/clips/{code}/playback.mp4").status_code == 404  # not public
