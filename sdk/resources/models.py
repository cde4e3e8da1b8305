"""``client.models``."""

from __future__ import annotations

from typing_extensions import Unpack

from .._errors import BadRequestError
from .._pagination import AsyncPage, AsyncPaginator, PageResult, SyncPage
from .._provider import Capability, require
from .._response import APIResponse, RawView, raw, sync_raw
from .._sync import SyncResource
from ..types.create_params import ModelListParams, RequestOptionsParams
from ..types.models import Model, ModelDeleted, ModelUnloaded, RunningModel
from ._base import AsyncAPIResource, paginate


class AsyncModels(AsyncAPIResource):
    """``client.models``: the models a provider serves, and (llmaas extras) registering, aliasing, loading and
    unloading them."""
    def list(self, **params: Unpack[ModelListParams]) -> AsyncPaginator[Model]:
        """The models of the default provider, or of ``provider``: a page that iterates on through every model
        (on the async client, ``await`` it for the page or ``async for`` over it)."""
        fields, options = self._split(params)
        backend = self._client.provider(fields.get("provider"))
        require(backend, Capability.MODELS, "listing models")

        async def fetch(after: str | None) -> PageResult[Model]:
            return await backend.list_models(options)

        return paginate(fetch)

    async def retrieve(self, model: str, **params: Unpack[RequestOptionsParams]) -> Model:
        """The model named ``model`` (``NotFoundError`` when the provider has none by that name)."""
        _, options = self._split(params)
        backend, name = self._client.resolve(model)
        require(backend, Capability.MODELS, "retrieving models")
        return await backend.retrieve_model(name, options)

    async def delete(self, model: str, *, force: bool = False, **params: Unpack[RequestOptionsParams]) -> ModelDeleted:
        """Delete a fine-tuned model you own, a registered model or an alias (built-in models stay). A
        registered model that fine-tuned models are based on is deleted only with ``force=True``, which
        deletes them too; a model serving requests now is not deleted (ConflictError)."""
        _, options = self._split(params)
        backend, name = self._client.resolve(model)
        require(backend, Capability.MODELS_WRITE, "deleting models")
        if force:
            return await backend.delete_model(name, options, force=True)
        return await backend.delete_model(name, options)

    async def register(self, name: str, *, path: str, **params: Unpack[RequestOptionsParams]) -> Model:
        """Register the model at ``path`` (a Hugging Face folder or a GGUF file, on the disk of the machine
        that serves it) as ``name``; a GGUF is converted once, now. ``provider:name`` registers with that
        provider. The answer's ``engine`` and ``note`` say which path serves it. An llmaas extra."""
        _, options = self._split(params)
        backend, bare = self._client.resolve(name)
        require(backend, Capability.MODELS_MANAGE, "registering models")
        return await backend.register_model(bare, str(path), options)

    async def alias(self, alias: str, *, model: str, **params: Unpack[RequestOptionsParams]) -> Model:
        """Make ``alias`` another name for ``model``. An llmaas extra."""
        _, options = self._split(params)
        backend, bare = self._client.resolve(model)
        require(backend, Capability.MODELS_MANAGE, "model aliases")
        other, alias_name = self._client.resolve(alias)
        if other is not backend:
            raise BadRequestError(f"the alias {alias!r} and the model {model!r} name different providers; an alias "
                                  "lives with its model's provider", status_code=400, param="name",
                                  code="invalid_model_name")
        return await backend.alias_model(alias_name, bare, options)

    async def load(self, model: str, **params: Unpack[RequestOptionsParams]) -> RunningModel:
        """Load ``model`` now rather than on its first request (stopping idle models if the memory budget
        requires); what ``ps`` then shows for it. An llmaas extra."""
        _, options = self._split(params)
        backend, name = self._client.resolve(model)
        require(backend, Capability.MODELS_MANAGE, "loading models")
        return await backend.load_model(name, options)

    async def unload(self, model: str, **params: Unpack[RequestOptionsParams]) -> ModelUnloaded:
        """Free the memory ``model`` holds; it loads again on its next request. An llmaas extra."""
        _, options = self._split(params)
        backend, name = self._client.resolve(model)
        require(backend, Capability.MODELS_MANAGE, "unloading models")
        return await backend.unload_model(name, options)

    async def ps(self, **params: Unpack[ModelListParams]) -> list[RunningModel]:
        """What is loaded now, with its memory and its running and waiting requests (as ``ollama ps``); the
        default provider's, or ``provider``'s. An llmaas extra: the in-process engine and llmaas servers."""
        fields, options = self._split(params)
        backend = self._client.provider(fields.get("provider"))
        require(backend, Capability.MODELS, "listing loaded models")
        return await backend.running_models(options)

    @property
    def with_raw_response(self) -> AsyncModelsWithRawResponse:
        """The same calls, answered with the HTTP response (status, headers, request id) and ``parse()``."""
        return AsyncModelsWithRawResponse(self)


