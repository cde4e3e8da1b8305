"""``client.chat.completions``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal, TypeVar, cast, overload

from pydantic import BaseModel
from typing_extensions import Unpack

from .._provider import Capability, require
from .._response import APIResponse, RawView, raw, sync_raw
from .._streaming import AsyncStream, Stream
from .._sync import SyncResource, sync_child
from ..guardrails import guarded
from ..lib.accumulate import AsyncChatCompletionStream, ChatCompletionStream
from ..lib.structured import parse_completion, response_format_for
from ..lib.tool_runner import ToolRun, run_tools
from ..types.chat import ChatCompletion, ChatCompletionChunk, ChatCompletionRequest
from ..types.create_params import (
    ChatCompletionCreateParams,
    ChatCompletionParseParams,
    ChatCompletionRunToolsParams,
)
from ..types.parsed import ParsedChatCompletion
from ._base import AsyncAPIResource, build_request

T = TypeVar("T", bound=BaseModel)


def as_input_message(message: Any) -> Any:
    """A message for the next request: a reply's message (``reply.choices[0].message``) becomes the
    assistant message it stands for, keeping only what a request may carry."""
    if isinstance(message, BaseModel):
        data = message.model_dump(exclude_none=True, by_alias=True)
        if data.get("role", "assistant") == "assistant":
            keep = ("role", "content", "refusal", "name", "tool_calls", "function_call")
            data = {k: v for k, v in data.items() if k in keep}
            data.setdefault("role", "assistant")
        return data
    return message


class AsyncChatCompletions(AsyncAPIResource):
    """``client.chat.completions``: chat completions from any provider's chat models, with streaming, structured
    output (``parse``), and a tool-running loop (``run_tools``)."""

    @overload
    async def create(self, *, stream: Literal[False] | None = None,
                     **params: Unpack[ChatCompletionCreateParams]) -> ChatCompletion: ...

    @overload
    async def create(self, *, stream: Literal[True],
                     **params: Unpack[ChatCompletionCreateParams]) -> AsyncStream[ChatCompletionChunk]: ...

    @overload
    async def create(self, *, stream: bool | None = None,
                     **params: Unpack[ChatCompletionCreateParams]) -> ChatCompletion | AsyncStream[ChatCompletionChunk]: ...

    async def create(self, *, stream: bool | None = None,
                     **params: Unpack[ChatCompletionCreateParams]) -> ChatCompletion | AsyncStream[ChatCompletionChunk]:
        """Create a chat completion; with ``stream=True``, an ``AsyncStream`` of chunks.

        Every field of the OpenAI request is a keyword (``temperature``, ``max_tokens``, ``tools``,
        ``response_format``, ``stream_options``, ...); an unknown one is a ``BadRequestError`` naming it.
        Per-request options: ``extra_body``, ``extra_headers``, ``extra_query``, ``timeout``, ``max_retries``.
        """
        fields, options = self._split(params)
        provider, name = self._client.resolve(fields.pop("model"))
        require(provider, Capability.CHAT, "chat completions")
        messages = [as_input_message(m) for m in fields.pop("messages")]
        req = build_request(ChatCompletionRequest,
                            {**fields, "model": name, "messages": messages, "stream": stream or None})
        result: Any = await guarded(self._client, req, lambda r: provider.chat(r, options), bool(stream))
        return AsyncStream(result) if stream else result

    @overload
    async def parse(self, *, response_format: type[T],
                    **params: Unpack[ChatCompletionParseParams]) -> ParsedChatCompletion[T]: ...

    @overload
    async def parse(self, *, response_format: None = None,
                    **params: Unpack[ChatCompletionParseParams]) -> ParsedChatCompletion[None]: ...

    async def parse(self, *, response_format: type[BaseModel] | None = None,
                    **params: Unpack[ChatCompletionParseParams]) -> ParsedChatCompletion[Any]:
        """A chat completion whose answer is parsed into ``response_format`` (a pydantic model, sent as a
        strict JSON schema) as ``choices[i].message.parsed``, and whose calls of tools made with
        ``pydantic_function_tool`` carry ``parsed_arguments``. An answer cut short raises
        LengthFinishReasonError; one that is not the model's type, StructuredOutputError."""
        fields: dict[str, Any] = dict(params)
        if response_format is not None:
            fields["response_format"] = response_format_for(response_format)
        completion = cast("ChatCompletion", await self.create(**fields))
        return parse_completion(completion, response_format, params.get("tools"))

    def stream(self, **params: Unpack[ChatCompletionCreateParams]) -> AsyncChatCompletionStream:
        """``async with client.chat.completions.stream(...) as s``: iterate ``s`` for the chunks, then
        ``await s.get_final_completion()`` for the whole answer (content and tool calls accumulated)."""
        return AsyncChatCompletionStream(lambda: self.create(stream=True, **params))

    async def run_tools(self, *, tools: Sequence[Callable[..., Any]], max_steps: int = 8,
                        **params: Unpack[ChatCompletionRunToolsParams]) -> ToolRun:
        """Answer with Python functions (``tools``) as tools: the calls the model makes are run (async ones awaited,
        plain ones on a worker thread, a round's calls concurrently) and their results sent back, until it
        answers in text. After ``max_steps`` rounds it is asked to answer without tools. ``tool_choice``
        applies to the rounds (``"required"`` makes a model call at least once)."""
        fields: dict[str, Any] = dict(params)
        messages = fields.pop("messages")

        async def create(**kw: Any) -> ChatCompletion:
            return cast("ChatCompletion", await self.create(**kw))

        return await run_tools(create, tools, messages, max_steps, fields)

    @property
    def with_raw_response(self) -> AsyncChatCompletionsWithRawResponse:
        """The same calls, answered with the HTTP response (status, headers, request id) and ``parse()``."""
        return AsyncChatCompletionsWithRawResponse(self)


