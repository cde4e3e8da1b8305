"""``client.completions`` (legacy text completions)."""

from __future__ import annotations

from typing import Any, Literal, overload

from typing_extensions import Unpack

from .._provider import Capability, require
from .._response import APIResponse, RawView, raw, sync_raw
from .._streaming import AsyncStream, Stream
from .._sync import SyncResource
from ..guardrails import guarded
from ..types.completions import Completion, CompletionRequest
from ..types.create_params import CompletionCreateParams
from ._base import AsyncAPIResource, build_request


class AsyncCompletions(AsyncAPIResource):
    """``client.completions``: legacy text completions of a ``prompt``, as OpenAI's ``/v1/completions``."""

    @overload
    async def create(self, *, stream: Literal[False] | None = None,
                     **params: Unpack[CompletionCreateParams]) -> Completion: ...

    @overload
    async def create(self, *, stream: Literal[True], **params: Unpack[CompletionCreateParams]) -> AsyncStream[Completion]: ...

    @overload
    async def create(self, *, stream: bool | None = None,
                     **params: Unpack[CompletionCreateParams]) -> Completion | AsyncStream[Completion]: ...

    async def create(self, *, stream: bool | None = None,
                     **params: Unpack[CompletionCreateParams]) -> Completion | AsyncStream[Completion]:
        """Complete ``prompt``; with ``stream=True``, an ``AsyncStream`` of partial completions."""
        fields, options = self._split(params)
        provider, name = self._client.resolve(fields.pop("model"))
        require(provider, Capability.COMPLETIONS, "completions")
        req = build_request(CompletionRequest, {**fields, "model": name, "stream": stream or None})
        result: Any = await guarded(self._client, req, lambda r: provider.complete(r, options), bool(stream))
        return AsyncStream(result) if stream else result

    @property
    def with_raw_response(self) -> AsyncCompletionsWithRawResponse:
        """The same calls, answered with the HTTP response (status, headers, request id) and ``parse()``."""
        return AsyncCompletionsWithRawResponse(self)


class AsyncCompletionsWithRawResponse(RawView[AsyncCompletions]):
    async def create(self, *, stream: bool | None = None, **params: Unpack[CompletionCreateParams]
                     ) -> APIResponse[Completion | AsyncStream[Completion]]:
        return await raw(self._resource.create)(stream=stream, **params)


class Completions(SyncResource[AsyncCompletions]):
    @overload
    def create(self, *, stream: Literal[False] | None = None, **params: Unpack[CompletionCreateParams]) -> Completion: ...

    @overload
    def create(self, *, stream: Literal[True], **params: Unpack[CompletionCreateParams]) -> Stream[Completion]: ...

    @overload
    def create(self, *, stream: bool | None = None,
               **params: Unpack[CompletionCreateParams]) -> Completion | Stream[Completion]: ...

    def create(self, *, stream: bool | None = None,
               **params: Unpack[CompletionCreateParams]) -> Completion | Stream[Completion]:
        return self._call(self._async.create(stream=stream, **params))

    @property
    def with_raw_response(self) -> CompletionsWithRawResponse:
        return CompletionsWithRawResponse(self)


class CompletionsWithRawResponse(RawView[Completions]):
    def create(self, *, stream: bool | None = None, **params: Unpack[CompletionCreateParams]
               ) -> APIResponse[Completion | Stream[Completion]]:
        return sync_raw(self._resource.create)(stream=stream, **params)
