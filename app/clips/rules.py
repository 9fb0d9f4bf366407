"""Who may change a clip record, and when: the freeze after verification.

Once a clip is verified, published or retracted its catalogue fields (place, date, titles,
descriptions, content flags, tags) and its media are frozen: they change only through a
correction (app/review/corrections.py), reviewed like the clip was. Before that, the clip's
creator and reviewers edit it directly.
"""

from __future__ import annotations

from app.accounts.models import ROLE_RANK, User
from app.clips.exceptions import RecordFrozen
from app.clips.models import Clip

FROZEN = ("verified", "published", "retracted")
"""States whose catalogue fields and media change only through a correction."""


def corrections_url(code: str) -> str:
    return f"/api/v1/clips/{code}/corrections"


def check_not_frozen(clip: Clip, what: str = "its record") -> None:
    """409 ``record_frozen`` for a verified, published or retracted clip."""
    if clip.status not in FROZEN:
        return
    route = corrections_url(clip.code)
    how = (
        "a retracted clip is final and takes no corrections"
        if clip.status == "retracted"
        else f"propose a correction instead (POST {route}); it is reviewed and then applied"
    )
    raise RecordFrozen(
        f"clip {clip.code} is {clip.status}, so {what} cannot change in place: {how}",
        extra={"state": clip.status, "corrections": route},
    )


def may_edit(clip: Clip, user: User) -> bool:
    """Before verification: the clip's creator and reviewers/admins."""
    return ROLE_RANK[user.role] >= ROLE_RANK["reviewer"] or clip.created_by_id == user.id
