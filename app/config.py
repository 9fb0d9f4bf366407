"""Settings: everything comes from ARCHIVE_* environment variables."""

from __future__ import annotations

import secrets
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SECRET_PLACEHOLDER = "change-me"


class Environment(StrEnum):
    development = "development"
    production = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ARCHIVE_", extra="ignore")

    environment: Environment = Environment.development
    database_url: str = ""
    var_dir: Path = PROJECT_ROOT / "var"
    media_root: Path = PROJECT_ROOT / "media"
    secret_key: str = ""
    base_url: str = "http://127.0.0.1:8000"
    # `archive serve`'s HTTP/1.1 protocol (app/server.py): "buffered" (ours, reads the socket
    # into a reused buffer; with glibc malloc thresholds for upload chunks) or "uvicorn"
    # (uvicorn's own, as `uvicorn app.main:create_app --factory` runs it)
    http_protocol: Literal["buffered", "uvicorn"] = "buffered"

    # limits
    max_upload_bytes: int = 8 * 1024**3
    page_size_max: int = 200
    import_progress_threshold: int = 2000

    # jobs
    jobs: Literal["embedded", "celery", "off"] = "embedded"
    job_workers: int = 2
    job_stuck_after_seconds: int = 1800
    redis_url: str = "redis://127.0.0.1:6379/0"
    ffmpeg_timeout_seconds: int = 600
    ffprobe_timeout_seconds: int = 30

    # keyframes (app/video/keyframes.py; tuned on bench/video.py, see bench/README.md)
    # a keyframe is dropped when, against the last kept one, its 64-bit pHash is within
    # this many bits (-1: test off) ...
    keyframe_phash_threshold: int = Field(default=10, ge=-1, le=64)
    # ... or its 32x32 thumbnail differs by at most this mean absolute value, 0-255 (-1: off)
    keyframe_diff_threshold: float = Field(default=40.0, ge=-1, le=255)
    # at least one frame per this many seconds, even with long GOPs (0: off)
    keyframe_min_interval_seconds: float = Field(default=30.0, ge=0)
    keyframe_max_count: int = Field(default=60, ge=1)

    # face blurring of public derivatives (app/video/faces.py, app/video/blur.py; README
    # "Faces blurred"): auto blurs clips flagged identifiable_people, always every clip,
    # off none (dangerous: see the README)
    face_blur: Literal["auto", "always", "off"] = "auto"
    # a CenterFace detection counts as a face at or above this score (0-1)
    face_threshold: float = Field(default=0.5, gt=0, le=1)
    # the detector runs on every Nth frame (and on scene cuts); boxes are held in between
    face_every_n_frames: int = Field(default=5, ge=1)
    # each box grows by this fraction of its width and height on every side
    face_margin: float = Field(default=0.25, ge=0, le=2)

    # near-duplicate search (app/duplicates/; README "Near-duplicate search")
    match_query_pct: float = Field(default=80.0, ge=0, le=100)
    match_compared_pct: float = Field(default=80.0, ge=0, le=100)
    duplicates_mih_above: int = Field(default=2_000_000, ge=0)
    duplicates_refresh_seconds: float = Field(default=2.0, gt=0)
    duplicates_index: Literal["faiss", "database"] = "faiss"
    # search by image (POST /api/v1/search/image, /team/search/image): the largest still
    # accepted, in bytes (413 above), and in pixels (a decompression bomb: 413 before decoding)
    image_search_max_bytes: int = Field(default=20 * 1024**2, ge=1)
    image_search_max_pixels: int = Field(default=40_000_000, ge=1)

    # ingest (uploads, store, job runner)
    upload_tmp_stale_seconds: int = 3600
    # an upload is refused (507) unless its size plus this much is free on the media store
    min_free_bytes: int = Field(default=1024**3, ge=0)
    upload_chunk_bytes: int = 4 * 1024 * 1024
    # an unfinished resumable (tus) upload is deleted this long after its last progress
    upload_expire_seconds: int = Field(default=7 * 24 * 3600, ge=60)
    job_max_attempts: int = 3
    job_poll_seconds: float = 1.0
    job_heartbeat_seconds: float = 10.0
    # embedded workers (and their ffmpeg) run this much nicer than the request threads
    job_nice: int = Field(default=10, ge=0, le=19)
    # an upload's hashing and writing threads run this much nicer than the request threads
    upload_nice: int = Field(default=5, ge=0, le=19)
    celery_queue: str = "archive"
    celery_visibility_timeout_seconds: int = 3600

    # fixity and reconciliation (app/ingest/fixity.py, app/ingest/reconcile.py): every
    # original is re-hashed once per cycle, spread over it, at most this fast (0: no limit)
    fixity_cycle_days: float = Field(default=90, gt=0)
    fixity_max_mb_per_s: float = Field(default=50, ge=0)
    # custody log (README "Evidence and proof"): the Ed25519 key that signs checkpoints
    # (a file outside the database, mode 0600; default var/custody-log.key), the log's name
    # in checkpoints (default: base_url's host + "/custody-log"), how often a checkpoint is
    # made when the log grew, and the RFC 3161 timestamp authorities that stamp each one
    log_key_path: Path | None = None
    log_origin: str = ""
    checkpoint_interval_seconds: int = Field(default=3600, ge=60)
    # comma-separated (``ARCHIVE_TSA_URLS=https://freetsa.org/tsr,http://timestamp.digicert.com``)
    tsa_urls: Annotated[list[str], NoDecode] = []
    # PEM file of the CA certificates a TSA's chain must lead to (tokens are checked offline)
    tsa_ca_file: Path | None = None
    tsa_timeout_seconds: float = Field(default=10.0, gt=0)
    tsa_max_attempts: int = Field(default=8, ge=1)

    # the media store (README "Storage backends"): local disk under media_root, or an
    # S3-compatible object store (app/storage/s3.py); credentials come from the standard
    # AWS variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_PROFILE, ...)
    storage: Literal["local", "s3"] = "local"
    s3_endpoint: str = ""  # empty: AWS's own endpoint for s3_region
    s3_bucket: str = ""
    s3_region: str = "us-east-1"
    # multipart part size; an upload holds at most about two parts in memory (>= 5 MiB)
    s3_part_size: int = Field(default=16 * 1024**2, ge=5 * 1024**2, le=5 * 1024**3)
    # Object Lock retention on new originals (the bucket must have Object Lock enabled)
    s3_object_lock: Literal["", "governance", "compliance"] = ""
    s3_retention_days: int = Field(default=0, ge=0)
    # staging objects and multipart uploads older than this are swept (a dead upload)
    s3_staging_stale_seconds: int = Field(default=24 * 3600, ge=60)
    s3_connect_timeout_seconds: float = Field(default=5.0, gt=0)
    # the workers' node-local copies of originals and derivatives read from the bucket
    # (MEDIA_ROOT/cache/, app/storage/working.py): least recently used ones go above this
    s3_cache_bytes: int = Field(default=10 * 1024**3, ge=0)
    # public playback copies, posters and keyframes answer with a 307 to a presigned GET
    # URL valid this long (app/web/stored.py); never the original, never a team route
    s3_presign: bool = False
    s3_presign_seconds: int = Field(default=300, ge=30, le=3600)

    # evidence packages (app/evidence/): the bag-info.txt Source-Organization
    evidence_organization: str = "Video evidence archive"

    # review workflow
    required_approvals: int = Field(default=2, ge=1)

    # web
    session_max_age_seconds: int = 12 * 3600

    # accounts (README "Accounts"): roles that must use two-factor log-in (comma-separated;
    # empty: nobody is forced), and log-in throttling: this many failures in a row are free
    # per account (per client address), then each further failure locks for
    # login_lockout_seconds, doubled each time, at most login_lockout_max_seconds
    require_2fa_for: str = "admin"
    login_max_failures: int = Field(default=5, ge=1)
    login_max_failures_per_address: int = Field(default=20, ge=1)
    login_lockout_seconds: int = Field(default=30, ge=1)
    login_lockout_max_seconds: int = Field(default=3600, ge=1)
    cors_origins: list[str] = []
    demo_on_first_run: bool = True

    # public site and partner API
    partner_anonymous_rate_per_minute: int = Field(default=60, ge=1)
    public_page_size: int = Field(default=24, ge=1, le=200)
    public_cache_seconds: int = Field(default=300, ge=0)
    # rendered public pages and partner lists kept in memory per process (app/public/cache.py)
    public_response_cache_mb: int = Field(default=64, ge=0)
    # per-key and anonymous rate limits counted across processes here; empty: per process
    rate_limit_redis_url: str = ""

    # under load (README "Under load"): requests served at once (also the thread pool's
    # size), the connections the database pool may open (0: threads + job workers + 4), and
    # how long a request waits for its turn before it gets 503 with Retry-After
    threads: int = Field(default=40, ge=1)
    db_pool_size: int = Field(default=0, ge=0)
    overload_wait_seconds: float = Field(default=5.0, gt=0)

    @field_validator("tsa_urls", mode="before")
    @classmethod
    def _split_tsa_urls(cls, value: object) -> object:
        if isinstance(value, str):
            return [u.strip() for u in value.split(",") if u.strip()]
        return value

    @model_validator(mode="after")
    def _defaults_and_guards(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.var_dir / 'archive.db'}"
        if self.environment is Environment.production:
            if not self.secret_key or self.secret_key == DEFAULT_SECRET_PLACEHOLDER:
                raise ValueError(
                    "ARCHIVE_SECRET_KEY must be set to a long random value in production "
                    "(for example: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
                )
            if len(self.secret_key) < 32:
                raise ValueError("ARCHIVE_SECRET_KEY must be at least 32 characters in production")
        elif not self.secret_key:
            self.secret_key = _development_secret(self.var_dir)
        if self.storage == "s3" and not self.s3_bucket:
            raise ValueError("ARCHIVE_STORAGE=s3 needs ARCHIVE_S3_BUCKET")
        if self.s3_object_lock and self.s3_retention_days < 1:
            raise ValueError("ARCHIVE_S3_OBJECT_LOCK needs ARCHIVE_S3_RETENTION_DAYS of 1 or more")
        return self

    @property
    def cookie_secure(self) -> bool:
        return self.environment is Environment.production or self.base_url.startswith("https")

    @property
    def two_factor_roles(self) -> frozenset[str]:
        return frozenset(r.strip() for r in self.require_2fa_for.split(",") if r.strip())

    @property
    def effective_db_pool_size(self) -> int:
        """Enough connections that no admitted request or job worker waits for one."""
        return self.db_pool_size or self.threads + self.job_workers + 4

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _development_secret(var_dir: Path) -> str:
    """Generate a secret once in development and keep it under var/."""
    path = var_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


@lru_cache
def get_settings() -> Settings:
    return Settings()
