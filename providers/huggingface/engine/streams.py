"""What flows between callers and the engine thread: a request with its inbox of events (a token, the end,
a failure), and the async iterators callers read them through. The engine thread hands each event to the
caller's event loop (asyncio or trio) with a callback; nothing here waits on the engine."""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import anyio

from llmaas._threads import Scheduler
from llmaas.providers.huggingface.engine.sampling import Choice, SamplingParams

if TYPE_CHECKING:
    from llmaas.providers.huggingface.model.adapters import Adapter


@dataclass
class TokenEvent:
    """One step's output for one choice of a request."""

    index: int
    text: str
    token: int | None
    choice: Choice | None = None
    finish_reason: str | None = None
    #: the stop token that ended the choice, with its logprob: not part of the text, but legacy completions
    #: list it with the tokens (as OpenAI and vLLM do; lm-evaluation-harness reads it)
    stop_choice: Choice | None = None


@dataclass
class Done:
    prompt_tokens: int
    completion_tokens: int


@dataclass
class Failed:
    error: BaseException


Event = TokenEvent | Done | Failed


class Inbox:
    """A request's events, on its caller's event loop (only the loop's thread touches it)."""

    def __init__(self) -> None:
        self._items: deque[Event] = deque()
        self._waiters: set[anyio.Event] = set()

    def put(self, item: Event) -> None:
        self._items.append(item)
        for waiter in self._waiters:
            waiter.set()

    def get_nowait(self) -> Event | None:
        return self._items.popleft() if self._items else None

    async def get(self) -> Event:
        while not self._items:
            await wait_any([self])
        return self._items.popleft()


async def wait_any(inboxes: list[Inbox]) -> None:
    """Until one of ``inboxes`` holds an event."""
    waiter = anyio.Event()
    for inbox in inboxes:
        inbox._waiters.add(waiter)  # pyright: ignore[reportPrivateUsage]  (this module's own class)
    try:
        if not any(inbox._items for inbox in inboxes):  # pyright: ignore[reportPrivateUsage]
            await waiter.wait()
    finally:
        for inbox in inboxes:
            inbox._waiters.discard(waiter)  # pyright: ignore[reportPrivateUsage]


class GenerationRequest:
    _ids = itertools.count()

    def __init__(self, prompt: list[int], params: SamplingParams, n: int, schedule: Scheduler,
                 adapter: Adapter | None = None) -> None:
        self.id: int = next(self._ids)
        self.adapter = adapter  # a LoRA adapter over the engine's model, or None for the base model
        self.prompt = prompt
        self.params = params
        self.n = n
        self._schedule = schedule  # hands a callback to the caller's event loop, from the engine thread
        self.events = Inbox()
        self.cancelled: bool = False
        self.completion_tokens = 0
        self.open_choices = n
        self.failed = False
        self.batch = False  # batch work: admitted after interactive requests, preempted by them

    def push(self, item: Event) -> None:
        try:
            self._schedule(partial(self.events.put, item))
        except RuntimeError:  # the caller's loop is gone: nobody is listening any more
            self.cancelled = True


class RequestStream:
    """The events of one request, as an async iterator."""

    def __init__(self, request: GenerationRequest) -> None:
        self.request = request
        self._finished = False

    def __aiter__(self) -> RequestStream:
        return self

    @property
    def finished(self) -> bool:
        return self._finished

    async def __anext__(self) -> TokenEvent | Done:
        if self._finished:
            raise StopAsyncIteration
        try:
            item = await self.request.events.get()
        except BaseException:  # the caller was cancelled or timed out
            self.request.cancelled = True
            raise
        return self._seen(item)

    def poll(self) -> TokenEvent | Done | None:
        """The next event if one has arrived (None if not, or after the end)."""
        if self._finished:
            return None
        item = self.request.events.get_nowait()
        return None if item is None else self._seen(item)

    def _seen(self, item: Event) -> TokenEvent | Done:
        if isinstance(item, Failed):
            self._finished = True
            raise item.error
        if isinstance(item, Done):
            self._finished = True
        return item

    async def aclose(self) -> None:
        self.request.cancelled = True  # a no-op for a finished request

    def __del__(self) -> None:
        self.request.cancelled = True


class MeteredStream:
    """Response chunks, and the usage of the requests behind them so far: a server meters what a client
    that disconnected part way did consume."""

    def __init__(self, chunks: AsyncIterator[Any], streams: list[RequestStream]) -> None:
        self._chunks = chunks
        self._requests = [s.request for s in streams]

    def __aiter__(self) -> MeteredStream:
        return self

    async def __anext__(self) -> Any:
        return await self._chunks.__anext__()

    async def aclose(self) -> None:
        await self._chunks.aclose()  # type: ignore[attr-defined]

    @property
    def partial_usage(self) -> dict[str, int]:
        prompt = sum(len(r.prompt) for r in self._requests)
        completion = sum(r.completion_tokens for r in self._requests)
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
