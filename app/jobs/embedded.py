"""In-process workers (the default): threads that claim queued rows from the database.

Started and stopped with the web app's lifespan (or by ``archive worker`` in embedded
mode). On start they first re-queue jobs left ``running`` by a dead process on this host,
so work in flight when the server died resumes. A sweeper thread re-queues jobs whose
worker stopped sending heartbeats for ``job_stuck_after_seconds`` (other hosts, hung
workers) and runs the registered sweepers on their timers (app/jobs/sweep.py).
ffmpeg and Pillow run in these threads (ffmpeg in a subprocess), never on the event loop.
"""

from __future__ import annotations

import logging
import threading

from app.config import get_settings
from app.jobs import dispatch, runner, service, sweep
from app.kit.priority import lower_thread_priority

log = logging.getLogger("archive.jobs")


class EmbeddedWorkers:
    def __init__(self, count: int | None = None, poll: float | None = None) -> None:
        settings = get_settings()
        self.count = count if count is not None else settings.job_workers
        self.poll = poll if poll is not None else settings.job_poll_seconds
        self.sweep_every = sweep.tick_seconds()
        self._schedule = sweep.Schedule()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        """Re-queue what a stopped process left running, then start the threads. (The
        registered sweepers' start-up run is the caller's: the server's lifespan, or
        ``archive worker``.)"""
        try:
            moved = sweep.requeue_stuck()
            if moved:
                log.info("re-queued %d job(s) left running by a stopped process", len(moved))
        except Exception:  # noqa: BLE001 - the periodic sweeper tries again
            log.exception("start-up job sweep failed")
        self._schedule.started()
        dispatch.add_waker(self.wake)
        for i in range(self.count):
            t = threading.Thread(
                target=self._work, args=(i,), name=f"archive-worker-{i}", daemon=True
            )
            t.start()
            self._threads.append(t)
        sweeper = threading.Thread(target=self._sweep, name="archive-sweeper", daemon=True)
        sweeper.start()
        self._threads.append(sweeper)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop taking work; wait up to ``timeout`` s for running jobs (the rest resume on
        the next start)."""
        dispatch.remove_waker(self.wake)
        self._stop.set()
        self._wake.set()
        for t in self._threads:
            t.join(timeout)
        self._threads.clear()

    def _work(self, index: int) -> None:
        lower_thread_priority(get_settings().job_nice)
        worker = service.worker_identity(f"embedded-{index}")
        while not self._stop.is_set():
            try:
                ran = runner.execute(worker)
            except Exception:  # noqa: BLE001 - keep the worker alive; the job row has the error
                log.exception("worker %s: unexpected error", worker)
                ran = False
            if not ran:
                self._wake.wait(self.poll)
                self._wake.clear()

    def _sweep(self) -> None:
        while not self._stop.wait(self.sweep_every):
            try:
                sweep.requeue_stuck()
            except Exception:  # noqa: BLE001
                log.exception("job sweep failed")
            self._schedule.run_due(self.sweep_every)
