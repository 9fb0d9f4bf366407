from app.errors import Conflict, InvalidInput, NotFound


class UserNotFound(NotFound):
    code = "user_not_found"


class EmailTaken(Conflict):
    code = "email_taken"


class WeakPassword(InvalidInput):
    code = "weak_password"
