"""``client.moderations``."""

from __future__ import annotations

from typing import Any

from .._provider import Capability, require
from .._sync import SyncResource, to_sync
from ..types.moderations import ModerationRequest, ModerationResponse
from ._base import AsyncAPIResource, build_request, split_options


class AsyncModerations(AsyncAPIResource):
    async def create(self, *, input: Any, model: str | None = None, **kwargs: Any) -> ModerationResponse:
        """Classify ``input`` (a string or a list of them) against the moderation categories."""
        params, options = split_options(kwargs)
        if model is not None:
            provider, name = self._client.resolve(model)
        else:
            provider, name = self._client.provider(), None
        require(provider, Capability.MODERATIONS, "moderations")
        req = build_request(ModerationRequest, {**params, "input": input, "model": name})
        return await provider.moderate(req, options)


class Moderations(SyncResource[AsyncModerations]):
    create = to_sync(AsyncModerations.create)
