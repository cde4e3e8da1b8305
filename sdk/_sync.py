"""The sync client is a facade over the async one: every call runs on one event loop in a daemon thread.

One loop per client keeps connection pools and in-process engines on a single thread, and lets the sync
client be used from inside someone else's running event loop (a notebook, say).
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar

from ._pagination import AsyncPage, SyncPage
from ._streaming import AsyncStream, Stream

P = ParamSpec("P")
R = TypeVar("R")
A = TypeVar("A")


class Runner:
    """An event loop on a daemon thread, and a way to run coroutines on it from any other thread."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="llmaas-loop", daemon=True)
        self._thread.start()
        self.closed = False

    def run(self, coro: Coroutine[Any, Any, R] | Awaitable[R]) -> R:
        if self.closed:
            raise RuntimeError("this client is closed")
        if threading.current_thread() is self._thread:
            raise RuntimeError("the sync client cannot be called from its own event loop")
        future = asyncio.run_coroutine_threadsafe(_as_coroutine(coro), self._loop)
        try:
            return future.result()
        except BaseException:
            future.cancel()
            raise

    def wrap(self, value: Any) -> Any:
        """Give the sync view of what an async resource returned."""
        if isinstance(value, AsyncStream):
            return Stream(value, self)
        if isinstance(value, AsyncPage):
            return SyncPage(value, self)
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


def to_sync(method: Callable[Concatenate[Any, P], Awaitable[R]]) -> Callable[Concatenate[Any, P], Any]:
    """Make the sync twin of an async resource method: same name, same parameters, same docs."""
    name = method.__name__

    @functools.wraps(method)
    def call(self: SyncResource[Any], *args: P.args, **kwargs: P.kwargs) -> Any:
        return self._runner.wrap(self._runner.run(getattr(self._async, name)(*args, **kwargs)))

    return call


def sync_child(attr: str, sync_cls: type[SyncResource[Any]]) -> Any:
    """A cached property giving the sync view of a nested async resource (``chat.completions``)."""

    def get(self: SyncResource[Any]) -> Any:
        cache = self.__dict__.setdefault("_children", {})
        if attr not in cache:
            cache[attr] = sync_cls(getattr(self._async, attr), self._runner)
        return cache[attr]

    return property(get)
