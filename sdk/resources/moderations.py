"""``client.moderations``."""

from __future__ import annotations

from typing_extensions import Unpack

from .._provider import Capability, require
from .._response import APIResponse, RawView, raw, sync_raw
from .._sync import SyncResource
from ..types.create_params import ModerationCreateParams
from ..types.moderations import ModerationRequest, ModerationResponse
from ._base import AsyncAPIResource, build_request


class AsyncModerations(AsyncAPIResource):
    """``client.moderations``: scores and flags for harmful text in OpenAI's moderation categories, from the
    shipped moderation classifier or a remote API."""
    async def create(self, **params: Unpack[ModerationCreateParams]) -> ModerationResponse:
        """Classify ``input`` (a string or a list of them) against the moderation categories."""
        fields, options = self._split(params)
        model = fields.pop("model", None)
        if model is not None:
            provider, name = self._client.resolve(model)
        else:
            provider, name = self._client.provider(), None
        require(provider, Capability.MODERATIONS, "moderations")
        req = build_request(ModerationRequest, {**fields, "model": name})
        return await provider.moderate(req, options)

    @property
    def with_raw_response(self) -> AsyncModerationsWithRawResponse:
        """The same calls, answered with the HTTP response (status, headers, request id) and ``parse()``."""
        return AsyncModerationsWithRawResponse(self)


class AsyncModerationsWithRawResponse(RawView[AsyncModerations]):
    async def create(self, **params: Unpack[ModerationCreateParams]) -> APIResponse[ModerationResponse]:
        return await raw(self._resource.create)(**params)


class Moderations(SyncResource[AsyncModerations]):
    def create(self, **params: Unpack[ModerationCreateParams]) -> ModerationResponse:
        return self._call(self._async.create(**params))

    @property
    def with_raw_response(self) -> ModerationsWithRawResponse:
        return ModerationsWithRawResponse(self)


class ModerationsWithRawResponse(RawView[Moderations]):
    def create(self, **params: Unpack[ModerationCreateParams]) -> APIResponse[ModerationResponse]:
        return sync_raw(self._resource.create)(**params)
