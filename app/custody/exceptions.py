"""Expected failures of the custody log (AppError: a status and a stable code)."""

from __future__ import annotations

from app.errors import AppError, InvalidInput, NotFound


class LogKeyMissing(AppError):
    status = 503
    code = "log_key_missing"


class NoCheckpoint(NotFound):
    code = "no_checkpoint"


class EventNotFound(NotFound):
    code = "event_not_found"


class BadTreeSize(InvalidInput):
    code = "invalid_tree_size"
