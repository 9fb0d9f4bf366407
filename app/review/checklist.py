"""The verification checklist: a template of items (admins add to it) and each clip's answers.

Each answer records who, when, a note, evidence links and item data: a location item needs
latitude, longitude and a precision; a date item sets the clip's EDTF date through the clips
service. Every change goes to the custody log with before and after values.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.clips import service as clips
from app.clips.schemas import ClipUpdate
from app.custody import service as custody
from app.errors import Conflict, InvalidInput, StaleVersion
from app.kit.clock import utcnow
from app.review.exceptions import ChecklistLocked, ItemNotFound, NotAllowed
from app.review.models import ITEM_KINDS, PRECISIONS, ChecklistEntry, ChecklistTemplateItem
from app.review.schemas import ChecklistEntryRead

EDITABLE_STATES = ("draft", "submitted", "in_review", "needs_info")
KEY_RE = re.compile(r"^[a-z][a-z0-9_]{1,63}$")
URL_RE = re.compile(r"^https?://\S+$")
MAX_EVIDENCE = 20


def template(session: Session, *, include_retired: bool = False) -> list[ChecklistTemplateItem]:
    stmt = select(ChecklistTemplateItem).order_by(
        ChecklistTemplateItem.position, ChecklistTemplateItem.id
    )
    if not include_retired:
        stmt = stmt.where(ChecklistTemplateItem.active.is_(True))
    return list(session.scalars(stmt))


def missing_keys(session: Session, clip_id: int) -> list[str]:
    done = set(
        session.scalars(
            select(ChecklistEntry.item_id).where(
                ChecklistEntry.clip_id == clip_id, ChecklistEntry.done.is_(True)
            )
        )
    )
    return [item.key for item in template(session) if item.id not in done]


def entries(session: Session, clip_id: int) -> list[ChecklistEntryRead]:
    rows = session.execute(
        select(ChecklistEntry, User.email)
        .outerjoin(User, User.id == ChecklistEntry.updated_by_id)
        .where(ChecklistEntry.clip_id == clip_id)
    ).all()
    by_item = {e.item_id: (e, email) for e, email in rows}
    out = []
    for item in template(session):
        entry, email = by_item.get(item.id, (None, None))
        out.append(
            ChecklistEntryRead(
                key=item.key,
                kind=item.kind,
                label_en=item.label_en,
                label_fa=item.label_fa,
                help_en=item.help_en,
                help_fa=item.help_fa,
                done=bool(entry and entry.done),
                note=entry.note if entry else "",
                evidence=list(entry.evidence) if entry else [],
                data=dict(entry.data) if entry else {},
                updated_by=email,
                updated_at=entry.updated_at if entry else None,
                version=entry.version if entry else 0,
            )
        )
    return out


def _clean_evidence(links: list[str]) -> list[str]:
    out: list[str] = []
    for link in links:
        link = link.strip()
        if not link:
            continue
        if not URL_RE.match(link) or len(link) > 2000:
            raise InvalidInput(
                f"evidence link {link[:80]!r} must be an http(s) URL", field="evidence"
            )
        if link not in out:
            out.append(link)
    if len(out) > MAX_EVIDENCE:
        raise InvalidInput(f"at most {MAX_EVIDENCE} evidence links per item", field="evidence")
    return out


def _location_data(data: dict[str, Any]) -> dict[str, Any]:
    try:
        lat = float(data["lat"])
        lon = float(data["lon"])
    except (KeyError, TypeError, ValueError):
        raise InvalidInput(
            "a confirmed location needs a latitude and a longitude (numbers)", field="lat"
        ) from None
    if not -90 <= lat <= 90:
        raise InvalidInput(f"latitude {lat} is outside -90..90", field="lat")
    if not -180 <= lon <= 180:
        raise InvalidInput(f"longitude {lon} is outside -180..180", field="lon")
    precision = data.get("precision")
    if precision not in PRECISIONS:
        raise InvalidInput(f"precision must be one of {', '.join(PRECISIONS)}", field="precision")
    return {"lat": round(lat, 6), "lon": round(lon, 6), "precision": precision}


def update_entry(
    session: Session,
    code: str,
    key: str,
    *,
    done: bool,
    note: str,
    evidence: list[str],
    data: dict[str, Any],
    version: int,
    user: User,
    actor: str,
) -> ChecklistEntryRead:
    clip = clips.live_clip(session, code, lock=True)
    if user.role not in ("reviewer", "admin"):
        raise NotAllowed("the checklist is filled in by reviewers")
    if clip.status not in EDITABLE_STATES:
        raise ChecklistLocked(
            f"clip {code} is {clip.status}; its checklist can only change "
            "before it is verified (reopen the review first)"
        )
    item = session.scalar(
        select(ChecklistTemplateItem).where(
            ChecklistTemplateItem.key == key, ChecklistTemplateItem.active.is_(True)
        )
    )
    if item is None:
        raise ItemNotFound(f"no checklist item {key!r}", field="key")
    entry = session.scalar(
        select(ChecklistEntry)
        .where(ChecklistEntry.clip_id == clip.id, ChecklistEntry.item_id == item.id)
        .execution_options(populate_existing=True)
    )
    current = entry.version if entry else 0
    if version != current:
        raise StaleVersion(
            f"checklist item {key} of clip {code} has changed since you read it "
            f"(you sent version {version}, it is now {current}); reload",
            field="version",
            extra={"current_version": current},
        )
    clean: dict[str, Any] = {}
    if item.kind == "location" and (done or data.get("lat") not in (None, "")):
        clean = _location_data(data)
    if item.kind == "date" and (done or data.get("date")):
        text = str(data.get("date") or "").strip()
        if not text:
            raise InvalidInput("a confirmed date needs the date (e.g. 16 Nov 2019)", field="date")
        clips.update(
            session, code, ClipUpdate(version=clip.version, date=text), actor=actor, user=user
        )
        clean = {"date": clip.date_edtf}
    before = _snapshot(entry)
    if entry is None:
        entry = ChecklistEntry(clip_id=clip.id, item_id=item.id)
        session.add(entry)
    entry.done = done
    entry.note = note.strip()
    entry.evidence = _clean_evidence(evidence)
    entry.data = clean
    entry.updated_by_id = user.id
    entry.updated_at = utcnow()
    session.flush()
    after = _snapshot(entry)
    custody.record(
        session,
        actor=actor,
        action="review.checklist",
        clip_code=code,
        payload={"item": key, "before": before, "after": after},
    )
    return next(e for e in entries(session, clip.id) if e.key == key)


def _snapshot(entry: ChecklistEntry | None) -> dict[str, Any] | None:
    if entry is None:
        return None
    return {
        "done": entry.done,
        "note": entry.note,
        "evidence": list(entry.evidence),
        "data": dict(entry.data),
    }


def add_item(
    session: Session,
    *,
    key: str,
    label_en: str,
    label_fa: str,
    kind: str = "plain",
    help_en: str = "",
    help_fa: str = "",
    actor: str,
) -> ChecklistTemplateItem:
    key = key.strip()
    if not KEY_RE.match(key):
        raise InvalidInput(
            "key must be 2-64 lower-case letters, digits or _ and start with a letter", field="key"
        )
    if kind not in ITEM_KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(ITEM_KINDS)}", field="kind")
    if not label_en.strip() or not label_fa.strip():
        raise InvalidInput("an item needs an English and a Farsi label", field="label_en")
    if (
        session.scalar(select(ChecklistTemplateItem.id).where(ChecklistTemplateItem.key == key))
        is not None
    ):
        raise Conflict(
            f"a checklist item with the key {key!r} already exists",
            field="key",
            code="duplicate_key",
        )
    last = max((i.position for i in template(session, include_retired=True)), default=0)
    item = ChecklistTemplateItem(
        key=key,
        label_en=label_en.strip(),
        label_fa=label_fa.strip(),
        help_en=help_en,
        help_fa=help_fa,
        kind=kind,
        position=last + 10,
    )
    session.add(item)
    session.flush()
    custody.record(
        session,
        actor=actor,
        action="review.checklist_item_added",
        payload={"key": key, "label_en": item.label_en, "label_fa": item.label_fa, "kind": kind},
    )
    return item


def retire_item(session: Session, key: str, *, version: int, actor: str) -> None:
    item = session.scalar(select(ChecklistTemplateItem).where(ChecklistTemplateItem.key == key))
    if item is None:
        raise ItemNotFound(f"no checklist item {key!r}", field="key")
    if item.version != version:
        raise StaleVersion(
            f"checklist item {key} has changed since you read it",
            field="version",
            extra={"current_version": item.version},
        )
    if not item.active:
        return  # already retired: nothing changes, nothing to log
    item.active = False
    session.flush()
    custody.record(
        session, actor=actor, action="review.checklist_item_retired", payload={"key": key}
    )
