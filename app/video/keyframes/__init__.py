"""Keyframe extraction: one scan of keyframes only; the kept frames are finished meanwhile.

1. **Scan** (one ffmpeg process): decode keyframes only (``-skip_frame nokey``), turned to
   display orientation (autorotate), each shrunk by ffmpeg to a 32x32 RGB thumbnail and
   piped as raw video. Python reads the pipe as it arrives and decides, frame by frame,
   whether a keyframe is a near-duplicate of the last one kept. Times come from the
   ``pts`` that ``showinfo`` prints for each frame, times the filter's time base (never
   index / fps, and never the rounded ``pts_time``), so variable-frame-rate clips get
   true times.
2. **Finishing, while the scan runs** (:class:`scan.Online`; the keyframes-only decode keeps
   about one core busy, this uses the other): each kept frame, and each dropped frame
   that coverage (3) will take back, is turned into a JPEG of at most ``max_size``
   pixels at once, one of two ways:

   - **captured**: where the keyframe before it is at least :data:`CAPTURE_GAP` earlier
     (long GOPs: few keyframes, each dear to decode again), the scan's decoder output is
     split and the picture also leaves ffmpeg raw through a second pipe (8- and 10-bit
     4:2:0 streams). One long-lived ffmpeg (:class:`capture.Converter`) scales it and converts
     its colours with the stream's range and matrix: the same pixels a seek gives. Each
     picture is checked against the scan's thumbnail of the same frame, so a frame can
     never be filed under another frame's time;
   - **sought**: the others are decoded again, each through an input-side seek to its
     exact pts, a few per ffmpeg run (:class:`render.Seeker`). With short GOPs that costs less
     than piping every keyframe's picture out of the scan.
3. **Coverage**: where kept frames are more than ``min_interval`` apart, a dropped
   keyframe inside the gap is taken back; only where the clip has no keyframe in the gap
   (a long GOP) is a frame decoded at that time with an input-side seek, after the scan,
   as is any frame whose finishing failed (:func:`render.render_picks`).

4. **Cuts without a keyframe**: encoders usually start a new GOP at a cut, but not always
   (x264 let a cut into noise pass; edited compilations often use fixed long GOPs). As
   soon as the scan meets two keyframes more than :data:`CUT_WINDOW` apart (or, after
   the scan, when the last keyframe is that far from the end), a thread lists
   the video's packets (ffprobe, no decoding: each one's time, size and key flag) and
   looks for a frame that is no keyframe but coded like one: at least
   :data:`CUT_KEY_SHARE` of the size of its GOP's keyframe and :data:`CUT_JUMP` times the
   median of the :data:`CUT_HISTORY` frames before it (inside one shot a predicted frame
   is a small fraction of its keyframe; B-frames smaller still). Where no keyframe follows
   within :data:`CUT_WINDOW`, the frame there is decoded by seeking, meanwhile, and kept
   (source ``"cut"``) unless it is a near-duplicate of the kept frame before it. Short
   GOPs never start the thread: their keyframes already come within the window.

Near-duplicates: a keyframe is dropped when, compared with the last kept frame, its
64-bit pHash is within ``phash_threshold`` bits **or** its 32x32 thumbnail differs by at
most ``diff_threshold`` on average (mean absolute difference per channel, 0-255). pHash
alone cannot tell motion inside a shot from a cut: on the benchmark clips neighbouring
keyframes of one moving shot are 18-40 bits apart and cuts 26-36 bits, while the
thumbnail difference is at most ~30 inside a shot (bar a fast zoom) and at least ~64 at a
cut. A negative threshold turns that test off.

The modules follow those seams: ``showinfo`` (frame times from ffmpeg's stderr),
``similarity`` (thumbnails, pHash, the near-duplicate test; where another perceptual
hash would go), ``scan`` (1, and the online finishing of 2), ``capture`` (raw pictures
and colour conversion), ``render`` (seeks), ``cuts`` (4), ``selection`` (3, and the
limit on the count), ``frames`` (the :class:`Keyframe` record and writing the JPEGs) and
``extract`` (:func:`extract_keyframes`, the public entry point). What this package
exports below is its public API; the rest is internal to it.
"""

from app.video.keyframes.capture import CAPTURE_GAP
from app.video.keyframes.cuts import CUT_WINDOW, Packet, hidden_cuts, video_packets
from app.video.keyframes.extract import extract_keyframes
from app.video.keyframes.frames import Keyframe
from app.video.keyframes.render import RENDER_PROCESSES, SEEK_BATCH
from app.video.keyframes.similarity import THUMB, hamming, is_near_duplicate, phash_hex

__all__ = [
    "CAPTURE_GAP",
    "CUT_WINDOW",
    "RENDER_PROCESSES",
    "SEEK_BATCH",
    "THUMB",
    "Keyframe",
    "Packet",
    "extract_keyframes",
    "hamming",
    "hidden_cuts",
    "is_near_duplicate",
    "phash_hex",
    "video_packets",
]
