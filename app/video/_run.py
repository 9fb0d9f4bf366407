"""The one place that starts ffmpeg or ffprobe.

Arguments arrive as a list (built with ffmpeg-python for ffmpeg, by hand for ffprobe) and
run without a shell, with stdin closed, a timeout, and both pipes drained so a chatty tool
can never block on a full pipe: :func:`run` collects both with ``communicate()``;
:func:`stream` reads stdout record by record as it arrives while a thread drains stderr.
On a timeout the whole process group is killed.
"""

from __future__ import annotations

import collections
import contextlib
import fcntl
import os
import selectors
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO, Any

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


def _start(
    cmd: list[str], tool: str, *, stdin: int = subprocess.DEVNULL, pass_fds: Sequence[int] = ()
) -> subprocess.Popen[bytes]:
    try:
        return subprocess.Popen(
            cmd,
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            pass_fds=tuple(pass_fds),
        )
    except OSError as exc:
        raise VideoError(f"{tool} could not be started: {exc.strerror}") from exc


@dataclass
class Side:
    """A second output of the same ffmpeg, read as records like stdout.

    :func:`side_pipe` makes the pipe; the command names its write end as ``pipe:N``
    (``N`` = :attr:`write_fd`), which the child inherits; the parent closes it after
    the start so that ffmpeg's exit ends the stream.
    """

    read_fd: int
    write_fd: int
    record_size: int
    on_record: Callable[[bytearray], None]


def side_pipe(record_size: int, on_record: Callable[[bytearray], None]) -> Side:
    read_fd, write_fd = os.pipe()
    for fd in (read_fd, write_fd):
        os.set_inheritable(fd, False)
    with contextlib.suppress(OSError):  # fewer, larger writes (Linux; else 64 KiB)
        fcntl.fcntl(write_fd, fcntl.F_SETPIPE_SZ, 1 << 20)
    return Side(read_fd, write_fd, record_size, on_record)


def stream(
    args: Sequence[str],
    *,
    record_size: int,
    timeout: float,
    on_record: Callable[[bytearray], None],
    on_stderr_line: Callable[[str], None] | None = None,
    side: Side | None = None,
    feed: Callable[[IO[bytes]], None] | None = None,
) -> str:
    """Run ``ffmpeg`` and hand its stdout to ``on_record`` in records of ``record_size`` bytes.

    ``feed``, if given, runs in its own thread with ffmpeg's stdin (read as ``pipe:0``),
    which is closed when it returns; a write to an ffmpeg that has died just ends it.

    stdout (and ``side``, a second output pipe, in its own record size) are read as they
    arrive in one loop, so memory stays at one record each and neither output can block
    ffmpeg on the other; stderr is drained by a thread, line by line, into
    ``on_stderr_line`` and a bounded tail. The process group is killed when ``timeout``
    seconds pass, when a callback raises, or on any other way out, so no ffmpeg outlives
    the call. Returns the stderr tail; raises :class:`VideoError` on timeout, a non-zero
    exit, or output that stops mid-record.
    """
    cmd = _command(args, timeout)
    tool = args[0]
    end = time.monotonic() + timeout
    try:
        proc = _start(
            cmd,
            tool,
            stdin=subprocess.PIPE if feed else subprocess.DEVNULL,
            pass_fds=(side.write_fd,) if side else (),
        )
    except BaseException:
        if side:
            os.close(side.read_fd)
            os.close(side.write_fd)
        raise
    if side:
        os.close(side.write_fd)
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
    if feed is not None:
        threading.Thread(target=_feed, args=(feed, proc.stdin), daemon=True).start()

    def stderr_text() -> str:
        drainer.join(timeout=5)
        with err_lock:
            return tail("\n".join(err_tail))

    done = False
    try:
        readers = [_Records(proc.stdout.fileno(), record_size, on_record)]
        if side:
            readers.append(_Records(side.read_fd, side.record_size, side.on_record))
        with selectors.DefaultSelector() as sel:
            for reader in readers:
                sel.register(reader.fd, selectors.EVENT_READ, reader)
            open_count = len(readers)
            while open_count:
                left = end - time.monotonic()
                ready = sel.select(timeout=left) if left > 0 else []
                if not ready:
                    _kill(proc)
                    proc.wait()
                    raise VideoError(
                        f"{tool} took longer than {timeout:g} seconds and was stopped",
                        stderr_tail=stderr_text(),
                    )
                for key, _ in ready:
                    if not key.data.read():
                        sel.unregister(key.fd)
                        open_count -= 1
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
        if any(reader.filled for reader in readers):
            raise VideoError(f"{tool} output ended in the middle of a frame", stderr_tail=text)
        done = True
        return text
    finally:
        if not done and proc.poll() is None:
            _kill(proc)
            proc.wait()
        proc.stdout.close()
        if side:
            os.close(side.read_fd)
        drainer.join(timeout=5)
        proc.stderr.close()


def _feed(feed: Callable[[IO[bytes]], None], stdin: IO[bytes]) -> None:
    try:
        feed(stdin)
    except (BrokenPipeError, ValueError):
        pass  # ffmpeg exited (its status says why) or the pipe was closed on the way out
    finally:
        with contextlib.suppress(OSError):
            stdin.close()


class _Records:
    """Reads one pipe into fixed-size records (each a fresh buffer, filled in place)."""

    def __init__(self, fd: int, size: int, on_record: Callable[[Any], None]) -> None:
        self.fd, self.size, self.on_record = fd, size, on_record
        self.record = bytearray(size)
        self.filled = 0

    def read(self) -> bool:
        """Read what is there; False at end of file."""
        view = memoryview(self.record)[self.filled :]
        got = os.readv(self.fd, [view[: 1 << 20]])
        view.release()
        if not got:
            return False
        self.filled += got
        if self.filled == self.size:
            record, self.record, self.filled = self.record, bytearray(self.size), 0
            self.on_record(record)
        return True


def run(args: Sequence[str], *, timeout: float, input: bytes | None = None) -> tuple[bytes, str]:
    """Run ``ffmpeg``/``ffprobe`` with ``args`` (``args[0]`` is the tool name).

    ``input`` is written to its stdin (read as ``pipe:0``); otherwise stdin is closed.

    Returns ``(stdout, stderr)``. Raises :class:`VideoError` with the stderr tail on a
    non-zero exit or when ``timeout`` seconds pass (the process group is killed).
    """
    tool = args[0] if args else ""
    cmd = _command(args, timeout)
    proc = _start(cmd, tool, stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL)
    try:
        out, err = proc.communicate(input=input, timeout=timeout)
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
