"""POST /v1/chat/completions, /v1/completions, /v1/embeddings, /v1/moderations."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from llmaas._options import RequestOptions
from llmaas._provider import Capability, require
from llmaas.store.usage_series import record_flags
from llmaas.types import (
    ChatCompletion,
    ChatCompletionRequest,
    Completion,
    CompletionRequest,
    CreateEmbeddingResponse,
    EmbeddingRequest,
    ModerationRequest,
    ModerationResponse,
)
from llmaas.types.common import StreamOptions

from ..bounds import bound_tokens, options_for
from ..guard import HEADER
from ..ownership import require_visible
from ..state import state_of
from ._common import OPTIONS, caller, dump, metered, reserve, sse, status_of

router: APIRouter = APIRouter(prefix="/v1")


def _with_usage(req: Any) -> tuple[Any, bool]:
    """The request as sent to the provider (always reporting usage, for metering), and whether the client
    asked for the usage chunk itself."""
    wanted = bool(req.stream_options and req.stream_options.include_usage)
    return req.model_copy(update={"stream_options": StreamOptions(include_usage=True)}), wanted


async def _generate(request: Request, body: Any, endpoint: str, capability: Capability, feature: str,
                    call_with: Callable[[Any, RequestOptions], Awaitable[Any]]) -> Any:
    """A chat or text completion: answered whole, or streamed as SSE with usage metered either way."""
    state, who = caller(request)
    require(state.provider, capability, feature)
    await require_visible(state, who, body.model)  # another key's fine-tuned model is not here
    body = bound_tokens(state.config.bounds, who, body)  # bounded turns: a default and a maximum
    options = options_for(state.config.bounds, who, request.headers)

    def call(req: Any) -> Awaitable[Any]:
        return call_with(req, options)

    body, note = await state.guard.screen_input(body, who)  # redacted, screened: before any quota or model
    reservation = await reserve(state, who, body)
    if not body.stream:
        result = await metered(state, who, endpoint, body.model, lambda: call(body), request, reservation)
        if isinstance(result, Response):
            return result
        notes = [n for n in (note, await state.guard.screen_answer(result, who)) if n]
        return JSONResponse(dump(result), headers={HEADER: "; ".join(notes)}) if notes else result
    started = time.perf_counter()
    req, wanted = _with_usage(body)
    stream = await metered_open(state, who, endpoint, body.model, lambda: call(req), reservation)
    response = sse(state, who, endpoint, body, state.guard.screen_stream(stream, who), started, wanted, reservation)
    if note:
        response.headers[HEADER] = note
    return response


@router.post("/chat/completions", response_model=ChatCompletion)
async def chat_completions(body: ChatCompletionRequest, request: Request) -> Any:
    provider = state_of(request).provider
    return await _generate(request, body, "chat.completions", Capability.CHAT, "chat completions",
                           lambda req, options: provider.chat(req, options))


@router.post("/completions", response_model=Completion)
async def completions(body: CompletionRequest, request: Request) -> Any:
    provider = state_of(request).provider
    return await _generate(request, body, "completions", Capability.COMPLETIONS, "completions",
                           lambda req, options: provider.complete(req, options))


@router.post("/embeddings", response_model=CreateEmbeddingResponse)
async def embeddings(body: EmbeddingRequest, request: Request) -> Any:
    state, who = caller(request)
    require(state.provider, Capability.EMBEDDINGS, "embeddings")
    await require_visible(state, who, body.model)
    reservation = await reserve(state, who, body)
    return await metered(state, who, "embeddings", body.model, lambda: state.provider.embed(body, OPTIONS), request,
                         reservation)


@router.post("/moderations", response_model=ModerationResponse)
async def moderations(body: ModerationRequest, request: Request) -> Any:
    state, who = caller(request)
    require(state.provider, Capability.MODERATIONS, "moderations")  # any model but the moderation one: one 404
    body = state.guard.with_sensitivity(body, who)
    result = await metered(state, who, "moderations", body.model, lambda: state.provider.moderate(body, OPTIONS),
                           request)
    hits = [sorted(c for c, hit in r.categories.items() if hit) for r in getattr(result, "results", [])]
    for found in filter(None, hits):  # what the endpoint flagged, for the dashboard
        await state.run(record_flags, state.store, who.key_id, "moderations", found)
    return result


async def metered_open(state: Any, who: Any, endpoint: str, model: str, call: Any, reservation: Any) -> Any:
    """Open a stream; errors before the first chunk (bad input, full queue) are metered and answered as
    ordinary error responses with their status, not inside a 200 stream."""
    started = time.perf_counter()
    try:
        return await call()
    except BaseException as exc:
        await asyncio.shield(state.meter(who, endpoint, model, None, started, status_of(exc), reservation))
        raise
