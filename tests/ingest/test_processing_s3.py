"""Processing with ARCHIVE_STORAGE=s3 on nodes that share no disk (a real S3 server,
moto_server; each "node" is this process with a new empty MEDIA_ROOT, tests/s3.py
``other_node``): the upload streams into the bucket on node A, the worker gets the original
from the bucket into its cache (checked), puts every derivative into the bucket, and any
other node serves them."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.clips.models import Clip
from app.db import session_scope
from app.ingest.models import Keyframe, Media
from app.jobs import service as jobs
from app.jobs.models import ProcessingJob
from app.public.jobs import queue_playback
from app.storage import working
from app.storage.backend import derivative_key, original_key, playback_key
from app.storage.s3 import S3Backend
from tests.ingest.conftest import upload
from tests.ingest.test_pipeline import run_all
from tests.s3 import moto, on_s3, other_node, storage

__all__ = ["moto", "on_s3", "other_node", "storage"]  # fixtures

Node = Callable[[], Path]


def _files(root: Path, area: str) -> list[str]:
    base = root / area
    return sorted(str(p.relative_to(base)) for p in base.rglob("*") if p.is_file())


def _keys(backend: S3Backend, prefix: str) -> list[str]:
    return sorted(o.key for o in backend.list(prefix))


def _uploaded(client: Any, who: Any, new_clip: Any, clip: Path, backend: S3Backend) -> str:
    """Upload on node A, which streams the original into the bucket; returns the code."""
    code = new_clip()
    data = clip.read_bytes()
    r = upload(client, who, code, data)
    assert r.status_code == 201, r.text
    found = backend.stat(original_key(r.json()["sha256"]))
    assert found is not None and found.size == len(data)
    return code


def _steps() -> dict[str, tuple[str, int, str | None]]:
    with session_scope() as s:
        return {
            j.step: (j.state, j.attempts, j.last_error) for j in s.scalars(select(ProcessingJob))
        }


def test_three_nodes_upload_process_and_serve_from_the_bucket(
    client: Any,
    contributor: Any,
    new_clip: Any,
    phone_clip: Path,
    on_s3: S3Backend,
    other_node: Node,
) -> None:
    code = _uploaded(client, contributor, new_clip, phone_clip, on_s3)
    with session_scope() as s:
        media = s.scalars(select(Media)).one()
        sha = media.sha256

    node_b = other_node()  # the worker: no original on its disk
    assert run_all() == 4
    assert {k: v[0] for k, v in _steps().items()} == dict.fromkeys(
        ("probe", "keyframes", "hashes", "match"), "done"
    )
    cached = node_b / "cache" / "originals" / sha[:2] / sha[2:4] / sha
    assert hashlib.sha256(cached.read_bytes()).hexdigest() == sha  # the worker's copy
    assert _files(node_b, "derivatives") == []  # the scratch generation went to the bucket
    with session_scope() as s:
        media = s.scalars(select(Media)).one()
        gen = media.derivative_generation
        assert gen is not None and media.fixity_checked_at is not None and media.sha512
        positions = sorted(s.scalars(select(Keyframe.position)))
    stored = _keys(on_s3, f"derivatives/{sha}/")
    names = {k.rsplit("/", 1)[1] for k in stored}
    assert {"poster.jpg", "contact.jpg", "pdq_dct.npz", "kf_0000.jpg", "thumb_0000.jpg"} <= names
    assert all(k.startswith(f"derivatives/{sha}/{gen}/") for k in stored)
    assert len(positions) >= 2

    node_c = other_node()  # a web node: serves the team's images from the bucket
    base = f"/api/v1/clips/{code}"
    for url, name in (
        (f"{base}/keyframes/{positions[-1]}/image", f"kf_{positions[-1]:04d}.jpg"),
        (f"{base}/keyframes/0/thumbnail", "thumb_0000.jpg"),
        (f"{base}/poster", "poster.jpg"),
        (f"{base}/contact-sheet", "contact.jpg"),
    ):
        r = client.get(url, headers=contributor.headers)
        assert r.status_code == 200, (url, r.text)
        assert r.headers["content-type"] == "image/jpeg"
        assert r.content == b"".join(on_s3.read(derivative_key(sha, gen, name)))

    with session_scope() as s:  # publish: the playback copy is made, on node D
        clip = s.scalar(select(Clip).where(Clip.code == code))
        assert clip is not None
        clip.status = "published"
        queue_playback(s, clip.id)
    node_d = other_node()
    assert run_all() == 1
    assert _steps()["playback"][0] == "done"
    assert _files(node_d, "public") == []
    copy = b"".join(on_s3.read(playback_key(sha)))
    assert copy[4:8] == b"ftyp"

    node_e = other_node()  # another web node: the public routes, from the bucket
    full = client.get(f"/clips/{code}/playback.mp4")
    assert full.status_code == 200 and full.content == copy
    part = client.get(f"/clips/{code}/playback.mp4", headers={"Range": "bytes=10-109"})
    assert part.status_code == 206 and part.content == copy[10:110]
    assert part.headers["content-range"] == f"bytes 10-109/{len(copy)}"
    kf = client.get(f"/clips/{code}/keyframes/0.jpg")
    assert kf.status_code == 200
    assert kf.content == b"".join(on_s3.read(derivative_key(sha, gen, "kf_0000.jpg")))
    for node in (node_c, node_e):
        assert not (node / "derivatives").exists() or _files(node, "derivatives") == []
        assert not (node / "cache").exists()  # serving reads no working copies


def test_rerunning_keyframes_on_s3_removes_the_old_generation(
    client: Any,
    contributor: Any,
    new_clip: Any,
    phone_clip: Path,
    on_s3: S3Backend,
    other_node: Node,
) -> None:
    _uploaded(client, contributor, new_clip, phone_clip, on_s3)
    other_node()
    run_all()
    with session_scope() as s:
        media = s.scalars(select(Media)).one()
        sha, old = media.sha256, media.derivative_generation
        jobs.enqueue(s, clip_id=media.clip_id, media_id=media.id, sha256=sha, step="keyframes")
    assert _keys(on_s3, f"derivatives/{sha}/{old}/")
    other_node()  # the re-run on yet another node
    run_all()
    with session_scope() as s:
        new = s.scalars(select(Media)).one().derivative_generation
        kept = set(s.scalars(select(Keyframe.generation)))
    assert new != old and kept == {new}
    assert _keys(on_s3, f"derivatives/{sha}/{old}/") == []  # the old objects are gone
    stored = _keys(on_s3, f"derivatives/{sha}/")
    assert stored and all(k.startswith(f"derivatives/{sha}/{new}/") for k in stored)
    assert any(k.endswith("/pdq_dct.npz") for k in stored)  # the hashes step ran again


def test_a_corrupted_original_in_the_bucket_is_refused_and_not_cached(
    client: Any,
    contributor: Any,
    new_clip: Any,
    phone_clip: Path,
    on_s3: S3Backend,
    other_node: Node,
) -> None:
    _uploaded(client, contributor, new_clip, phone_clip, on_s3)
    with session_scope() as s:
        sha = s.scalars(select(Media)).one().sha256
    data = phone_clip.read_bytes()
    flipped = data[:300] + bytes([data[300] ^ 1]) + data[301:]  # same size, one bit
    on_s3.client.put_object(Bucket=on_s3.bucket, Key=original_key(sha), Body=flipped)
    node = other_node()
    run_all()
    state, attempts, error = _steps()["probe"]
    assert (state, attempts) == ("failed", 1)  # permanent: retrying reads the same bytes
    assert error is not None and "does not match its SHA-256" in error and sha in error
    left = [f for f in _files(node, "cache") if not Path(f).name.startswith(".lock-")]
    assert left == []  # nothing cached, no temp left
    assert "keyframes" not in _steps()
    assert _keys(on_s3, f"derivatives/{sha}/") == []


def test_the_cache_stays_under_its_limit_and_keeps_copies_in_use(
    on_s3: S3Backend, other_node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    blobs = [os.urandom(40_000 + i) for i in range(4)]
    shas = [on_s3.put_original(iter([b]), limit=len(b)).sha256 for b in blobs]
    monkeypatch.setenv("ARCHIVE_S3_CACHE_BYTES", "100000")  # room for two
    node = other_node()
    for sha, blob in zip(shas[:3], blobs[:3], strict=True):
        with working.original(sha, len(blob)) as path:
            assert path.read_bytes() == blob
        assert working.cache_size() <= 100_000
    cached = {p.name for p in (node / "cache" / "originals").rglob("*") if p.name in shas}
    assert cached == {shas[1], shas[2]}  # the least recently used went first
    with working.original(shas[1]) as first:  # a hit: now the most recent
        assert first.read_bytes() == blobs[1]
        with working.original(shas[3]) as second:  # in use: shas[1] and shas[3] stay
            assert second.read_bytes() == blobs[3]
            assert first.exists()
    cached = {p.name for p in (node / "cache" / "originals").rglob("*") if p.name in shas}
    assert cached == {shas[1], shas[3]}
    assert working.cache_size() <= 100_000


def test_concurrent_downloads_of_one_original_share_one_copy(
    on_s3: S3Backend, other_node: Node
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    blob = os.urandom(300_000)
    sha = on_s3.put_original(iter([blob]), limit=len(blob)).sha256
    node = other_node()

    def read() -> bytes:
        with working.original(sha, len(blob)) as path:
            return path.read_bytes()

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: read(), range(8)))
    assert all(r == blob for r in results)
    folder = node / "cache" / "originals" / sha[:2] / sha[2:4]
    assert sorted(p.name for p in folder.iterdir()) == sorted([sha, f".lock-{sha}"])


def test_local_backend_uses_the_store_in_place(
    client: Any, contributor: Any, new_clip: Any, phone_clip: Path, storage: str
) -> None:
    """On both backends the pipeline ends with the same derivatives under the same keys;
    on local disk no cache is made and nothing is copied."""
    from app.config import get_settings
    from app.storage.configured import get_backend

    code = new_clip()
    data = phone_clip.read_bytes()
    r = upload(client, contributor, code, data)
    assert r.status_code == 201
    sha = r.json()["sha256"]
    backend = get_backend()
    run_all()
    with session_scope() as s:
        gen = s.scalars(select(Media)).one().derivative_generation
    assert gen is not None
    for name in ("poster.jpg", "contact.jpg", "pdq_dct.npz", "kf_0000.jpg"):
        assert backend.stat(derivative_key(sha, gen, name)) is not None, name
    root = Path(get_settings().media_root)
    assert (root / "cache").exists() == (storage == "s3")
    poster = client.get(f"/api/v1/clips/{code}/poster", headers=contributor.headers)
    assert poster.status_code == 200
