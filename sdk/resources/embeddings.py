"""``client.embeddings``."""

from __future__ import annotations

from typing_extensions import Unpack

from .._provider import Capability, require
from .._sync import SyncResource
from ..types.create_params import EmbeddingCreateParams
from ..types.embeddings import CreateEmbeddingResponse, EmbeddingRequest
from ._base import AsyncAPIResource, build_request


class AsyncEmbeddings(AsyncAPIResource):
    async def create(self, **params: Unpack[EmbeddingCreateParams]) -> CreateEmbeddingResponse:
        """Embed ``input`` (a string, a list of strings, or token ids); ``encoding_format``, ``dimensions``."""
        fields, options = self._split(params)
        provider, name = self._client.resolve(fields.pop("model"))
        require(provider, Capability.EMBEDDINGS, "embeddings")
        req = build_request(EmbeddingRequest, {**fields, "model": name})
        return await provider.embed(req, options)


class Embeddings(SyncResource[AsyncEmbeddings]):
    def create(self, **params: Unpack[EmbeddingCreateParams]) -> CreateEmbeddingResponse:
        return self._call(self._async.create(**params))
