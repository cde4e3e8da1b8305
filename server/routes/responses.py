"""/v1/responses: the Responses API over the served chat model. Each turn is one chat request, screened by
the guardrails, reserved against the key's quota and metered (endpoint ``responses``) like any other;
stored responses and their conversations belong to the key that made them (an admin key sees all)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from llmaas._provider import Capability, PartialUsage, require
from llmaas.lib.responses_service import ResponsesService
from llmaas.types import ChatCompletionChunk, ChatCompletionRequest, ResponseCreateRequest
from llmaas.types import Response as ResponseObject
from llmaas.types.common import CompletionUsage

from ..bounds import bound_tokens, options_for
from ..errors import from_exception
from ..guard import HEADER
from ..ownership import require_visible
from ..state import Caller, ServerState
from ._common import ClientGone, caller, dump, metered, reserve, status_of
from .inference import metered_open

router: APIRouter = APIRouter(prefix="/v1")
ENDPOINT = "responses"


def _service(request: Request) -> tuple[ServerState, Caller, ResponsesService]:
    state, who = caller(request)
    return state, who, ResponsesService(state.store, who.key_id, who.sees)


@router.post("/responses", response_model=ResponseObject)
async def create(body: ResponseCreateRequest, request: Request) -> Any:
    state, who, service = _service(request)
    require(state.provider, Capability.CHAT, "the Responses API (it answers with chat completions)")
    await require_visible(state, who, body.model)
    notes: list[str] = []
    options = options_for(state.config.bounds, who, request.headers)

    async def chat(req: ChatCompletionRequest) -> Any:
        req = bound_tokens(state.config.bounds, who, req, "max_output_tokens")
        req, note = await state.guard.screen_input(req, who)
        if note:
            notes.append(note)
        reservation = await reserve(state, who, req)
        if not req.stream:
            result = await metered(state, who, ENDPOINT, req.model, lambda: state.provider.chat(req, options),
                                   request, reservation)
            if isinstance(result, Response):
                raise ClientGone
            answer_note = await state.guard.screen_answer(result, who)
            if answer_note:
                notes.append(answer_note)
            return result
        stream = await metered_open(state, who, ENDPOINT, req.model, lambda: state.provider.chat(req, options),
                                    reservation)
        return _metered_chunks(state, who, req, state.guard.screen_stream(stream, who), reservation)

    try:
        result = await service.create(body, chat)
    except ClientGone:
        return Response(status_code=499)
    headers = {HEADER: "; ".join(notes)} if notes else None
    if isinstance(result, ResponseObject):
        return JSONResponse(dump(result), headers=headers)
    return StreamingResponse(_sse(result), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no", **(headers or {})})


async def _metered_chunks(state: ServerState, who: Caller, req: ChatCompletionRequest,
                          stream: AsyncIterator[ChatCompletionChunk], reservation: Any) -> AsyncIterator[ChatCompletionChunk]:
    """The chunks of one streamed turn, metered once when it ends, fails or is left (what the engine
    consumed, for a client that went away)."""
    started, usage, status = time.perf_counter(), None, 499
    try:
        async for chunk in stream:
            if chunk.usage is not None:
                usage = chunk.usage
            yield chunk
        status = 200
    except Exception as exc:
        status = status_of(exc)
        raise
    finally:
        with contextlib.suppress(Exception):
            await stream.aclose()  # type: ignore[attr-defined]
        if usage is None and isinstance(stream, PartialUsage):
            usage = CompletionUsage.model_validate(stream.partial_usage)
        await asyncio.shield(state.meter(who, ENDPOINT, req.model, usage, started, status, reservation))


async def _sse(events: AsyncIterator[Any]) -> AsyncIterator[bytes]:
    """Events as OpenAI sends them: ``event: <type>`` and the event as ``data``, no ``[DONE]``; an error
    mid-stream is an ``error`` event in OpenAI's shape."""
    seq = 0
    try:
        async for event in events:
            seq = event.sequence_number + 1
            yield f"event: {event.type}\ndata: ".encode() + event.model_dump_json().encode() + b"\n\n"
    except Exception as exc:  # noqa: BLE001 - reported in the stream (and logged if it is a bug)
        import json

        error = json.loads(bytes(from_exception(exc).body))["error"]
        payload = {"type": "error", "sequence_number": seq, "code": error.get("code"), "message": error["message"],
                   "param": error.get("param")}
        yield b"event: error\ndata: " + json.dumps(payload).encode() + b"\n\n"
    finally:
        with contextlib.suppress(Exception):
            await events.aclose()  # type: ignore[attr-defined]


@router.get("/responses/{response_id}", response_model=ResponseObject)
async def retrieve(response_id: str, request: Request) -> Any:
    return await _service(request)[2].retrieve(response_id)


@router.delete("/responses/{response_id}")
async def delete(response_id: str, request: Request) -> Any:
    return await _service(request)[2].delete(response_id)


@router.post("/responses/{response_id}/cancel")
async def cancel(response_id: str, request: Request) -> Any:
    return await _service(request)[2].cancel(response_id)


@router.get("/responses/{response_id}/input_items")
async def input_items(response_id: str, request: Request, limit: int = Query(20, ge=1, le=100),
                      order: str = Query("desc", pattern="^(asc|desc)$"), after: str | None = None) -> Any:
    return await _service(request)[2].input_items(response_id, {"limit": limit, "order": order, "after": after})
