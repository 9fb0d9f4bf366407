"""Expected failures: AppError subclasses with an HTTP status and a stable code."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class AppError(Exception):
    status: int = 400
    code: str = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        code: str | None = None,
        status: int | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code
        if status:
            self.status = status
        self.headers = headers or {}
        self.extra = extra or {}

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.code, "detail": self.message, "field": self.field}
        body.update(self.extra)
        return body


class NotFound(AppError):
    status = 404
    code = "not_found"


class Conflict(AppError):
    status = 409
    code = "conflict"


class StaleVersion(Conflict):
    code = "stale_version"


class InvalidInput(AppError):
    status = 422
    code = "invalid"


class Unauthenticated(AppError):
    status = 401
    code = "unauthenticated"


class Forbidden(AppError):
    status = 403
    code = "forbidden"


class PayloadTooLarge(AppError):
    status = 413
    code = "too_large"


class UnsupportedMedia(AppError):
    status = 415
    code = "unsupported_media"


class RateLimited(AppError):
    status = 429
    code = "rate_limited"


class InsufficientStorage(AppError):
    """The disk is full (or would be): nothing was stored; try again once there is space."""

    status = 507
    code = "insufficient_storage"


DATABASE_RETRY_AFTER_SECONDS = 5


class DatabaseUnavailable(AppError):
    """The database cannot be reached or is busy past its timeout (nothing was saved)."""

    status = 503
    code = "database_unavailable"

    def __init__(self, message: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.headers.setdefault("Retry-After", str(DATABASE_RETRY_AFTER_SECONDS))


class Problem(BaseModel):
    field: str | None = Field(description="the input that is wrong (dotted path)")
    detail: str | None = Field(description="what is wrong with it")


class ErrorBody(BaseModel):
    """The JSON body of every error response (the OpenAPI schema documents this shape)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "error": "invalid",
                    "detail": "limit: Input should be less than or equal to 200",
                    "field": "limit",
                    "problems": [
                        {"field": "limit", "detail": "Input should be less than or equal to 200"}
                    ],
                },
                {"error": "not_found", "detail": "no clip with the code IRN999", "field": "code"},
            ]
        },
    )

    error: str = Field(description="a stable machine-readable code, e.g. not_found, invalid")
    detail: str = Field(description="what went wrong, in words")
    field: str | None = Field(None, description="the input at fault, when there is one")
    problems: list[Problem] | None = Field(
        None, description="for invalid input: every problem found (the first is in detail)"
    )
