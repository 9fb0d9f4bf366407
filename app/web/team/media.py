"""What the team pages show of a clip's original, keyframes and processing.

The only place the team UI reads the ingest and jobs domains (through their services), so
a change there touches one file here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from app.errors import AppError

ISO6709 = re.compile(r"^\s*([+-][0-9]+(?:\.[0-9]+)?)([+-][0-9]+(?:\.[0-9]+)?)")


@dataclass
class MediaView:
    sha256: str | None = None
    size: int | None = None
    filename: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    processing: dict[str, Any] = field(default_factory=dict)
    keyframes: list[dict[str, Any]] = field(default_factory=list)
    has_derivatives: bool = False
    jobs: list[dict[str, Any]] = field(default_factory=list)  # every step, playback too
    held_by: int | None = None  # the correction holding this footage back from the public

    @property
    def gps(self) -> tuple[float, float] | None:
        """From the ISO 6709 location tag, e.g. '+30.3473+048.2934+000.000/'."""
        m = ISO6709.match(str(self.metadata.get("gps") or ""))
        if not m:
            return None
        lat, lon = float(m.group(1)), float(m.group(2))
        return (lat, lon) if -90 <= lat <= 90 and -180 <= lon <= 180 else None


def media_view(session: Session, code: str) -> MediaView | None:
    try:
        from app.ingest import service as ingest
    except ImportError:  # pragma: no cover - ingest not installed
        return None
    from app.jobs import service as jobs

    try:
        clip, media = ingest.media_for(session, code)
        read = ingest.media_read(session, code)
        rows = ingest.keyframe_rows(session, media)
    except AppError:
        return None
    job_rows = jobs.jobs_for_clip(session, clip.id)
    base = f"/api/v1/clips/{clip.code}"
    return MediaView(
        sha256=media.sha256,
        size=media.size,
        filename=media.filename,
        metadata=dict(read.get("metadata") or {}),
        processing=dict(read.get("processing") or {}),
        has_derivatives=media.derivative_generation is not None,
        held_by=media.correction_id,
        jobs=[
            {
                "step": j.step,
                "state": j.state,
                "attempts": j.attempts,
                "finished_at": j.finished_at,
                "last_error": j.last_error,
            }
            for j in job_rows
        ],
        keyframes=[
            {
                "position": k.position,
                "timestamp": k.timestamp,
                "url": f"{base}/keyframes/{k.position}/image",
                "thumbnail_url": f"{base}/keyframes/{k.position}/thumbnail",
            }
            for k in rows
        ],
    )


def retry_jobs(session: Session, code: str, *, actor: str) -> list[int]:
    """Re-queue the clip's failed jobs (custody-logged; 409 when none has failed)."""
    from app.ingest import service as ingest

    return ingest.retry(session, code, actor=actor)


def stuck_processing(session: Session, limit: int = 20) -> list[Any]:
    """Clips whose processing failed, or has been queued or running for too long."""
    from app.ingest import service as ingest

    return ingest.stuck_processing(session, limit)


def fixity_summary(session: Session) -> Any:
    """The fixity cycle for the dashboard: last run, complete pass, overdue, failures."""
    from app.ingest import fixity

    return fixity.summary(session)
