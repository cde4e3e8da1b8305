"""A task on the event loop that takes turns: at once when kicked (from any thread), else every ``poll``
seconds. The batch runner and the eval runner are made of it: each turn looks at the store and starts what
is due; a turn that fails is logged and the next one tries again."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from llmaas._lanes import lane


class Turns:
    #: the asyncio task's name and the log line's subject; set by each subclass
    task_name: str = "llmaas-turns"
    log: logging.Logger = logging.getLogger("llmaas")

    def __init__(self, poll: float = 1.0) -> None:
        self.poll = poll
        self._main_task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def _turn(self) -> None:
        raise NotImplementedError

    async def _in_store(self, fn: Any, *args: Any) -> Any:
        """A blocking store call, in the store's lane of threads (never on the event loop)."""
        return await lane("store").run(fn, *args)

    def start(self) -> None:
        """Start on the running event loop (again, if a previous loop is gone)."""
        loop = asyncio.get_running_loop()
        if self._main_task is not None and not self._main_task.done() and self._loop is loop:
            return
        self._loop, self._wake = loop, asyncio.Event()
        self._main_task = loop.create_task(self._main(), name=self.task_name)

    def kick(self) -> None:
        """Take a turn now (something was created or cancelled, a piece of work finished)."""
        loop, wake = self._loop, self._wake
        if loop is None or wake is None or loop.is_closed():
            return
        try:
            if asyncio.get_running_loop() is loop:
                wake.set()
                return
        except RuntimeError:
            pass
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(wake.set)

    async def _stop_turns(self) -> None:
        if self._main_task is not None:
            self._main_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._main_task

    async def _main(self) -> None:
        assert self._wake is not None
        while True:
            try:
                await self._turn()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a store hiccup: try again at the next turn
                self.log.exception("a turn of %s failed", self.task_name)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll)
            self._wake.clear()
