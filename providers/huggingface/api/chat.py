"""Engine events to chat completions: the whole answer, or a stream of chunks. With tools, an answer the
constrained decoder shaped as calls (a JSON list, or one object) becomes ``tool_calls``, streamed as
argument deltas while the model writes them; a call that repeats an earlier one exactly ends the answer
before it (``tool_calls.CallStream``)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from llmaas.providers.huggingface.api.logprobs import chat_logprob, usage
from llmaas.providers.huggingface.api.tool_calls import Call, CallStream, classify
from llmaas.providers.huggingface.engine.streams import RequestStream, TokenEvent
from llmaas.providers.huggingface.model.hf import Tokenizer
from llmaas.types import ChatCompletion, ChatCompletionChunk, ChatCompletionRequest


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


class _Choice:
    """One choice of an answer with tools, as its text arrives: text, or calls (decided by its opening)."""

    def __init__(self, names: tuple[str, ...] | None) -> None:
        self.names = names
        self.mode: str | None = None if names else "text"  # None: not decided yet; "text" or "calls"
        self.held = ""  # text while undecided
        self.calls = CallStream()
        self.done = False

    def decide(self, text: str, finish: str | None) -> str:
        """Take ``text``; return what is decided and not yet handled ("" while undecided)."""
        if self.mode is not None or not self.names:
            return text
        self.held += text
        self.mode = classify(self.held, self.names)
        if self.mode is None and finish is None:
            return ""
        if self.mode is None:  # ended while it could still have been a call
            self.mode = "text" if finish == "stop" else "calls"
        text, self.held = self.held, ""
        return text

    def finish_reason(self, finish: str) -> str:
        if self.calls.repeat is not None or (finish == "stop" and self.calls.calls):
            return "tool_calls"
        if finish == "length" and self.calls.whole and self.calls.reader.calls != self.calls.calls:
            return "tool_calls"  # only a repeat was cut: the answer without it is whole
        return finish


def _ended_early(events: RequestStream, finishes: list[str | None]) -> dict[str, int] | None:
    """Stop the generation once every choice has ended (a repeated call ends one before its tokens run
    out); the usage so far, or None while a choice is still going."""
    if any(f is None for f in finishes):
        return None
    request = events.request
    request.cancelled = True
    prompt, completion = len(request.prompt), request.completion_tokens
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


async def collect(events: RequestStream, req: ChatCompletionRequest, rid: str, created: int, n: int,
                  tok: Tokenizer, names: tuple[str, ...] | None = None) -> ChatCompletion:
    """The whole answer; ``names``: the tools the constrained decoder may call (None without tools)."""
    choices = [_Choice(names) for _ in range(n)]
    texts = [""] * n
    finishes: list[str | None] = [None] * n
    logprobs: list[list[dict[str, Any]]] = [[] for _ in range(n)]
    used = None
    try:
        async for ev in events:
            if not isinstance(ev, TokenEvent):
                used = usage(ev)
                continue
            i, c = ev.index, choices[ev.index]
            if finishes[i] is not None:
                continue
            text = c.decide(ev.text, ev.finish_reason)
            if c.mode == "calls":
                c.calls.feed(text)
                if c.calls.repeat is not None:
                    finishes[i] = "stop"
            else:
                texts[i] += text
                if ev.choice is not None and req.logprobs:
                    logprobs[i].append(chat_logprob(tok, ev.choice))
            if ev.finish_reason:
                finishes[i] = finishes[i] or ev.finish_reason
            if c.calls.repeat is not None and (used := _ended_early(events, finishes)) is not None:
                break
    finally:
        await events.aclose()
    out: list[dict[str, Any]] = []
    for i, c in enumerate(choices):
        finish = finishes[i] or "stop"
        if c.mode == "calls":  # never text content: the calls, or nothing if none had a name yet
            calls = [_call(k) for k in c.calls.calls] or None
            message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None, "tool_calls": calls}
            finish = c.finish_reason(finish) if calls else finish
        else:
            message = {"role": "assistant", "content": texts[i] + c.held, "refusal": None}
        out.append({"index": i, "message": message, "finish_reason": finish,
                    "logprobs": {"content": logprobs[i], "refusal": None} if req.logprobs else None})
    return ChatCompletion.model_validate({"id": rid, "created": created, "model": req.model, "usage": used,
                                          "choices": out})


async def stream(events: RequestStream, req: ChatCompletionRequest, rid: str, created: int, n: int,
                 tok: Tokenizer, names: tuple[str, ...] | None = None) -> AsyncIterator[ChatCompletionChunk]:
    """Text streams as it is made. With tools (``names``), an answer is held only until it shows whether it
    opens like a call; a call then streams in OpenAI's shape as the model writes it: per call, one delta
    with its index, id, type and name, then its arguments in pieces as they are generated."""
    include_usage = bool(req.stream_options and req.stream_options.include_usage)
    choices = [_Choice(names) for _ in range(n)]
    finishes: list[str | None] = [None] * n

    def chunk(parts: list[dict[str, Any]], used: Any = None) -> ChatCompletionChunk:
        return ChatCompletionChunk.model_validate({"id": rid, "created": created, "model": req.model,
                                                   "choices": parts, "usage": used})

    def call_chunks(i: int, text: str) -> list[ChatCompletionChunk]:
        out: list[ChatCompletionChunk] = []
        calls = choices[i].calls
        for d in calls.feed(text):
            call = calls.reader.calls[d.index]
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
            i, c = ev.index, choices[ev.index]
            if finishes[i] is not None:
                continue
            text = c.decide(ev.text, ev.finish_reason)
            if c.mode is None:
                continue
            if c.mode == "calls":
                for part in call_chunks(i, text):
                    yield part
                if ev.finish_reason is not None or c.calls.repeat is not None:
                    finishes[i] = c.finish_reason(ev.finish_reason or "stop")
                    yield chunk([{"index": i, "delta": {}, "finish_reason": finishes[i]}])
                    used = _ended_early(events, finishes) if c.calls.repeat is not None else None
                    if used is not None:
                        if include_usage:
                            yield chunk([], used=used)
                        return
                continue
            if not text and ev.finish_reason is None:
                continue
            finishes[i] = ev.finish_reason
            lp = None
            if ev.choice is not None and req.logprobs:
                lp = {"content": [chat_logprob(tok, ev.choice)], "refusal": None}
            delta = {"content": text} if text else {}
            yield chunk([{"index": i, "delta": delta, "finish_reason": ev.finish_reason, "logprobs": lp}])
    finally:
        await events.aclose()
