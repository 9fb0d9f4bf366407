"""tus 1.0 (core, creation, termination, expiration) endpoints under /api/v1/uploads.

Create with ``POST`` (``Upload-Length``, ``Upload-Metadata: clip <base64 code>,filename
<base64 name>``), then ``PATCH`` bytes with ``Upload-Offset`` and
``Content-Type: application/offset+octet-stream``; ``HEAD`` tells the offset to resume
from; ``DELETE`` abandons the upload. Responses about an unfinished upload carry
``Upload-Expires``. Cookie sessions pass the CSRF token as ``X-CSRF-Token`` or
``?csrf_token=``.
"""

from __future__ import annotations

from datetime import datetime
from email.utils import format_datetime
from typing import Annotated

from fastapi import APIRouter, Header, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from app.accounts.deps import Anyone, TeamMember
from app.config import get_settings
from app.errors import AppError, InsufficientStorage, UnsupportedMedia
from app.ingest import space, tus
from app.ingest.exceptions import BadUploadRequest, OffsetMismatch, UploadNotFound
from app.ingest.models import Upload
from app.ingest.pipe import BlockPipe
from app.ingest.router import release_before_stream
from app.kit import faults
from app.kit.clock import utcnow
from app.kit.digits import parse_int
from app.storage import get_store, out_of_space
from app.storage.backend import StorageDenied, StorageUnavailable
from app.web.session import SessionDep, UnitOfWorkRoute

router = APIRouter(
    prefix="/api/v1/uploads", tags=["resumable uploads (tus)"], route_class=UnitOfWorkRoute
)


KEEP_BYTES = (InsufficientStorage, StorageUnavailable, StorageDenied)
"""Failures of the last PATCH that keep the upload: the disk is full, or the object store
cannot be reached. The bytes stay on this node; the client resends that PATCH later."""


class TusVersionMismatch(AppError):
    status = 412
    code = "tus_version"


def _tus_headers(**extra: str) -> dict[str, str]:
    return {"Tus-Resumable": tus.TUS_VERSION, **extra}


def _expires(when: datetime) -> dict[str, str]:
    return {"Upload-Expires": format_datetime(when, usegmt=True)}


def _require_tus(request: Request) -> None:
    if request.headers.get("tus-resumable") != tus.TUS_VERSION:
        raise TusVersionMismatch(
            "send 'Tus-Resumable: 1.0.0' (the only version served)",
            headers={"Tus-Version": tus.TUS_VERSION},
        )


def _int_header(value: str | None, name: str) -> int:
    number = None if value is None else parse_int(value, ascii_only=True)
    if number is None:
        raise BadUploadRequest(
            f"the {name} header must be a non-negative integer", field=name, headers=_tus_headers()
        )
    return number


def _own(upload: Upload, who: TeamMember) -> None:
    if who.user is None or (upload.created_by_id != who.user.id and who.user.role != "admin"):
        raise UploadNotFound("no such upload (it may have expired); start a new one")


@router.options("", status_code=204, summary="tus: server capabilities")
def options(_: Anyone) -> Response:
    return Response(
        status_code=204,
        headers=_tus_headers(
            **{
                "Tus-Version": tus.TUS_VERSION,
                "Tus-Extension": tus.EXTENSIONS,
                "Tus-Max-Size": str(get_settings().max_upload_bytes),
            }
        ),
    )


@router.post("", status_code=201, summary="tus: create an upload for a clip")
def create(
    request: Request,
    session: SessionDep,
    who: TeamMember,
    upload_length: Annotated[str | None, Header()] = None,
    upload_metadata: Annotated[str | None, Header()] = None,
) -> Response:
    _require_tus(request)
    length = _int_header(upload_length, "Upload-Length")
    meta = tus.parse_metadata(upload_metadata)
    upload = tus.create(
        session, length=length, metadata=meta, user_id=who.user.id if who.user else None
    )
    return Response(
        status_code=201,
        headers=_tus_headers(
            Location=f"/api/v1/uploads/{upload.id}",
            **{"Upload-Offset": "0"},
            **_expires(utcnow() + tus.lifetime()),
        ),
    )


@router.head("/{upload_id}", summary="tus: the offset to resume from")
def head(upload_id: str, session: SessionDep, who: TeamMember) -> Response:
    upload = tus.get(session, upload_id)
    _own(upload, who)
    headers = _tus_headers(
        **{
            "Upload-Offset": str(upload.received),
            "Upload-Length": str(upload.length),
            "Cache-Control": "no-store",
        }
    )
    if upload.state == "uploading":
        headers.update(_expires(tus.expires_at(upload)))
    return Response(status_code=200, headers=headers)


