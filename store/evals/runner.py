"""The eval runner: an asyncio task in the process that owns the models (``llmaas serve``, or an in-process
client), working through the queued runs of a store.

Each run is held by one runner at a time (a lease renewed at every turn, ``records.claim``); a run whose
runner died is taken by another once its lease lapses, or at once when that runner was on this machine. It
keeps up to ``concurrency`` items in flight, as batch work (interactive requests are admitted first). Each
item is recorded as it is graded: after ``kill -9`` the next runner grades only the items without a result,
and an item graded twice is still counted once. A run that was canceled or deleted stops at the next turn;
what was graded stays."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

from llmaas._priority import BATCH
from llmaas.evals import graders
from llmaas.evals.items import Source, evaluate
from llmaas.evals.tools import tools_for
from llmaas.store import Record, Store
from llmaas.store.evals import records
from llmaas.store.liveness import process_name
from llmaas.store.turns import Turns

log: logging.Logger = logging.getLogger("llmaas.evals")
RETRY_DELAY = 1.0  # seconds an item the model could not take waits before it is tried again


class _Run:
    def __init__(self, row: Record, eval_body: dict[str, Any], client: Any) -> None:
        self.row = row
        self.items: list[dict[str, Any]] = json.loads(row["items"])
        body = json.loads(row["body"])
        self.source = Source.of(body["data_source"])
        schema = eval_body["data_source_config"]["item_schema"]
        generates = self.source.generates or all(e["sample"] is not None for e in self.items)
        self.graders = [graders.parse(g, f"testing_criteria[{i}]", schema, generates)
                        for i, g in enumerate(eval_body["testing_criteria"])]
        self.tools = tools_for(client, self.source.model or "")
        self.todo: list[int] = []
        self.tasks: dict[int, asyncio.Task[None]] = {}


class EvalRunner(Turns):
    task_name = "llmaas-evals"
    log = log

    def __init__(self, store: Store, client: Any, concurrency: int = 16, poll: float = 1.0) -> None:
        super().__init__(poll)
        self.store, self.client = store, client  # client: an llmaas AsyncClient over the models to call
        self.concurrency = concurrency
        self.name = process_name(unique=True)
        self._runs: dict[str, _Run] = {}

    async def stop(self) -> None:
        """Stop: items in flight are cancelled and stay ungraded for the next runner."""
        await self._stop_turns()
        for run_id in list(self._runs):
            await self._drop(run_id)
        if self._loop is not None:
            with contextlib.suppress(Exception):
                await self._in_store(records.let_go, self.store, self.name)

    @property
    def running(self) -> int:
        return sum(len(r.tasks) for r in self._runs.values())


    async def _open(self, row: Record) -> _Run | None:
        found = await self._in_store(self.store.query, "SELECT body FROM evals WHERE id = ?", (row["eval_id"],))
        if not found:
            return None
        try:
            run = _Run(row, json.loads(found[0]["body"]), self.client)
        except Exception as exc:  # noqa: BLE001 - a grader registered at creation is gone from this process
            await self._in_store(records.finish_run, self.store, row["id"], "failed",
                              {"code": "invalid_run", "message": str(exc)})
            return None
        done = await self._in_store(records.graded, self.store, row["id"])
        run.todo = [i for i in range(len(run.items)) if i not in done]
        return run

    async def _turn(self) -> None:
        claimed = await self._in_store(records.claim, self.store, self.name)
        ids = {r["id"] for r in claimed}
        for run_id in [r for r in self._runs if r not in ids]:  # canceled, deleted or taken: stop it
            await self._drop(run_id)
        for row in claimed:
            run = self._runs.get(row["id"])
            if run is None:
                opened = await self._open(row)
                if opened is None:
                    continue
                run = self._runs[row["id"]] = opened
            while run.todo and self.running < self.concurrency:
                index = run.todo.pop(0)
                run.tasks[index] = asyncio.get_running_loop().create_task(self._one(run, index))
            if not run.todo and not run.tasks:
                del self._runs[row["id"]]
                if await self._in_store(records.finish_run, self.store, row["id"], "completed"):
                    log.info("eval run %s completed (%d items)", row["id"], len(run.items))

    async def _drop(self, run_id: str) -> None:
        run = self._runs.pop(run_id, None)
        if run is None:
            return
        for t in run.tasks.values():
            t.cancel()
        await asyncio.gather(*run.tasks.values(), return_exceptions=True)

    async def _one(self, run: _Run, index: int) -> None:
        entry = run.items[index]
        try:
            started = time.perf_counter()
            token = BATCH.set(True)
            try:
                outcome = await evaluate(self.client, run.source, run.graders, run.tools, entry["item"],
                                         entry["sample"], index, {"id": run.row["id"], "eval_id": run.row["eval_id"]})
            finally:
                BATCH.reset(token)
            if outcome.retry:
                await asyncio.sleep(RETRY_DELAY)
                run.todo.append(index)
                return
            await self._in_store(records.record_item, self.store, run.row, index, outcome.status, outcome.body,
                              outcome.prompt_tokens, outcome.completion_tokens,
                              (time.perf_counter() - started) * 1000)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - the store failed: the item stays ungraded for the next turn
            log.exception("recording an eval item failed")
            run.todo.append(index)
        finally:
            if run.tasks.get(index) is asyncio.current_task():
                del run.tasks[index]
            self.kick()
