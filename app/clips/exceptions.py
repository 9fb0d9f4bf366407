from app.errors import AppError, Conflict, InvalidInput, NotFound


class ClipNotFound(NotFound):
    code = "clip_not_found"


class ClipDeleted(AppError):
    status = 410
    code = "clip_deleted"


class DuplicateCode(Conflict):
    code = "duplicate_code"


class InvalidCode(InvalidInput):
    code = "invalid_code"
