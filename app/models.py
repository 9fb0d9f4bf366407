"""Every domain's models, imported in one place for Alembic and the tests."""

from app.accounts.models import ApiToken, User, WebSession
from app.clips.models import Clip, CodeSequence
from app.custody.models import CustodyCheckpoint, CustodyEvent, CustodyNode, CustodyTimestamp
from app.db import Base
from app.duplicates.models import DuplicateCandidate
from app.ingest.models import FrameHash, Keyframe, Media, Upload
from app.jobs.models import ProcessingJob
from app.partners.models import ApiKey, Partner
from app.places.models import Place, PlaceAlias
from app.public.models import PublicChange
from app.review.models import (
    Approval,
    BlurRegion,
    ChecklistEntry,
    ChecklistTemplateItem,
    ClipAssignment,
    Comment,
    Correction,
    CorrectionApproval,
    Retraction,
)

__all__ = [
    "ApiKey",
    "ApiToken",
    "Approval",
    "BlurRegion",
    "ChecklistEntry",
    "ChecklistTemplateItem",
    "ClipAssignment",
    "Comment",
    "Correction",
    "CorrectionApproval",
    "Base",
    "Clip",
    "CustodyCheckpoint",
    "CustodyNode",
    "CustodyTimestamp",
    "CodeSequence",
    "CustodyEvent",
    "DuplicateCandidate",
    "FrameHash",
    "Keyframe",
    "Media",
    "Partner",
    "Place",
    "PlaceAlias",
    "Retraction",
    "PublicChange",
    "ProcessingJob",
    "Upload",
    "User",
    "WebSession",
]
