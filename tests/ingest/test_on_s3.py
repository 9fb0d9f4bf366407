"""The archive with ARCHIVE_STORAGE=s3 against a real S3 server (moto_server): the fixity
cycle and the sweeper. The originals are uploaded through the API (today's ingest still
writes to local disk), then put into the bucket, and the archive is switched to S3."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.config import get_settings
from app.custody.models import CustodyEvent
from app.db import session_scope
from app.ingest import fixity
from app.storage.backend import original_key
from app.storage.s3 import S3Backend, make_client
from tests.ingest.conftest import upload
from tests.storage.conftest import MotoServer, moto, new_bucket

__all__ = ["moto"]  # the session's S3 server (a fixture)


def test_fixity_on_s3_reports_ok_changed_and_missing(
    client: Any,
    contributor: Any,
    new_clip: Any,
    phone_clip: Path,
    other_clip: Path,
    moto: MotoServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    s3 = make_client(moto.url, "us-east-1")
    bucket = new_bucket(s3)
    backend = S3Backend(s3, bucket, endpoint=moto.url)
    codes: list[tuple[str, str]] = []
    for f in (phone_clip, other_clip, phone_clip.with_name("third.mp4")):
        if not f.exists():
            f.write_bytes(other_clip.read_bytes() + b"\0" * 17)  # other bytes, same video
        code = new_clip()
        r = upload(client, contributor, code, f.read_bytes())
        assert r.status_code == 201, r.text
        stored = backend.put_original(iter([f.read_bytes()]), limit=f.stat().st_size)
        assert stored.sha256 == r.json()["sha256"]
        codes.append((code, stored.sha256))
    (ok, _), (changed, sha_c), (missing, sha_m) = codes
    data = b"".join(backend.read(original_key(sha_c)))
    flipped = data[:200] + bytes([data[200] ^ 1]) + data[201:]  # same size, one bit
    s3.put_object(Bucket=bucket, Key=original_key(sha_c), Body=flipped)  # behind our back
    s3.delete_object(Bucket=bucket, Key=original_key(sha_m))

    monkeypatch.setenv("ARCHIVE_STORAGE", "s3")
    monkeypatch.setenv("ARCHIVE_S3_ENDPOINT", moto.url)
    monkeypatch.setenv("ARCHIVE_S3_BUCKET", bucket)
    monkeypatch.setenv("ARCHIVE_FIXITY_CYCLE_DAYS", "1e-6")  # all three are overdue
    monkeypatch.setenv("ARCHIVE_MEDIA_ROOT", str(tmp_path / "empty"))  # no local copy read
    get_settings.cache_clear()
    try:
        time.sleep(0.2)
        report = fixity.scheduled(900, 30)
    finally:
        get_settings.cache_clear()
    assert report is not None and report.files == 3
    found = {c.target.code: c.result.status for c in report.checked}
    assert found == {ok: "ok", changed: "changed", missing: "missing"}
    with session_scope() as s:
        events = s.scalars(select(CustodyEvent).where(CustodyEvent.action == "fixity.failed"))
        failed = {e.clip_code: e.payload["finding"] for e in events}
    assert failed == {changed: "changed", missing: "missing"}


def test_the_sweeper_cleans_the_object_store_too(
    db_url: str, moto: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The temp-file sweeper also aborts dead multipart uploads and removes stale staging
    objects when ARCHIVE_STORAGE=s3 (moto dates every multipart upload in 2010, so that one
    is stale; the staging object written now is not, and stays)."""
    from app.ingest.tasks import sweep_temp_files

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    s3 = make_client(moto.url, "us-east-1")
    bucket = new_bucket(s3)
    s3.create_multipart_upload(Bucket=bucket, Key="staging/deadhost-1-" + "a" * 32)
    s3.put_object(Bucket=bucket, Key="staging/livehost-1-" + "b" * 32, Body=b"in flight")
    monkeypatch.setenv("ARCHIVE_STORAGE", "s3")
    monkeypatch.setenv("ARCHIVE_S3_ENDPOINT", moto.url)
    monkeypatch.setenv("ARCHIVE_S3_BUCKET", bucket)
    get_settings.cache_clear()
    try:
        assert sweep_temp_files() == 1
    finally:
        get_settings.cache_clear()
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert keys == ["staging/livehost-1-" + "b" * 32]
