"""Face blurring with ARCHIVE_STORAGE=s3 (a real S3 server, moto_server) on nodes that share
no disk: the playback job on one node makes the team's blurred preview, then the public
blurred copies, into the bucket; other nodes serve them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.db import session_scope
from app.ingest.models import Media
from app.storage.backend import derivative_key, playback_key, public_key
from app.storage.s3 import S3Backend
from app.storage.store import get_store
from tests.public.conftest import set_status
from tests.public.test_faceblur import _faces_in, _run, _with_face
from tests.s3 import moto, on_s3, other_node

__all__ = ["moto", "on_s3", "other_node"]  # fixtures


def _keys(backend: S3Backend, prefix: str) -> list[str]:
    return sorted(o.key for o in backend.list(prefix))


def test_blurred_preview_and_public_copies_are_made_into_the_bucket(
    client: TestClient,
    add_clip: Callable[..., str],
    tmp_path: Path,
    make_user: Callable[..., object],
    on_s3: S3Backend,
    other_node: Callable[[], Path],
) -> None:
    headers = make_user("reviewer").headers  # type: ignore[attr-defined]
    code, media_id, sha = _with_face(add_clip, tmp_path, flagged=True)
    store = get_store()  # node A's disk: put what it has into the bucket
    original = store.original_path(sha).read_bytes()
    on_s3.put_original(iter([original]), limit=len(original))
    with session_scope() as s:
        gen = s.scalar(select(Media.derivative_generation).where(Media.id == media_id))
    assert gen is not None
    for name in ("kf_0000.jpg", "poster.jpg"):
        data = (store.generation_dir(sha, gen) / name).read_bytes()
        on_s3.put_derivative(derivative_key(sha, gen, name), data)

    set_status(code, "in_review")
    other_node()  # the worker makes the team's preview
    _run(media_id, sha)
    preview = _keys(on_s3, f"derivatives/{sha}/preview/")
    assert preview == [
        f"derivatives/{sha}/preview/images/{gen}/kf_0000.jpg",
        f"derivatives/{sha}/preview/images/{gen}/poster.jpg",
        f"derivatives/{sha}/preview/playback.mp4",
    ]
    other_node()  # a web node
    url = f"/api/v1/clips/{code}/public-preview"
    video = client.get(f"{url}/playback.mp4", headers=headers)
    assert video.status_code == 200 and video.content[4:8] == b"ftyp"
    part = client.get(f"{url}/playback.mp4", headers={**headers, "Range": "bytes=0-99"})
    assert part.status_code == 206 and part.content == video.content[:100]
    kf = client.get(f"{url}/keyframes/0.jpg", headers=headers)
    assert kf.status_code == 200 and _faces_in(kf.content) == []
    assert client.get(f"/clips/{code}/playback.mp4").status_code == 404  # not public

    set_status(code, "published")
    other_node()  # the worker makes the public blurred copies
    _run(media_id, sha)
    assert _keys(on_s3, f"derivatives/{sha}/preview/") == []  # the public copy is the preview
    assert on_s3.stat(playback_key(sha)) is None  # never a plain public copy
    blurred = b"".join(on_s3.read(public_key(sha, "playback.blurred.mp4")))
    assert _keys(on_s3, f"public/{sha}/blurred/") == [
        f"public/{sha}/blurred/{gen}/kf_0000.jpg",
        f"public/{sha}/blurred/{gen}/poster.jpg",
    ]
    node = other_node()  # another web node
    served = client.get(f"/clips/{code}/playback.mp4")
    assert served.status_code == 200 and served.content == blurred
    public_kf = client.get(f"/clips/{code}/keyframes/0.jpg")
    assert public_kf.status_code == 200 and _faces_in(public_kf.content) == []
    team = client.get(f"/api/v1/clips/{code}/keyframes/0/image", headers=headers)
    assert team.status_code == 200 and len(_faces_in(team.content)) == 1  # untouched
    assert list(node.iterdir()) == []  # served from the bucket: nothing on this node's disk
