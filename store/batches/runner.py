"""The batch runner: an asyncio task in the process that owns the engine (``llmaas serve``, or an in-process
client), working through every batch of a home in the engine's idle capacity.

One runner per home works at a time: it holds ``batches.lock`` (an flock, released by the kernel when its
process dies, so the next start takes over). Front doors on several machines sharing a PostgreSQL store
each run one; each batch is held by one runner at a time (a lease it renews at every turn,
``records.claim``), and a batch whose runner died is taken by another once its lease lapses. It keeps up to
``concurrency`` requests in the engine, marked as batch work so that interactive requests are admitted first and take their slots. Each
answer is recorded as it comes (``records.record``): after ``kill -9`` the next runner starts from the
requests still pending, and a request that ran twice is still answered once. A batch cancelled or past its
window stops at once: its requests in flight are cancelled (freeing their engine slots at the next step) and
what finished is delivered."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import secrets
import time
from pathlib import Path

from llmaas._priority import BATCH
from llmaas.store import Record, Store
from llmaas.store.batches.execute import Execute
from llmaas.store.batches.records import claim, finish, let_go, pending, record
from llmaas.store.liveness import process_name
from llmaas.store.turns import Turns

log: logging.Logger = logging.getLogger("llmaas.batches")
LOCK_NAME = "batches.lock"
RETRY_DELAY = 1.0  # seconds a request the engine could not take waits before it is tried again


class BatchRunner(Turns):
    task_name = "llmaas-batches"
    log = log

    def __init__(self, store: Store, execute: Execute, concurrency: int = 32, poll: float = 1.0) -> None:
        super().__init__(poll)
        self.store, self.execute = store, execute
        self.concurrency = concurrency
        self._tasks: dict[str, dict[int, asyncio.Task[None]]] = {}
        self._lock_fd: int | None = None
        self.name = process_name(unique=True)  # the name its leases on batches carry

    # -- life ---------------------------------------------------------------------------------------

    async def stop(self) -> None:
        """Stop working: requests in flight are cancelled and stay pending for the next runner."""
        await self._stop_turns()
        tasks = [t for by_line in self._tasks.values() for t in by_line.values()]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        if self._lock_fd is not None:
            with contextlib.suppress(Exception):  # a database gone: the leases lapse by themselves
                await self._in_store(let_go, self.store, self.name)
        self._unlock()

    @property
    def running(self) -> int:
        return sum(len(t) for t in self._tasks.values())

    # -- the lock -----------------------------------------------------------------------------------

    def _try_lock(self) -> bool:
        if self._lock_fd is not None:
            return True
        fd = os.open(Path(self.store.home) / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._lock_fd = fd
        return True

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
                os.close(self._lock_fd)
            self._lock_fd = None

    # -- the loop -----------------------------------------------------------------------------------


    async def _turn(self) -> None:
        if self._try_lock():
            await self._step()

    async def _step(self) -> None:
        now = time.time()
        for batch in await self._in_store(claim, self.store, self.name):
            batch_id, status = batch["id"], batch["status"]
            if status == "cancelling" or now >= batch["expires_at"]:
                final = "cancelled" if status == "cancelling" else "expired"
                await self._drop(batch_id)
                done = await self._in_store(finish, self.store, batch_id, final, (status,))
                if done is not None:
                    log.info("batch %s %s: %d done, %d failed", batch_id, final,
                             done["request_counts"]["completed"], done["request_counts"]["failed"])
                continue
            mine = self._tasks.setdefault(batch_id, {})
            free = self.concurrency - self.running
            if free <= 0:
                continue
            rows = await self._in_store(pending, self.store, batch_id, set(mine), free)
            for row in rows:
                mine[row["line"]] = asyncio.get_running_loop().create_task(self._one(batch, row))
            if not rows and not mine:
                self._tasks.pop(batch_id, None)
                done = await self._in_store(finish, self.store, batch_id, "completed", ("in_progress", "validating",
                                                                                    "finalizing"))
                if done is not None:
                    log.info("batch %s completed: %d done, %d failed", batch_id,
                             done["request_counts"]["completed"], done["request_counts"]["failed"])

    async def _drop(self, batch_id: str) -> None:
        tasks = list(self._tasks.pop(batch_id, {}).values())
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _one(self, batch: Record, row: Record) -> None:
        line = row["line"]
        try:
            token = BATCH.set(True)
            started = time.perf_counter()
            try:
                outcome = await self.execute(batch, json.loads(row["body"]))
            finally:
                BATCH.reset(token)
            if outcome.retry:  # preempted: queued again at once (the engine admits it when there is room)
                if outcome.body.get("error", {}).get("code") != "preempted":
                    await asyncio.sleep(RETRY_DELAY)
                return
            result = {"id": "batch_req_" + secrets.token_hex(12), "custom_id": row["custom_id"],
                      "response": {"status_code": outcome.status, "request_id": "req_" + secrets.token_hex(12),
                                   "body": outcome.body}, "error": None}
            await self._in_store(record, self.store, batch, line, outcome.status == 200, result, outcome.input_tokens,
                            outcome.output_tokens, (time.perf_counter() - started) * 1000, outcome.status)
        finally:
            mine = self._tasks.get(batch["id"])
            if mine is not None and mine.get(line) is asyncio.current_task():
                del mine[line]
            self.kick()
