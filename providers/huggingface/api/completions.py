"""Engine events to legacy text completions: several prompts, each with n choices, whole or streamed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from llmaas.providers.huggingface.api.logprobs import completion_logprobs
from llmaas.providers.huggingface.engine.streams import Done, RequestStream, TokenEvent, wait_any
from llmaas.providers.huggingface.model.hf import Tokenizer
from llmaas.types import Completion, CompletionRequest

# (index of the prompt's first choice, prompt token ids, the prompt's events)
Streams = list[tuple[int, list[int], RequestStream]]


async def collect(streams: Streams, req: CompletionRequest, rid: str, created: int, tok: Tokenizer,
                  prompt_lp: dict[int, dict[str, Any]] | None = None) -> Completion:
    """The whole answer; ``prompt_lp`` (echo with logprobs) holds each prompt's own logprobs by its first
    choice's index, put before the generated tokens' in every choice of that prompt."""
    choices: dict[int, dict[str, Any]] = {}
    prompt_tokens = completion_tokens = 0
    try:
        for base, ids, events in streams:
            echo = tok.decode(ids) if req.echo else ""
            async for ev in events:
                if isinstance(ev, TokenEvent):
                    c = choices.setdefault(base + ev.index, {"text": echo, "finish_reason": None, "lp": []})
                    scored = ev.choice or ev.stop_choice  # a stop token too: an entry per generated token
                    if scored is not None and req.logprobs is not None:
                        c["lp"].append((scored, len(c["text"])))
                    c["text"] += ev.text
                    c["finish_reason"] = ev.finish_reason or c["finish_reason"]
                else:
                    prompt_tokens += ev.prompt_tokens
                    completion_tokens += ev.completion_tokens
    finally:
        await close(streams)
    out: list[dict[str, Any]] = []
    for i, c in sorted(choices.items()):
        lp = completion_logprobs(tok, c["lp"]) if req.logprobs is not None else None
        head = next((v for base, v in (prompt_lp or {}).items() if base <= i < base + (req.n or 1)), None)
        if lp is not None and head is not None:
            lp = {k: [*head[k], *lp[k]] for k in lp}
        out.append({"index": i, "text": c["text"], "finish_reason": c["finish_reason"], "logprobs": lp})
    return Completion.model_validate({"id": rid, "created": created, "model": req.model, "choices": out, "usage": {
        "prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens}})


async def stream(streams: Streams, req: CompletionRequest, rid: str, created: int, tok: Tokenizer) -> AsyncIterator[Completion]:
    include_usage = bool(req.stream_options and req.stream_options.include_usage)
    totals = [0, 0]
    try:
        async for base, ev in _merge([(base, events) for base, _, events in streams]):
            if isinstance(ev, TokenEvent):
                if not ev.text and ev.finish_reason is None:
                    continue
                lp = None
                scored = ev.choice or ev.stop_choice
                if scored is not None and req.logprobs is not None:
                    lp = completion_logprobs(tok, [(scored, 0)])
                yield Completion.model_validate({"id": rid, "created": created, "model": req.model, "choices": [
                    {"index": base + ev.index, "text": ev.text, "finish_reason": ev.finish_reason, "logprobs": lp}]})
            else:
                totals[0] += ev.prompt_tokens
                totals[1] += ev.completion_tokens
        if include_usage:
            yield Completion.model_validate({"id": rid, "created": created, "model": req.model, "choices": [], "usage": {
                "prompt_tokens": totals[0], "completion_tokens": totals[1], "total_tokens": sum(totals)}})
    finally:
        await close(streams)


async def close(streams: Streams) -> None:
    for _, _, events in streams:
        await events.aclose()


async def _merge(sources: list[tuple[int, RequestStream]]) -> AsyncIterator[tuple[int, TokenEvent | Done]]:
    """Interleave the events of several requests as they arrive (no tasks: it waits on all their inboxes)."""
    pending = list(sources)
    while pending:
        for base, stream in list(pending):
            while (item := stream.poll()) is not None:
                yield base, item
            if stream.finished:
                pending.remove((base, stream))
        if pending:
            try:
                await wait_any([stream.request.events for _, stream in pending])
            except BaseException:  # the caller was cancelled or timed out
                for _, stream in pending:
                    stream.request.cancelled = True
                raise
