"""Stream a request body (raw or multipart) into a temp file, hashing on the way.

Chunks from the event loop are gathered into batches of ``ARCHIVE_UPLOAD_CHUNK_BYTES``
that :class:`~app.ingest.pipe.BlockPipe` hashes and writes in two worker threads while the
loop keeps receiving, so the body is never held whole in memory and never copied whole.
The size limit is checked on every chunk, before it is handed on. Multipart bodies go
through python-multipart's incremental parser: the file part is written straight to the
temp file (no second spool). On any error or disconnect the temp file is removed; a full
disk is a 507 (:mod:`app.ingest.space`).

Once the body is in, the file is fsynced; a ``check`` (the caller's ffprobe validation)
runs on the complete file at the same time, so the disk flush and the probe overlap
instead of adding up after the last byte (see :func:`_finish`).

With a ``tee`` (ARCHIVE_STORAGE=s3: ``Backend.begin_original``) the same batches also
stream to the object store as they arrive (app/storage/s3_upload.py); the temp file is
then only for the validation. Its last part is sent while the file is fsynced and probed.
The returned ``Written`` carries it (``Written.staged``); on any error it is aborted.
A raw body whose SHA-256 the client declared (``Repr-Digest``) is checked against it once
the last byte is in (a 400 ``digest_mismatch`` keeps nothing); on S3 its parts then went
straight to ``originals/<sha256>`` (``Backend.begin_original(sha256=...)``).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from python_multipart.multipart import MultipartParser, MultipartState, parse_options_header
from starlette.concurrency import run_in_threadpool

from app.ingest import space
from app.ingest.exceptions import BadUploadRequest, DigestMismatch, UploadTooLarge
from app.ingest.pipe import BlockPipe
from app.kit import faults
from app.storage import MediaStore, TempWrite, Written, out_of_space
from app.storage.backend import StagedOriginal

MAX_FIELD_BYTES = 64 * 1024


def _too_large(limit: int) -> UploadTooLarge:
    return UploadTooLarge(
        f"the upload is larger than the limit of {limit} bytes ({limit / 1024**3:.2f} GiB); "
        "nothing was stored",
        field="file",
        extra={"limit": limit},
    )


Check = Callable[[Path], Any]


async def _finish(temp: TempWrite, check: Check | None, tee: StagedOriginal | None) -> Written:
    """:func:`_finish_file` while the tee's last part goes out."""
    if tee is None:
        return await _finish_file(temp, check)
    draining = asyncio.ensure_future(run_in_threadpool(tee.drain))
    try:
        written = await _finish_file(temp, check)
    except BaseException:
        await asyncio.wait([draining])  # the caller aborts the tee once it is done
        if not draining.cancelled():
            draining.exception()  # retrieved: the file's error is the one reported
        raise
    await draining  # raises what failed while sending
    return dataclasses.replace(written, staged=tee)


async def _finish_file(temp: TempWrite, check: Check | None) -> Written:
    """fsync and close ``temp``; meanwhile run ``check`` on the complete file.

    For a 1 GiB upload the final fsync takes 0.05-1.5 s (the disk flushing what direct I/O
    handed it) and ffprobe about 0.15-0.2 s: run together, the slower one is the wait. The
    check's outcome goes into ``Written.checked`` unopened, so the caller decides what to
    report first (a duplicate before an invalid file).
    """
    if check is None:
        return await run_in_threadpool(temp.finish)
    await run_in_threadpool(temp.flush)  # every byte is in the file before the check reads it
    checking = asyncio.ensure_future(run_in_threadpool(check, temp.path))
    try:
        written = await run_in_threadpool(temp.finish)
    finally:
        await asyncio.wait([checking])  # never discard the file under a running check
    return dataclasses.replace(written, checked=checking.result)  # returns or re-raises


def _open(store: MediaStore, limit: int, tee: StagedOriginal | None) -> TempWrite:
    try:
        return store.open_temp(limit)
    except OSError as exc:
        if tee is not None:
            tee.abort()  # nothing was sent yet: no network call
        if out_of_space(exc):
            raise space.disk_full() from exc
        raise


async def _failed(temp: TempWrite, tee: StagedOriginal | None, exc: BaseException) -> BaseException:
    """Remove the temp file and drop what the tee sent; the exception to raise (a full
    disk becomes a 507)."""
    temp.discard()
    if tee is not None:
        await run_in_threadpool(tee.abort)
    if isinstance(exc, OSError) and out_of_space(exc):
        return space.disk_full()
    return exc


async def stream_raw(
    chunks: AsyncIterator[bytes],
    store: MediaStore,
    *,
    limit: int,
    block: int,
    check: Check | None = None,
    tee: StagedOriginal | None = None,
    declared: str | None = None,
) -> Written:
    """``declared``: the SHA-256 the client named (app/ingest/digest.py); a body with
    another digest is a 400 ``digest_mismatch`` before it is validated, and nothing is kept
    (the tee's upload is aborted)."""
    temp = _open(store, limit, tee)
    try:
        async with BlockPipe(temp, block=block, tee=tee) as pipe:
            async for chunk in chunks:
                if pipe.fed + len(chunk) > limit:
                    raise _too_large(limit)
                await pipe.feed(chunk)
            await pipe.drain()
        if declared is not None and (got := temp.hasher.hexdigest()) != declared:
            raise DigestMismatch(
                f"the body's SHA-256 is {got}, not the declared {declared}; nothing was stored",
                field="Repr-Digest",
                extra={"sha256": got, "declared": declared},
            )
        faults.point("after_temp_write")
        written = await _finish(temp, check, tee)
    except BaseException as exc:
        err = await _failed(temp, tee, exc)
        if err is exc:
            raise
        raise err from exc
    faults.point("after_fsync")
    return written


