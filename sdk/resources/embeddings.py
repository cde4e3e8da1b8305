"""``client.embeddings``."""

from __future__ import annotations

from typing_extensions import Unpack

from .._provider import Capability, require
from .._response import APIResponse, RawView, raw, sync_raw
from .._sync import SyncResource
from ..types.create_params import EmbeddingCreateParams
from ..types.embeddings import CreateEmbeddingResponse, EmbeddingRequest
from ._base import AsyncAPIResource, build_request


class AsyncEmbeddings(AsyncAPIResource):
    """``client.embeddings``: vectors for texts, from the built-in all-MiniLM-L6-v2 or any embedding model."""
    async def create(self, **params: Unpack[EmbeddingCreateParams]) -> CreateEmbeddingResponse:
        """Embed ``input`` (a string, a list of strings, or token ids); ``encoding_format``, ``dimensions``."""
        fields, options = self._split(params)
        provider, name = self._client.resolve(fields.pop("model"))
        require(provider, Capability.EMBEDDINGS, "embeddings")
        req = build_request(EmbeddingRequest, {**fields, "model": name})
        return await provider.embed(req, options)

    @property
    def with_raw_response(self) -> AsyncEmbeddingsWithRawResponse:
        """The same calls, answered with the HTTP response (status, headers, request id) and ``parse()``."""
        return AsyncEmbeddingsWithRawResponse(self)


class AsyncEmbeddingsWithRawResponse(RawView[AsyncEmbeddings]):
    async def create(self, **params: Unpack[EmbeddingCreateParams]) -> APIResponse[CreateEmbeddingResponse]:
        return await raw(self._resource.create)(**params)


class Embeddings(SyncResource[AsyncEmbeddings]):
    def create(self, **params: Unpack[EmbeddingCreateParams]) -> CreateEmbeddingResponse:
        return self._call(self._async.create(**params))

    @property
    def with_raw_response(self) -> EmbeddingsWithRawResponse:
        return EmbeddingsWithRawResponse(self)


class EmbeddingsWithRawResponse(RawView[Embeddings]):
    def create(self, **params: Unpack[EmbeddingCreateParams]) -> APIResponse[CreateEmbeddingResponse]:
        return sync_raw(self._resource.create)(**params)
