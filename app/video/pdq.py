"""PDQ, Meta's 256-bit perceptual image hash, in numpy: bit-identical to ``pdqhash``.

Why numpy and not the C++ extension: ``pdqhash`` on PyPI ships as source only, and the
runtime image has no compiler. This module follows ThreatExchange's ``pdq/cpp`` step by
step, in float32 and in the same order of operations, so the hashes and the quality are
the same bits as the reference (``tests/video/test_pdq.py`` builds ``pdqhash`` and checks
hundreds of frames):

1. luminance ``0.299 R + 0.587 G + 0.114 B`` (computed in float64 then rounded to float32,
   as the ``pdqhash`` binding does);
2. two passes of a Jarosz box filter along rows then columns, window
   ``ceil(dim / 128)``, with the C++ running sum (add right edge, subtract left edge);
3. decimation to 64x64 at the cell centres;
4. quality: the sum of quantised gradients of the 64x64 image over 90, capped at 100;
5. the 16x16 low-frequency block (frequencies 1..16) of the 2D DCT of the 64x64;
6. bit ``16 i + j`` is set when coefficient ``(i, j)`` is above the median (the 128th
   smallest of the 256).

The box filter runs as a loop along one axis with whole-array steps across the other, which
keeps the float32 rounding of the C++ running sum exactly. The 16x16 DCT block is kept so
that the eight dihedral variants (rotations and mirror images) come from sign flips and
transposes at query time, as PDQ defines them, instead of re-hashing transformed images.

Hashes are 32 bytes, big-endian: the byte string of PDQ's usual 64-hex-digit form.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

HASH_BYTES = 32
MIN_HASHABLE_DIM = 5
MATCH_DISTANCE = 31  # PDQ's recommended threshold for "the same image"
F32 = np.float32

Float = NDArray[np.float32]

_i = np.arange(16, dtype=np.float64)[:, None]
_j = np.arange(64, dtype=np.float64)[None, :]
_SCALE = np.float64(np.float32(np.sqrt(2.0 / 64.0)))
# D[i][j] = scale * cos(pi/2/64 * (i+1) * (2j+1)), computed in double, stored as float.
DCT_MATRIX: Float = (_SCALE * np.cos((np.pi / 2.0 / 64.0) * (_i + 1) * (2 * _j + 1))).astype(F32)

DIHEDRAL_NAMES = (
    "original",
    "rotate90",
    "rotate180",
    "rotate270",
    "flip_x",
    "flip_y",
    "flip_plus1",
    "flip_minus1",
)


@dataclass(frozen=True)
class PdqResult:
    """One image's PDQ: the 16x16 DCT block, the hash it gives and the quality (0-100)."""

    dct: Float
    quality: int

    @property
    def hash(self) -> bytes:
        return bits_to_bytes(self.dct)

    def dihedral(self) -> list[bytes]:
        """The hashes of the eight dihedral variants, in :data:`DIHEDRAL_NAMES` order."""
        return [bits_to_bytes(d) for d in dihedral_dcts(self.dct)]


def luma(rgb: NDArray[np.uint8]) -> Float:
    """Luminance as the ``pdqhash`` binding computes it (float64 sum, then float32)."""
    if rgb.ndim != 3 or rgb.shape[2] < 3:
        raise ValueError("expected an H x W x 3 RGB array")
    y = rgb[:, :, 0] * 0.299 + rgb[:, :, 1] * 0.587 + rgb[:, :, 2] * 0.114
    return np.ascontiguousarray(y.astype(F32))


def _box_1d(a: Float, window: int) -> Float:
    """The C++ ``box1DFloat`` along axis 0 of ``a``, for every column at once."""
    n = a.shape[0]
    out = np.empty_like(a)
    half = (window + 2) // 2
    total = np.zeros(a.shape[1:], dtype=F32)
    size = 0
    ri = li = oi = 0
    for _ in range(half - 1):
        total = total + a[ri]
        size += 1
        ri += 1
    for _ in range(window - half + 1):
        total = total + a[ri]
        size += 1
        out[oi] = total / F32(size)
        ri += 1
        oi += 1
    for _ in range(n - window):
        total = total + a[ri]
        total = total - a[li]
        out[oi] = total / F32(size)
        li += 1
        ri += 1
        oi += 1
    for _ in range(half - 1):
        total = total - a[li]
        size -= 1
        out[oi] = total / F32(size)
        li += 1
        oi += 1
    return out


