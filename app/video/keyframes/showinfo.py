"""Reading frame times from ffmpeg's ``showinfo`` filter (stderr): pts times the filter's
time base, counted from the file's start."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from fractions import Fraction

_SHOWINFO = re.compile(r"\[Parsed_showinfo_(\d+) @ [^\]]*\] n:\s*(\d+)\s+pts:\s*(-?\d+)\s")
_TIMEBASE = re.compile(r"\[Parsed_showinfo_(\d+) @ [^\]]*\] config in time_base:\s*(\d+)/(\d+)")


class Showinfo:
    """Collects showinfo's per-frame ``pts`` and time base from stderr (thread-safe).

    ffmpeg runs with ``-copyts``, so pts are the file's own; times are given from
    ``origin``, the file's start (the probe's ``start_time``): where ffmpeg itself shifts
    timestamps depends on the outputs and on seeking, and it shifted the first frame of
    MPEG-TS and AVI files differently from the rest.
    """

    def __init__(
        self,
        origin: Fraction = Fraction(0),
        *,
        gap: Fraction | None = None,
        on_gap: Callable[[], None] | None = None,
    ) -> None:
        self.origin = origin
        self._lock = threading.Lock()
        self.pts: dict[int, list[int]] = {}
        self.timebase: dict[int, Fraction] = {}
        self._gap, self._on_gap = gap, on_gap  # called once two frames are > gap apart

    def line(self, text: str) -> None:
        if "Parsed_showinfo_" not in text:
            return
        wide = False
        with self._lock:
            if m := _SHOWINFO.search(text):
                values = self.pts.setdefault(int(m.group(1)), [])
                values.append(int(m.group(3)))
                tb = self.timebase.get(int(m.group(1)))
                if self._on_gap and self._gap is not None and tb and len(values) > 1:
                    wide = (values[-1] - values[-2]) * tb > self._gap
            elif m := _TIMEBASE.search(text):
                self.timebase[int(m.group(1))] = Fraction(int(m.group(2)), int(m.group(3)))
        if wide and self._on_gap:
            on_gap, self._on_gap = self._on_gap, None
            on_gap()

    def seconds(self, instance: int, index: int) -> Fraction | None:
        with self._lock:
            values = self.pts.get(instance, [])
            tb = self.timebase.get(instance)
            if tb is None or index >= len(values):
                return None
            return values[index] * tb - self.origin

    def raw(self, instance: int, index: int) -> tuple[int, Fraction] | None:
        """The ``pts`` integer and time base of one frame."""
        with self._lock:
            values = self.pts.get(instance, [])
            tb = self.timebase.get(instance)
            return (values[index], tb) if tb is not None and index < len(values) else None

    def only(self) -> int:
        """The instance number when the graph has a single showinfo."""
        with self._lock:
            return next(iter(self.timebase), -1)

    def latest(self) -> Fraction | None:
        with self._lock:
            if len(self.timebase) != 1:
                return None
            instance, tb = next(iter(self.timebase.items()))
            values = self.pts.get(instance)
            return values[-1] * tb - self.origin if values else None
