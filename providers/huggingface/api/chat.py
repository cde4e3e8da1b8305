"""Engine events to chat completions: the whole answer, or a stream of chunks. With tools, an answer the
constrained decoder shaped as calls (a JSON list, or one object) becomes ``tool_calls``, streamed as
argument deltas while the model writes them."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from llmaas.providers.huggingface.api.logprobs import chat_logprob, usage
from llmaas.providers.huggingface.api.tool_calls import Call, CallReader, classify, read_calls
from llmaas.providers.huggingface.engine.streams import RequestStream, TokenEvent
from llmaas.providers.huggingface.model.hf import Tokenizer
from llmaas.types import ChatCompletion, ChatCompletionChunk, ChatCompletionRequest


def _message(text: str, finish: str, names: tuple[str, ...] | None) -> tuple[dict[str, Any], str]:
    """An answer as a message: with tools, one that opens like a call is its calls (cut short by max_tokens,
    the calls it holds with their partial arguments and finish_reason "length", as OpenAI reports them)."""
    if names and classify(text, names) != "text":
        calls = [c for c in read_calls(text)]
        if finish == "stop" and calls:
            return {"role": "assistant", "content": None, "refusal": None,
                    "tool_calls": [_call(c) for c in calls]}, "tool_calls"
        if finish != "stop":  # never text content: the calls so far, or nothing if none had a name yet
            return {"role": "assistant", "content": None, "refusal": None,
                    "tool_calls": [_call(c) for c in calls] or None}, finish
    return {"role": "assistant", "content": text, "refusal": None}, finish


def _call(c: Call) -> dict[str, Any]:
    return {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": _compact(c)}}


def _compact(c: Call) -> str:
    """A complete call's arguments as compact JSON (as OpenAI sends them); a partial one's as written."""
    if not c.complete:
        return c.arguments
    try:
        return json.dumps(json.loads(c.arguments), ensure_ascii=False)
    except ValueError:
        return c.arguments


async def collect(events: RequestStream, req: ChatCompletionRequest, rid: str, created: int, n: int,
                  tok: Tokenizer, names: tuple[str, ...] | None = None) -> ChatCompletion:
    """The whole answer; ``names``: the tools the constrained decoder may call (None without tools)."""
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
        message, finish = _message(texts[i], finishes[i], names)
        choices.append({"index": i, "message": message, "finish_reason": finish,
                        "logprobs": {"content": logprobs[i], "refusal": None} if req.logprobs else None})
    return ChatCompletion.model_validate({"id": rid, "created": created, "model": req.model, "usage": used,
                                          "choices": choices})


async def stream(events: RequestStream, req: ChatCompletionRequest, rid: str, created: int, n: int,
                 tok: Tokenizer, names: tuple[str, ...] | None = None) -> AsyncIterator[ChatCompletionChunk]:
    """Text streams as it is made. With tools (``names``), an answer is held only until it shows whether it
    opens like a call; a call then streams in OpenAI's shape as the model writes it: per call, one delta
    with its index, id, type and name, then its arguments in pieces as they are generated."""
    include_usage = bool(req.stream_options and req.stream_options.include_usage)
    held = [""] * n  # a choice's text while it may be calls
    mode: list[str | None] = [None if names else "text"] * n  # None: not decided yet; "text" or "calls"
    readers = [CallReader() for _ in range(n)]

    def chunk(choices: list[dict[str, Any]], used: Any = None) -> ChatCompletionChunk:
        return ChatCompletionChunk.model_validate({"id": rid, "created": created, "model": req.model,
                                                   "choices": choices, "usage": used})

    def call_chunks(i: int, text: str) -> list[ChatCompletionChunk]:
        out: list[ChatCompletionChunk] = []
        reader = readers[i]
        for d in reader.feed(text):
            call = reader.calls[d.index]
            if d.started:
                head = {"index": d.index, "id": call.id, "type": "function",
                        "function": {"name": call.name, "arguments": ""}}
                out.append(chunk([{"index": i, "delta": {"tool_calls": [head]}, "finish_reason": None}]))
            if d.arguments:
                args = {"index": d.index, "function": {"arguments": d.arguments}}
                out.append(chunk([{"index": i, "delta": {"tool_calls": [args]}, "finish_reason": None}]))
        return out

    try:
        for i in range(n):
            yield chunk([{"index": i, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])
        async for ev in events:
            if not isinstance(ev, TokenEvent):
                if include_usage:
                    yield chunk([], used=usage(ev))
                continue
            i, text = ev.index, ev.text
            if mode[i] is None and names:
                held[i] += text
                mode[i] = classify(held[i], names)
                if mode[i] is None and ev.finish_reason is None:
                    continue
                text, held[i] = held[i], ""
                if mode[i] is None:  # ended while it could still have been a call
                    mode[i] = "text" if ev.finish_reason == "stop" else "calls"
            if mode[i] == "calls":
                for c in call_chunks(i, text):
                    yield c
                if ev.finish_reason is not None:
                    calls = readers[i].calls
                    finish = "tool_calls" if ev.finish_reason == "stop" and calls else ev.finish_reason
                    yield chunk([{"index": i, "delta": {}, "finish_reason": finish}])
                continue
            if not text and ev.finish_reason is None:
                continue
            lp = None
            if ev.choice is not None and req.logprobs:
                lp = {"content": [chat_logprob(tok, ev.choice)], "refusal": None}
            delta = {"content": text} if text else {}
            yield chunk([{"index": i, "delta": delta, "finish_reason": ev.finish_reason, "logprobs": lp}])
    finally:
        await events.aclose()
