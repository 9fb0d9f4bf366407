"""Tiny real clips and hostile files, shared by the ingest and video tests: the ffmpeg
runner the clip fixtures use, and builders for playlists and AVI files that smuggle them."""

from __future__ import annotations

import struct
import subprocess
from collections.abc import Iterator

FFMPEG = "/usr/bin/ffmpeg"
X264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-sc_threshold", "0"]
GPS = "+35.6892+051.3890/"


def ffmpeg(*args: str) -> None:
    """Run ffmpeg for a fixture (argument list, no shell)."""
    cmd = [FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args]
    subprocess.run(cmd, check=True, timeout=60, stdin=subprocess.DEVNULL, capture_output=True)


def hls_playlist(port: int) -> bytes:
    """An HLS playlist pointing at a canary on ``port`` and at a local file."""
    return (
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXT-X-MEDIA-SEQUENCE:0\n"
        f"#EXTINF:10.0,\nhttp://127.0.0.1:{port}/leak.ts\n"
        "#EXTINF:10.0,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n"
    ).encode()


def concat_playlist(port: int) -> bytes:
    """An ffconcat list pointing at a canary on ``port`` and at a local file."""
    return (
        f"ffconcat version 1.0\nfile 'http://127.0.0.1:{port}/x.mp4'\nfile '/etc/passwd'\n"
    ).encode()


def avi_wrapped(payload: bytes) -> bytes:
    """A RIFF/AVI header followed by a playlist (the AVI-wrapped playlist trick)."""
    avih = struct.pack("<4sI", b"avih", 56) + bytes(56)
    hdrl = b"hdrl" + avih
    lst = struct.pack("<4sI", b"LIST", len(hdrl)) + hdrl
    movi = b"movi" + struct.pack("<4sI", b"00tx", len(payload)) + payload
    lst2 = struct.pack("<4sI", b"LIST", len(movi)) + movi
    riff_body = b"AVI " + lst + lst2
    return struct.pack("<4sI", b"RIFF", len(riff_body)) + riff_body


def _riff_chunks(data: bytes, off: int, end: int) -> Iterator[tuple[int, bytes, int]]:
    while off + 8 <= end:
        fcc, size = struct.unpack_from("<4sI", data, off)
        yield off, fcc, size
        off += 8 + size + (size & 1)


def _chunk(fcc: bytes, body: bytes) -> bytes:
    return struct.pack("<4sI", fcc, len(body)) + body + (b"\0" if len(body) & 1 else b"")


def gab2_avi(base: bytes, payload: bytes) -> bytes:
    """Add a GAB2 subtitle stream carrying ``payload`` to a video-only AVI made by ffmpeg."""
    assert base[:4] == b"RIFF" and base[8:12] == b"AVI "
    lists = {
        base[off + 8 : off + 12]: base[off + 12 : off + 8 + size]
        for off, fcc, size in _riff_chunks(base, 12, len(base))
        if fcc == b"LIST"
    }
    hdrl, movi = lists[b"hdrl"], lists[b"movi"]
    new_hdrl = b""
    for off, fcc, size in _riff_chunks(hdrl, 0, len(hdrl)):
        body = bytearray(hdrl[off + 8 : off + 8 + size])
        if fcc == b"avih":
            struct.pack_into("<I", body, 12, 0)  # flags: no idx1
            struct.pack_into("<I", body, 24, 2)  # two streams
        new_hdrl += _chunk(fcc, bytes(body))
    strh = struct.pack(
        "<4s4sIHHIIIIIIIIhhhh", b"txts", bytes(4), 0, 0, 0, 0, 1, 10, 0, 10, 0, 0, 0, 0, 0, 0, 0
    )
    new_hdrl += _chunk(b"LIST", b"strl" + _chunk(b"strh", strh) + _chunk(b"strf", b""))
    desc = "subs".encode("utf-16-le")
    gab2 = b"GAB2\0" + struct.pack("<HI", 2, len(desc)) + desc
    gab2 += struct.pack("<HI", 4, len(payload)) + payload
    body = b"AVI " + _chunk(b"LIST", b"hdrl" + new_hdrl)
    body += _chunk(b"LIST", b"movi" + _chunk(b"01tx", gab2) + movi)
    return _chunk(b"RIFF", body)
