"""Helpers the resource routes share: the caller, quota reservations, metering, and SSE encoding."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import Request
from fastapi.responses import Response, StreamingResponse

from llmaas._options import RequestOptions
from llmaas._provider import PartialUsage
from llmaas._usage import consumed, tracking
from llmaas.types.common import CompletionUsage

from ..budget import completion_bound, prompt_bound
from ..errors import error_response, from_exception
from ..limits import Reservation
from ..state import Caller, ServerState, caller_of, state_of

OPTIONS = RequestOptions()
BYTES_PER_TOKEN = 4  # for estimating the prompt of an upstream that reports no usage


def caller(request: Request) -> tuple[ServerState, Caller]:
    return state_of(request), caller_of(request)


async def reserve(state: ServerState, who: Caller, body: Any) -> Reservation | None:
    """Hold the most this request can use of the caller's token quota (429 if that would overrun it)."""
    completion, n = completion_bound(body)
    return await state.reserve(who, prompt_bound(body), completion, n)


def status_of(exc: BaseException) -> int:
    """The status ``exc`` is answered with, for metering (the handler that answers it logs a bug once)."""
    return error_response(exc).status_code if not isinstance(exc, asyncio.CancelledError) else 499


def estimated_usage(body: Any, chunks_with_text: int) -> CompletionUsage:
    """What a stream consumed when nobody reported it: its prompt from its size, one token per chunk."""
    prompt = math.ceil(prompt_bound(body) / BYTES_PER_TOKEN)
    return CompletionUsage(prompt_tokens=prompt, completion_tokens=chunks_with_text,
                           total_tokens=prompt + chunks_with_text)


def sse(state: ServerState, who: Caller, endpoint: str, body_in: Any, stream: AsyncIterator[Any], started: float,
        include_usage: bool, reservation: Reservation | None) -> StreamingResponse:
    """Stream chunks as server-sent events ending in ``data: [DONE]``. Usage is always metered (reported,
    counted by the engine, or estimated); the usage chunk reaches the client only if it asked for it. A
    client that disconnects cancels the generation."""
    model = body_in.model

    async def body() -> AsyncIterator[bytes]:
        usage, status, first, texts, metered = None, 200, True, 0, False

        async def meter(status: int) -> None:
            nonlocal usage, metered
            metered = True
            with contextlib.suppress(Exception):
                await stream.aclose()  # type: ignore[attr-defined]
            if usage is None and isinstance(stream, PartialUsage):
                usage = CompletionUsage.model_validate(stream.partial_usage)  # what it consumed before it left
            if usage is None and (texts or status in (200, 499)):
                usage = estimated_usage(body_in, texts)  # an upstream that sent no usage chunk
            await asyncio.shield(state.meter(who, endpoint, model, usage, started, status, reservation))

        try:
            async for chunk in stream:
                if chunk.usage is not None:
                    usage = chunk.usage
                    if not include_usage:
                        continue
                if chunk.choices and any(_has_text(c) for c in chunk.choices):
                    texts += 1
                    if first:
                        state.metrics.ttft.labels(endpoint).observe(time.perf_counter() - started)
                        first = False
                yield b"data: " + chunk.model_dump_json(exclude_none=False).encode() + b"\n\n"
            await meter(200)  # metered before the client reads the end of the stream
            yield b"data: [DONE]\n\n"
        except Exception as exc:  # noqa: BLE001 - reported in the stream (and logged if it is a bug)
            error = from_exception(exc)
            status = error.status_code
            yield b"data: " + error.body + b"\n\n"
        finally:
            if not metered:
                await meter(499 if status == 200 else status)  # 499: the client went away before the end

    return StreamingResponse(body(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _has_text(choice: Any) -> bool:
    delta = getattr(choice, "delta", None)
    return bool(getattr(delta, "content", None)) if delta is not None else bool(getattr(choice, "text", None))


class ClientGone(Exception):
    """The client disconnected before its answer was ready."""


async def until_disconnect(request: Request, awaitable: Any, poll: float = 0.25) -> Any:
    """Await ``awaitable``, cancelling it (and so freeing its engine slot) if the client goes away."""
    task = asyncio.ensure_future(awaitable)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=poll)
            if done:
                return task.result()
            if await request.is_disconnected():
                raise ClientGone
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


async def metered(state: ServerState, who: Caller, endpoint: str, model: str | None,
                  call: Callable[[], Any], request: Request | None = None,
                  reservation: Reservation | None = None) -> Any:
    """Run a call, metering what it used: its reported usage, or what the engine spent on it before the
    client went away."""
    started = time.perf_counter()
    with tracking() as engine_requests:
        try:
            result = await (until_disconnect(request, call()) if request is not None else call())
        except ClientGone:
            await state.meter(who, endpoint, model, consumed(engine_requests), started, 499, reservation)
            return Response(status_code=499)
        except BaseException as exc:
            await asyncio.shield(state.meter(who, endpoint, model, consumed(engine_requests), started,
                                             status_of(exc), reservation))
            raise
    await state.meter(who, endpoint, model, getattr(result, "usage", None), started, 200, reservation)
    return result


def dump(obj: Any) -> Any:
    return json.loads(obj.model_dump_json()) if hasattr(obj, "model_dump_json") else obj