@router.delete("/{upload_id}", status_code=204, summary="tus: abandon an upload")
def terminate(upload_id: str, request: Request, session: SessionDep, who: TeamMember) -> Response:
    """Deletes the upload's partial bytes and its record; later requests get 404. Only its
    creator or an admin may (anyone else gets the same 404 as for an unknown upload). 423
    while a PATCH is writing to it. A finished upload's original is never touched."""
    _require_tus(request)
    upload = tus.find(session, upload_id)
    _own(upload, who)
    tus.terminate(session, upload)
    return Response(status_code=204, headers=_tus_headers())


@router.patch("/{upload_id}", status_code=204, summary="tus: append bytes at Upload-Offset")
async def patch(
    upload_id: str,
    request: Request,
    session: SessionDep,
    who: TeamMember,
    upload_offset: Annotated[str | None, Header()] = None,
) -> Response:
    _require_tus(request)
    if (
        request.headers.get("content-type", "").split(";")[0].strip()
        != "application/offset+octet-stream"
    ):
        raise UnsupportedMedia(
            "PATCH bodies must be application/offset+octet-stream", headers=_tus_headers()
        )
    offset = _int_header(upload_offset, "Upload-Offset")
    upload = await run_in_threadpool(tus.get, session, upload_id)
    _own(upload, who)
    if offset != upload.received:
        raise OffsetMismatch(
            f"the upload is at offset {upload.received}, not {offset}; resume from there",
            field="Upload-Offset",
            headers=_tus_headers(**{"Upload-Offset": str(upload.received)}),
        )
    if upload.state == "done":
        return Response(status_code=204, headers=_tus_headers(**{"Upload-Offset": str(offset)}))
    store = get_store()
    rest = upload.length - upload.received
    sent = request.headers.get("content-length", "")
    here = _tus_headers(**{"Upload-Offset": str(upload.received)})
    try:
        space.require_free(store, min(rest, int(sent)) if sent.isdigit() else rest, field=None)
    except InsufficientStorage as exc:
        exc.headers = {**exc.headers, **here}
        raise
    await release_before_stream(session)
    block = get_settings().upload_chunk_bytes
    writer = await run_in_threadpool(tus.open_writer, store, upload)
    completed = in_step = False  # in_step: the hash covers exactly the bytes written
    try:
        disconnected = False
        start = writer.offset
        try:
            async with BlockPipe(writer, block=block) as pipe:
                try:
                    async for chunk in request.stream():
                        if start + pipe.fed + len(chunk) > upload.length:
                            raise writer.too_long()
                        await pipe.feed(chunk)
                except ClientDisconnect:
                    disconnected = True  # keep what arrived: the client resumes from it
                await pipe.drain()
                in_step = True
            faults.point("after_temp_write")
            await run_in_threadpool(writer.sync)
        except OSError as exc:
            if not out_of_space(exc):
                raise
            in_step = False
            kept = await run_in_threadpool(tus.keep_written, upload_id, writer, upload.received)
            raise space.disk_full(
                field=None, headers=_tus_headers(**{"Upload-Offset": str(kept)})
            ) from exc
        faults.point("after_fsync")
        headers = _tus_headers(**{"Upload-Offset": str(writer.offset)})
        if writer.offset == upload.length and not disconnected:
            try:
                await run_in_threadpool(
                    lambda: tus.finish(session, upload, writer, actor=who.actor)
                )
            except AppError as exc:
                await run_in_threadpool(session.rollback)
                if isinstance(exc, KEEP_BYTES):  # kept: resend the last PATCH later
                    exc.headers = {**exc.headers, **here}
                    raise
                await run_in_threadpool(tus.mark_failed, upload_id, exc.message)
                exc.headers = {**exc.headers, **_tus_headers()}
                raise
            completed = True
            code = await run_in_threadpool(tus.clip_code, session, upload)
            headers["Location"] = f"/api/v1/clips/{code}/media"
        else:
            await run_in_threadpool(tus.record_offset, session, upload_id, writer.offset)
            headers.update(_expires(utcnow() + tus.lifetime()))
    finally:
        # A hash ahead of (or behind) the file after an error is dropped: a later PATCH
        # hashes the committed prefix again rather than trust it.
        writer.close(keep_hash=in_step and not completed)
    return Response(status_code=204, headers=headers)
