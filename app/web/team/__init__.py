"""The team's web interface (/team/..., and /fa/team/... in Farsi)."""

from fastapi import APIRouter

from app.web.team import (
    account,
    admin,
    blur,
    clip,
    corrections,
    duplicates,
    image_search,
    pages,
    upload,
)


def routers() -> list[APIRouter]:
    return [
        pages.router,
        clip.router,
        blur.router,
        corrections.router,
        duplicates.router,
        admin.router,
        upload.router,
        image_search.router,
        account.router,
    ]
