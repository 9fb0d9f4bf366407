"""Telling keyframes apart: the 32x32 thumbnail the scan compares, its 64-bit pHash, and the
near-duplicate test (see the package docstring). A further perceptual hash (e.g. PDQ)
belongs here, beside pHash."""

from __future__ import annotations

from dataclasses import dataclass

import imagehash
import numpy as np
from PIL import Image

THUMB = 32  # side of the thumbnail the scan compares (pHash also works on 32x32)
THUMB_BYTES = THUMB * THUMB * 3


def phash_hex(image: Image.Image) -> str:
    """64-bit perceptual hash as 16 hex characters."""
    return str(imagehash.phash(image, hash_size=8))


def hamming(a_hex: str, b_hex: str) -> int:
    """Number of differing bits between two hex hashes of equal length."""
    if len(a_hex) != len(b_hex):
        raise ValueError("hashes must have the same length")
    return (int(a_hex, 16) ^ int(b_hex, 16)).bit_count()


@dataclass
class Thumb:
    pixels: np.ndarray  # THUMB x THUMB x 3, int16
    phash: int


def make_thumb(record: bytes | bytearray) -> Thumb:
    pixels = np.frombuffer(record, dtype=np.uint8).reshape(THUMB, THUMB, 3)
    bits = imagehash.phash(Image.fromarray(pixels), hash_size=8)
    return Thumb(pixels.astype(np.int16), int(str(bits), 16))


def is_near_duplicate(a: Thumb, b: Thumb, phash_threshold: int, diff_threshold: float) -> bool:
    """True when ``b`` adds nothing visible to ``a`` (see the module docstring)."""
    if phash_threshold >= 0 and (a.phash ^ b.phash).bit_count() <= phash_threshold:
        return True
    return diff_threshold >= 0 and float(np.abs(a.pixels - b.pixels).mean()) <= diff_threshold
