from app.errors import AppError, Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated


class UserNotFound(NotFound):
    code = "user_not_found"


class EmailTaken(Conflict):
    code = "email_taken"


class WeakPassword(InvalidInput):
    code = "weak_password"


class LoginFailed(Unauthenticated):
    """The same answer whether the account exists, is disabled or the password is wrong."""

    code = "login_failed"


class LoginThrottled(AppError):
    """Too many failed log-ins for this account or from this address (429, Retry-After)."""

    status = 429
    code = "login_throttled"


class WrongPassword(Forbidden):
    code = "wrong_password"


class InvalidCode(InvalidInput):
    code = "invalid_code"


class GateClosed(Forbidden):
    """A session that must first change its password, give its second factor, or set up
    two-factor log-in (the code says which)."""

    code = "password_change_required"
