"""The partner API: published clips (list, detail), the change feed and exports.

Anonymous callers may read at a low rate; a key raises the limit and unlocks exports
(scope ``export``) and the feed (scope ``feed``). Only published clips exist here: anything
else is a 404, a retracted clip is a 410 tombstone.
"""

from __future__ import annotations

import hashlib
from dataclasses import astuple, dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from app.accounts.deps import PartnerExport, PartnerFeed, PartnerRead
from app.errors import ErrorBody, InvalidInput
from app.kit.date_input import query_day
from app.partners.schemas import ChangePage, ClipPublic, ClipPublicPage, RetractionPublic
from app.public import cache as public_cache
from app.public import exports, service
from app.public.frozen import Frozen
from app.public.ratelimit import rate_limit
from app.public.repository import PublicFilter
from app.web.session import SessionDep, UnitOfWorkRoute

router = APIRouter(
    prefix="/api/v1",
    tags=["partner API"],
    route_class=UnitOfWorkRoute,
    dependencies=[Depends(rate_limit)],
)


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "unknown or revoked key"},
    403: {"model": ErrorBody, "description": "the key lacks the scope"},
    422: {"model": ErrorBody, "description": "invalid query parameter"},
    429: {"model": ErrorBody, "description": "rate limited; see Retry-After"},
}
LIST_CACHE = "public, max-age=60, must-revalidate"


