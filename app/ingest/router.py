"""Team API for a clip's original: upload (raw or multipart), metadata, download, keyframes,
derivative images, processing state and retry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar
from urllib.parse import unquote

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from app.accounts.deps import TeamMember
from app.clips import service as clips
from app.config import get_settings
from app.ingest import service, space
from app.ingest.digest import declared_sha256
from app.ingest.exceptions import ClientGone, UnsupportedVideoFile, UploadTooLarge
from app.ingest.models import INGEST_STEPS
from app.ingest.schemas import KeyframeList, KeyframeRead, MediaRead, ProcessingRead
from app.ingest.streaming import stream_multipart, stream_raw
from app.jobs import service as jobs
from app.kit.digits import parse_int
from app.storage import MediaStore, Written, derivatives, get_store
from app.storage.configured import get_backend
from app.web.session import SessionDep, UnitOfWorkRoute, writes
from app.web.stored import stored_response

router = APIRouter(prefix="/api/v1/clips", tags=["media (team)"], route_class=UnitOfWorkRoute)
MULTIPART_SLACK = 64 * 1024
T = TypeVar("T")
IMAGE_CACHE = "private, max-age=300"


async def release_before_stream(session: SessionDep) -> None:
    """End the read-only transaction of the checks before a long body stream.

    Otherwise the stream would run inside an open transaction: on SQLite (BEGIN IMMEDIATE)
    that holds the database's write lock for minutes, on PostgreSQL it idles in a
    transaction. Nothing has been written yet; the original's row, custody event and job
    are written together in one transaction after the stream.
    """
    await run_in_threadpool(session.commit)


def _declared_length(request: Request) -> int | None:
    value = request.headers.get("content-length")
    return parse_int(value, ascii_only=True) if value else None


def _filename_from(request: Request, query_name: str | None) -> str | None:
    if query_name:
        return query_name
    disp = request.headers.get("content-disposition", "")
    for part in disp.split(";"):
        key, _, value = part.strip().partition("=")
        if key.lower() == "filename*" and "''" in value:
            return unquote(value.split("''", 1)[1])
        if key.lower() == "filename":
            return value.strip('"')
    return None


@router.post(
    "/{code}/media",
    response_model=MediaRead,
    status_code=201,
    summary="Upload the clip's original (raw body or multipart form, streamed)",
    responses={
        409: {"description": "duplicate bytes or the clip has an original"},
        413: {"description": "over ARCHIVE_MAX_UPLOAD_BYTES"},
        400: {"description": "the body is not the declared Repr-Digest (digest_mismatch)"},
        415: {"description": "not a video container we accept"},
        422: {"description": "a video we recognise but cannot use"},
        507: {"description": "the disk is full (checked before the body is read)"},
    },
)
async def upload_media(
    code: str,
    request: Request,
    response: Response,
    session: SessionDep,
    who: TeamMember,
    filename: Annotated[
        str | None,
        Query(max_length=500, description="original file name (metadata only) for raw uploads"),
    ] = None,
) -> Any:
    """Send the file as the request body (`application/octet-stream` or `video/*`) or as the
    `file` field of a `multipart/form-data` form. A raw body may declare its SHA-256
    (`Repr-Digest: sha-256=:<base64>:`, RFC 9530): a body with another digest is a 400
    `digest_mismatch` and nothing is stored; on S3 the declared digest saves the server-side
    copy from a staging key. A 201 means the original is fsynced,
    renamed into the write-once store, and its row committed."""
    clip, got = await receive(
        request, session, lambda: service.clip_for_upload(session, code), filename
    )
    user_id = who.user.id if who.user else None
    await run_in_threadpool(
        lambda: service.ingest(
            session,
            clip=clip,
            written=got.written,
            filename=got.filename,
            content_type=got.content_type,
            via=got.via,
            actor=who.actor,
            user_id=user_id,
            store=got.store,
        )
    )
    response.headers["Location"] = f"/api/v1/clips/{clip.code}/media"
    return await run_in_threadpool(service.media_read, session, clip.code)


@dataclass
class Received:
    written: Written
    filename: str | None
    content_type: str | None
    via: str
    store: MediaStore
    fields: dict[str, str]


async def receive(
    request: Request, session: Any, check: Callable[[], T], filename: str | None
) -> tuple[T, Received]:
    """Stream an upload (raw body or multipart ``file`` field) into an fsynced temp file,
    after the size, type and space checks and ``check()`` (run before the body is read,
    its transaction then ended). Shared by the media upload and footage corrections."""
    settings = get_settings()
    limit = settings.max_upload_bytes
    ctype = request.headers.get("content-type") or "application/octet-stream"
    multipart = ctype.lower().startswith("multipart/form-data")
    if not multipart and not ctype.lower().startswith(service.ACCEPTED_TYPES):
        raise UnsupportedVideoFile(
            f"send the video as application/octet-stream, video/* or a multipart form, not "
            f"{ctype.split(';')[0]}",
            field="content-type",
        )
    declared = _declared_length(request)
    if declared is not None and declared > limit + (MULTIPART_SLACK if multipart else 0):
        raise UploadTooLarge(
            f"the upload ({declared} bytes) is larger than the limit of "
            f"{limit} bytes; nothing was stored",
            field="file",
            extra={"limit": limit},
        )
    # a raw body's declared SHA-256 (RFC 9530 Repr-Digest); a form's names the whole form
    digest = None if multipart else declared_sha256(request.headers)
    store = get_store()
    space.require_free(store, declared)
    checked = await run_in_threadpool(check)
    await release_before_stream(session)
    block = settings.upload_chunk_bytes
    # S3: the body streams to the bucket too (straight to originals/<sha256> when declared)
    tee = get_backend().begin_original(limit, sha256=digest)
    try:
        if multipart:
            form = await stream_multipart(
                request.stream(),
                ctype,
                store,
                limit=limit,
                block=block,
                check=service.validate,
                tee=tee,
            )
            written, name, claimed = form.written, form.filename, form.content_type
            via, fields = "multipart", form.fields
        else:
            written = await stream_raw(
                request.stream(),
                store,
                limit=limit,
                block=block,
                check=service.validate,
                tee=tee,
                declared=digest,
            )
            name, claimed, via = _filename_from(request, filename), ctype, "raw"
            fields = {}
    except ClientDisconnect:
        raise ClientGone(
            "the client disconnected before the upload finished; nothing was stored"
        ) from None
    return checked, Received(written, name, claimed, via, store, fields)


@router.get("/{code}/media", response_model=MediaRead, summary="The original's metadata")
def get_media(code: str, session: SessionDep, _: TeamMember) -> Any:
    return service.media_read(session, code)


@router.get(
    "/{code}/media/original",
    summary="Download the original (custody-logged)",
    response_class=FileResponse,
)
@writes  # the custody event of the download
def download_original(
    code: str,
    request: Request,
    session: SessionDep,
    who: TeamMember,
    inline: Annotated[bool, Query(description="view in the browser instead of saving")] = False,
) -> Response:
    rng = request.headers.get("range", "")
    action = "media.original_viewed" if inline else "media.original_downloaded"
    if inline and rng and not rng.replace(" ", "").startswith("bytes=0-"):
        # a player seeking within one viewing: the viewing itself was already logged
        key, media = service.media_for_player(session, code)
    else:
        key, media = service.open_original(session, code, actor=who.actor, action=action)
    ext = {"mov": "mp4", "matroska": "mkv"}.get(media.container.split(",")[0], "bin")
    ext = {"avi": "avi", "mpegts": "ts", "flv": "flv"}.get(media.container.split(",")[0], ext)
    disposition = "inline" if inline else "attachment"
    # through the app on both backends (Range included): never presigned, never redirected
    return stored_response(
        key,
        "application/octet-stream" if not inline else "video/mp4",
        range_header=rng or None,
        headers={
            "Cache-Control": "private, no-store",
            "X-Content-SHA256": media.sha256,
            "Content-Disposition": f'{disposition}; filename="{code}-{media.sha256[:12]}.{ext}"',
        },
    )


def _image(session: SessionDep, code: str, name: str, request: Request) -> Response:
    return stored_response(
        service.derivative_object(session, code, name),
        "image/jpeg",
        range_header=request.headers.get("range"),
        headers={"Cache-Control": IMAGE_CACHE},
    )


@router.get("/{code}/keyframes", response_model=KeyframeList, summary="Keyframes of the clip")
def list_keyframes(code: str, session: SessionDep, _: TeamMember) -> Any:
    clip, media = service.media_for(session, code)
    base = f"/api/v1/clips/{clip.code}"
    rows = service.keyframe_rows(session, media)
    has = media.derivative_generation is not None
    return KeyframeList(
        clip=clip.code,
        original_sha256=media.sha256,
        generation=media.derivative_generation,
        poster_url=f"{base}/poster" if has else None,
        contact_sheet_url=f"{base}/contact-sheet" if has else None,
        items=[
            KeyframeRead(
                position=k.position,
                timestamp=k.timestamp,
                width=k.width,
                height=k.height,
                sha256=k.sha256,
                phash=k.phash,
                source=k.source,
                url=f"{base}/keyframes/{k.position}/image",
                thumbnail_url=f"{base}/keyframes/{k.position}/thumbnail",
            )
            for k in rows
        ],
    )


Position = Annotated[int, Path(ge=0, le=100_000)]


@router.get(
    "/{code}/keyframes/{position}/image",
    summary="A keyframe (JPEG, at most 1280 px)",
    response_class=FileResponse,
)
def keyframe_image(
    code: str, position: Position, request: Request, session: SessionDep, _: TeamMember
) -> Response:
    return _image(session, code, derivatives.keyframe(position), request)


@router.get(
    "/{code}/keyframes/{position}/thumbnail",
    summary="A keyframe thumbnail (320 px)",
    response_class=FileResponse,
)
def keyframe_thumbnail(
    code: str, position: Position, request: Request, session: SessionDep, _: TeamMember
) -> Response:
    return _image(session, code, derivatives.thumbnail(position), request)


@router.get("/{code}/poster", summary="The poster frame", response_class=FileResponse)
def poster(code: str, request: Request, session: SessionDep, _: TeamMember) -> Response:
    return _image(session, code, derivatives.POSTER, request)


@router.get(
    "/{code}/contact-sheet", summary="Contact sheet with timestamps", response_class=FileResponse
)
def contact_sheet(code: str, request: Request, session: SessionDep, _: TeamMember) -> Response:
    return _image(session, code, derivatives.CONTACT_SHEET, request)


def _processing(session: SessionDep, code: str) -> ProcessingRead:
    clip = clips.live_clip(session, code)
    rows = jobs.jobs_for_clip(session, clip.id)
    summary = jobs.summary(rows, INGEST_STEPS)
    return ProcessingRead(
        clip=clip.code,
        sha256=rows[0].original_sha256 if rows else None,
        **summary,
        steps=[
            {
                "step": j.step,
                "state": j.state,
                "progress": j.progress,  # type: ignore[misc]
                "attempts": j.attempts,
                "last_error": j.last_error,
                "queued_at": j.queued_at,
                "started_at": j.started_at,
                "finished_at": j.finished_at,
            }
            for j in rows
        ],
    )


@router.get(
    "/{code}/processing",
    response_model=ProcessingRead,
    summary="Processing state: step, progress, attempts, last error",
)
def get_processing(code: str, session: SessionDep, _: TeamMember) -> Any:
    return _processing(session, code)


@router.post(
    "/{code}/processing/retry",
    response_model=ProcessingRead,
    summary="Retry the failed step (failed -> queued)",
)
def retry_processing(code: str, session: SessionDep, who: TeamMember) -> Any:
    service.retry(session, code, actor=who.actor)
    return _processing(session, code)
