"""Chat completion streams, accumulated: ``client.chat.completions.stream(...)`` yields the chunks as they
come and gives the whole completion at the end (content, tool calls joined by index, finish reasons,
usage), as if it had not been streamed."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from types import TracebackType
from typing import Any

from .._streaming import AsyncStream, Stream
from ..types.chat import ChatCompletion, ChatCompletionChunk


class ChatCompletionAccumulator:
    def __init__(self) -> None:
        self._first: ChatCompletionChunk | None = None
        self._choices: dict[int, dict[str, Any]] = {}
        self._usage: Any = None

    def add(self, chunk: ChatCompletionChunk) -> None:
        self._first = self._first or chunk
        if chunk.usage is not None:
            self._usage = chunk.usage
        for c in chunk.choices:
            entry: dict[str, Any] = self._choices.setdefault(c.index, {"content": None, "tool_calls": {}, "finish_reason": None,
                                                       "logprobs": None, "refusal": None})
            d = c.delta
            if d.content:
                entry["content"] = (entry["content"] or "") + d.content
            if d.refusal:
                entry["refusal"] = (entry["refusal"] or "") + d.refusal
            for call in d.tool_calls or []:
                slot = entry["tool_calls"].setdefault(call.index, {"id": "", "type": "function",
                                                                   "function": {"name": "", "arguments": ""}})
                slot["id"] = call.id or slot["id"]
                if call.function is not None:
                    slot["function"]["name"] += call.function.name or ""
                    slot["function"]["arguments"] += call.function.arguments or ""
            if c.logprobs is not None and c.logprobs.content:
                logprobs: dict[str, Any] = entry["logprobs"] or {"content": [], "refusal": None}
                logprobs["content"] = [*logprobs["content"], *(lp.model_dump() for lp in c.logprobs.content)]
                entry["logprobs"] = logprobs
            entry["finish_reason"] = c.finish_reason or entry["finish_reason"]

    def completion(self) -> ChatCompletion:
        """The completion so far (the final one once the stream has ended)."""
        first = self._first
        choices: list[dict[str, Any]] = []
        for index in sorted(self._choices):
            e = self._choices[index]
            calls = [e["tool_calls"][k] for k in sorted(e["tool_calls"])] or None
            choices.append({"index": index, "finish_reason": e["finish_reason"], "logprobs": e["logprobs"],
                            "message": {"role": "assistant", "content": e["content"] if e["content"] is not None
                                        else (None if calls else ""), "refusal": e["refusal"], "tool_calls": calls}})
        return ChatCompletion.model_validate({
            "id": first.id if first else "", "created": first.created if first else 0,
            "model": first.model if first else "", "choices": choices,
            "usage": self._usage.model_dump() if self._usage is not None else None})


class AsyncChatCompletionStream:
    """``async with client.chat.completions.stream(...) as stream``: iterate it for the chunks, then
    ``await stream.get_final_completion()``."""

    def __init__(self, open_stream: Callable[[], Awaitable[AsyncStream[ChatCompletionChunk]]]) -> None:
        self._open = open_stream
        self._stream: AsyncStream[ChatCompletionChunk] | None = None
        self._acc = ChatCompletionAccumulator()

    async def __aenter__(self) -> AsyncChatCompletionStream:
        self._stream = await self._open()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        if self._stream is not None:
            await self._stream.aclose()

    async def __aiter__(self) -> AsyncIterator[ChatCompletionChunk]:
        if self._stream is None:
            raise RuntimeError("use the stream in 'async with client.chat.completions.stream(...) as stream'")
        async for chunk in self._stream:
            self._acc.add(chunk)
            yield chunk

    @property
    def current_completion_snapshot(self) -> ChatCompletion:
        return self._acc.completion()

    async def get_final_completion(self) -> ChatCompletion:
        async for _ in self:
            pass
        return self._acc.completion()


class ChatCompletionStream:
    """``with client.chat.completions.stream(...) as stream``: the sync counterpart."""

    def __init__(self, open_stream: Callable[[], Stream[ChatCompletionChunk]]) -> None:
        self._open = open_stream
        self._stream: Stream[ChatCompletionChunk] | None = None
        self._acc = ChatCompletionAccumulator()

    def __enter__(self) -> ChatCompletionStream:
        self._stream = self._open()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._stream is not None:
            self._stream.close()

    def __iter__(self) -> Iterator[ChatCompletionChunk]:
        if self._stream is None:
            raise RuntimeError("use the stream in 'with client.chat.completions.stream(...) as stream'")
        for chunk in self._stream:
            self._acc.add(chunk)
            yield chunk

    @property
    def current_completion_snapshot(self) -> ChatCompletion:
        return self._acc.completion()

    def get_final_completion(self) -> ChatCompletion:
        for _ in self:
            pass
        return self._acc.completion()
