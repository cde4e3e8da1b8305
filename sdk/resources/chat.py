"""``client.chat.completions``."""

from __future__ import annotations

from typing import Any, Literal, overload

from pydantic import BaseModel
from typing_extensions import Unpack

from .._provider import Capability, require
from .._response import APIResponse, raw, sync_raw
from .._streaming import AsyncStream, Stream
from .._sync import SyncResource, sync_child
from ..guardrails import guarded
from ..types.chat import ChatCompletion, ChatCompletionChunk, ChatCompletionRequest
from ..types.create_params import ChatCompletionCreateParams
from ._base import AsyncAPIResource, build_request


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

    @property
    def with_raw_response(self) -> AsyncChatCompletionsWithRawResponse:
        """The same calls, answered with the HTTP response (status, headers, request id) and ``parse()``."""
        return AsyncChatCompletionsWithRawResponse(self)


class AsyncChatCompletionsWithRawResponse:
    def __init__(self, resource: AsyncChatCompletions) -> None:
        self._resource = resource

    async def create(self, *, stream: bool | None = None, **params: Unpack[ChatCompletionCreateParams]
                     ) -> APIResponse[ChatCompletion | AsyncStream[ChatCompletionChunk]]:
        return await raw(self._resource.create)(stream=stream, **params)


class AsyncChat(AsyncAPIResource):
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

    @property
    def with_raw_response(self) -> ChatCompletionsWithRawResponse:
        return ChatCompletionsWithRawResponse(self)


class ChatCompletionsWithRawResponse:
    def __init__(self, resource: ChatCompletions) -> None:
        self._resource = resource

    def create(self, *, stream: bool | None = None, **params: Unpack[ChatCompletionCreateParams]
               ) -> APIResponse[ChatCompletion | Stream[ChatCompletionChunk]]:
        return sync_raw(self._resource.create)(stream=stream, **params)


class Chat(SyncResource[AsyncChat]):
    completions: sync_child[ChatCompletions] = sync_child("completions", ChatCompletions)
