"""The review queue: filters, counts per state, "my work"."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from app.clips import search
from app.clips.models import STATUSES
from app.errors import InvalidInput
from app.places import service as places
from app.review import repository
from app.review.repository import QueueFilter
from app.review.schemas import QueueItemRead, QueueRead


def build_filter(
    session: Session,
    *,
    statuses: list[str] | None = None,
    assignee_id: int | None = None,
    unassigned: bool = False,
    city: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    q: str | None = None,
) -> QueueFilter:
    for s in statuses or []:
        if s not in STATUSES:
            raise InvalidInput(f"state {s!r} is not one of {', '.join(STATUSES)}", field="state")
    if date_from and date_to and date_from > date_to:
        raise InvalidInput(f"from ({date_from}) is after to ({date_to})", field="from")
    place_ids = places.city_ids_for(session, city=city) if city else None
    dialect = search.dialect_of(session)
    parsed = search.parse(q, dialect)
    if parsed is None and (q or "").strip():
        place_ids = []  # typed text without a single word matches nothing
    return QueueFilter(
        statuses=statuses or None,
        assignee_id=assignee_id,
        unassigned=unassigned,
        place_ids=place_ids,
        date_from=date_from,
        date_to=date_to,
        fts=parsed.engine if parsed else None,
        dialect=dialect,
    )


def review_queue(
    session: Session, f: QueueFilter, *, limit: int = 50, offset: int = 0
) -> QueueRead:
    rows = repository.queue_rows(session, f, limit, offset)
    counts = repository.counts_by_status(session, f)
    selected = f.statuses or list(STATUSES)
    items = [
        QueueItemRead(
            code=r.code,
            status=r.status,
            title_en=r.title_en,
            title_fa=r.title_fa,
            date_en=r.date_display_en,
            date_fa=r.date_display_fa,
            city=r.city,
            city_fa=r.city_fa,
            assignee=r.assignee,
            assigned_at=r.assigned_at,
            updated_at=r.updated_at,
            version=r.version,
        )
        for r in rows
    ]
    return QueueRead(
        items=items,
        counts={s: counts.get(s, 0) for s in STATUSES},
        total=sum(counts.get(s, 0) for s in selected),
        offset=offset,
        limit=limit,
    )
