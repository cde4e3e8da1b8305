"""``client.models``."""

from __future__ import annotations

from typing import Any

from .._pagination import AsyncPage
from .._provider import Capability, require
from .._sync import SyncResource, to_sync
from ..types.models import Model, ModelDeleted
from ._base import AsyncAPIResource, split_options


class AsyncModels(AsyncAPIResource):
    async def list(self, *, provider: str | None = None, **kwargs: Any) -> AsyncPage[Model]:
        """The models of the default provider, or of ``provider``."""
        _, options = split_options(kwargs)
        backend = self._client.provider(provider)
        require(backend, Capability.MODELS, "listing models")

        async def fetch(after: str | None) -> Any:
            return await backend.list_models(options)

        return AsyncPage(await fetch(None), fetch)

    async def retrieve(self, model: str, **kwargs: Any) -> Model:
        _, options = split_options(kwargs)
        backend, name = self._client.resolve(model)
        require(backend, Capability.MODELS, "retrieving models")
        return await backend.retrieve_model(name, options)

    async def delete(self, model: str, **kwargs: Any) -> ModelDeleted:
        """Delete a model you own (a fine-tuned model)."""
        _, options = split_options(kwargs)
        backend, name = self._client.resolve(model)
        require(backend, Capability.MODELS_WRITE, "deleting models")
        return await backend.delete_model(name, options)


class Models(SyncResource[AsyncModels]):
    list = to_sync(AsyncModels.list)
    retrieve = to_sync(AsyncModels.retrieve)
    delete = to_sync(AsyncModels.delete)
