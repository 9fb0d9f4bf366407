"""Evidence bags on both backends (on S3 after `archive storage migrate`, from an empty
MEDIA_ROOT: the original and derivatives stream from the bucket): the bag validates with
`bagit`, with the stored SHA-512 or hashed on the way; an original whose last fixity
check failed is refused (409); a missing original is a 404 and nothing is logged."""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path
from typing import Any

import bagit
from sqlalchemy import select, update
from typer.testing import CliRunner

from app.cli import app as cli
from app.custody.models import CustodyEvent
from app.db import session_scope
from app.ingest.models import Media
from app.storage.backend import original_key
from app.storage.configured import get_backend
from tests.storage.migrated import *  # noqa: F403  (fixtures)
from tests.storage.migrated import Archive


def _bag(client: Any, who: Any, code: str, into: Path) -> Path:
    r = client.get(f"/api/v1/clips/{code}/evidence.tar", headers=who.headers)
    assert r.status_code == 200, r.text
    with tarfile.open(fileobj=io.BytesIO(r.content)) as tar:
        tar.extractall(into, filter="data")
    return into / code


def _exports() -> int:
    with session_scope() as s:
        return len(
            list(s.scalars(select(CustodyEvent).where(CustodyEvent.action == "evidence.exported")))
        )


def test_the_bag_validates_with_the_stored_sha512_and_without_it(
    stored_archive: Archive, client: Any, contributor: Any, tmp_path: Path
) -> None:
    a = stored_archive
    code, data = a.codes[0], a.files[0].read_bytes()
    with session_scope() as s:
        sha512 = s.scalar(select(Media.sha512).where(Media.sha256 == a.shas[0]))
    assert sha512 == hashlib.sha512(data).hexdigest()  # taken by the first fixity read
    root = _bag(client, contributor, code, tmp_path / "one")
    bag = bagit.Bag(str(root))
    bag.validate()  # full: every byte re-hashed by the bagit tool
    assert (root / "data" / "original" / f"{code}.mp4").read_bytes() == data
    derived = {p.name for p in (root / "data" / "derivatives").iterdir()}
    assert {"poster.jpg", "contact.jpg", "kf_0000.jpg", "thumb_0000.jpg"} <= derived
    assert f"{sha512}  data/original/{code}.mp4" in (root / "manifest-sha512.txt").read_text()

    with session_scope() as s:  # an original stored before the SHA-512 was taken
        s.execute(update(Media).where(Media.sha256 == a.shas[0]).values(sha512=None))
    root = _bag(client, contributor, code, tmp_path / "two")
    bagit.Bag(str(root)).validate()  # hashed on the way out instead
    assert f"{sha512}  data/original/{code}.mp4" in (root / "manifest-sha512.txt").read_text()

    out = tmp_path / "cli.tar"
    result = CliRunner().invoke(cli, ["export", "bag", *a.codes, "--out", str(out)])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(cli, ["verify-bag", str(out)])
    assert result.exit_code == 0 and "ok: 2 bag(s) verified" in result.output


def test_an_original_that_failed_fixity_is_refused(
    stored_archive: Archive, client: Any, contributor: Any
) -> None:
    a = stored_archive
    key = original_key(a.shas[0])
    data = a.files[0].read_bytes()
    flipped = data[:100] + bytes([data[100] ^ 1]) + data[101:]  # same size, one bit
    backend = get_backend()
    if backend.name == "s3":
        a.client.put_object(Bucket=a.bucket, Key=key, Body=flipped)  # behind our back
    else:
        path = backend.path(key)  # type: ignore[attr-defined]
        path.chmod(0o644)
        path.write_bytes(flipped)
    assert CliRunner().invoke(cli, ["fixity", a.codes[0]]).exit_code == 1
    r = client.get(f"/api/v1/clips/{a.codes[0]}/evidence.tar", headers=contributor.headers)
    assert r.status_code == 409, r.text
    assert r.json()["error"] == "original_not_intact" and r.json()["fixity_status"] == "changed"
    assert _exports() == 0


def test_a_missing_original_is_a_404_and_no_export_is_logged(
    stored_archive: Archive, client: Any, contributor: Any
) -> None:
    a = stored_archive
    key = original_key(a.shas[1])
    backend = get_backend()
    if backend.name == "s3":
        a.client.delete_object(Bucket=a.bucket, Key=key)
    else:
        path = backend.path(key)  # type: ignore[attr-defined]
        path.chmod(0o644)
        path.unlink()
    r = client.get(f"/api/v1/clips/{a.codes[1]}/evidence.tar", headers=contributor.headers)
    assert r.status_code == 404, r.text
    assert "missing from the store" in r.json()["detail"]
    assert _exports() == 0
