"""The S3 backend (AWS S3, MinIO, Garage, Ceph RGW, ...) on boto3's low-level client.

An original streams in as a multipart upload to a staging key (``staging/<host>-<pid>-
<id>``), in parts of ``ARCHIVE_S3_PART_SIZE``; at most one part is buffered (plus the one
being sent), whatever the file's size, and its SHA-256 is taken on the way. Only then is
its key known: the staging object is copied server-side to ``originals/<sha256>`` with
``If-None-Match: *`` (CopyObject, or UploadPartCopy + CompleteMultipartUpload above
5 GiB or with Object Lock), so an object already there is never overwritten; a 412 means
the same bytes are stored already, and they are reused. A file smaller than one part is
sent with a single create-only PutObject to its final key (its hash is known before the
first byte goes).
The staging object is removed on success; on failure the multipart upload is aborted,
and :meth:`S3Backend.sweep_staging` removes what a dead process left behind.

When the SHA-256 is known before the bytes go (a raw upload whose client declared it with
``Repr-Digest``, a finished tus upload: ``begin_original(sha256=...)``,
:meth:`S3Backend.put_original_file`), the multipart upload is of ``originals/<sha256>``
itself (with the Object Lock arguments): its parts are not an object until it is completed,
with ``If-None-Match: *``, once the bytes matched the digest (and, for an upload, passed
validation and the duplicate check); a 412 means the same bytes are stored and they are
reused (the upload is aborted). No staging object, no copy, no delete. Any failure aborts
it; the sweep aborts old multipart uploads of any key.

With ``ARCHIVE_S3_OBJECT_LOCK`` each new original is written with Object Lock retention
(``ARCHIVE_S3_RETENTION_DAYS``); staging objects never are (they must be deletable).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import logging
import os
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)

from app.storage.backend import (
    ObjectStat,
    StorageDenied,
    StorageTooLarge,
    StorageUnavailable,
    Stored,
    check_derived_key,
    check_key,
    check_prefix,
    original_key,
)
from app.storage.fixity import MISSING, UNREADABLE, FileCheck, Throttle, check_chunks
from app.storage.owned import HOST_TAG
from app.storage.s3_upload import StagedUpload, put_file

if TYPE_CHECKING:
    from app.config import Settings

log = logging.getLogger("archive.storage")

STAGING = "staging/"
COPY_LIMIT = 5 * 1024**3  # the largest CopyObject; above it, a multipart copy
READ_BLOCK = 1024 * 1024
_UNREACHABLE = (
    EndpointConnectionError,
    ConnectTimeoutError,
    ConnectionClosedError,
    ReadTimeoutError,
)
_DENIED = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "ExpiredToken", "403"}
_EXISTS = {"PreconditionFailed", "412", "ConditionalRequestConflict"}


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class S3Backend:
    name = "s3"

    def __init__(
        self,
        client: Any,
        bucket: str,
        *,
        endpoint: str,
        part_size: int = 16 * 1024**2,
        lock_mode: str = "",
        retention_days: int = 0,
        copy_limit: int = COPY_LIMIT,
    ) -> None:
        self.client = client
        self.bucket = bucket
        self.endpoint = endpoint or "AWS S3"
        self.part_size = part_size
        self.lock_mode = lock_mode.upper()
        self.retention_days = retention_days
        self.copy_limit = copy_limit

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Backend:
        return cls(
            make_client(
                settings.s3_endpoint, settings.s3_region, settings.s3_connect_timeout_seconds
            ),
            settings.s3_bucket,
            endpoint=settings.s3_endpoint,
            part_size=settings.s3_part_size,
            lock_mode=settings.s3_object_lock,
            retention_days=settings.s3_retention_days,
        )

    # -- errors ------------------------------------------------------------------------
    @contextlib.contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Turn boto3's errors into ours, naming the store."""
        where = f"the S3 store at {self.endpoint} (bucket {self.bucket!r})"
        try:
            yield
        except _UNREACHABLE as exc:
            raise StorageUnavailable(f"{where} cannot be reached while {action}: {exc}") from exc
        except NoCredentialsError as exc:
            raise StorageDenied(
                f"no credentials for {where}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
            ) from exc
        except ClientError as exc:
            code = _code(exc)
            if code in _DENIED:
                raise StorageDenied(
                    f"{where} refused our credentials while {action} ({code}): check "
                    "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and the bucket's policy"
                ) from exc
            if code in ("NoSuchBucket", "404") and action == "checking the bucket":
                raise StorageUnavailable(f"{where}: the bucket does not exist") from exc
            raise

    def check(self) -> None:
        """Start-up check: the bucket answers to our credentials (and has Object Lock if
        retention is configured)."""
        with self._errors("checking the bucket"):
            self.client.head_bucket(Bucket=self.bucket)
        if self.lock_mode:
            with self._errors("reading the bucket's Object Lock configuration"):
                try:
                    conf = self.client.get_object_lock_configuration(Bucket=self.bucket)
                except ClientError as exc:
                    if _code(exc) != "ObjectLockConfigurationNotFoundError":
                        raise
                    conf = {}
            enabled = conf.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled")
            if enabled != "Enabled":
                raise StorageDenied(
                    f"ARCHIVE_S3_OBJECT_LOCK is set but the bucket {self.bucket!r} at "
                    f"{self.endpoint} has no Object Lock (create it with Object Lock enabled)"
                )

    # -- originals ---------------------------------------------------------------------
    def _lock_args(self) -> dict[str, Any]:
        if not self.lock_mode:
            return {}
        until = datetime.now(UTC) + timedelta(days=self.retention_days)
        return {"ObjectLockMode": self.lock_mode, "ObjectLockRetainUntilDate": until}

    def put_original(self, chunks: Iterable[bytes], *, limit: int) -> Stored:
        staging = f"{STAGING}{HOST_TAG}-{os.getpid()}-{uuid.uuid4().hex}"
        upload = _Multipart(self, staging)
        h = hashlib.sha256()
        size = 0
        buf = bytearray()
        try:
            for chunk in chunks:
                if size + len(chunk) > limit:
                    raise StorageTooLarge(f"the upload is larger than the limit of {limit} bytes")
                h.update(chunk)
                size += len(chunk)
                buf += chunk
                while len(buf) >= self.part_size:
                    upload.part(bytes(memoryview(buf)[: self.part_size]))
                    del buf[: self.part_size]
            sha = h.hexdigest()
            if upload.id is None:  # smaller than one part: one create-only PUT, no staging
                return self._put_small(sha, bytes(buf))
            if buf:
                upload.part(bytes(buf))
            buf = bytearray()
            upload.complete()
        except BaseException:
            upload.abort()
            raise
        try:
            return self._promote(staging, sha, size)
        finally:
            with contextlib.suppress(ClientError, BotoCoreError):  # else the sweep removes it
                self.client.delete_object(Bucket=self.bucket, Key=staging)

    def begin_original(self, limit: int, *, sha256: str | None = None) -> StagedUpload:
        """An original streamed into the bucket while it arrives (app/storage/s3_upload.py):
        to a staging key, or, with the SHA-256 the client declared, straight to
        ``originals/<sha256>`` as a multipart upload completed (create-only) only by
        ``finish`` once the bytes are checked: no server-side copy."""
        if sha256 is not None:
            key = original_key(sha256)
            upload = _Multipart(self, key, lock=self._lock_args())
            return StagedUpload(self, key, upload, limit=limit, sha256=sha256)
        staging = f"{STAGING}{HOST_TAG}-{os.getpid()}-{uuid.uuid4().hex}"
        return StagedUpload(self, staging, _Multipart(self, staging), limit=limit)

    def put_original_file(self, path: Path, sha256: str, size: int) -> Stored:
        """A complete local file (a finished tus upload) into ``originals/<sha256>``: its
        SHA-256 is known, so the parts go straight to that key (no staging object, no
        copy), its SHA-256 re-taken on the way (ValueError when it differs: the upload is
        aborted, nothing is stored). Bytes already there are reused without sending."""
        original_key(sha256)
        if self.stat(original_key(sha256)) is not None:
            return self._reused(sha256, size)
        return put_file(self, self.begin_original(size, sha256=sha256), path, sha256, size)

    def _complete_original(self, upload: _Multipart, sha: str, size: int) -> Stored:
        """Complete a multipart upload of ``originals/<sha>`` create-only: an object already
        there (412, or 409 for a concurrent completion) means the same bytes are stored,
        and they are reused (the upload is aborted)."""
        try:
            upload.complete(if_none_match=True)
        except ClientError as exc:
            if _code(exc) not in _EXISTS:
                raise
            upload.abort()
            return self._reused(sha, size)
        self._ensure_retention(original_key(sha))
        return Stored(sha, size, True)

    def _put_small(self, sha: str, data: bytes) -> Stored:
        key = original_key(sha)
        checksum = base64.b64encode(hashlib.sha256(data).digest()).decode()
        with self._errors("storing an original"):
            try:
                self.client.put_object(
                    Bucket=self.bucket,
                    Key=key,
                    Body=data,
                    IfNoneMatch="*",
                    ChecksumAlgorithm="SHA256",
                    ChecksumSHA256=checksum,  # a real S3 checks the bytes it received
                    **self._lock_args(),
                )
            except ClientError as exc:
                if _code(exc) not in _EXISTS:
                    raise
                return self._reused(sha, len(data))
        self._ensure_retention(key)
        return Stored(sha, len(data), True)

    def _promote(self, staging: str, sha: str, size: int) -> Stored:
        key = original_key(sha)
        if self.stat(key) is not None:
            return self._reused(sha, size)
        with self._errors("copying an original into place"):
            try:
                # with Object Lock, the retention goes on at creation, and CopyObject
                # with lock headers is refused by some servers (moto wants Content-MD5)
                if size <= self.copy_limit and not self.lock_mode:
                    self.client.copy_object(
                        Bucket=self.bucket,
                        Key=key,
                        CopySource={"Bucket": self.bucket, "Key": staging},
                        IfNoneMatch="*",
                        MetadataDirective="REPLACE",
                    )
                else:
                    self._copy_parts(staging, key, size)
            except ClientError as exc:
                if _code(exc) not in _EXISTS:
                    raise
                return self._reused(sha, size)
        self._ensure_retention(key)
        return Stored(sha, size, True)

    def _copy_parts(self, staging: str, key: str, size: int) -> None:
        """A server-side copy in parts (no bytes pass through us), completed create-only."""
        upload = _Multipart(self, key, lock=self._lock_args())
        try:
            part = max(self.part_size, -(-size // 10_000))  # S3 allows 10,000 parts
            for start in range(0, size, part):
                end = min(size, start + part) - 1
                upload.copy_part(staging, start, end)
            upload.complete(if_none_match=True)
        except BaseException:
            upload.abort()
            raise

    def _ensure_retention(self, key: str) -> None:
        """Read the retention back and set it when the server dropped it (moto does on a
        multipart completion): the lock is checked by us, not trusted."""
        if not self.lock_mode:
            return
        with self._errors("checking an original's retention"):
            head = self.client.head_object(Bucket=self.bucket, Key=key)
            if head.get("ObjectLockMode") == self.lock_mode and head.get(
                "ObjectLockRetainUntilDate"
            ):
                return
            args = self._lock_args()
            self.client.put_object_retention(
                Bucket=self.bucket,
                Key=key,
                VersionId=head.get("VersionId"),
                Retention={
                    "Mode": args["ObjectLockMode"],
                    "RetainUntilDate": args["ObjectLockRetainUntilDate"],
                },
            )

    def _reused(self, sha: str, size: int) -> Stored:
        found = self.stat(original_key(sha))
        if found is not None and found.size != size:
            raise RuntimeError(f"the stored original {sha} has {found.size} bytes, not {size}")
        return Stored(sha, size, False)

    # -- everything else -----------------------------------------------------------------
    def put_derivative(self, key: str, data: bytes) -> None:
        with self._errors("storing a derivative"):
            self.client.put_object(Bucket=self.bucket, Key=check_derived_key(key), Body=data)

    def read(self, key: str, start: int = 0, length: int | None = None) -> Iterator[bytes]:
        args: dict[str, Any] = {"Bucket": self.bucket, "Key": check_key(key)}
        if start or length is not None:
            end = "" if length is None else str(start + length - 1)
            if length == 0:
                return iter(())
            args["Range"] = f"bytes={start}-{end}"
        with self._errors("reading an object"):
            try:
                body = self.client.get_object(**args)["Body"]
            except ClientError as exc:
                if _code(exc) in ("NoSuchKey", "404"):
                    raise FileNotFoundError(key) from exc
                if _code(exc) == "InvalidRange":  # start at or past the end
                    return iter(())
                raise
        return self._stream(body)

    def _stream(self, body: Any) -> Iterator[bytes]:
        """The body's chunks; a broken read raises OSError (naming the store)."""
        with contextlib.closing(body):
            try:
                yield from body.iter_chunks(READ_BLOCK)
            except (BotoCoreError, OSError) as exc:
                raise OSError(f"the read from {self.endpoint} broke off: {exc}") from exc

    def delete_derivative(self, key: str) -> None:
        with self._errors("deleting a derivative"):
            self.client.delete_object(Bucket=self.bucket, Key=check_derived_key(key))

    def list(self, prefix: str) -> Iterator[ObjectStat]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix
        )
        with self._errors("listing objects"):
            for page in pages:
                for o in page.get("Contents", []):
                    if o["Key"].startswith(STAGING) and not prefix.startswith(STAGING):
                        continue
                    yield ObjectStat(o["Key"], int(o["Size"]), o["LastModified"].timestamp())

    def stat(self, key: str) -> ObjectStat | None:
        with self._errors("looking up an object"):
            try:
                head = self.client.head_object(Bucket=self.bucket, Key=key)
            except ClientError as exc:
                if _code(exc) in ("404", "NoSuchKey", "NotFound"):
                    return None
                raise
        return ObjectStat(key, int(head["ContentLength"]), head["LastModified"].timestamp())

    def check_original(
        self, sha256: str, size: int, throttle: Throttle | None = None, *, sha512: bool = False
    ) -> FileCheck:
        try:
            chunks = self.read(original_key(sha256))
        except FileNotFoundError:
            return FileCheck(MISSING, "the object is missing", 0)
        except (StorageUnavailable, StorageDenied) as exc:
            return FileCheck(UNREADABLE, exc.message, 0)
        return check_chunks(chunks, sha256, size, throttle, sha512=sha512)

    def sweep_staging(self, older_than: float) -> int:
        """Abort multipart uploads and remove staging objects older than ``older_than``
        seconds (a live upload sends a part at least every few seconds)."""
        cutoff = datetime.now(UTC) - timedelta(seconds=older_than)
        removed = 0
        with self._errors("sweeping staging objects"):
            pages = self.client.get_paginator("list_multipart_uploads").paginate(Bucket=self.bucket)
            for page in pages:
                for u in page.get("Uploads", []):
                    if u["Initiated"] <= cutoff:
                        self.client.abort_multipart_upload(
                            Bucket=self.bucket, Key=u["Key"], UploadId=u["UploadId"]
                        )
                        removed += 1
            for o in self.list(STAGING):
                if o.modified <= cutoff.timestamp():
                    self.client.delete_object(Bucket=self.bucket, Key=o.key)
                    removed += 1
        return removed

    def put_derivative_file(self, key: str, path: Path) -> None:
        """A file as a derivative object: one PutObject up to a part's size, else a
        multipart upload reading one part at a time (never the whole file in memory)."""
        key = check_derived_key(key)
        size = path.stat().st_size
        if size <= self.part_size:
            with open(path, "rb") as fh, self._errors("storing a derivative"):
                self.client.put_object(Bucket=self.bucket, Key=key, Body=fh)
            return
        upload = _Multipart(self, key)
        try:
            with open(path, "rb") as fh:
                while block := fh.read(self.part_size):
                    upload.part(block)
            upload.complete()
        except BaseException:
            upload.abort()
            raise

    def delete_prefix(self, prefix: str) -> int:
        check_prefix(prefix)  # derivatives/... or public/..., a folder: never originals
        keys = [o.key for o in self.list(prefix)]
        with self._errors("deleting derivatives"):
            for i in range(0, len(keys), 1000):  # DeleteObjects takes up to 1,000 keys
                batch = [{"Key": k} for k in keys[i : i + 1000]]
                r = self.client.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True}
                )
                if r.get("Errors"):
                    e = r["Errors"][0]
                    raise OSError(
                        f"{self.endpoint} did not delete {len(r['Errors'])} object(s) under "
                        f"{prefix}, e.g. {e.get('Key')}: {e.get('Code')} {e.get('Message')}"
                    )
        return len(keys)


