"""create_app(): routers, error handlers, templates, static files, lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from app.accounts.deps import Anyone
from app.accounts.router import router as accounts_router
from app.clips.router import router as clips_router
from app.config import get_settings
from app.custody import service as custody
from app.custody.router import router as custody_router
from app.db import ping
from app.docs import install_docs
from app.duplicates.router import router as duplicates_router
from app.duplicates.search_router import router as image_search_router
from app.error_handlers import install_error_handlers, overloaded
from app.evidence.router import router as evidence_router
from app.ingest.router import router as ingest_router
from app.ingest.tus_router import router as tus_router
from app.kit.overload import Admission
from app.nul_guard import RejectNul
from app.openapi import install_openapi
from app.partners.router import router as partners_router
from app.places.router import router as places_router
from app.public import media as public_media
from app.public import views as public_views
from app.review.blur_router import router as blur_router
from app.review.corrections_router import router as corrections_router
from app.review.router import router as review_router
from app.tasks import bootstrap
from app.web import auth_views
from app.web import team as team_web
from app.web.session import SessionDep, UnitOfWorkRoute

log = logging.getLogger("archive")
STATIC_DIR = Path(__file__).resolve().parent / "static"

DESCRIPTION = """
A video evidence archive and verification tracker.

* **Team API** (`/api/v1/clips`, `/api/v1/users`): log in with a cookie session
  (`POST /api/v1/auth/login`) or send a personal token as `Authorization: Bearer vat_…`.
* **Partner API** (`/api/v1/published`, `/api/v1/changes`, `/api/v1/export.*`): anonymous at a
  low rate, or with a partner key as `Authorization: Bearer vak_…`.
* Errors always have the shape `{"error": code, "detail": message, "field": name-or-null}`
  (schema `ErrorBody`; invalid input adds `problems`, one per field). Every operation documents
  it for its 4xx responses.
"""


def _skips_queue(scope: Any) -> bool:
    """Static files, and upload bodies: they hold no database connection while they stream,
    and an upload is never turned away once its body is on the way."""
    path: str = scope["path"]
    if path.startswith("/static/"):
        return True
    method = scope["method"]
    if method == "PATCH" and path.startswith("/api/v1/uploads/"):
        return True
    return method == "POST" and path.startswith("/api/v1/clips/") and path.endswith("/media")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start-up: the registered steps must match the database (else the server does not
    start), the start-up sweepers run, and the embedded workers start (app/jobs)."""
    from app.jobs.lifecycle import background

    bootstrap()  # (create_app did it already; a lifespan reused elsewhere must not depend on it)
    custody.check_startup()  # production: no start without the log key once the log has events
    if get_settings().storage == "s3":
        from app.storage.configured import get_backend

        get_backend().check()  # no start on an unreachable store or refused credentials
    with background():
        from app.duplicates import index as duplicate_index

        duplicate_index.start_for_process()  # built in the background: 503 until ready
        try:
            yield
        finally:
            duplicate_index.reset()


def create_app() -> FastAPI:
    bootstrap()  # every mapper, job step and sweeper (app/tasks.py)
    settings = get_settings()
    app = FastAPI(
        title="Video evidence archive",
        version="0.1.0",
        description=DESCRIPTION,
        docs_url=None,  # app/docs.py serves it, with local assets
        redoc_url=None,
        openapi_url="/openapi.json",
        swagger_ui_oauth2_redirect_url=None,
        lifespan=lifespan,
    )
    app.router.route_class = UnitOfWorkRoute
    install_error_handlers(app)
    install_openapi(app)
    install_docs(app)
    app.add_middleware(RejectNul)  # NUL in text: a 422 here, not a 500 from PostgreSQL
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "HEAD", "OPTIONS"],
            allow_headers=["Authorization", "If-None-Match"],
            expose_headers=["ETag", "Retry-After"],
        )
    # Outermost: a request waits here for its turn (at most ARCHIVE_OVERLOAD_WAIT_SECONDS,
    # then 503 + Retry-After) before anything else runs; README "Under load".
    app.add_middleware(
        Admission,
        slots=settings.threads,
        threads=settings.threads,
        wait=settings.overload_wait_seconds,
        reject=overloaded,
        exempt=_skips_queue,
    )

    @app.get("/healthz", tags=["ops"], summary="Liveness and database check")
    def healthz(session: SessionDep, _: Anyone) -> dict[str, str]:
        # The request's own session: a second one would wait on SQLite's write lock when
        # the caller's token was looked up first (BEGIN IMMEDIATE), for 30 s, then fail.
        ping(session)
        return {"status": "ok"}

    # Routes are matched in order, one by one (FastAPI's included routers cost about 10-20 µs
    # a route): the external APIs first (partners' list, then the team's clip list), then
    # the public site, the pages the whole world reads (walking all ~120 routes cost a
    # cached city page 1-2 ms of CPU, as much as the rest of it; bench/README.md "Under
    # load"). No public path overlaps another router's: "/" and "/fa" are exact, the rest
    # are /cities..., /clips..., /content-warning, /sitemap*, /robots.txt.
    app.include_router(partners_router)
    app.include_router(clips_router)
    app.include_router(duplicates_router)
    app.include_router(public_views.router)
    app.include_router(public_views.router, prefix="/fa")
    app.include_router(public_media.router)
    app.include_router(accounts_router)
    app.include_router(ingest_router)
    app.include_router(tus_router)
    app.include_router(places_router)
    app.include_router(review_router)
    app.include_router(corrections_router)
    app.include_router(blur_router)
    app.include_router(custody_router)
    app.include_router(evidence_router)
    app.include_router(image_search_router)
    app.include_router(auth_views.router)
    for team_router in team_web.routers():
        app.include_router(team_router)
    return app
