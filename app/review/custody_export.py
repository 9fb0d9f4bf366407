"""Exporting a clip's custody events with their hashes: the export itself is logged
(``custody.exported``) and carries the state of the whole chain when it was made."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.clips import service as clips
from app.custody import audit
from app.custody import service as custody
from app.kit.clock import utcnow
from app.review.schemas import CustodyEventRead, CustodyExport


def export_clip(session: Session, code: str, *, actor: str) -> CustodyExport:
    clips.live_clip(session, code)
    result = audit.verify(session)  # (it expunges the session's objects as it pages)
    custody.record(
        session, actor=actor, action="custody.exported", clip_code=code, payload={"format": "json"}
    )
    events = custody.events_for_clip(session, code)
    return CustodyExport(
        code=code,
        exported_at=utcnow(),
        chain_ok=result.ok,
        chain_head=result.head,
        chain_events=result.count,
        events=[
            CustodyEventRead(
                id=e.id,
                occurred_at=e.occurred_at,
                actor=e.actor,
                action=e.action,
                clip_code=e.clip_code,
                payload=e.payload,
                prev_hash=e.prev_hash,
                hash=e.hash,
            )
            for e in events
        ],
    )
