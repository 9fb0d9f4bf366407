"""The ingest domain's job steps, the processing of an original: probe -> keyframes ->
hashes; and its sweeper (expired resumable uploads). :func:`register` declares them to the
job kernel; the composition root (app/tasks.py) calls it.

Each step has two halves. ``run_*`` does the slow work outside any transaction (ffmpeg,
Pillow) and returns an :class:`Outcome`; ``Outcome.apply`` writes the result inside the
job's finishing transaction, which also marks the job done. Derivatives go to a fresh
generation directory, so a re-run never overwrites what the current rows point at; the old
generation is removed only after the new rows are committed (``after_commit``), and a
generation whose rows never committed is removed by ``discard``.

On either backend (app/storage/working.py): a step reads a working copy of the original and
of the derivatives it needs (on S3 downloaded into the node's cache, checked against their
SHA-256 and size), and a keyframe run's generation directory is uploaded to
``derivatives/<sha256>/<generation>/`` before the rows that point at it commit (then the
node's scratch copy goes). The hashes step's fixity read is of the stored object itself.

When a step changes what the public sees of a published clip (keyframes re-extracted,
perceptual hashes or probed duration and size different from before), ``apply`` adds one
``updated`` event to the public change log. (The ``playback`` step, the public playback
copy, is the public domain's: app/public/tasks.py.)
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.config import get_settings
from app.db import session_scope
from app.ingest import frame_hashes
from app.ingest.models import INGEST_STEPS, Keyframe, Media
from app.jobs import registry
from app.jobs.registry import Outcome, Progress, StepFailed
from app.kit.clock import utcnow
from app.public.changes import clip_changed
from app.storage import derivatives, get_store, working
from app.storage.backend import derivative_key
from app.storage.configured import get_backend
from app.storage.fixity import OK
from app.video import (
    VideoError,
    extract_keyframes,
    make_contact_sheet,
    make_poster,
    make_thumbnail,
    open_image,
    phash_hex,
    probe,
)

log = logging.getLogger("archive.jobs")

MATCH_STEP = "match"  # queued after hashes; declared by app/duplicates/tasks.py
PUBLIC_PROBE_FIELDS = ("duration", "width", "height")  # what app/public/sources.py shows


def media_row(session: Session, media_id: int) -> Media:
    """The original's row, in a step's finishing transaction."""
    media = session.get(Media, media_id)
    if media is None:
        raise StepFailed("the media row is gone")
    return media


def _public_changed(session: Session, media: Media) -> None:
    """An ``updated`` feed event, unless the footage is held by a correction (not public)."""
    if media.correction_id is None:
        clip_changed(session, media.clip_id)


def run_probe(media_id: int, sha256: str, progress: Progress) -> Outcome:
    settings = get_settings()
    with working.original(sha256) as original:
        info = probe(original, timeout=settings.ffprobe_timeout_seconds)
    progress(1.0)

    def apply(session: Session) -> None:
        media = media_row(session, media_id)
        before = {k: (media.probe or {}).get(k) for k in PUBLIC_PROBE_FIELDS}
        media.probe = info
        media.container = info["container"][:40]
        if before != {k: info.get(k) for k in PUBLIC_PROBE_FIELDS}:
            _public_changed(session, media)

    return Outcome(apply)


def run_keyframes(media_id: int, sha256: str, progress: Progress) -> Outcome:
    settings = get_settings()
    store = get_store()
    with session_scope() as session:
        media = session.get(Media, media_id)
        if media is None:
            raise StepFailed("the media row is gone")
        current, info, size = media.derivative_generation, dict(media.probe), media.size
    working.drop_generations(sha256, keep=current)  # leftovers of attempts that died
    gen, out = store.new_generation(sha256)  # on S3 a scratch copy, uploaded below
    try:
        with working.original(sha256, size) as original:
            frames = extract_keyframes(
                original,
                out,
                min_interval=settings.keyframe_min_interval_seconds,
                phash_threshold=settings.keyframe_phash_threshold,
                diff_threshold=settings.keyframe_diff_threshold,
                max_count=settings.keyframe_max_count,
                timeout=settings.ffmpeg_timeout_seconds,
                probe_info=info,
                progress=lambda f: progress(0.8 * f),
            )
        for i, kf in enumerate(frames):
            make_thumbnail(kf.path, out / derivatives.thumbnail(i), 320)
        progress(0.9)
        make_poster(frames, out / derivatives.POSTER)
        make_contact_sheet(frames, out / derivatives.CONTACT_SHEET)
        working.publish_generation(sha256, gen, out)  # in the store before the rows commit
        progress(1.0)
    except BaseException:
        _drop_quietly(sha256, gen)
        raise

    def apply(session: Session) -> None:
        media = media_row(session, media_id)
        session.execute(delete(Keyframe).where(Keyframe.media_id == media.id))
        session.flush()
        for i, kf in enumerate(frames):
            session.add(
                Keyframe(
                    media_id=media.id,
                    original_sha256=sha256,
                    generation=gen,
                    position=i,
                    timestamp=kf.timestamp,
                    width=kf.width,
                    height=kf.height,
                    sha256=kf.sha256,
                    phash=kf.phash,
                    source=kf.source,
                )
            )
        media.derivative_generation = gen
        _public_changed(session, media)

    def drop_old() -> None:
        working.drop_generations(sha256, keep=gen)

    return Outcome(
        apply,
        after_commit=drop_old,
        discard=lambda: _drop_quietly(sha256, gen),
    )


def _drop_quietly(sha256: str, gen: str) -> None:
    """Remove a generation whose rows never committed; when the store cannot be reached
    (the likely reason the run failed), the objects stay for the next run's clean-up
    (``drop_generations`` at its start) and the run's own error is what is reported."""
    try:
        working.drop_generation(sha256, gen)
    except Exception:  # noqa: BLE001
        log.warning("could not remove generation %s of %s yet", gen, sha256, exc_info=True)


