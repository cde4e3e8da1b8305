"""``.with_raw_response``: a call's parsed result together with the HTTP response it came from (status,
headers, request id), as openai-python offers it.

The transport records each response it hands back into a per-call sink (a context variable); a raw call opens
the sink, makes the ordinary call, and keeps the last response recorded. In process there is no HTTP
response: the status is 200 and the headers are empty.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any, Generic, TypeVar

import httpx
from typing_extensions import ParamSpec

from ._docstrings import mirror_through

P = ParamSpec("P")
T = TypeVar("T")
R = TypeVar("R")

_sink: ContextVar[list[httpx.Response] | None] = ContextVar("llmaas_raw_responses", default=None)


def record(response: httpx.Response) -> None:
    """Called by the HTTP transport for every response it returns."""
    sink = _sink.get()
    if sink is not None:
        sink.append(response)


def current_sink() -> list[httpx.Response] | None:
    return _sink.get()


async def in_sink(awaitable: Awaitable[T], sink: list[httpx.Response] | None) -> T:
    """Await ``awaitable`` with ``sink`` open (how the sync client carries a raw call onto its loop thread)."""
    if sink is None:
        return await awaitable
    token = _sink.set(sink)
    try:
        return await awaitable
    finally:
        _sink.reset(token)


class APIResponse(Generic[T]):
    """The HTTP side of a call, and ``parse()`` for its usual result."""

    def __init__(self, parsed: T, http_response: httpx.Response | None) -> None:
        self._parsed = parsed
        self.http_response: httpx.Response | None = http_response

    def parse(self) -> T:
        return self._parsed

    @property
    def status_code(self) -> int:
        return self.http_response.status_code if self.http_response is not None else 200

    @property
    def headers(self) -> httpx.Headers:
        return self.http_response.headers if self.http_response is not None else httpx.Headers()

    @property
    def request_id(self) -> str | None:
        return self.headers.get("x-request-id")

    def __repr__(self) -> str:
        return f"<APIResponse [{self.status_code}] {type(self._parsed).__name__}>"


def raw(method: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[APIResponse[T]]]:
    """The raw-response twin of an async resource method."""

    async def call(*args: P.args, **kwargs: P.kwargs) -> APIResponse[T]:
        sink: list[httpx.Response] = []
        parsed = await in_sink(method(*args, **kwargs), sink)
        return APIResponse(parsed, sink[-1] if sink else None)

    return call


def sync_raw(method: Callable[P, T]) -> Callable[P, APIResponse[T]]:
    """The raw-response twin of a sync resource method (its call reaches the loop thread with the sink)."""

    def call(*args: P.args, **kwargs: P.kwargs) -> APIResponse[T]:
        sink: list[httpx.Response] = []
        token = _sink.set(sink)
        try:
            parsed = method(*args, **kwargs)
        finally:
            _sink.reset(token)
        return APIResponse(parsed, sink[-1] if sink else None)

    return call


class RawView(Generic[R]):
    """The ``with_raw_response`` view of a resource: its methods, answered with an ``APIResponse``."""

    def __init__(self, resource: R) -> None:
        self._resource = resource

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        mirror_through(cls, RawView)