class AsyncChatCompletionsWithRawResponse(RawView[AsyncChatCompletions]):
    async def create(self, *, stream: bool | None = None, **params: Unpack[ChatCompletionCreateParams]
                     ) -> APIResponse[ChatCompletion | AsyncStream[ChatCompletionChunk]]:
        return await raw(self._resource.create)(stream=stream, **params)


class AsyncChat(AsyncAPIResource):
    """``client.chat``: holds ``completions``."""
    completions: AsyncChatCompletions

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.completions = AsyncChatCompletions(client)


class ChatCompletions(SyncResource[AsyncChatCompletions]):
    @overload
    def create(self, *, stream: Literal[False] | None = None,
               **params: Unpack[ChatCompletionCreateParams]) -> ChatCompletion: ...

    @overload
    def create(self, *, stream: Literal[True],
               **params: Unpack[ChatCompletionCreateParams]) -> Stream[ChatCompletionChunk]: ...

    @overload
    def create(self, *, stream: bool | None = None,
               **params: Unpack[ChatCompletionCreateParams]) -> ChatCompletion | Stream[ChatCompletionChunk]: ...

    def create(self, *, stream: bool | None = None,
               **params: Unpack[ChatCompletionCreateParams]) -> ChatCompletion | Stream[ChatCompletionChunk]:
        return self._call(self._async.create(stream=stream, **params))

    @overload
    def parse(self, *, response_format: type[T], **params: Unpack[ChatCompletionParseParams]) -> ParsedChatCompletion[T]: ...

    @overload
    def parse(self, *, response_format: None = None,
              **params: Unpack[ChatCompletionParseParams]) -> ParsedChatCompletion[None]: ...

    def parse(self, *, response_format: type[BaseModel] | None = None,
              **params: Unpack[ChatCompletionParseParams]) -> ParsedChatCompletion[Any]:
        """The answer parsed into ``response_format`` (see ``AsyncChatCompletions.parse``)."""
        return self._call(self._async.parse(response_format=response_format, **params))

    def stream(self, **params: Unpack[ChatCompletionCreateParams]) -> ChatCompletionStream:
        """``with client.chat.completions.stream(...) as s``: the chunks, then ``s.get_final_completion()``."""
        return ChatCompletionStream(lambda: self.create(stream=True, **params))

    def run_tools(self, *, tools: Sequence[Callable[..., Any]], max_steps: int = 8,
                  **params: Unpack[ChatCompletionRunToolsParams]) -> ToolRun:
        """The tool-running loop (see ``AsyncChatCompletions.run_tools``); async functions are awaited on
        the client's event loop, plain ones run on a worker thread."""
        return self._call(self._async.run_tools(tools=tools, max_steps=max_steps, **params))

    @property
    def with_raw_response(self) -> ChatCompletionsWithRawResponse:
        return ChatCompletionsWithRawResponse(self)


class ChatCompletionsWithRawResponse(RawView[ChatCompletions]):
    def create(self, *, stream: bool | None = None, **params: Unpack[ChatCompletionCreateParams]
               ) -> APIResponse[ChatCompletion | Stream[ChatCompletionChunk]]:
        return sync_raw(self._resource.create)(stream=stream, **params)


class Chat(SyncResource[AsyncChat]):
    completions: sync_child[ChatCompletions] = sync_child("completions", ChatCompletions)
