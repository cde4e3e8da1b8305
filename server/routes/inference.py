"""POST /v1/chat/completions, /v1/completions, /v1/embeddings, /v1/moderations."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from llmaas._provider import Capability, require
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

from ._common import OPTIONS, caller, metered, sse

router = APIRouter(prefix="/v1")


def _with_usage(req: Any) -> tuple[Any, bool]:
    """The request as sent to the provider (always reporting usage, for metering), and whether the client
    asked for the usage chunk itself."""
    wanted = bool(req.stream_options and req.stream_options.include_usage)
    return req.model_copy(update={"stream_options": StreamOptions(include_usage=True)}), wanted


@router.post("/chat/completions", response_model=ChatCompletion, response_model_exclude_none=False)
async def chat_completions(body: ChatCompletionRequest, request: Request) -> Any:
    state, who = caller(request)
    require(state.provider, Capability.CHAT, "chat completions")
    if body.stream:
        started = time.perf_counter()
        req, wanted = _with_usage(body)
        stream = await metered_open(state, who, "chat.completions", body.model, lambda: state.provider.chat(req, OPTIONS))
        return sse(state, who, "chat.completions", body.model, stream, started, wanted)
    return await metered(state, who, "chat.completions", body.model, lambda: state.provider.chat(body, OPTIONS), request)


@router.post("/completions", response_model=Completion)
async def completions(body: CompletionRequest, request: Request) -> Any:
    state, who = caller(request)
    require(state.provider, Capability.COMPLETIONS, "completions")
    if body.stream:
        started = time.perf_counter()
        req, wanted = _with_usage(body)
        stream = await metered_open(state, who, "completions", body.model, lambda: state.provider.complete(req, OPTIONS))
        return sse(state, who, "completions", body.model, stream, started, wanted)
    return await metered(state, who, "completions", body.model, lambda: state.provider.complete(body, OPTIONS), request)


@router.post("/embeddings", response_model=CreateEmbeddingResponse)
async def embeddings(body: EmbeddingRequest, request: Request) -> Any:
    state, who = caller(request)
    require(state.provider, Capability.EMBEDDINGS, "embeddings")
    return await metered(state, who, "embeddings", body.model, lambda: state.provider.embed(body, OPTIONS), request)


@router.post("/moderations", response_model=ModerationResponse)
async def moderations(body: ModerationRequest, request: Request) -> Any:
    state, who = caller(request)
    require(state.provider, Capability.MODERATIONS, "moderations")
    return await metered(state, who, "moderations", body.model, lambda: state.provider.moderate(body, OPTIONS), request)


async def metered_open(state: Any, who: Any, endpoint: str, model: str, call: Any) -> Any:
    """Open a stream; errors before the first chunk (bad input, full queue) are metered and answered as
    ordinary error responses with their status, not inside a 200 stream."""
    started = time.perf_counter()
    try:
        return await call()
    except Exception as exc:
        state.meter(who, endpoint, model, None, started, getattr(exc, "status_code", 500))
        raise