class AsyncModelsWithRawResponse(RawView[AsyncModels]):
    async def list(self, **params: Unpack[ModelListParams]) -> APIResponse[AsyncPage[Model]]:
        resource = self._resource

        async def first_page() -> AsyncPage[Model]:
            return await resource.list(**params)

        return await raw(first_page)()

    async def retrieve(self, model: str, **params: Unpack[RequestOptionsParams]) -> APIResponse[Model]:
        return await raw(self._resource.retrieve)(model, **params)

    async def delete(self, model: str, *, force: bool = False,
                     **params: Unpack[RequestOptionsParams]) -> APIResponse[ModelDeleted]:
        return await raw(self._resource.delete)(model, force=force, **params)


class Models(SyncResource[AsyncModels]):
    def list(self, **params: Unpack[ModelListParams]) -> SyncPage[Model]:
        return self._call(self._async.list(**params))

    def retrieve(self, model: str, **params: Unpack[RequestOptionsParams]) -> Model:
        return self._call(self._async.retrieve(model, **params))

    def delete(self, model: str, *, force: bool = False, **params: Unpack[RequestOptionsParams]) -> ModelDeleted:
        return self._call(self._async.delete(model, force=force, **params))

    def register(self, name: str, *, path: str, **params: Unpack[RequestOptionsParams]) -> Model:
        """Register a folder or GGUF file under ``name`` (see ``AsyncModels.register``)."""
        return self._call(self._async.register(name, path=path, **params))

    def alias(self, alias: str, *, model: str, **params: Unpack[RequestOptionsParams]) -> Model:
        return self._call(self._async.alias(alias, model=model, **params))

    def load(self, model: str, **params: Unpack[RequestOptionsParams]) -> RunningModel:
        return self._call(self._async.load(model, **params))

    def unload(self, model: str, **params: Unpack[RequestOptionsParams]) -> ModelUnloaded:
        return self._call(self._async.unload(model, **params))

    def ps(self, **params: Unpack[ModelListParams]) -> list[RunningModel]:
        """What is loaded now (see ``AsyncModels.ps``)."""
        return self._call(self._async.ps(**params))

    @property
    def with_raw_response(self) -> ModelsWithRawResponse:
        return ModelsWithRawResponse(self)


class ModelsWithRawResponse(RawView[Models]):
    def list(self, **params: Unpack[ModelListParams]) -> APIResponse[SyncPage[Model]]:
        return sync_raw(self._resource.list)(**params)

    def retrieve(self, model: str, **params: Unpack[RequestOptionsParams]) -> APIResponse[Model]:
        return sync_raw(self._resource.retrieve)(model, **params)

    def delete(self, model: str, *, force: bool = False,
               **params: Unpack[RequestOptionsParams]) -> APIResponse[ModelDeleted]:
        return sync_raw(self._resource.delete)(model, force=force, **params)
