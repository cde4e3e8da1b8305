"""Engine events to chat completions: the whole answer, or a stream of chunks. With tools, an answer the
constrained decoder shaped as calls (a JSON list, or one object) becomes ``tool_calls``."""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from typing import Any

from llmaas._json import is_array
from llmaas.providers.huggingface.api.logprobs import chat_logprob, usage
from llmaas.providers.huggingface.engine.streams import RequestStream, TokenEvent
from llmaas.providers.huggingface.model.hf import Tokenizer
from llmaas.types import ChatCompletion, ChatCompletionChunk, ChatCompletionRequest


def tool_calls_in(text: str) -> list[dict[str, Any]] | None:
    """The calls in an answer written as calls, in OpenAI's shape; None for a plain text answer (or calls
    cut short by max_tokens, which stay text with finish_reason "length")."""
    stripped = text.strip()
    if not stripped.startswith(("{", "[")):
        return None
    try:
        found = json.loads(stripped)
    except ValueError:
        return None
    calls: list[Any] = found if is_array(found) else [found]  # the decoder's JSON: objects with name, arguments
    return [{"id": f"call_{secrets.token_hex(12)}", "type": "function",
             "function": {"name": c["name"], "arguments": json.dumps(c["arguments"], ensure_ascii=False)}}
            for c in calls]


def _message(text: str, finish: str, tools: bool) -> tuple[dict[str, Any], str]:
    calls = tool_calls_in(text) if tools and finish == "stop" else None
    if calls:
        return {"role": "assistant", "content": None, "refusal": None, "tool_calls": calls}, "tool_calls"
    return {"role": "assistant", "content": text, "refusal": None}, finish


async def collect(events: RequestStream, req: ChatCompletionRequest, rid: str, created: int, n: int,
                  tok: Tokenizer, tools: bool = False) -> ChatCompletion:
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
            else:
                used = usage(ev)
    finally:
        await events.aclose()
    choices: list[dict[str, Any]] = []
    for i in range(n):
        message, finish = _message(texts[i], finishes[i], tools)
        choices.append({"index": i, "message": message, "finish_reason": finish,
                        "logprobs": {"content": logprobs[i], "refusal": None} if req.logprobs else None})
    return ChatCompletion.model_validate({"id": rid, "created": created, "model": req.model, "usage": used,
                                          "choices": choices})


async def stream(events: RequestStream, req: ChatCompletionRequest, rid: str, created: int, n: int,
                 tok: Tokenizer, tools: bool = False) -> AsyncIterator[ChatCompletionChunk]:
    """Text streams as it is made. With tools, an answer that opens like a call ('{' or '[') is held until
    it is complete, then sent as tool-call deltas in OpenAI's shape: per call, one delta with its index,
    id, type and name, then one with its arguments."""
    include_usage = bool(req.stream_options and req.stream_options.include_usage)
    held = [""] * n  # a choice's text while it may be calls
    deciding = [tools] * n  # no text seen yet that decides whether it is calls

    def chunk(choices: list[dict[str, Any]], used: Any = None) -> ChatCompletionChunk:
        return ChatCompletionChunk.model_validate({"id": rid, "created": created, "model": req.model,
                                                   "choices": choices, "usage": used})

    try:
        for i in range(n):
            yield chunk([{"index": i, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])
        async for ev in events:
            if isinstance(ev, TokenEvent):
                i = ev.index
                if deciding[i] or held[i]:
                    held[i] += ev.text
                    if deciding[i] and held[i].strip():
                        deciding[i] = False
                        if not held[i].lstrip().startswith(("{", "[")):  # plain text: stream what was held
                            text, held[i] = held[i], ""
                            yield chunk([{"index": i, "delta": {"content": text}, "finish_reason": None}])
                    if ev.finish_reason is None:
                        continue
                    text, held[i] = held[i], ""
                    calls = tool_calls_in(text) if ev.finish_reason == "stop" else None
                    if calls:
                        for k, call in enumerate(calls):
                            head = {"index": k, "id": call["id"], "type": "function",
                                    "function": {"name": call["function"]["name"], "arguments": ""}}
                            yield chunk([{"index": i, "delta": {"tool_calls": [head]}, "finish_reason": None}])
                            args = {"index": k, "function": {"arguments": call["function"]["arguments"]}}
                            yield chunk([{"index": i, "delta": {"tool_calls": [args]}, "finish_reason": None}])
                        yield chunk([{"index": i, "delta": {}, "finish_reason": "tool_calls"}])
                        continue
                    yield chunk([{"index": i, "delta": {"content": text} if text else {},
                                  "finish_reason": ev.finish_reason}])
                    continue
                if not ev.text and ev.finish_reason is None:
                    continue
                lp = None
                if ev.choice is not None and req.logprobs:
                    lp = {"content": [chat_logprob(tok, ev.choice)], "refusal": None}
                delta = {"content": ev.text} if ev.text else {}
                yield chunk([{"index": ev.index, "delta": delta, "finish_reason": ev.finish_reason, "logprobs": lp}])
            elif include_usage:
                yield chunk([], used=usage(ev))
    finally:
        await events.aclose()
