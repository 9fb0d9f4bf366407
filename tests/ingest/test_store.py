"""The write-once store: promote, fixity, generations, and a client that disconnects."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path
from typing import Any

import anyio
import pytest
from sqlalchemy import func, select, update

from app.clips.models import Clip
from app.config import get_settings
from app.db import session_scope
from app.ingest.models import Media
from app.storage import Busy, MediaStore, TooLarge
from tests.ingest.conftest import store_files


def test_promote_is_write_once_and_content_addressed(tmp_path: Path) -> None:
    store = MediaStore(tmp_path)
    temp = store.open_temp(limit=1000)
    temp.write(b"evidence")
    written = temp.finish()
    assert written.sha256 == hashlib.sha256(b"evidence").hexdigest() and written.size == 8
    promoted = store.promote(written)
    path = promoted.path
    assert promoted.created and path.read_bytes() == b"evidence" and not written.path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
    sha = written.sha256
    assert path == tmp_path / "originals" / sha[:2] / sha[2:4] / sha
    # until the row's transaction ends, an intent (the same inode, locked) stays in tmp/
    assert promoted.intent is not None and promoted.intent.samefile(path)
    assert store.dead_temp(3600) == []
    again = store.open_temp(limit=1000)
    again.write(b"evidence")
    w2 = again.finish()
    with pytest.raises(Busy):  # the same bytes, while the first row is not committed
        store.promote(w2)
    assert w2.path.exists() and not store.dead_temp(3600)  # the file is back, still ours
    assert written.release is not None
    written.release()  # what ingest does right after the promotion
    promoted.end(committed=True)
    second = store.promote(w2)  # now they are simply a duplicate of a stored original
    assert second.path == path and not second.created and not w2.path.exists()
    assert second.intent is None
    second.end(committed=True)
    assert w2.release is not None
    w2.release()
    assert list(store.tmp.iterdir()) == []
    assert store.fixity(written.sha256).ok


def test_fixity_detects_changed_and_missing_bytes(tmp_path: Path) -> None:
    store = MediaStore(tmp_path)
    temp = store.open_temp(limit=1000)
    temp.write(b"original bytes")
    w = temp.finish()
    path = store.promote(w).path
    os.chmod(path, 0o644)
    path.write_bytes(b"original bytez")
    result = store.fixity(w.sha256)
    assert not result.ok and result.actual != w.sha256 and "no longer match" in result.reason
    path.unlink()
    assert not store.fixity(w.sha256).ok and "missing" in store.fixity(w.sha256).reason


def test_size_limit_removes_the_temp_file(tmp_path: Path) -> None:
    store = MediaStore(tmp_path)
    temp = store.open_temp(limit=10)
    temp.write(b"12345")
    with pytest.raises(TooLarge):
        temp.write(b"123456")
    assert list(store.tmp.iterdir()) == []


def test_paths_refuse_anything_but_a_digest(tmp_path: Path) -> None:
    store = MediaStore(tmp_path)
    for bad in ("../../etc/passwd", "a" * 63, "A" * 64):
        with pytest.raises(ValueError):
            store.original_path(bad)


def test_generations_record_their_original_and_old_ones_are_dropped(tmp_path: Path) -> None:
    store = MediaStore(tmp_path)
    sha = "ab" * 32
    g1, d1 = store.new_generation(sha)
    g2, d2 = store.new_generation(sha)
    assert '"original_sha256": "' + sha in (d1 / "original.json").read_text()
    assert store.drop_generations(sha, keep=g2) == 1
    assert not d1.exists() and d2.exists() and g1 != g2


def test_client_disconnect_mid_upload_leaves_nothing(
    client: Any, contributor: Any, new_clip: Any, phone_clip: Path
) -> None:
    code = new_clip()
    data = phone_clip.read_bytes()
    app = client.app
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": data[:5000], "more_body": True},
        {"type": "http.request", "body": data[5000:9000], "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict[str, Any]] = []
    seen_temp: list[list[str]] = []

    async def receive() -> dict[str, Any]:
        if len(messages) == 1:
            seen_temp.append(store_files(Path(get_settings().media_root))["tmp"])
            # no database lock is held while the body streams: another writer gets through
            with session_scope() as s:
                s.execute(update(Clip).where(Clip.code == code).values(title_en="mid-upload"))
        return messages.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": f"/api/v1/clips/{code}/media",
        "raw_path": b"",
        "query_string": b"filename=a.mp4",
        "root_path": "",
        "server": ("test", 80),
        "client": ("127.0.0.1", 1234),
        "headers": [
            (b"host", b"test"),
            (b"content-type", b"video/mp4"),
            (b"authorization", contributor.headers["Authorization"].encode()),
        ],
    }
    anyio.run(app, scope, receive, send)
    assert seen_temp and len(seen_temp[0]) == 1, "the upload was streaming to a temp file"
    files = store_files(Path(get_settings().media_root))
    assert files["tmp"] == [] and files["originals"] == []
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(Media)) == 0


def test_the_check_runs_on_the_complete_file_while_it_is_fsynced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """stream_raw's check (ffprobe in the app) starts after the last byte is in the file and
    before the fsync returns; its result, or its error, comes back in ``Written.checked``."""
    import threading

    from app.ingest.streaming import stream_raw
    from app.storage import TempWrite

    store = MediaStore(tmp_path)
    data = os.urandom(3 * 4096 * 256 + 1234)  # full direct-I/O blocks and an unaligned tail
    fsync_started = threading.Event()
    check_done = threading.Event()
    real_sync = TempWrite.sync

    def slow_sync(self: TempWrite) -> None:
        fsync_started.set()
        assert check_done.wait(10), "the check did not run while the file was fsynced"
        real_sync(self)

    monkeypatch.setattr(TempWrite, "sync", slow_sync)

    async def body() -> Any:
        for i in range(0, len(data), 100_000):
            yield data[i : i + 100_000]

    def check(path: Path) -> str:
        try:
            return hashlib.sha256(path.read_bytes()).hexdigest()
        finally:
            check_done.set()

    written = anyio.run(
        lambda: stream_raw(body(), store, limit=len(data), block=65536, check=check)
    )
    assert fsync_started.is_set() and written.checked is not None
    assert written.checked() == written.sha256 == hashlib.sha256(data).hexdigest()
    assert written.path.read_bytes() == data

    def refuse(path: Path) -> None:
        check_done.set()
        raise ValueError("not a video")

    check_done.clear()
    written = anyio.run(
        lambda: stream_raw(body(), store, limit=len(data), block=65536, check=refuse)
    )
    with pytest.raises(ValueError, match="not a video"):
        written.checked()  # type: ignore[misc]