class _Multipart:
    """One multipart upload, started with its first part."""

    def __init__(self, backend: S3Backend, key: str, lock: dict[str, Any] | None = None) -> None:
        self.b = backend
        self.key = key
        self.lock = lock or {}
        self.id: str | None = None
        self.parts: list[dict[str, Any]] = []

    def _start(self) -> str:
        if self.id is None:
            with self.b._errors("starting an upload"):
                self.id = self.b.client.create_multipart_upload(
                    Bucket=self.b.bucket, Key=self.key, **self.lock
                )["UploadId"]
        assert self.id is not None
        return self.id

    def part(self, data: bytes | bytearray) -> None:
        upload_id = self._start()
        n = len(self.parts) + 1
        with self.b._errors("sending a part"):
            r = self.b.client.upload_part(
                Bucket=self.b.bucket, Key=self.key, UploadId=upload_id, PartNumber=n, Body=data
            )
        self.parts.append({"PartNumber": n, "ETag": r["ETag"]})

    def copy_part(self, source: str, start: int, end: int) -> None:
        upload_id = self._start()
        n = len(self.parts) + 1
        r = self.b.client.upload_part_copy(
            Bucket=self.b.bucket,
            Key=self.key,
            UploadId=upload_id,
            PartNumber=n,
            CopySource={"Bucket": self.b.bucket, "Key": source},
            CopySourceRange=f"bytes={start}-{end}",
        )
        self.parts.append({"PartNumber": n, "ETag": r["CopyPartResult"]["ETag"]})

    def complete(self, *, if_none_match: bool = False) -> None:
        extra = {"IfNoneMatch": "*"} if if_none_match else {}
        with self.b._errors("completing an upload"):
            self.b.client.complete_multipart_upload(
                Bucket=self.b.bucket,
                Key=self.key,
                UploadId=self._start(),
                MultipartUpload={"Parts": self.parts},
                **extra,
            )
        self.id = None  # done: nothing to abort

    def abort(self) -> None:
        if self.id is None:
            return
        try:
            self.b.client.abort_multipart_upload(
                Bucket=self.b.bucket, Key=self.key, UploadId=self.id
            )
        except (ClientError, BotoCoreError):
            log.warning(
                "could not abort the upload of %s (the sweep will)", self.key, exc_info=True
            )
        self.id = None


def make_client(endpoint: str, region: str, connect_timeout: float = 5.0) -> Any:
    config = Config(
        connect_timeout=connect_timeout,
        read_timeout=60,
        retries={"max_attempts": 3, "mode": "standard"},
        s3={"addressing_style": "path"},
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    return boto3.session.Session().client(
        "s3", endpoint_url=endpoint or None, region_name=region, config=config
    )
