"""Checkpoints as C2SP signed notes (c2sp.org/tlog-checkpoint, c2sp.org/signed-note).

A checkpoint's body is three lines and optional extension lines, each ending in ``\\n``::

    archive.example.org/custody      <- origin (also the key name)
    1234                             <- tree size
    3q2+7w...=                       <- base64 of the 32-byte Merkle root
    time 2026-12-02T04:00:00Z        <- extension line: when it was signed

then a blank line and one signature line per signer::

    — archive.example.org/custody <base64(4-byte key id || 64-byte Ed25519 signature)>

The signature covers the body including its last newline. The key id is
``SHA-256(name || 0x0A || 0x01 || public key)[:4]``; the verifier key that partners keep is
``name+<hex key id>+<base64(0x01 || public key)>`` (the Go ``sumdb/note`` vkey format).

Pure (no database): an offline bag verifier imports it as it is.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ED25519 = 0x01
DASH = "\u2014 "  # em dash and a space
MAX_NOTE = 64 * 1024


class CheckpointError(ValueError):
    """A note that is not a checkpoint, or whose signature does not verify; str() says why."""


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = field(default=())

    @property
    def time(self) -> datetime | None:
        for line in self.extensions:
            if line.startswith("time "):
                try:
                    return datetime.fromisoformat(line[5:].replace("Z", "+00:00"))
                except ValueError:
                    return None
        return None

    def body(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode()]
        return "".join(line + "\n" for line in (*lines, *self.extensions))


@dataclass(frozen=True)
class Signature:
    name: str
    key_id: bytes
    signature: bytes


def public_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([ED25519]) + public).digest()[:4]


def verifier_key(name: str, key: Ed25519PublicKey) -> str:
    """The text partners keep to check checkpoints: ``name+keyid+base64(0x01||key)``."""
    raw = public_bytes(key)
    return f"{name}+{key_id(name, raw).hex()}+{base64.b64encode(bytes([ED25519]) + raw).decode()}"


def parse_verifier_key(text: str) -> tuple[str, bytes, Ed25519PublicKey]:
    """(name, key id, public key) from a verifier key; CheckpointError when it is not one."""
    parts = text.strip().split("+", 2)  # (base64 may hold "+")
    if len(parts) != 3 or not parts[0]:
        raise CheckpointError("a verifier key is name+keyid+base64key")
    name, hex_id, b64 = parts
    try:
        kid = bytes.fromhex(hex_id)
        raw = base64.b64decode(b64, validate=True)
    except (ValueError, binascii.Error):
        raise CheckpointError("the verifier key's id or key is not hex / base64") from None
    if len(kid) != 4 or len(raw) != 33 or raw[0] != ED25519:
        raise CheckpointError("the verifier key is not an Ed25519 key")
    if key_id(name, raw[1:]) != kid:
        raise CheckpointError("the verifier key's id does not match its name and key")
    return name, kid, Ed25519PublicKey.from_public_bytes(raw[1:])


def _valid_name(name: str) -> bool:
    return bool(name) and not any(c.isspace() or c == "+" for c in name)


def sign(checkpoint: Checkpoint, name: str, key: Ed25519PrivateKey) -> str:
    """The signed note text of ``checkpoint``."""
    if not _valid_name(name):
        raise CheckpointError(f"key name {name!r} must be non-empty with no spaces or '+'")
    body = checkpoint.body()
    sig = key.sign(body.encode())
    kid = key_id(name, public_bytes(key.public_key()))
    return f"{body}\n{DASH}{name} {base64.b64encode(kid + sig).decode()}\n"


def make(
    origin: str, size: int, root: bytes, at: datetime, key: Ed25519PrivateKey
) -> tuple[Checkpoint, str]:
    stamp = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    cp = Checkpoint(origin, size, root, (f"time {stamp}",))
    return cp, sign(cp, origin, key)


def parse(note: str) -> tuple[Checkpoint, list[Signature]]:
    """Read a note without checking signatures (``verify`` does that)."""
    if len(note) > MAX_NOTE:
        raise CheckpointError("the note is too long to be a checkpoint")
    if "\r" in note:
        raise CheckpointError("the note has carriage returns (it was changed in transit)")
    cut = note.rfind("\n\n")
    if cut < 0 or not note.endswith("\n"):
        raise CheckpointError("no blank line before the signatures: this is not a signed note")
    body, sig_text = note[: cut + 1], note[cut + 2 :]
    lines = body[:-1].split("\n")
    if len(lines) < 3:
        raise CheckpointError("a checkpoint has an origin, a size and a root hash")
    origin, size_text, root_text, *ext = lines
    if not origin:
        raise CheckpointError("the checkpoint has no origin line")
    if (
        not size_text.isascii()
        or not size_text.isdigit()
        or (size_text != "0" and size_text[0] == "0")
    ):
        raise CheckpointError(f"the tree size {size_text!r} is not a whole number")
    try:
        root = base64.b64decode(root_text, validate=True)
    except binascii.Error:
        raise CheckpointError("the root hash is not base64") from None
    if len(root) != 32:
        raise CheckpointError("the root hash is not 32 bytes")
    if any(not line for line in ext):
        raise CheckpointError("an empty extension line")
    signatures = []
    for line in sig_text[:-1].split("\n"):
        if not line.startswith(DASH):
            raise CheckpointError("a signature line does not start with an em dash")
        try:
            name, b64 = line[len(DASH) :].split(" ")
            raw = base64.b64decode(b64, validate=True)
        except (ValueError, binascii.Error):
            raise CheckpointError("a signature line is not 'name base64'") from None
        if len(raw) < 5:
            raise CheckpointError("a signature is too short")
        signatures.append(Signature(name, raw[:4], raw[4:]))
    return Checkpoint(origin, int(size_text), root, tuple(ext)), signatures


def verify(note: str, vkey: str, origin: str | None = None) -> Checkpoint:
    """The checkpoint in ``note`` when the key in ``vkey`` signed it; else CheckpointError
    naming what is wrong (another key, a changed body, another log)."""
    name, kid, public = parse_verifier_key(vkey)
    checkpoint, signatures = parse(note)
    mine = [s for s in signatures if s.name == name and s.key_id == kid]
    if not mine:
        raise CheckpointError(f"the checkpoint is not signed by the archive's key {name}")
    body = note[: note.rfind("\n\n") + 1]
    try:
        public.verify(mine[0].signature, body.encode())
    except InvalidSignature:
        raise CheckpointError(
            "the signature does not match the checkpoint: its size, root or time was changed, "
            "or someone else signed it"
        ) from None
    if origin is not None and checkpoint.origin != origin:
        raise CheckpointError(f"the checkpoint is for log {checkpoint.origin!r}, not {origin!r}")
    return checkpoint
