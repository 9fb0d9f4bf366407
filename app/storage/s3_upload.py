"""An original streamed into the bucket while it arrives (the S3 side of the upload tee,
app/ingest/streaming.py): :class:`StagedUpload`.

The receiving pipe hands each block to :meth:`StagedUpload.feed`, which cuts parts of
``ARCHIVE_S3_PART_SIZE`` and queues them for a sender thread that uploads them as a
multipart upload of a staging key (``staging/<host>-<pid>-<id>``), or, with the SHA-256
the client declared, of ``originals/<sha256>`` itself. At most one part is being cut and
one is in flight (``SLOTS``), whatever the file's size: when the store is slower than the
client, ``feed`` waits, the pipe waits, and TCP slows the client down (with two slots, one
part more was held: bench/README.md, S3). The bytes go to the store once.
:meth:`StagedUpload.drain` sends the last part and completes the staging object while the
caller fsyncs and probes its temp file. The SHA-256 is not taken here: the pipe took it, and
:meth:`StagedUpload.finish` stores the object under that digest (create-only copy from the
staging key, which is then removed; with a declared digest, the create-only completion of
the upload, which ``drain`` leaves open). A file smaller than one part is held in memory and
sent with one create-only PUT to its final key, so it never has a staging object.

Failures while sending (the store unreachable, a refused part) surface in the next
``feed`` or in ``drain``/``finish`` as StorageUnavailable / StorageDenied; :meth:`abort`
aborts the multipart upload (or removes the completed staging object). What a dead
process leaves behind is removed by ``S3Backend.sweep_staging``.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
from collections import deque
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from app.storage.backend import StorageTooLarge, Stored

if TYPE_CHECKING:
    from app.storage.s3 import S3Backend, _Multipart

log = logging.getLogger("archive.storage")

SLOTS = 1  # parts cut and not yet sent: the one in flight (the next is being cut meanwhile)
ABORT_WAIT = 30.0  # seconds abort() waits for the part in flight


class StagedUpload:
    def __init__(
        self,
        backend: S3Backend,
        key: str,
        upload: _Multipart,
        *,
        limit: int,
        sha256: str | None = None,
    ) -> None:
        self.b = backend
        self.key = key
        self.declared = sha256  # the parts go straight to originals/<sha256>
        self.upload = upload
        self.limit = limit
        self.part_size = backend.part_size
        self.fed = 0
        self._pending: deque[memoryview] = deque()
        self._pending_bytes = 0
        self._slots = threading.Semaphore(SLOTS)
        self._queue: queue.Queue[bytes | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._aborted = False
        self._drained = False
        self._completed = False  # the staging object exists
        self._finished = False
        self._ending = threading.Lock()  # drain() and abort() one at a time

    # -- receiving -------------------------------------------------------------------
    def feed(self, block: bytes) -> None:
        if self._aborted:
            return
        self._raise()
        if self._drained:
            raise RuntimeError("feed() after drain()")
        if self.fed + len(block) > self.limit:
            raise StorageTooLarge(f"the upload is larger than the limit of {self.limit} bytes")
        if not block:
            return
        self.fed += len(block)
        self._pending.append(memoryview(block))
        self._pending_bytes += len(block)
        while self._pending_bytes >= self.part_size:
            if not self._wait_slot():
                return
            self._send(self._cut(self.part_size))

    def _cut(self, n: int) -> bytes:
        """The first ``n`` pending bytes as one part (the only copy they get here)."""
        views: list[memoryview] = []
        want = n
        while want:
            v = self._pending[0]
            if len(v) <= want:
                views.append(self._pending.popleft())
                want -= len(v)
            else:
                views.append(v[:want])
                self._pending[0] = v[want:]
                want = 0
        self._pending_bytes -= n
        return b"".join(views)

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def _wait_slot(self) -> bool:
        """Wait until fewer than SLOTS parts are queued or in flight; False if aborted."""
        while not self._aborted:
            if self._slots.acquire(timeout=0.5):
                return True
            self._raise()  # the sender failed (it frees the slots of what it drops)
        return False

    def _send(self, part: bytes) -> None:
        if self._thread is None:
            # started before it is published: an abort() in another thread joins only a
            # started thread (and one started after an abort ends at once)
            thread = threading.Thread(
                target=self._sender, name=f"s3-parts-{self.key[-8:]}", daemon=True
            )
            thread.start()
            self._thread = thread
            if self._aborted:
                self._queue.put(None)
        self._queue.put(part)

    def _sender(self) -> None:
        while True:
            part = self._queue.get()
            if part is None:
                return
            try:
                if self._error is None and not self._aborted:
                    self.upload.part(part)
            except BaseException as exc:  # noqa: BLE001 - handed to the receiving side
                self._error = exc
            finally:
                del part
                self._slots.release()

    def drain(self) -> None:
        """Send the last part and complete the staging object, once every byte is fed (a
        file smaller than one part stays in memory for :meth:`finish`; an upload of the
        declared ``originals/<sha256>`` stays open until :meth:`finish` checked it)."""
        with self._ending:
            self._drain()

    def _drain(self) -> None:
        if self._drained:
            self._raise()
            return
        self._raise()
        self._drained = True
        if self._thread is None:
            return  # smaller than one part: nothing sent yet
        if self._pending_bytes:
            if not self._wait_slot():
                return
            self._send(self._cut(self._pending_bytes))
        self._stop_sender(None)
        self._raise()
        if self._aborted:
            return
        if self.declared is None:  # the staging object; a final key waits for finish()
            self.upload.complete()
            self._completed = True

    def _stop_sender(self, timeout: float | None) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)

    # -- ending ------------------------------------------------------------------------
    def finish(self, sha256: str, size: int) -> Stored:
        if self._aborted or self._finished:
            raise RuntimeError("this upload was aborted or finished already")
        try:
            self.drain()
            if self._aborted:
                raise RuntimeError("this upload was aborted while it was finished")
            if size != self.fed:
                raise ValueError(f"{self.fed} bytes were sent to the store, not {size}")
            if self.declared is not None and sha256 != self.declared:
                raise ValueError(
                    f"the bytes sent to the store are SHA-256:{sha256}, not the declared "
                    f"SHA-256:{self.declared}"
                )
            if self._thread is None:  # smaller than one part: one create-only PUT
                data = self._cut(self._pending_bytes)
                if hashlib.sha256(data).hexdigest() != sha256:
                    raise ValueError(f"the bytes sent to the store are not SHA-256:{sha256}")
                stored = self.b._put_small(sha256, data)
            elif self.declared is not None:  # the parts are under their final key already
                stored = self.b._complete_original(self.upload, sha256, size)
            else:
                stored = self.b._promote(self.key, sha256, size)
        except BaseException:
            self.abort()
            raise
        self._finished = True
        self._remove_staging()
        return stored

    def abort(self) -> None:
        """Drop everything sent (waits up to ABORT_WAIT s for a part in flight)."""
        if self._finished or self._aborted:
            return
        self._aborted = True  # the sender drops what is queued; a drain stops short
        with self._ending:  # not while a drain (in another thread) completes the upload
            self._pending.clear()
            self._pending_bytes = 0
            self._stop_sender(ABORT_WAIT)
            self.upload.abort()
            self._remove_staging()

    def _remove_staging(self) -> None:
        if not self._completed:
            return
        try:
            self.b.client.delete_object(Bucket=self.b.bucket, Key=self.key)
            self._completed = False
        except (ClientError, BotoCoreError):
            log.warning("could not remove %s (the sweep will)", self.key, exc_info=True)

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"StagedUpload({self.key!r}, fed={self.fed})"


def put_file(backend: S3Backend, staged: StagedUpload, path: Any, sha256: str, size: int) -> Stored:
    """Send the complete file ``path`` through ``staged``, re-taking its SHA-256 while it
    is read: a mismatch (or another size) aborts the upload and raises ValueError."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            while block := fh.read(min(backend.part_size, 4 * 1024 * 1024)):
                h.update(block)
                staged.feed(block)
        if staged.fed != size or h.hexdigest() != sha256:
            raise ValueError(
                f"the file {path} no longer has the SHA-256 and size taken while it was "
                f"received (SHA-256:{sha256}, {size} bytes); nothing was stored"
            )
        return staged.finish(sha256, size)
    except BaseException:
        staged.abort()
        raise
