"""The ``Tools`` graders use, made from a client: the model under test's log-probabilities of continuations
(completions with ``echo`` and ``logprobs`` and no new tokens, as lm-evaluation-harness asks a server), the
embedding model, and a grading model held to a JSON schema by constrained decoding. Any provider that serves
completions with prompt log-probabilities works: the in-process engine and our server do."""

from __future__ import annotations

import json
from typing import Any

from .graders import Tools

EMBEDDING_MODEL = "all-minilm-l6-v2"


def continuation_logprob(logprobs: Any, start: int) -> float:
    """The sum of the log-probabilities of the tokens that begin at or after character ``start`` of an echoed
    prompt (the continuation; a token that straddles the boundary belongs to the context)."""
    total = 0.0
    for offset, value in zip(logprobs.text_offset, logprobs.token_logprobs, strict=True):
        if offset >= start and value is not None:
            total += value
    return total


def tools_for(client: Any, model: str, embedding_model: str = EMBEDDING_MODEL) -> Tools:
    """Tools over ``client`` (an ``AsyncClient``); ``model`` is the model under test."""

    async def score_choices(context: str, choices: list[str]) -> list[float]:
        out = await client.completions.create(model=model, prompt=[context + c for c in choices], echo=True,
                                              logprobs=1, max_tokens=0, temperature=0)
        by_index = sorted(out.choices, key=lambda c: c.index)
        return [continuation_logprob(c.logprobs, len(context)) for c in by_index]

    async def embed(texts: list[str]) -> list[list[float]]:
        out = await client.embeddings.create(model=embedding_model, input=texts)
        return [d.embedding for d in sorted(out.data, key=lambda d: d.index)]

    async def judge(grader_model: str, messages: list[dict[str, str]], schema: dict[str, Any]) -> dict[str, Any]:
        out = await client.chat.completions.create(
            model=grader_model, messages=messages, temperature=0, max_tokens=64,
            response_format={"type": "json_schema", "json_schema": {"name": "grade", "schema": schema, "strict": True}})
        return json.loads(out.choices[0].message.content or "{}")

    return Tools(score_choices=score_choices, embed=embed, judge=judge)
