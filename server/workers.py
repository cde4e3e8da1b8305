"""Starts the fine-tuning worker: one process at a time by default, for the oldest queued job; when it
exits, the next queued job starts. At start, jobs left running by a server that stopped are failed."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys

from .jobs import fail_interrupted, next_queued
from .store import Store

log: logging.Logger = logging.getLogger("llmaas.server")


class JobRunner:
    def __init__(self, store: Store, threads: int | None = None) -> None:
        self.store = store
        self.threads = threads or int(os.environ.get("LLMAAS_FT_THREADS", "1"))
        self.process: subprocess.Popen[bytes] | None = None
        self._watch: asyncio.Task[None] | None = None

    def recover(self) -> None:
        for job_id in fail_interrupted(self.store):
            log.warning("fine-tuning job %s was interrupted by a stop and is marked failed", job_id)

    def kick(self) -> None:
        """Start a worker for the next queued job if none is running (call on the event loop)."""
        if self.process is not None and self.process.poll() is None:
            return
        job_id = next_queued(self.store)
        if job_id is None:
            return
        self.process = subprocess.Popen([sys.executable, "-m", "llmaas.server.worker", "--home",
                                         str(self.store.home), "--job", job_id, "--threads", str(self.threads)])
        self._watch = asyncio.get_running_loop().create_task(self._wait(self.process))

    async def _wait(self, process: subprocess.Popen[bytes]) -> None:
        while process.poll() is None:
            await asyncio.sleep(0.5)
        self.kick()

    async def stop(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                await asyncio.to_thread(process.wait, 10)
            except subprocess.TimeoutExpired:
                process.kill()
