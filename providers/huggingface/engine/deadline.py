"""Per-request timeouts in process: a request that runs past its deadline is cancelled (its engine slots
are free at the next step) and raises ``APITimeoutError``, as a remote request would."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable
from typing import Any, TypeVar

import anyio

from llmaas._errors import APITimeoutError
from llmaas._options import NOT_GIVEN

T = TypeVar("T")


def seconds(timeout: Any) -> float | None:
    """A timeout as seconds: a number, or an ``httpx.Timeout`` (its largest part); None or NOT_GIVEN: none."""
    if timeout is None or timeout is NOT_GIVEN:
        return None
    if isinstance(timeout, (int, float)):
        return float(timeout)
    parts = [getattr(timeout, name, None) for name in ("read", "write", "connect", "pool")]
    known = [float(p) for p in parts if p is not None]
    return max(known) if known else None


def _expired(limit: float) -> APITimeoutError:
    return APITimeoutError(f"the request did not finish within its timeout of {limit:g} s; it was cancelled")


async def within(awaitable: Awaitable[T], limit: float | None) -> T:
    if limit is None:
        return await awaitable
    try:
        with anyio.fail_after(limit):
            return await awaitable
    except TimeoutError:
        raise _expired(limit) from None


class DeadlineStream:
    """A stream of chunks that raises ``APITimeoutError`` (and closes itself) once ``limit`` seconds have
    passed since it was opened. Other attributes (``partial_usage``) are those of the stream it wraps."""

    def __init__(self, stream: Any, limit: float) -> None:
        self._stream = stream
        self._limit = limit
        self._deadline = time.monotonic() + limit

    def __aiter__(self) -> AsyncIterator[Any]:
        return self

    async def __anext__(self) -> Any:
        left = self._deadline - time.monotonic()
        try:
            if left <= 0:
                raise TimeoutError
            with anyio.fail_after(left):
                return await self._stream.__anext__()
        except TimeoutError:
            await self.aclose()
            raise _expired(self._limit) from None

    async def aclose(self) -> None:
        await self._stream.aclose()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)
