"""Errors raised by the video wrappers.

The web layer maps :class:`UnsupportedVideo` to HTTP 415 (hostile or unrecognised input)
and every other :class:`VideoError` to 422 (a video we recognise but cannot use).
"""

from __future__ import annotations


class VideoError(Exception):
    """ffmpeg/ffprobe/Pillow could not do the job; ``stderr_tail`` holds the tool's last words."""

    def __init__(self, message: str, *, stderr_tail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.stderr_tail = stderr_tail

    def __str__(self) -> str:
        return self.message

    def describe(self) -> str:
        """The message plus the end of the tool's stderr (what a failed job records)."""
        tail = self.stderr_tail.strip()
        return f"{self.message}\n--- ffmpeg stderr (end) ---\n{tail}" if tail else self.message


class UnsupportedVideo(VideoError):
    """The input is not a video container we accept (image, text, playlist, unknown bytes)."""


class CorruptVideo(VideoError):
    """The container is recognised but the file is truncated or damaged."""
