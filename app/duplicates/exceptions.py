"""Expected near-duplicate failures, each with a status and a stable code."""

from __future__ import annotations

from app.errors import AppError


class IndexWarming(AppError):
    """The in-process index is still being built: answer later, never a wrong empty list."""

    status = 503
    code = "index_warming"

    def __init__(self) -> None:
        super().__init__(
            "the duplicate index is still being built; try again in a few seconds",
            headers={"Retry-After": "5"},
        )
