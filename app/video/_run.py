"""The one place that starts ffmpeg or ffprobe.

Arguments arrive as a list (built with ffmpeg-python for ffmpeg, by hand for ffprobe) and
run without a shell, with stdin closed, a timeout, and both pipes drained by
``communicate()`` so a chatty tool can never block on a full pipe.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Sequence

from app.video.errors import VideoError

STDERR_TAIL_CHARS = 2000
_TOOLS = ("ffmpeg", "ffprobe")


def _binary(name: str) -> str:
    found = shutil.which(name) or f"/usr/bin/{name}"
    if not os.path.exists(found):
        raise VideoError(f"{name} is not installed on this server")
    return found


def tail(text: str, limit: int = STDERR_TAIL_CHARS) -> str:
    return text[-limit:]


def run(args: Sequence[str], *, timeout: float) -> tuple[bytes, str]:
    """Run ``ffmpeg``/``ffprobe`` with ``args`` (``args[0]`` is the tool name).

    Returns ``(stdout, stderr)``. Raises :class:`VideoError` with the stderr tail on a
    non-zero exit or when ``timeout`` seconds pass (the process group is killed).
    """
    if not args or args[0] not in _TOOLS:
        raise ValueError(f"run() only starts {_TOOLS}, got {list(args)[:1]}")
    if "-protocol_whitelist" not in args:
        raise ValueError("every ffmpeg/ffprobe call must pass -protocol_whitelist")
    tool = args[0]
    head = [_binary(tool), "-hide_banner"]
    if tool == "ffmpeg":
        head += ["-nostdin", "-nostats"]
    rest = [a for a in args[1:] if a not in ("-hide_banner", "-nostdin", "-nostats")]
    cmd = head + rest
    if timeout <= 0:
        raise VideoError(f"{tool} was given no time to run (timeout {timeout}s)")
    try:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        raise VideoError(f"{tool} could not be started: {exc.strerror}") from exc
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(proc)
        out, err = proc.communicate()
        stderr = err.decode("utf-8", "replace")
        raise VideoError(
            f"{tool} took longer than {timeout:g} seconds and was stopped",
            stderr_tail=tail(stderr),
        ) from None
    stderr = err.decode("utf-8", "replace")
    if proc.returncode != 0:
        last = stderr.strip().splitlines()[-1] if stderr.strip() else "no message"
        raise VideoError(
            f"{tool} failed (exit {proc.returncode}): {last[:300]}", stderr_tail=tail(stderr)
        )
    return out, stderr


def _kill(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    except PermissionError:  # pragma: no cover - the child changed uid; kill it directly
        proc.kill()
