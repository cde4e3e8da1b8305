"""``client.models``."""

from __future__ import annotations

from typing_extensions import Unpack

from .._pagination import AsyncPage, AsyncPaginator, PageResult, SyncPage
from .._provider import Capability, require
from .._response import APIResponse, raw, sync_raw
from .._sync import SyncResource
from ..types.create_params import ModelListParams, RequestOptionsParams
from ..types.models import Model, ModelDeleted, RunningModel
from ._base import AsyncAPIResource, paginate


class AsyncModels(AsyncAPIResource):
    def list(self, **params: Unpack[ModelListParams]) -> AsyncPaginator[Model]:
        """The models of the default provider, or of ``provider``: ``await`` it for the page, or iterate it."""
        fields, options = self._split(params)
        backend = self._client.provider(fields.get("provider"))
        require(backend, Capability.MODELS, "listing models")

        async def fetch(after: str | None) -> PageResult[Model]:
            return await backend.list_models(options)

        return paginate(fetch)

    async def retrieve(self, model: str, **params: Unpack[RequestOptionsParams]) -> Model:
        _, options = self._split(params)
        backend, name = self._client.resolve(model)
        require(backend, Capability.MODELS, "retrieving models")
        return await backend.retrieve_model(name, options)

    async def delete(self, model: str, **params: Unpack[RequestOptionsParams]) -> ModelDeleted:
        """Delete a model you own (a fine-tuned model)."""
        _, options = self._split(params)
        backend, name = self._client.resolve(model)
        require(backend, Capability.MODELS_WRITE, "deleting models")
        return await backend.delete_model(name, options)

    async def ps(self, **params: Unpack[ModelListParams]) -> list[RunningModel]:
        """What is loaded now, with its memory and its running and waiting requests (as ``ollama ps``); the
        default provider's, or ``provider``'s. An llmaas extra: the in-process engine and llmaas servers."""
        fields, options = self._split(params)
        backend = self._client.provider(fields.get("provider"))
        require(backend, Capability.MODELS, "listing loaded models")
        return await backend.running_models(options)

    @property
    def with_raw_response(self) -> AsyncModelsWithRawResponse:
        return AsyncModelsWithRawResponse(self)


class AsyncModelsWithRawResponse:
    def __init__(self, resource: AsyncModels) -> None:
        self._resource = resource

    async def list(self, **params: Unpack[ModelListParams]) -> APIResponse[AsyncPage[Model]]:
        resource = self._resource

        async def first_page() -> AsyncPage[Model]:
            return await resource.list(**params)

        return await raw(first_page)()

    async def retrieve(self, model: str, **params: Unpack[RequestOptionsParams]) -> APIResponse[Model]:
        return await raw(self._resource.retrieve)(model, **params)

    async def delete(self, model: str, **params: Unpack[RequestOptionsParams]) -> APIResponse[ModelDeleted]:
        return await raw(self._resource.delete)(model, **params)


class Models(SyncResource[AsyncModels]):
    def list(self, **params: Unpack[ModelListParams]) -> SyncPage[Model]:
        return self._call(self._async.list(**params))

    def retrieve(self, model: str, **params: Unpack[RequestOptionsParams]) -> Model:
        return self._call(self._async.retrieve(model, **params))

    def delete(self, model: str, **params: Unpack[RequestOptionsParams]) -> ModelDeleted:
        return self._call(self._async.delete(model, **params))

    def ps(self, **params: Unpack[ModelListParams]) -> list[RunningModel]:
        """What is loaded now (see ``AsyncModels.ps``)."""
        return self._call(self._async.ps(**params))

    @property
    def with_raw_response(self) -> ModelsWithRawResponse:
        return ModelsWithRawResponse(self)


class ModelsWithRawResponse:
    def __init__(self, resource: Models) -> None:
        self._resource = resource

    def list(self, **params: Unpack[ModelListParams]) -> APIResponse[SyncPage[Model]]:
        return sync_raw(self._resource.list)(**params)

    def retrieve(self, model: str, **params: Unpack[RequestOptionsParams]) -> APIResponse[Model]:
        return sync_raw(self._resource.retrieve)(model, **params)

    def delete(self, model: str, **params: Unpack[RequestOptionsParams]) -> APIResponse[ModelDeleted]:
        return sync_raw(self._resource.delete)(model, **params)
