"""IIIF Presentation 3 manifests for published clips, built and validated with the
``iiif-prezi3`` package's model.

One manifest per clip (``/iiif/IRN091/manifest.json``), with one video canvas:
- the canvas has the clip's duration, width and height;
- the public playback copy is the painting annotation (the original is never served);
- the poster, else the first keyframe, is the canvas thumbnail; every keyframe is a range
  (``structures``) from its time to the next keyframe's, with the keyframe as its thumbnail,
  so a viewer can show the keyframes at their times and jump to them.
- every applied correction's public notice (when, which fields, the public reason; never
  who or the internal reason) is a ``commenting`` annotation on the whole canvas (no time
  fragment: a correction is about the record, not a moment of the video), in the canvas's
  ``annotations``.
Only a published clip with a playback copy has a manifest (else 404, like its media).
"""

from __future__ import annotations

import json
from typing import Any

from iiif_prezi3 import Manifest

from app.public import service
from app.public.service import Enriched

CONTEXT = "http://iiif.io/api/presentation/3/context.json"
MEDIA_TYPE = f'application/ld+json;profile="{CONTEXT}"'


def manifest_url(code: str) -> str:
    return f"{service.base_url()}/iiif/{code}/manifest.json"


def _label(en: str | None, fa: str | None, fallback: str) -> dict[str, list[str]]:
    out = {"en": [en or fa or fallback]}
    if fa:
        out["fa"] = [fa]
    return out


def _image(url: str, width: int | None, height: int | None) -> dict[str, Any]:
    image: dict[str, Any] = {"id": url, "type": "Image", "format": "image/jpeg"}
    if width and height:
        image.update(width=width, height=height)
    return image


def _notices(item: Enriched, canvas_id: str) -> list[dict[str, Any]]:
    """The public correction notices as one AnnotationPage (empty list when none)."""
    if not item.corrections:
        return []
    page_id = f"{canvas_id}/corrections"
    notes = []
    for i, c in enumerate(item.corrections, start=1):
        day = c.corrected_at.date().isoformat() if c.corrected_at else ""
        text = f"Corrected {day}: {', '.join(c.fields) or 'record'}. {c.reason}".strip()
        notes.append(
            {
                "id": f"{page_id}/{i}",
                "type": "Annotation",
                "motivation": "commenting",
                "label": {"en": [f"Correction {i}"]},
                "body": {
                    "type": "TextualBody",
                    "value": text,
                    "format": "text/plain",
                    "language": "en",
                },
                "target": canvas_id,
            }
        )
    return [{"id": page_id, "type": "AnnotationPage", "items": notes}]


def build(item: Enriched) -> dict[str, Any]:
    """The manifest as JSON-LD (a dict), validated by iiif-prezi3's pydantic model."""
    r, media = item.row, item.media
    assert media is not None and item.has_playback  # the caller checked
    base = service.base_url()
    clip_url = f"{base}/clips/{r.code}"
    id_ = f"{base}/iiif/{r.code}"
    canvas_id = f"{id_}/canvas/1"
    duration = float(media.duration or 0) or 0.001  # a canvas's duration must be positive
    w, h = media.width or None, media.height or None
    canvas: dict[str, Any] = {
        "id": canvas_id,
        "type": "Canvas",
        "duration": duration,
        "items": [
            {
                "id": f"{canvas_id}/page/1",
                "type": "AnnotationPage",
                "items": [
                    {
                        "id": f"{canvas_id}/page/1/playback",
                        "type": "Annotation",
                        "motivation": "painting",
                        "target": canvas_id,
                        "body": {
                            "id": f"{clip_url}/playback.mp4",
                            "type": "Video",
                            "format": "video/mp4",
                            "duration": duration,
                            **({"width": w, "height": h} if w and h else {}),
                        },
                    }
                ],
            }
        ],
    }
    if w and h:
        canvas.update(width=w, height=h)
    if notices := _notices(item, canvas_id):
        canvas["annotations"] = notices
    frames = sorted(item.keyframes, key=lambda k: k.timestamp)
    if item.has_poster:
        canvas["thumbnail"] = [_image(f"{clip_url}/poster.jpg", w, h)]
    elif frames:
        canvas["thumbnail"] = [_image(f"{clip_url}/keyframes/{frames[0].position}.jpg", w, h)]
    ranges = []
    for i, k in enumerate(frames):
        end = frames[i + 1].timestamp if i + 1 < len(frames) else duration
        end = max(end, k.timestamp)
        ranges.append(
            {
                "id": f"{id_}/range/keyframe-{k.position}",
                "type": "Range",
                "label": {"none": [f"{k.timestamp:.2f} s"]},
                "thumbnail": [_image(f"{clip_url}/keyframes/{k.position}.jpg", w, h)],
                "items": [{"id": f"{canvas_id}#t={k.timestamp:g},{end:g}", "type": "Canvas"}],
            }
        )
    data: dict[str, Any] = {
        "@context": CONTEXT,
        "id": f"{id_}/manifest.json",
        "type": "Manifest",
        "label": _label(r.title_en, r.title_fa, r.code),
        "summary": _label(r.date_display_en, r.date_display_fa, r.code),
        "metadata": [
            {"label": {"en": ["Code"]}, "value": {"none": [r.code]}},
            {"label": {"en": ["Place"]}, "value": _label(r.city, r.city_fa, r.code)},
            {
                "label": {"en": ["Date"]},
                "value": _label(r.date_display_en, r.date_display_fa, r.code),
            },
            {"label": {"en": ["SHA-256 of the original"]}, "value": {"none": [media.sha256]}},
        ],
        "homepage": [
            {
                "id": clip_url,
                "type": "Text",
                "format": "text/html",
                "label": {"en": [r.title_en or r.code]},
            }
        ],
        "items": [canvas],
    }
    if ranges:
        data["structures"] = ranges
    model = Manifest(**{k: v for k, v in data.items() if k != "@context"})
    out: dict[str, Any] = json.loads(model.jsonld())
    return out