def run_hashes(media_id: int, sha256: str, progress: Progress) -> Outcome:
    """Fixity of the original, then each keyframe JPEG's SHA-256 and pHash, then the PDQ
    frame hashes (every keyframe, and one frame per second between sparse keyframes)."""
    with session_scope() as session:
        media = session.get(Media, media_id)
        if media is None or media.derivative_generation is None:
            raise StepFailed("there are no keyframes to hash (run the keyframes step first)")
        gen, size, want_sha512 = media.derivative_generation, media.size, media.sha512 is None
        rows = [
            (k.id, k.position, k.sha256, k.timestamp)
            for k in session.scalars(
                select(Keyframe).where(Keyframe.media_id == media_id).order_by(Keyframe.position)
            )
        ]
    # the stored object itself is read (not a working copy); the same read takes the
    # SHA-512 the evidence bags list (once per original)
    fix = get_backend().check_original(sha256, size, sha512=want_sha512)
    if fix.status != OK:
        raise StepFailed(f"fixity check failed for SHA-256:{sha256}: {fix.detail}")
    progress(0.5)
    names = [derivatives.keyframe(position) for _, position, _, _ in rows]
    phashes: dict[int, str] = {}
    with working.generation(sha256, gen, names) as folder:
        for n, (row_id, position, expected, _) in enumerate(rows):
            path = folder / derivatives.keyframe(position)
            actual = _sha256(path)
            if actual != expected:
                raise StepFailed(
                    f"keyframe {position} does not match its recorded SHA-256 "
                    f"(expected {expected}, found {actual})"
                )
            phashes[row_id] = phash_hex(open_image(path))
            progress(0.5 + 0.2 * (n + 1) / max(1, len(rows)))
        with working.original(sha256, size) as original:
            pdq_results = frame_hashes.compute_results(
                folder,
                [(position, ts) for _, position, _, ts in rows],
                original,
                timeout=get_settings().ffmpeg_timeout_seconds,
                progress=lambda f: progress(0.7 + 0.3 * f),
            )
    # the match step reads these: no 2nd decode
    with working.output(derivative_key(sha256, gen, derivatives.PDQ_DCT)) as dst:
        frame_hashes.save_dcts(dst, pdq_results)
    pdq_rows = frame_hashes.rows_of(pdq_results)

    def apply(session: Session) -> None:
        media = media_row(session, media_id)
        if media.derivative_generation != gen:
            raise StepFailed("the keyframes changed while they were being hashed")
        changed = False
        for row in session.scalars(select(Keyframe).where(Keyframe.media_id == media.id)):
            new = phashes.get(row.id, row.phash)
            changed = changed or new != row.phash
            row.phash = new
        media.fixity_checked_at = utcnow()
        if fix.sha512 is not None and media.sha512 is None:
            media.sha512 = fix.sha512
        frame_hashes.store(session, media, pdq_rows)
        if changed:
            _public_changed(session, media)

    return Outcome(apply)


