"""``client.completions`` (legacy text completions)."""

from __future__ import annotations

from typing import Any

from .._provider import Capability, require
from .._streaming import AsyncStream
from .._sync import SyncResource, to_sync
from ..types.completions import Completion, CompletionRequest
from ._base import AsyncAPIResource, build_request, split_options


class AsyncCompletions(AsyncAPIResource):
    async def create(self, *, model: str, prompt: Any, stream: bool = False,
                     **kwargs: Any) -> Completion | AsyncStream[Completion]:
        """Complete ``prompt``; with ``stream=True``, an ``AsyncStream`` of partial completions."""
        params, options = split_options(kwargs)
        provider, name = self._client.resolve(model)
        require(provider, Capability.COMPLETIONS, "completions")
        req = build_request(CompletionRequest, {**params, "model": name, "prompt": prompt, "stream": stream or None})
        result = await provider.complete(req, options)
        return AsyncStream(result) if stream else result  # type: ignore[return-value,arg-type]


class Completions(SyncResource[AsyncCompletions]):
    create = to_sync(AsyncCompletions.create)
