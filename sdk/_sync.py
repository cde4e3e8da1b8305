"""The sync client is a facade over the async one: every call runs on one event loop in a daemon thread.

One loop per client keeps connection pools and in-process engines on a single thread, and lets the sync
client be used from inside someone else's running event loop (a notebook, say).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable
from typing import Any, Generic, TypeVar, cast

from ._docstrings import mirror_through
from ._pagination import AsyncPage, SyncPage
from ._response import current_sink, in_sink
from ._streaming import AsyncStream, Stream

R = TypeVar("R")
A = TypeVar("A")


class Runner:
    """An event loop on a daemon thread, and a way to run coroutines on it from any other thread."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop = asyncio.new_event_loop()
        self._thread: threading.Thread = threading.Thread(target=self._loop.run_forever, name="llmaas-loop",
                                                          daemon=True)
        self._thread.start()
        self.closed: bool = False

    def run(self, coro: Awaitable[R]) -> R:
        if self.closed:
            raise RuntimeError("this client is closed")
        if threading.current_thread() is self._thread:
            raise RuntimeError("the sync client cannot be called from its own event loop")
        # a raw-response call's sink travels with the coroutine onto the loop thread
        future = asyncio.run_coroutine_threadsafe(_as_coroutine(in_sink(coro, current_sink())), self._loop)
        try:
            return future.result()
        except BaseException:
            future.cancel()
            raise

    def wrap(self, value: Any) -> Any:
        """Give the sync view of what an async resource returned."""
        if isinstance(value, AsyncStream):
            return Stream(cast("AsyncStream[Any]", value), self)
        if isinstance(value, AsyncPage):
            return SyncPage(cast("AsyncPage[Any]", value), self)
        return value

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        if not self._loop.is_running():
            self._loop.close()

    def __del__(self) -> None:
        # the last resource of a client that was never closed is gone: stop the loop thread
        if not getattr(self, "closed", True):
            self.closed = True
            self._loop.call_soon_threadsafe(self._loop.stop)


async def _as_coroutine(awaitable: Awaitable[R]) -> R:
    return await awaitable


class SyncResource(Generic[A]):
    """Base of every sync resource: holds the async resource it mirrors and the runner."""

    def __init__(self, resource: A, runner: Runner) -> None:
        self._async = resource
        self._runner = runner

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        mirror_through(cls, SyncResource)

    def _call(self, awaitable: Awaitable[Any]) -> Any:
        """Run an async resource call on the client's loop; streams and pages come back as their sync views."""
        return self._runner.wrap(self._runner.run(awaitable))


S = TypeVar("S", bound=SyncResource[Any])


class sync_child(Generic[S]):  # noqa: N801 - used like a property
    """The sync view of a nested async resource (``chat.completions``), made once per parent."""

    def __init__(self, attr: str, sync_cls: type[S]) -> None:
        self.attr = attr
        self.sync_cls = sync_cls

    def __get__(self, parent: SyncResource[Any], owner: Any = None) -> S:
        cache: dict[str, Any] = parent.__dict__.setdefault("_children", {})
        if self.attr not in cache:
            cache[self.attr] = self.sync_cls(getattr(parent._async, self.attr), parent._runner)  # pyright: ignore[reportPrivateUsage]
        return cache[self.attr]