def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return None


def sweep_temp_files() -> int:
    """Remove temp files no live process owns (at once on this host, by age for other
    hosts'), and settle promotions whose process died (app/storage/tempfiles.py)."""
    from app.ingest import housekeeping

    store = get_store()
    store.ensure()
    removed = housekeeping.sweep_temp(store, get_settings().upload_tmp_stale_seconds)
    if removed:
        log.info("removed %d stale temp file(s) from %s", removed, store.tmp)
    settings = get_settings()
    if settings.storage == "s3":  # and what dead uploads left on the object store
        from app.storage.configured import get_backend

        staged = get_backend().sweep_staging(settings.s3_staging_stale_seconds)
        if staged:
            log.info("removed %d stale staging object(s) and multipart upload(s)", staged)
        removed += staged
    return removed


def sweep_uploads() -> int:
    """Delete expired resumable uploads (their bytes, then their rows)."""
    from app.ingest import tus

    with session_scope() as session:
        return tus.sweep_expired(session)


FIXITY_EVERY_SECONDS = 900.0
FIXITY_BUDGET_SECONDS = 30.0  # a run's reading time: the other sweepers wait meanwhile
RECONCILE_EVERY_SECONDS = 6 * 3600.0


def sweep_fixity() -> int:
    """One slice of the fixity cycle (app/ingest/fixity.py)."""
    from app.ingest import fixity

    report = fixity.scheduled(FIXITY_EVERY_SECONDS, FIXITY_BUDGET_SECONDS)
    if report is None:
        return 0
    if report.failures:
        log.error(
            "fixity: %d of %d original(s) failed: %s",
            len(report.failures),
            report.files,
            ", ".join(f"{c.target.code} {c.result.status}" for c in report.failures[:10]),
        )
    return report.files


def sweep_reconcile() -> int:
    """Compare the database with the media store, dry (app/ingest/reconcile.py)."""
    from app.ingest import reconcile

    return reconcile.scheduled()


def register() -> None:
    probe_, keyframes_, hashes_ = INGEST_STEPS
    # ffmpeg said no: the same file gets the same answer next time; the stored object's
    # bytes are not what was recorded (a fixity matter, not a retry's)
    video = (VideoError, working.CopyMismatch)
    step = registry.Step
    registry.add_step(
        step(probe_, run_probe, "the original's metadata (ffprobe)", keyframes_, video)
    )
    registry.add_step(step(keyframes_, run_keyframes, "keyframes and images", hashes_, video))
    registry.add_step(
        step(hashes_, run_hashes, "fixity; keyframe SHA-256, pHash and PDQ", MATCH_STEP, video)
    )
    registry.add_sweeper(
        registry.Sweeper(
            "temp-files",
            sweep_temp_files,
            "delete temp files no live process owns (other hosts': after "
            "ARCHIVE_UPLOAD_TMP_STALE_SECONDS) and settle interrupted promotions",
        )
    )
    registry.add_sweeper(
        registry.Sweeper(
            "expired-uploads",
            sweep_uploads,
            "delete resumable uploads unfinished for ARCHIVE_UPLOAD_EXPIRE_SECONDS",
        )
    )
    registry.add_sweeper(
        registry.Sweeper(
            "fixity",
            sweep_fixity,
            "re-hash the originals checked longest ago: each once per "
            "ARCHIVE_FIXITY_CYCLE_DAYS, at most ARCHIVE_FIXITY_MAX_MB_PER_S",
            every_seconds=FIXITY_EVERY_SECONDS,
            at_start=False,
        )
    )
    registry.add_sweeper(
        registry.Sweeper(
            "reconcile",
            sweep_reconcile,
            "report (dry) rows without files, files without rows and stale uploads",
            every_seconds=RECONCILE_EVERY_SECONDS,
            at_start=False,
        )
    )
