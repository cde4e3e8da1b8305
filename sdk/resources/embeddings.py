"""``client.embeddings``."""

from __future__ import annotations

from typing import Any

from .._provider import Capability, require
from .._sync import SyncResource, to_sync
from ..types.embeddings import CreateEmbeddingResponse, EmbeddingRequest
from ._base import AsyncAPIResource, build_request, split_options


class AsyncEmbeddings(AsyncAPIResource):
    async def create(self, *, model: str, input: Any, **kwargs: Any) -> CreateEmbeddingResponse:
        """Embed ``input`` (a string, a list of strings, or token ids); ``encoding_format``, ``dimensions``."""
        params, options = split_options(kwargs)
        provider, name = self._client.resolve(model)
        require(provider, Capability.EMBEDDINGS, "embeddings")
        req = build_request(EmbeddingRequest, {**params, "model": name, "input": input})
        return await provider.embed(req, options)


class Embeddings(SyncResource[AsyncEmbeddings]):
    create = to_sync(AsyncEmbeddings.create)
