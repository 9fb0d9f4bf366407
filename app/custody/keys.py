"""The archive's Ed25519 log key: kept in a file (never in the database), mode 0600.

``ARCHIVE_LOG_KEY_PATH`` (default ``var/custody-log.key``) holds the private key as PKCS#8
PEM. ``archive keys init`` writes it; in development the first checkpoint writes one too.
In production the server refuses to start without it once the log has events
(``require_key``), because checkpoints could no longer be signed.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from app.config import Environment, Settings, get_settings
from app.custody import checkpoint
from app.custody.exceptions import LogKeyMissing


def key_path(settings: Settings | None = None) -> Path:
    s = settings or get_settings()
    return s.log_key_path or s.var_dir / "custody-log.key"


def origin(settings: Settings | None = None) -> str:
    """The log's name: the first line of every checkpoint and the key's name."""
    s = settings or get_settings()
    if s.log_origin:
        return s.log_origin
    host = s.base_url.split("://", 1)[-1].rstrip("/")
    return f"{host}/custody-log"


def init_key(path: Path, *, force: bool = False) -> Ed25519PrivateKey:
    """Write a new key to ``path`` (0600). Refuses to replace one unless ``force``."""
    if path.exists() and not force:
        raise FileExistsError(f"{path} exists; a new key would orphan every saved checkpoint")
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, pem)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return key


def load_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        raise LogKeyMissing(
            f"the custody log key {path} does not exist; create it with `archive keys init`"
        ) from None
    except (OSError, ValueError) as exc:
        raise LogKeyMissing(f"the custody log key {path} cannot be read: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise LogKeyMissing(f"{path} is not an Ed25519 key")
    return key


def signing_key(settings: Settings | None = None) -> Ed25519PrivateKey:
    """The key; in development one is created on first use."""
    s = settings or get_settings()
    path = key_path(s)
    if not path.exists() and s.environment is Environment.development:
        try:
            return init_key(path)
        except FileExistsError:
            pass  # another process made it just now
    return load_key(path)


def verifier_key(settings: Settings | None = None) -> str:
    """The public verifier key (``name+keyid+base64``) partners keep."""
    s = settings or get_settings()
    return checkpoint.verifier_key(origin(s), signing_key(s).public_key())


def require_key(log_size: int, settings: Settings | None = None) -> None:
    """Production start-up: refuse to run without the key once the log has events."""
    s = settings or get_settings()
    if s.environment is Environment.production and log_size > 0:
        load_key(key_path(s))
