from app.errors import Conflict, Forbidden, InvalidInput, NotFound


class IllegalTransition(Conflict):
    code = "illegal_transition"


class VerificationIncomplete(Conflict):
    code = "verification_incomplete"


class NotAllowed(Forbidden):
    code = "not_allowed"


class NoteRequired(InvalidInput):
    code = "note_required"


class AlreadyApproved(Conflict):
    code = "already_approved"


class ChecklistLocked(Conflict):
    code = "checklist_locked"


class ItemNotFound(NotFound):
    code = "checklist_item_not_found"


class CommentNotFound(NotFound):
    code = "comment_not_found"


class AlreadyAssigned(Conflict):
    code = "already_assigned"
