"""Engine events to chat completions: the whole answer, or a stream of chunks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from llmaas.types import ChatCompletion, ChatCompletionChunk, ChatCompletionRequest

from .engine import Done, RequestStream, TokenEvent
from .logprobs import chat_logprob, usage


async def collect(events: RequestStream, req: ChatCompletionRequest, rid: str, created: int, n: int,
                  tok: Any) -> ChatCompletion:
    texts, finishes = [""] * n, ["stop"] * n
    logprobs: list[list[dict[str, Any]]] = [[] for _ in range(n)]
    used = None
    try:
        async for ev in events:
            if isinstance(ev, TokenEvent):
                texts[ev.index] += ev.text
                if ev.choice is not None and req.logprobs:
                    logprobs[ev.index].append(chat_logprob(tok, ev.choice))
                if ev.finish_reason:
                    finishes[ev.index] = ev.finish_reason
            elif isinstance(ev, Done):
                used = usage(ev)
    finally:
        await events.aclose()
    return ChatCompletion(id=rid, created=created, model=req.model, usage=used, choices=[
        {"index": i, "message": {"role": "assistant", "content": texts[i], "refusal": None},
         "finish_reason": finishes[i],
         "logprobs": {"content": logprobs[i], "refusal": None} if req.logprobs else None}
        for i in range(n)])


async def stream(events: RequestStream, req: ChatCompletionRequest, rid: str, created: int, n: int,
                 tok: Any) -> AsyncIterator[ChatCompletionChunk]:
    include_usage = bool(req.stream_options and req.stream_options.include_usage)

    def chunk(choices: list[dict[str, Any]], used: Any = None) -> ChatCompletionChunk:
        return ChatCompletionChunk(id=rid, created=created, model=req.model, choices=choices, usage=used)

    try:
        for i in range(n):
            yield chunk([{"index": i, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])
        async for ev in events:
            if isinstance(ev, TokenEvent):
                if not ev.text and ev.finish_reason is None:
                    continue
                lp = None
                if ev.choice is not None and req.logprobs:
                    lp = {"content": [chat_logprob(tok, ev.choice)], "refusal": None}
                delta = {"content": ev.text} if ev.text else {}
                yield chunk([{"index": ev.index, "delta": delta, "finish_reason": ev.finish_reason, "logprobs": lp}])
            elif isinstance(ev, Done) and include_usage:
                yield chunk([], used=usage(ev))
    finally:
        await events.aclose()
