from app.errors import AppError, Conflict, Forbidden, InvalidInput, NotFound


class ClipNotFound(NotFound):
    code = "clip_not_found"


class ClipDeleted(AppError):
    status = 410
    code = "clip_deleted"


class DuplicateCode(Conflict):
    code = "duplicate_code"


class InvalidCode(InvalidInput):
    code = "invalid_code"


class RecordFrozen(Conflict):
    """A verified, published or retracted clip: its record changes only by a correction."""

    code = "record_frozen"


class EditNotAllowed(Forbidden):
    code = "not_allowed"
