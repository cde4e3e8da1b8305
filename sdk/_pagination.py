"""Cursor pages. ``page.data`` is one page; iterating a page walks every page after it too."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from ._sync import Runner

T = TypeVar("T")


@dataclass
class PageResult(Generic[T]):
    """What a provider returns for one page of a list endpoint."""

    data: list[T]
    has_more: bool = False
    object: str = "list"


def cursor_of(item: Any) -> str | None:
    return getattr(item, "id", None)


class AsyncPage(Generic[T]):
    """One page of results, able to fetch the pages after it (``after`` = the last id seen)."""

    def __init__(self, result: PageResult[T], fetch: Callable[[str | None], Awaitable[PageResult[T]]]) -> None:
        self._result = result
        self._fetch = fetch

    @property
    def data(self) -> list[T]:
        return self._result.data

    @property
    def has_more(self) -> bool:
        return self._result.has_more

    @property
    def object(self) -> str:
        return self._result.object

    def has_next_page(self) -> bool:
        return self._result.has_more and bool(self._result.data) and cursor_of(self._result.data[-1]) is not None

    async def get_next_page(self) -> AsyncPage[T]:
        if not self.has_next_page():
            raise StopAsyncIteration("no more pages")
        return AsyncPage(await self._fetch(cursor_of(self._result.data[-1])), self._fetch)

    async def iter_pages(self) -> AsyncIterator[AsyncPage[T]]:
        page: AsyncPage[T] = self
        while True:
            yield page
            if not page.has_next_page():
                return
            page = await page.get_next_page()

    async def __aiter__(self) -> AsyncIterator[T]:
        async for page in self.iter_pages():
            for item in page.data:
                yield item

    def __len__(self) -> int:
        return len(self._result.data)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(data={self.data!r}, has_more={self.has_more})"


class AsyncPaginator(Generic[T]):
    """What an async ``list()`` returns, as in openai-python: ``await`` it for the first page, or iterate it
    directly (``async for m in client.models.list()``) to walk every item of every page."""

    def __init__(self, first: Callable[[], Awaitable[AsyncPage[T]]]) -> None:
        self._first = first

    def __await__(self) -> Generator[Any, None, AsyncPage[T]]:
        return self._first().__await__()

    async def __aiter__(self) -> AsyncIterator[T]:
        page = await self._first()
        async for item in page:
            yield item


class SyncPage(Generic[T]):
    """The same page for the sync client: plain iteration walks every page."""

    def __init__(self, page: AsyncPage[T], runner: Runner) -> None:
        self._page = page
        self._runner = runner

    @property
    def data(self) -> list[T]:
        return self._page.data

    @property
    def has_more(self) -> bool:
        return self._page.has_more

    @property
    def object(self) -> str:
        return self._page.object

    def has_next_page(self) -> bool:
        return self._page.has_next_page()

    def get_next_page(self) -> SyncPage[T]:
        return SyncPage(self._runner.run(self._page.get_next_page()), self._runner)

    def iter_pages(self) -> Iterator[SyncPage[T]]:
        page: SyncPage[T] = self
        while True:
            yield page
            if not page.has_next_page():
                return
            page = page.get_next_page()

    def __iter__(self) -> Iterator[T]:
        for page in self.iter_pages():
            yield from page.data

    def __len__(self) -> int:
        return len(self._page)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(data={self.data!r}, has_more={self.has_more})"
