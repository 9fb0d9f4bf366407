"""Evidence packages: what goes into a clip's bag, read from the other domains' services.

:func:`plan_bag` writes the export to the custody log (``evidence.exported``) and returns
a :class:`BagPlan` holding everything the stream needs: the files by path on the local
backend, or by key in the bucket on S3 (the original and its current derivatives; an
original that is missing or of the wrong size is refused before anything is logged), and
every tag file as bytes. Nothing in the stream touches the
database, so the HTTP route commits before the first byte is sent.

The bag (see README, "Evidence and proof")::

    bagit.txt  bag-info.txt  README.txt
    manifest-sha256.txt  manifest-sha512.txt  tagmanifest-sha256.txt  tagmanifest-sha512.txt
    data/original/<CODE>.<ext>        the original, byte for byte
    data/derivatives/<file>           keyframes, thumbnails, poster, contact sheet
    metadata/record.json  probe.json  checklist.json  review.json  videoobject.jsonld
    custody/events.jsonl              the clip's custody events, the export last
    custody/checkpoint.txt  inclusion-proofs.json  log-key.pub   (app/evidence/proofs.py)
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import partial
from typing import Any

from sqlalchemy.orm import Session

from app.clips import service as clips
from app.config import get_settings
from app.custody import service as custody
from app.errors import AppError, Conflict, InvalidInput
from app.evidence import proofs
from app.evidence.package import BagPlan, PayloadFile
from app.evidence.readme import readme_text
from app.ingest import service as ingest
from app.ingest.exceptions import MediaNotFound
from app.kit.clock import utcnow
from app.review import checklist
from app.storage.backend import derivative_key, original_key
from app.storage.configured import get_backend
from app.storage.local import LocalBackend

EXTENSIONS = {"mov": "mp4", "matroska": "mkv", "avi": "avi", "mpegts": "ts", "flv": "flv"}
REVIEW_ACTIONS = ("review.transition", "review.approved")


def _json(value: Any) -> bytes:
    return (
        json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True, default=str) + "\n"
    ).encode()


def _event(e: Any) -> dict[str, Any]:
    return {
        "id": e.id,
        "occurred_at": e.occurred_at.isoformat(timespec="microseconds"),
        "actor": e.actor,
        "action": e.action,
        "clip_code": e.clip_code,
        "payload": e.payload,
        "prev_hash": e.prev_hash,
        "hash": e.hash,
    }


def _video_object(record: dict[str, Any], media: Any, probe: dict[str, Any]) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "VideoObject",
        "identifier": record["code"],
        "name": record.get("title_en") or record.get("title_fa") or record["code"],
        "description": record.get("description_en") or record.get("description_fa") or "",
        "contentLocation": {
            "@type": "Place",
            "name": record["city"],
            "containedInPlace": {"@type": "Place", "name": record["province"]},
        },
        "dateCreated": (record.get("date") or {}).get("edtf"),
        "keywords": record.get("tags") or [],
    }
    if media is not None:
        obj["uploadDate"] = media.created_at.isoformat()
        obj["contentSize"] = str(media.size)
        obj["encodingFormat"] = media.content_type or media.container
        obj["sha256"] = media.sha256
        obj["identifier"] = [
            record["code"],
            {"@type": "PropertyValue", "propertyID": "SHA-256", "value": media.sha256},
        ]
        if probe.get("duration"):
            obj["duration"] = f"PT{float(probe['duration']):.3f}S"
        if probe.get("width") and probe.get("height"):
            obj["width"], obj["height"] = probe["width"], probe["height"]
    return obj


def _payload(code: str, media: Any) -> list[PayloadFile]:
    """The original and the current generation's derivatives: local files (copied in the
    kernel when their checksums are stored), or objects streamed from the bucket."""
    backend = get_backend()
    ext = EXTENSIONS.get(media.container.split(",")[0], "bin")
    name = f"data/original/{code}.{ext}"
    key = original_key(media.sha256)
    found = backend.stat(key)
    if found is None:
        raise MediaNotFound(
            f"the original of clip {code} is missing from the store (run `archive fixity "
            f"{code}`); no package was made"
        )
    if found.size != media.size:
        raise Conflict(
            f"the original of {code} is {found.size} bytes in the store, its record says "
            f"{media.size}; a package of it would not verify. Run `archive fixity {code}`.",
            code="original_not_intact",
        )
    if isinstance(backend, LocalBackend):
        return [PayloadFile(name, backend.path(key), media.size, media.sha256, media.sha512)]
    files = [
        PayloadFile(
            name, None, media.size, media.sha256, media.sha512,
            chunks=partial(backend.read, key, 0, media.size),
        )
    ]  # fmt: skip
    return files


def _derived(media: Any) -> list[PayloadFile]:
    if not media.derivative_generation:
        return []
    backend = get_backend()
    if isinstance(backend, LocalBackend):
        folder = backend.store.generation_dir(media.sha256, media.derivative_generation)
        if not folder.is_dir():
            return []
        return [
            PayloadFile(f"data/derivatives/{p.name}", p, p.stat().st_size)
            for p in sorted(folder.iterdir())
            if p.is_file()
        ]
    prefix = derivative_key(media.sha256, media.derivative_generation) + "/"
    out = []
    for o in sorted(backend.list(prefix), key=lambda o: o.key):
        rest = o.key[len(prefix) :]
        if "/" not in rest:  # the generation's own files, as on disk
            out.append(
                PayloadFile(
                    f"data/derivatives/{rest}", None, o.size, chunks=partial(backend.read, o.key)
                )
            )
    return out


def plan_bag(session: Session, code: str, *, actor: str) -> BagPlan:
    """The bag of one clip; the export is written to the custody log first."""
    record = clips.get(session, code).model_dump(mode="json")
    clip = clips.live_clip(session, code)
    try:
        _clip, media = ingest.media_for(session, code)
    except AppError:
        media = None  # a record without an original yet (an imported listing): still evidence
    if media is not None and media.fixity_status not in (None, "ok"):
        # the bag would carry the stored checksums of bytes that are no longer there
        raise Conflict(
            f"the original of {clip.code} failed its last fixity check "
            f"({media.fixity_status}: {media.fixity_detail or 'no detail'}); a package of it "
            "would not verify. Restore the original from a copy and run `archive fixity "
            f"{clip.code}` before exporting.",
            code="original_not_intact",
            extra={"fixity_status": media.fixity_status},
        )
    payload = [*_payload(clip.code, media), *_derived(media)] if media is not None else []
    earlier = len(custody.events_for_clip(session, clip.code))
    custody.record(
        session,
        actor=actor,
        action="evidence.exported",
        clip_code=clip.code,
        payload={
            "format": "bagit",
            "original_sha256": media.sha256 if media is not None else None,
            "payload_files": len(payload),
            "payload_bytes": sum(p.size for p in payload),
            # how many of the clip's events came before: a bag missing one is caught
            # (app/evidence/proofs_check.py), since this event is itself proven
            "custody_events": earlier,
        },
    )
    session.flush()
    probe = dict(media.probe) if media is not None else {}
    events = custody.events_for_clip(session, clip.code)
    review = [_event(e) for e in events if e.action in REVIEW_ACTIONS]
    now = utcnow()
    tags: dict[str, bytes] = {
        "README.txt": readme_text(clip.code, media.sha256 if media is not None else None),
        "metadata/record.json": _json(record),
        "metadata/probe.json": _json(probe),
        "metadata/checklist.json": _json(
            [e.model_dump(mode="json") for e in checklist.entries(session, clip.id)]
        ),
        "metadata/review.json": _json(
            {
                "transitions": [e for e in review if e["action"] == "review.transition"],
                "approvals": [e for e in review if e["action"] == "review.approved"],
            }
        ),
        "metadata/videoobject.jsonld": _json(_video_object(record, media, probe)),
        "custody/events.jsonl": b"".join(
            (json.dumps(_event(e), ensure_ascii=False, sort_keys=True) + "\n").encode()
            for e in events
        ),
    }
    tags.update(proofs.custody_files(session, events))
    settings = get_settings()
    info = [
        ("Source-Organization", settings.evidence_organization),
        ("External-Identifier", clip.code),
        ("External-Description", f"Evidence package of clip {clip.code}"),
        ("Bagging-Date", now.date().isoformat()),
        ("Bag-Software-Agent", "video-evidence-archive (archive export bag)"),
    ]
    if media is not None:
        info.append(("Original-SHA256", media.sha256))
    return BagPlan(clip.code, info, payload, tags, now)


def select_codes(
    session: Session, codes: Iterable[str], *, city: str | None, status: list[str] | None
) -> list[str]:
    """The codes given, or every clip matching the filter (``archive export bag``)."""
    wanted = [clips.normalise_code(c) for c in codes]
    if wanted and (city or status):
        raise InvalidInput("give clip codes or a filter (--city/--status), not both")
    if wanted:
        return wanted
    if not (city or status):
        raise InvalidInput("give clip codes, or --city/--status to choose them")
    out: list[str] = []
    cursor = None
    while True:
        page = clips.list_clips(session, city=city, status=status, limit=200, cursor=cursor)
        out += [c.code for c in page.items]
        if page.next_cursor is None:
            return out
        cursor = page.next_cursor
