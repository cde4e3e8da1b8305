"""The most tokens a request can use, known before it runs: what a token quota reserves.

A prompt is bounded by its UTF-8 bytes (a byte-level tokenizer never makes a token of less than a byte) plus
a few tokens per message for the chat template's markers; token-id prompts count themselves.
"""

from __future__ import annotations

import json
from typing import Any

from llmaas.types import ChatCompletionRequest, CompletionRequest, EmbeddingRequest
from llmaas.types.chat import AssistantMessage

PER_MESSAGE = 8
PER_REQUEST = 16


def _bytes(text: str | None) -> int:
    return len(text.encode("utf-8", "surrogatepass")) if text else 0


def _content(content: Any) -> int:
    if content is None:
        return 0
    if isinstance(content, str):
        return _bytes(content)
    total = 0
    for part in content:
        total += _bytes(getattr(part, "text", None) or getattr(part, "refusal", None)) + PER_MESSAGE
    return total


def prompt_bound(req: Any) -> int:
    if isinstance(req, ChatCompletionRequest):
        total = PER_REQUEST
        for m in req.messages:
            total += PER_MESSAGE + _content(m.content) + _bytes(getattr(m, "name", None))
            for call in (m.tool_calls or []) if isinstance(m, AssistantMessage) else []:
                total += PER_MESSAGE + _bytes(call.function.name) + _bytes(call.function.arguments)
        if req.tools:
            total += _bytes(json.dumps([t.model_dump(exclude_none=True) for t in req.tools]))
        return total
    if isinstance(req, CompletionRequest):
        return PER_REQUEST + _prompts(req.prompt)
    if isinstance(req, EmbeddingRequest):
        return _prompts(req.input)
    return 0


def _prompts(value: Any) -> int:
    if isinstance(value, str):
        return _bytes(value) + 2
    total = 0
    for item in value:
        if isinstance(item, int):
            total += 1
        elif isinstance(item, str):
            total += _bytes(item) + 2
        else:
            total += len(item) + 2
    return total


def completion_bound(req: Any) -> tuple[int | None, int]:
    """(max tokens per choice or None when unbounded, number of choices)."""
    if isinstance(req, ChatCompletionRequest):
        return req.token_limit, req.n or 1
    if isinstance(req, CompletionRequest):
        prompts = 1 if isinstance(req.prompt, str) or (req.prompt and isinstance(req.prompt[0], int)) \
            else max(1, len(req.prompt))
        return (req.max_tokens if req.max_tokens is not None else 16), (req.n or 1) * prompts
    return 0, 1
