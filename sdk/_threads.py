"""Threads and the event loop, under asyncio or trio alike (anyio), as openai-python does it.

``to_thread`` runs a blocking call on a worker thread; ``call_soon_threadsafe`` hands a callback from any
thread to the event loop the caller runs on, without waiting (the engine thread delivers tokens this way).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

import anyio.to_thread
import sniffio

T = TypeVar("T")

Scheduler = Callable[[Callable[[], None]], None]


async def to_thread(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` on a worker thread. A cancelled caller stops waiting at once (the call itself
    runs to its end), as with ``asyncio.to_thread``."""
    return await anyio.to_thread.run_sync(partial(fn, *args, **kwargs), abandon_on_cancel=True)


def call_soon_threadsafe() -> Scheduler:
    """For the event loop running now: a function that any thread may call with a callback, to run it on
    this loop soon. It raises ``RuntimeError`` once the loop has finished."""
    if sniffio.current_async_library() == "trio":
        import trio

        return trio.lowlevel.current_trio_token().run_sync_soon
    import asyncio

    loop = asyncio.get_running_loop()

    def schedule(callback: Callable[[], None]) -> None:
        loop.call_soon_threadsafe(callback)

    return schedule