def _window(old: int, new: int = 64) -> int:
    return (old + 2 * new - 1) // (2 * new)


def downsample64(y: Float) -> Float:
    """Jarosz filter (two x/y passes) and decimation to 64x64."""
    rows, cols = y.shape
    if rows == 64 and cols == 64:
        return y.astype(F32, copy=True)
    w_rows, w_cols = _window(cols), _window(rows)
    buf = y
    for _ in range(2):
        buf = _box_1d(buf.T, w_rows).T  # along each row
        buf = _box_1d(buf, w_cols)  # along each column
    ri = (((np.arange(64) + 0.5) * rows) / 64).astype(np.int64)
    ci = (((np.arange(64) + 0.5) * cols) / 64).astype(np.int64)
    return np.ascontiguousarray(buf[np.ix_(ri, ci)])


def quality_of(b64: Float) -> int:
    """PDQ's image-domain quality metric (quantised gradient sum / 90, at most 100)."""
    dv = ((b64[:-1, :] - b64[1:, :]) * F32(100)) / F32(255)
    dh = ((b64[:, :-1] - b64[:, 1:]) * F32(100)) / F32(255)
    total = int(np.abs(dv.astype(np.int32)).sum()) + int(np.abs(dh.astype(np.int32)).sum())
    return min(total // 90, 100)


def dct16(b64: Float) -> Float:
    """The 16x16 DCT block, summed in float32 in the order of the C++ loops."""
    d = DCT_MATRIX
    t = np.zeros((16, 64), dtype=F32)
    for k in range(64):  # T = D A
        t = t + d[:, k : k + 1] * b64[k : k + 1, :]
    b = np.zeros((16, 16), dtype=F32)
    for k in range(64):  # B = T D^T
        b = b + t[:, k : k + 1] * d[:, k][None, :]
    return b


def bits_to_bytes(dct: Float) -> bytes:
    """Bit ``16 i + j`` set when ``dct[i, j]`` is above the median; 32 bytes big-endian."""
    flat = dct.reshape(256)
    median = np.partition(flat, 127)[127]
    bits = (flat > median).astype(np.uint8)
    return np.packbits(bits[::-1]).tobytes()


def dihedral_dcts(a: Float) -> list[Float]:
    """The DCT blocks of the eight dihedral variants (PDQ's ``dct16OriginalTo*``)."""
    i = np.arange(16)[:, None]
    j = np.arange(16)[None, :]
    odd_i = (i & 1).astype(bool) | np.zeros((1, 16), dtype=bool)
    odd_j = (j & 1).astype(bool) | np.zeros((16, 1), dtype=bool)
    odd_ij = ((i + j) & 1).astype(bool)
    return [
        a,
        np.where(odd_j, a, -a).T,  # rotate90: B[j][i] = A[i][j] if j odd else -A
        np.where(odd_ij, -a, a),  # rotate180
        np.where(odd_i, a, -a).T,  # rotate270
        np.where(odd_i, a, -a),  # flip x
        np.where(odd_j, a, -a),  # flip y
        a.T.copy(),  # flip plus1 (transpose)
        np.where(odd_ij, -a, a).T,  # flip minus1
    ]


def pdq_luma(y: Float) -> PdqResult:
    """PDQ of a float32 luminance image."""
    rows, cols = y.shape
    if rows < MIN_HASHABLE_DIM or cols < MIN_HASHABLE_DIM:
        return PdqResult(dct=np.zeros((16, 16), dtype=F32), quality=0)
    b64 = downsample64(y)
    return PdqResult(dct=dct16(b64), quality=quality_of(b64))


def pdq_rgb(rgb: NDArray[np.uint8]) -> PdqResult:
    """PDQ of an H x W x 3 uint8 RGB array."""
    return pdq_luma(luma(rgb))


def pdq_image(im: object) -> PdqResult:
    """PDQ of a Pillow image (converted to RGB)."""
    from PIL import Image

    assert isinstance(im, Image.Image)
    return pdq_rgb(np.asarray(im.convert("RGB"), dtype=np.uint8))


def hamming256(a: bytes, b: bytes) -> int:
    """Hamming distance between two 32-byte hashes."""
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).bit_count()