def _instant(value: str | None, field: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"{field} must be an ISO 8601 time like 2026-01-31T12:00:00Z, not {value!r}",
            field=field,
            code="invalid_datetime",
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _matches(request: Request, etag: str) -> bool:
    header = request.headers.get("if-none-match")
    if not header:
        return False
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return "*" in tags or etag in tags


def json_with_etag(request: Request, model: BaseModel, cache: str) -> Response:
    return send_with_etag(request, freeze_json(model), cache)


def freeze_json(model: BaseModel) -> Frozen:
    body = model.model_dump_json().encode()
    return Frozen(200, body, (), _etag(body))


def send_with_etag(request: Request, frozen: Frozen, cache: str) -> Response:
    assert frozen.etag is not None
    headers = {"ETag": frozen.etag, "Cache-Control": cache, "Vary": "Authorization"}
    if _matches(request, frozen.etag):
        return Response(status_code=304, headers=headers)
    return Response(frozen.body, media_type="application/json", headers=headers)


CityQ = Annotated[str | None, Query(max_length=120, description="city name", examples=["Shiraz"])]
ProvinceQ = Annotated[str | None, Query(max_length=120, examples=["Fars"])]
OnQ = Annotated[
    str | None,
    Query(max_length=40, description="clips that may fall on this day", examples=["2019-11-16"]),
]
FromQ = Annotated[str | None, Query(alias="from", max_length=40, examples=["2019-11-15"])]
ToQ = Annotated[str | None, Query(max_length=40, examples=["2019-11-23"])]
UpdatedQ = Annotated[
    str | None,
    Query(max_length=40, description="changed at or after (ISO 8601)", examples=["2026-01-01"]),
]
TextQ = Annotated[str | None, Query(max_length=200, description="text search", examples=["Abadan"])]


@dataclass
class FilterParams:
    """The list/export query parameters, parsed without touching the database."""

    city: str | None
    province: str | None
    on: date | None
    date_from: date | None
    date_to: date | None
    updated_since: datetime | None
    q: str | None
    after_id: int | None
    after_rank: float | None

    def build(self, session: Any) -> PublicFilter:
        return service.make_filter(
            session,
            city=self.city,
            province=self.province,
            on=self.on,
            date_from=self.date_from,
            date_to=self.date_to,
            updated_since=self.updated_since,
            q=self.q,
            after_id=self.after_id,
            after_rank=self.after_rank,
        )


async def _params(
    city: CityQ = None,
    province: ProvinceQ = None,
    on: OnQ = None,
    from_: FromQ = None,
    to: ToQ = None,
    updated_since: UpdatedQ = None,
    q: TextQ = None,
    cursor: Annotated[
        str | None, Query(description="next_cursor of the previous page (at most 500 characters)")
    ] = None,
) -> FilterParams:
    # async and database-free: parsed on the event loop, no extra thread-pool hop
    after_id, after_rank = service.parse_page_cursor(cursor, q)
    return FilterParams(
        city=city,
        province=province,
        on=query_day(on, "on"),
        date_from=query_day(from_, "from"),
        date_to=query_day(to, "to"),
        updated_since=_instant(updated_since, "updated_since"),
        q=q,
        after_id=after_id,
        after_rank=after_rank,
    )


FilterDep = Annotated[FilterParams, Depends(_params)]


@router.get(
    "/published",
    response_model=ClipPublicPage,
    summary="List published clips",
    responses={304: {"description": "not modified (If-None-Match)"}, **ERRORS},
)
def list_published(
    request: Request,
    session: SessionDep,
    _: PartnerRead,
    f: FilterDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Response:
    """Published clips in a stable order (keyset pages: follow `next_cursor`).

    Every response has an `ETag`; send it back as `If-None-Match` to get a `304`."""
    # The same page for every caller (only published clips), so one cached copy serves all
    # until the change log moves: a hit runs no query but the change-log head.
    frozen = public_cache.cached(
        session,
        ("published", astuple(f), limit),
        lambda: freeze_json(service.list_public(session, f.build(session), limit)),
    )
    return send_with_etag(request, frozen, LIST_CACHE)


@router.get(
    "/published/{code}",
    response_model=ClipPublic,
    summary="One published clip",
    responses={
        304: {"description": "not modified (If-None-Match)"},
        404: {"model": ErrorBody, "description": "no published clip with this code"},
        410: {"model": RetractionPublic, "description": "the clip was retracted (tombstone)"},
        **ERRORS,
    },
)
def get_published(code: str, request: Request, session: SessionDep, _: PartnerRead) -> Response:
    return json_with_etag(request, service.get_public(session, code), LIST_CACHE)


@router.get(
    "/changes",
    response_model=ChangePage,
    summary="The change feed: published, updated and retracted events in order",
    responses={304: {"description": "not modified (If-None-Match)"}, **ERRORS},
)
def list_changes(
    request: Request,
    session: SessionDep,
    _: PartnerFeed,
    since: Annotated[
        str | None,
        Query(description="next_cursor of your last call (at most 500 characters); omit to start"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Response:
    """Sync incrementally: start without `since`, store `next_cursor`, call again with
    `?since=<next_cursor>` until `has_more` is false; later calls return only new events.
    A `retracted` event is a tombstone: delete your copy of that clip."""
    return json_with_etag(request, service.change_page(session, since, limit), "no-cache")


EXPORT_RESPONSES: dict[int | str, dict[str, Any]] = {**ERRORS}


@router.get(
    "/export.ndjson",
    summary="Export published clips as NDJSON (streamed)",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"application/x-ndjson": {"example": '{"code": "IRN091", ...}\n'}},
            "description": "one ClipPublic object per line",
        },
        **EXPORT_RESPONSES,
    },
)
def export_ndjson(session: SessionDep, _: PartnerExport, f: FilterDep) -> StreamingResponse:
    return StreamingResponse(
        exports.started(exports.ndjson(f.build(session), session)),
        media_type="application/x-ndjson",
        headers={
            "Content-Disposition": 'attachment; filename="published.ndjson"',
            "Cache-Control": "no-cache",
        },
    )


@router.get(
    "/export.csv",
    summary="Export published clips as CSV (streamed)",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/csv": {"example": "code,url,country,...\r\n"}},
            "description": "UTF-8 CSV with a header row",
        },
        **EXPORT_RESPONSES,
    },
)
def export_csv(session: SessionDep, _: PartnerExport, f: FilterDep) -> StreamingResponse:
    return StreamingResponse(
        exports.started(exports.csv_stream(f.build(session), session)),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="published.csv"',
            "Cache-Control": "no-cache",
        },
    )
