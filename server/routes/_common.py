"""Helpers the resource routes share: authentication, metering, and SSE encoding."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import Request
from fastapi.responses import Response, StreamingResponse

from llmaas._errors import APIStatusError
from llmaas._options import RequestOptions
from llmaas.types.common import CompletionUsage

from ..errors import from_exception
from ..state import Caller, ServerState, state_of

OPTIONS = RequestOptions()


def caller(request: Request) -> tuple[ServerState, Caller]:
    state = state_of(request)
    return state, state.authenticate(request)


def _error_event(exc: BaseException) -> bytes:
    return b"data: " + from_exception(exc).body + b"\n\n"


def sse(state: ServerState, who: Caller, endpoint: str, model: str, stream: AsyncIterator[Any], started: float,
        include_usage: bool) -> StreamingResponse:
    """Stream chunks as server-sent events ending in ``data: [DONE]``. Usage is always metered; the usage
    chunk reaches the client only if it asked for it. A client that disconnects cancels the generation."""

    async def body() -> AsyncIterator[bytes]:
        usage, status, first = None, 200, True
        try:
            async for chunk in stream:
                if chunk.usage is not None:
                    usage = chunk.usage
                    if not include_usage:
                        continue
                if first and chunk.choices and any(_has_text(c) for c in chunk.choices):
                    state.metrics.ttft.labels(endpoint).observe(time.perf_counter() - started)
                    first = False
                yield b"data: " + chunk.model_dump_json(exclude_none=False).encode() + b"\n\n"
            yield b"data: [DONE]\n\n"
        except APIStatusError as exc:
            status = exc.status_code
            yield _error_event(exc)
        except Exception as exc:  # noqa: BLE001 - reported in the stream, then logged by from_exception
            status = 500
            yield _error_event(exc)
        finally:
            await stream.aclose()  # type: ignore[attr-defined]
            if usage is None and status == 200:
                status = 499  # the client went away before the end
            if usage is None and hasattr(stream, "partial_usage"):
                usage = CompletionUsage(**stream.partial_usage)  # what it consumed before it left
            state.meter(who, endpoint, model, usage, started, status)

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
                  call: Callable[[], Any], request: Request | None = None) -> Any:
    started = time.perf_counter()
    try:
        result = await (until_disconnect(request, call()) if request is not None else call())
    except ClientGone:
        state.meter(who, endpoint, model, None, started, 499)
        return Response(status_code=499)
    except APIStatusError as exc:
        state.meter(who, endpoint, model, None, started, exc.status_code)
        raise
    except Exception:
        state.meter(who, endpoint, model, None, started, 500)
        raise
    state.meter(who, endpoint, model, getattr(result, "usage", None), started, 200)
    return result


def dump(obj: Any) -> Any:
    return json.loads(obj.model_dump_json()) if hasattr(obj, "model_dump_json") else obj
