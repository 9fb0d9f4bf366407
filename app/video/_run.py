"""The one place that starts ffmpeg or ffprobe.

Arguments arrive as a list (built with ffmpeg-python for ffmpeg, by hand for ffprobe) and
run without a shell, with stdin closed, a timeout, and both pipes drained so a chatty tool
can never block on a full pipe: :func:`run` collects both with ``communicate()``;
:func:`stream` reads stdout record by record as it arrives while a thread drains stderr.
On a timeout the whole process group is killed.
"""

from __future__ import annotations

import collections
import os
import selectors
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

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


def _command(args: Sequence[str], timeout: float) -> list[str]:
    if not args or args[0] not in _TOOLS:
        raise ValueError(f"run() only starts {_TOOLS}, got {list(args)[:1]}")
    if "-protocol_whitelist" not in args:
        raise ValueError("every ffmpeg/ffprobe call must pass -protocol_whitelist")
    tool = args[0]
    head = [_binary(tool), "-hide_banner"]
    if tool == "ffmpeg":
        head += ["-nostdin", "-nostats"]
    if timeout <= 0:
        raise VideoError(f"{tool} was given no time to run (timeout {timeout}s)")
    return head + [a for a in args[1:] if a not in ("-hide_banner", "-nostdin", "-nostats")]


def _start(cmd: list[str], tool: str) -> subprocess.Popen[bytes]:
    try:
        return subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        raise VideoError(f"{tool} could not be started: {exc.strerror}") from exc


def stream(
    args: Sequence[str],
    *,
    record_size: int,
    timeout: float,
    on_record: Callable[[bytes], None],
    on_stderr_line: Callable[[str], None] | None = None,
) -> str:
    """Run ``ffmpeg`` and hand its stdout to ``on_record`` in records of ``record_size`` bytes.

    stdout is read as it arrives (memory stays at one record); stderr is drained by a
    thread, line by line, into ``on_stderr_line`` and a bounded tail. The process group
    is killed when ``timeout`` seconds pass, when ``on_record`` raises, or on any other
    way out, so no ffmpeg outlives the call. Returns the stderr tail; raises
    :class:`VideoError` on timeout, a non-zero exit, or output that stops mid-record.
    """
    cmd = _command(args, timeout)
    tool = args[0]
    end = time.monotonic() + timeout
    proc = _start(cmd, tool)
    assert proc.stdout is not None and proc.stderr is not None
    err_tail: collections.deque[str] = collections.deque(maxlen=200)
    err_lock = threading.Lock()

    def drain(pipe: Any) -> None:
        for raw in pipe:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            with err_lock:
                err_tail.append(line)
            if on_stderr_line is not None:
                on_stderr_line(line)

    drainer = threading.Thread(target=drain, args=(proc.stderr,), daemon=True)
    drainer.start()

    def stderr_text() -> str:
        drainer.join(timeout=5)
        with err_lock:
            return tail("\n".join(err_tail))

    done = False
    try:
        fd = proc.stdout.fileno()
        buf = bytearray()
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while True:
                left = end - time.monotonic()
                if left <= 0 or not sel.select(timeout=left):
                    _kill(proc)
                    proc.wait()
                    raise VideoError(
                        f"{tool} took longer than {timeout:g} seconds and was stopped",
                        stderr_tail=stderr_text(),
                    )
                chunk = os.read(fd, max(65536, record_size - len(buf)))
                if not chunk:
                    break
                buf += chunk
                while len(buf) >= record_size:
                    on_record(bytes(buf[:record_size]))
                    del buf[:record_size]
        try:
            proc.wait(timeout=max(0.1, end - time.monotonic()))
        except subprocess.TimeoutExpired:
            _kill(proc)
            proc.wait()
            raise VideoError(
                f"{tool} took longer than {timeout:g} seconds and was stopped",
                stderr_tail=stderr_text(),
            ) from None
        text = stderr_text()
        if proc.returncode != 0:
            last = text.strip().splitlines()[-1] if text.strip() else "no message"
            raise VideoError(
                f"{tool} failed (exit {proc.returncode}): {last[:300]}", stderr_tail=text
            )
        if buf:
            raise VideoError(f"{tool} output ended in the middle of a frame", stderr_tail=text)
        done = True
        return text
    finally:
        if not done and proc.poll() is None:
            _kill(proc)
            proc.wait()
        proc.stdout.close()
        drainer.join(timeout=5)
        proc.stderr.close()


def run(args: Sequence[str], *, timeout: float) -> tuple[bytes, str]:
    """Run ``ffmpeg``/``ffprobe`` with ``args`` (``args[0]`` is the tool name).

    Returns ``(stdout, stderr)``. Raises :class:`VideoError` with the stderr tail on a
    non-zero exit or when ``timeout`` seconds pass (the process group is killed).
    """
    tool = args[0] if args else ""
    cmd = _command(args, timeout)
    proc = _start(cmd, tool)
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