@dataclass
class _Part:
    headers: dict[str, bytes] = field(default_factory=dict)
    name: str | None = None
    filename: str | None = None
    content_type: str | None = None
    field_value: bytearray = field(default_factory=bytearray)


@dataclass
class MultipartResult:
    written: Written
    filename: str | None
    content_type: str | None
    fields: dict[str, str]


class _Collector:
    """python-multipart callbacks: file bytes go to a pending buffer, fields to memory."""

    def __init__(self, file_field: str) -> None:
        self.file_field = file_field
        self.part = _Part()
        self.header_field = bytearray()
        self.header_value = bytearray()
        self.pending: list[bytes] = []  # file bytes parsed, not yet handed to the pipe
        self.pending_bytes = 0
        self.file_part: _Part | None = None
        self.files_seen = 0
        self.fields: dict[str, str] = {}

    def on_part_begin(self) -> None:
        self.part = _Part()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        self.part.headers[bytes(self.header_field).lower().decode("latin-1")] = bytes(
            self.header_value
        )
        self.header_field.clear()
        self.header_value.clear()

    def on_headers_finished(self) -> None:
        disp, opts = parse_options_header(self.part.headers.get("content-disposition", b""))
        name = opts.get(b"name")
        self.part.name = name.decode("utf-8", "replace") if name is not None else None
        fname = opts.get(b"filename")
        self.part.filename = fname.decode("utf-8", "replace") if fname is not None else None
        ctype = self.part.headers.get("content-type")
        self.part.content_type = ctype.decode("latin-1") if ctype else None
        if self.part.name == self.file_field:
            self.files_seen += 1
            if self.files_seen > 1:
                raise BadUploadRequest("send exactly one file per upload", field=self.file_field)
            self.file_part = self.part

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.part is self.file_part:
            if end > start:
                self.pending.append(data[start:end])
                self.pending_bytes += end - start
        else:
            self.part.field_value += data[start:end]
            if len(self.part.field_value) > MAX_FIELD_BYTES:
                raise BadUploadRequest(
                    f"form field {self.part.name!r} is too long", field=self.part.name
                )

    def on_part_end(self) -> None:
        if self.part is not self.file_part and self.part.name:
            self.fields[self.part.name] = self.part.field_value.decode("utf-8", "replace")


async def stream_multipart(
    chunks: AsyncIterator[bytes],
    content_type: str,
    store: MediaStore,
    *,
    limit: int,
    block: int,
    file_field: str = "file",
    check: Check | None = None,
    tee: StagedOriginal | None = None,
) -> MultipartResult:
    _, opts = parse_options_header(content_type)
    boundary = opts.get(b"boundary")
    if not boundary:
        raise BadUploadRequest("multipart upload without a boundary in its Content-Type")
    col = _Collector(file_field)
    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": col.on_part_begin,
            "on_header_field": col.on_header_field,
            "on_header_value": col.on_header_value,
            "on_header_end": col.on_header_end,
            "on_headers_finished": col.on_headers_finished,
            "on_part_data": col.on_part_data,
            "on_part_end": col.on_part_end,
        },
    )
    temp = _open(store, limit, tee)
    try:
        async with BlockPipe(temp, block=block, tee=tee) as pipe:
            async for chunk in chunks:
                if not chunk:
                    continue
                try:
                    parser.write(chunk)
                except (BadUploadRequest, UploadTooLarge):
                    raise
                except Exception as exc:  # python-multipart's MultipartParseError and friends
                    raise BadUploadRequest(f"the multipart body is malformed ({exc})") from None
                await _hand_on(col, pipe, limit)
            parser.finalize()
            if parser.state != MultipartState.END:
                raise BadUploadRequest(
                    "the multipart body ended before its closing boundary "
                    "(the upload was cut off); nothing was stored"
                )
            if col.file_part is None:
                raise BadUploadRequest(
                    f"the form has no file field named {file_field!r}", field=file_field
                )
            await _hand_on(col, pipe, limit)
            await pipe.drain()
        faults.point("after_temp_write")
        written = await _finish(temp, check, tee)
    except BaseException as exc:
        err = await _failed(temp, tee, exc)
        if err is exc:
            raise
        raise err from exc
    faults.point("after_fsync")
    return MultipartResult(written, col.file_part.filename, col.file_part.content_type, col.fields)


async def _hand_on(col: _Collector, pipe: BlockPipe, limit: int) -> None:
    if pipe.fed + col.pending_bytes > limit:
        raise _too_large(limit)
    pending, col.pending, col.pending_bytes = col.pending, [], 0
    for piece in pending:
        await pipe.feed(piece)
