"""Internal, threaded, optionally time-coded comments. Team only: never in public output."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.clips import service as clips
from app.custody import service as custody
from app.errors import InvalidInput, StaleVersion
from app.kit.clock import utcnow
from app.review.exceptions import CommentNotFound, NotAllowed
from app.review.models import Comment
from app.review.schemas import CommentRead

MAX_BODY = 10000
MAX_DEPTH = 5


def _clean(body: str, at_seconds: float | None) -> tuple[str, float | None]:
    body = body.strip()
    if not body:
        raise InvalidInput("a comment cannot be empty", field="body")
    if len(body) > MAX_BODY:
        raise InvalidInput(f"a comment has at most {MAX_BODY} characters", field="body")
    if at_seconds is not None and not 0 <= at_seconds <= 7 * 24 * 3600:
        raise InvalidInput("the time code must be a number of seconds from 0", field="at_seconds")
    return body, at_seconds


def add(
    session: Session,
    code: str,
    *,
    body: str,
    at_seconds: float | None,
    parent_id: int | None,
    user: User,
    actor: str,
) -> CommentRead:
    clip = clips.live_clip(session, code, lock=True)
    body, at_seconds = _clean(body, at_seconds)
    if parent_id is not None:
        parent = session.get(Comment, parent_id)
        if parent is None or parent.clip_id != clip.id:
            raise CommentNotFound(
                f"no comment {parent_id} on clip {code} to reply to", field="parent_id"
            )
    comment = Comment(
        clip_id=clip.id, parent_id=parent_id, author_id=user.id, body=body, at_seconds=at_seconds
    )
    session.add(comment)
    session.flush()
    custody.record(
        session,
        actor=actor,
        action="review.comment",
        clip_code=code,
        payload={
            "comment_id": comment.id,
            "parent_id": parent_id,
            "body": body,
            "at_seconds": at_seconds,
        },
    )
    return _view(comment, user.email)


def edit(
    session: Session, code: str, comment_id: int, *, body: str, version: int, user: User, actor: str
) -> CommentRead:
    clip = clips.live_clip(session, code, lock=True)
    comment = session.get(Comment, comment_id, populate_existing=True)
    if comment is None or comment.clip_id != clip.id:
        raise CommentNotFound(f"no comment {comment_id} on clip {code}")
    if comment.author_id != user.id:
        raise NotAllowed("only the author may edit a comment")
    if comment.version != version:
        raise StaleVersion(
            f"comment {comment_id} has changed since you read it",
            field="version",
            extra={"current_version": comment.version},
        )
    body, _ = _clean(body, None)
    before = comment.body
    comment.body = body
    comment.edited_at = utcnow()
    session.flush()
    custody.record(
        session,
        actor=actor,
        action="review.comment_edited",
        clip_code=code,
        payload={"comment_id": comment.id, "before": before, "after": body},
    )
    return _view(comment, user.email)


def _view(c: Comment, author: str | None, depth: int = 0) -> CommentRead:
    return CommentRead(
        id=c.id,
        parent_id=c.parent_id,
        author=author,
        body=c.body,
        at_seconds=c.at_seconds,
        created_at=c.created_at,
        edited_at=c.edited_at,
        version=c.version,
        depth=depth,
    )


def thread(session: Session, clip_id: int) -> list[CommentRead]:
    """All comments, replies directly under their parent (depth-first, oldest first)."""
    rows = session.execute(
        select(Comment, User.email)
        .outerjoin(User, User.id == Comment.author_id)
        .where(Comment.clip_id == clip_id)
        .order_by(Comment.id)
    ).all()
    children: dict[int | None, list[tuple[Comment, str | None]]] = {}
    for c, email in rows:
        children.setdefault(c.parent_id, []).append((c, email))
    out: list[CommentRead] = []

    def walk(parent: int | None, depth: int) -> None:
        for c, email in children.get(parent, []):
            out.append(_view(c, email, min(depth, MAX_DEPTH)))
            walk(c.id, depth + 1)

    walk(None, 0)
    return out
