"""Starts the fine-tuning worker for a home's queued jobs. One worker runs per home at a time (it holds a lock
file while it works) and drains the queue oldest first, whichever process queued the jobs: ``llmaas serve``
or a script using the in-process client on the same home.

The worker is a process of its own session: it keeps going when the process that started it exits, so a job
created from a script finishes after the script, and a server restart does not stop training. A job found
``running`` while no worker holds the lock was interrupted (a crash, ``kill -9``): the next worker resumes it
from its last checkpoint, or fails it with a reason after repeated interruptions."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import subprocess
import sys
from collections.abc import Generator
from pathlib import Path

from llmaas.store import Store

log: logging.Logger = logging.getLogger("llmaas.server")
LOCK_NAME = "fine-tuning.lock"


def lock_path(home: Path) -> Path:
    return Path(home) / LOCK_NAME


@contextlib.contextmanager
def worker_lock(home: Path, blocking: bool = False) -> Generator[bool, None, None]:
    """Hold the home's worker lock for the block; yields False (and holds nothing) if another process has it."""
    path = lock_path(home)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def worker_running(home: Path) -> bool:
    with worker_lock(home) as free:
        return not free


def worker_pid(home: Path) -> int | None:
    """The pid of the worker holding the lock, if one does."""
    if not worker_running(home):
        return None
    with contextlib.suppress(OSError, ValueError):
        return int(lock_path(home).read_text().strip())
    return None


class JobRunner:
    def __init__(self, store: Store, threads: int | None = None, enabled: bool | None = None) -> None:
        from llmaas.settings import FineTuningSettings

        self.store = store
        self.threads = threads or int(os.environ.get("LLMAAS_FT_THREADS", "1"))
        self.enabled = FineTuningSettings.resolve().ft_worker if enabled is None else enabled
        self.process: subprocess.Popen[bytes] | None = None

    def recover(self) -> None:
        """At start: jobs a dead worker left running are resumed (or failed) by a new worker."""
        self.kick()

    def kick(self) -> None:
        """Start a worker if there is work (a queued job, or a running one whose worker died) and no worker
        holds the lock. Cheap: a lock probe and a query. Nothing where this machine runs no worker
        (LLMAAS_FT_WORKER=false): workers elsewhere claim the jobs from the shared store."""
        if not self.enabled:
            return
        if self.process is not None and self.process.poll() is None:
            return
        if worker_running(self.store.home):
            return
        if not self.store.query("SELECT 1 FROM fine_tuning_jobs WHERE status IN ('queued', 'running', "
                                "'validating_files') LIMIT 1"):
            return
        logs = Path(self.store.home) / "logs"
        logs.mkdir(mode=0o700, exist_ok=True)
        log.info("starting the fine-tuning worker (%d threads); its log: %s", self.threads, logs / "worker.log")
        fd = os.open(logs / "worker.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            self.process = subprocess.Popen([sys.executable, "-m", "llmaas.store.jobs.worker",
                                             "--home", str(self.store.home), "--threads", str(self.threads)],
                                            start_new_session=True, stdin=subprocess.DEVNULL, stdout=fd, stderr=fd)
        finally:
            os.close(fd)

    async def stop(self) -> None:
        """Nothing to stop: the worker outlives this process (its jobs are in the store). Reap it if done."""
        if self.process is not None:
            self.process.poll()
