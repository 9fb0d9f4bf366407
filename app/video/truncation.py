"""Is a Matroska/WebM, AVI, FLV or MPEG-TS file cut off? Read from its structure, cheaply.

A partial file can still be evidence, so it is accepted, with a warning. No frame is
decoded and only a few headers are read (the top-level elements of a Matroska segment,
the RIFF chunks of an AVI, the last tag of an FLV, the length of an MPEG-TS):

- Matroska/WebM: the Segment, or a top-level element inside it (a Cluster), declares more
  bytes than the file holds. A live recording with unknown sizes cannot be checked.
- AVI: a RIFF chunk ("AVI " or an OpenDML "AVIX") declares more bytes than the file holds.
- FLV: the last tag is cut (its trailing PreviousTagSize does not frame a whole tag), or
  the last tag starts well before the duration the file declares (onMetaData).
- MPEG-TS: the file does not end on a transport packet boundary. A file cut exactly
  between two packets cannot be told from a complete one (TS declares no duration).

An MP4 or MOV cut short has no usable index and is refused before this (probe.py).
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

EBML_HEADER, SEGMENT = 0x1A45DFA3, 0x18538067
ELEMENT_NAMES = {
    0x1F43B675: "Cluster",
    0x1C53BB6B: "Cues",
    0x1254C367: "Tags",
    0x114D9B74: "SeekHead",
    0x1549A966: "Info",
    0x1654AE6B: "Tracks",
    0x1941A469: "Attachments",
    0x1043A770: "Chapters",
    0xEC: "Void",
}
MAX_ELEMENTS = 1_000_000  # a Cluster holds seconds of video: this is days of it
FLV_TAG_TYPES = {8, 9, 18}


def truncation(path: Path, container: str, size: int, duration: float | None) -> str | None:
    """Why ``path`` looks cut off (a sentence for the team), or None."""
    with open(path, "rb") as fh:
        if container == "matroska":
            return _matroska(fh, size)
        if container == "avi":
            return _avi(fh, size)
        if container == "flv":
            return _flv(fh, size, duration)
        if container == "mpegts":
            return _mpegts(fh, size)
    return None


def _missing(what: str, declared_end: int, size: int) -> str:
    return f"the file is cut off: {what} runs {declared_end - size:,} bytes past its end"


# -- Matroska / WebM ------------------------------------------------------------------


class _NotEbml(Exception):
    """Bytes that are no EBML: not for this check to judge (ffprobe read the file)."""


def _vint(fh: BinaryIO, keep_marker: bool) -> tuple[int, int] | None:
    """(value, length) of an EBML variable-length integer; None at the end of the file.
    An all-ones size ("unknown") comes back as -1."""
    first = fh.read(1)
    if not first:
        return None
    length = 9 - first[0].bit_length() if first[0] else 9
    if length > 8:
        raise _NotEbml
    rest = fh.read(length - 1)
    if len(rest) < length - 1:
        return None
    value = first[0] if keep_marker else first[0] & (0xFF >> length)
    all_ones = value == (0xFF >> length)
    for byte in rest:
        value = value << 8 | byte
        all_ones = all_ones and byte == 0xFF
    return (-1 if all_ones and not keep_marker else value), length


def _element(fh: BinaryIO) -> tuple[int, int, int] | None:
    """(id, size, header length) of the element at the file position; None if cut."""
    ident = _vint(fh, keep_marker=True)
    size = _vint(fh, keep_marker=False) if ident is not None else None
    if ident is None or size is None:
        return None
    return ident[0], size[0], ident[1] + size[1]


def _matroska(fh: BinaryIO, size: int) -> str | None:
    try:
        return _walk_segment(fh, size)
    except _NotEbml:
        return None


def _walk_segment(fh: BinaryIO, size: int) -> str | None:
    header = _element(fh)
    if header is None or header[0] != EBML_HEADER or header[1] < 0:
        return None  # not for us to judge: ffprobe read it
    fh.seek(header[2] + header[1])
    segment_at = fh.tell()
    segment = _element(fh)
    if segment is None:
        return "the file is cut off: it ends inside the Segment header"
    if segment[0] != SEGMENT:
        return None
    start = segment_at + segment[2]
    if segment[1] >= 0:
        if start + segment[1] > size:
            return _missing("its Segment", start + segment[1], size)
        return None
    pos = start  # a Segment of unknown size: walk its top-level elements
    for _ in range(MAX_ELEMENTS):
        if pos >= size:
            return None
        fh.seek(pos)
        child = _element(fh)
        if child is None:
            return "the file is cut off: it ends inside an element header"
        ident, length, head = child
        if length < 0:
            return None  # unknown size (live recording): cannot tell
        name = ELEMENT_NAMES.get(ident, f"an element (0x{ident:X})")
        if pos + head + length > size:
            return _missing(
                f"its last {name}" if ident in ELEMENT_NAMES else name, pos + head + length, size
            )
        pos += head + length
    return None


# -- AVI --------------------------------------------------------------------------------


def _avi(fh: BinaryIO, size: int) -> str | None:
    pos = 0
    while pos + 8 <= size:
        fh.seek(pos)
        head = fh.read(12)
        if head[:4] != b"RIFF":
            return None  # junk after the last RIFF chunk: not a cut
        declared = struct.unpack("<I", head[4:8])[0]
        end = pos + 8 + declared + (declared & 1)
        if pos + 8 + declared > size:
            form = head[8:12].decode("latin-1").strip() or "?"
            return _missing(f"its RIFF {form!r} chunk", pos + 8 + declared, size)
        pos = end
    if 0 < size - pos < 8:
        return "the file is cut off: it ends inside a RIFF chunk header"
    return None


# -- FLV --------------------------------------------------------------------------------


def _flv(fh: BinaryIO, size: int, duration: float | None) -> str | None:
    head = fh.read(9)
    if len(head) < 9:
        return None
    body = struct.unpack(">I", head[5:9])[0] + 4  # the header, then PreviousTagSize0
    if size <= body:
        return None
    fh.seek(size - 4)
    previous = struct.unpack(">I", fh.read(4))[0]
    start = size - 4 - previous
    tag = b""
    if previous >= 11 and start >= body:
        fh.seek(start)
        tag = fh.read(11)
    if len(tag) < 11 or tag[0] & 0x1F not in FLV_TAG_TYPES:
        return "the file is cut off: its last tag is incomplete"
    data_size = int.from_bytes(tag[1:4], "big")
    if data_size + 11 != previous:
        return "the file is cut off: its last tag is incomplete"
    ends = (int.from_bytes(tag[4:7], "big") | tag[7] << 24) / 1000
    if duration and duration - ends > max(1.0, 0.02 * duration):
        return (
            f"the file is cut off: its streams end at {ends:.1f} s, "
            f"the file declares {duration:.1f} s"
        )
    return None


# -- MPEG-TS ----------------------------------------------------------------------------


def _mpegts(fh: BinaryIO, size: int) -> str | None:
    head = fh.read(4096)
    for packet, offset in ((188, 0), (192, 4), (204, 0)):
        sync = [offset + i * packet for i in range(3) if offset + i * packet < len(head)]
        if len(sync) >= 2 and all(head[i] == 0x47 for i in sync):
            rest = size % packet
            if rest:
                return (
                    f"the file is cut off: its last transport packet has {rest} of {packet} bytes"
                )
            return _last_pes_cut(fh, size, packet, offset)
    return None


TS_TAIL = 1 << 18


def _last_pes_cut(fh: BinaryIO, size: int, packet: int, offset: int) -> str | None:
    """Read the last TS_TAIL bytes: a PES packet that declares its length (audio does) and
    has not received it all by the end of the file was cut."""
    start = max(0, size - TS_TAIL) // packet * packet
    fh.seek(start)
    tail = fh.read(size - start)
    open_pes: dict[int, list[int]] = {}  # pid -> [bytes needed, bytes received]
    full_last: dict[int, bool] = {}  # pid -> its last packet is a full continuation
    for at in range(offset, len(tail) - 187, packet):
        ts = tail[at : at + 188]
        if ts[0] != 0x47:
            return None  # lost sync: not for this check to judge
        pid = (ts[1] & 0x1F) << 8 | ts[2]
        control = ts[3] >> 4 & 0x3
        payload = 4 + (1 + ts[4] if control & 2 else 0)
        if not control & 1 or payload >= 188:
            continue
        data = ts[payload:]
        full_last[pid] = not ts[1] & 0x40 and payload == 4
        if ts[1] & 0x40:  # a new PES (or a PSI section) starts here
            if data[:3] == b"\x00\x00\x01" and len(data) >= 6:
                length = int.from_bytes(data[4:6], "big")
                open_pes[pid] = [6 + length, len(data)] if length else [0, 0]
            else:
                open_pes.pop(pid, None)
        elif pid in open_pes:
            open_pes[pid][1] += len(data)
    for pid, (needed, received) in sorted(open_pes.items()):
        if needed and received < needed:
            return (
                f"the file is cut off: its last PES packet (PID {pid}) has {received:,} of "
                f"{needed:,} bytes"
            )
    for pid, (needed, _) in sorted(open_pes.items()):
        # A muxer pads the last packet of a PES (adaptation-field stuffing) unless the PES
        # fills it exactly; a PES of unstated length whose last packet is full was most
        # likely cut between two packets.
        if not needed and full_last.get(pid):
            return (
                f"the file is cut off: its last PES packet (PID {pid}) stops at a packet "
                "boundary without the padding a muxer writes at the end of one"
            )
    return None
