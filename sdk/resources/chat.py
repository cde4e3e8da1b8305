"""``client.chat.completions``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .._provider import Capability, require
from .._streaming import AsyncStream
from .._sync import SyncResource, sync_child, to_sync
from ..types.chat import ChatCompletion, ChatCompletionChunk, ChatCompletionRequest
from ._base import AsyncAPIResource, build_request, split_options


class AsyncChatCompletions(AsyncAPIResource):
    async def create(
        self,
        *,
        model: str,
        messages: Iterable[Any],
        stream: bool = False,
        **kwargs: Any,
    ) -> ChatCompletion | AsyncStream[ChatCompletionChunk]:
        """Create a chat completion; with ``stream=True``, an ``AsyncStream`` of chunks.

        Any field of the OpenAI request (``temperature``, ``max_tokens``, ``tools``, ``response_format``,
        ``stream_options``, ...) is a keyword; an unknown keyword is a ``BadRequestError`` naming it. Per-request
        options: ``extra_body``, ``extra_headers``, ``extra_query``, ``timeout``, ``max_retries``.
        """
        params, options = split_options(kwargs)
        provider, name = self._client.resolve(model)
        require(provider, Capability.CHAT, "chat completions")
        req = build_request(ChatCompletionRequest,
                            {**params, "model": name, "messages": list(messages), "stream": stream or None})
        result = await provider.chat(req, options)
        return AsyncStream(result) if stream else result  # type: ignore[return-value,arg-type]


class AsyncChat(AsyncAPIResource):
    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.completions = AsyncChatCompletions(client)


class ChatCompletions(SyncResource[AsyncChatCompletions]):
    create = to_sync(AsyncChatCompletions.create)


class Chat(SyncResource[AsyncChat]):
    completions = sync_child("completions", ChatCompletions)
