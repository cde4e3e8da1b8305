"""Stream wrappers. Leaving a ``with`` block, breaking out of a loop or dropping the stream closes it,
and with it the connection (or, in process, the engine slot)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from ._sync import Runner

T = TypeVar("T")


class AsyncStream(Generic[T]):
    """An async iterator of chunks; an async context manager that closes it on exit."""

    def __init__(self, iterator: AsyncIterator[T]) -> None:
        self._iterator = iterator
        self._closed = False

    def __aiter__(self) -> AsyncStream[T]:
        return self

    async def __anext__(self) -> T:
        if self._closed:
            raise StopAsyncIteration
        try:
            return await self._iterator.__anext__()
        except BaseException:
            await self.aclose()
            raise

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        close = getattr(self._iterator, "aclose", None)
        if close is not None:
            await close()

    async def __aenter__(self) -> AsyncStream[T]:
        return self

    async def __aexit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        await self.aclose()

    @property
    def closed(self) -> bool:
        return self._closed


class Stream(Generic[T]):
    """The sync view of an AsyncStream, run on the client's event-loop thread."""

    def __init__(self, stream: AsyncStream[T], runner: Runner) -> None:
        self._stream = stream
        self._runner = runner

    def __iter__(self) -> Iterator[T]:
        try:
            while True:
                try:
                    yield self._runner.run(self._stream.__anext__())
                except StopAsyncIteration:
                    return
        finally:
            self.close()

    def __next__(self) -> T:
        try:
            return self._runner.run(self._stream.__anext__())
        except StopAsyncIteration:
            raise StopIteration from None

    def close(self) -> None:
        if not self._stream.closed and not self._runner.closed:
            self._runner.run(self._stream.aclose())

    def __enter__(self) -> Stream[T]:
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    @property
    def closed(self) -> bool:
        return self._stream.closed
