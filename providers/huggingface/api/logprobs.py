"""Log-probabilities and usage in the OpenAI shapes."""

from __future__ import annotations

from typing import Any

from llmaas.providers.huggingface.engine.sampling import Choice
from llmaas.providers.huggingface.engine.streams import Done
from llmaas.providers.huggingface.model.hf import Tokenizer


def usage(done: Done) -> dict[str, int]:
    return {"prompt_tokens": done.prompt_tokens, "completion_tokens": done.completion_tokens,
            "total_tokens": done.prompt_tokens + done.completion_tokens}


def token_text(tok: Tokenizer, token: int) -> str:
    return tok.decode([token], skip_special_tokens=False, clean_up_tokenization_spaces=False)


def chat_logprob(tok: Tokenizer, choice: Choice) -> dict[str, Any]:
    """One entry of ``choices[i].logprobs.content`` for chat."""
    text = token_text(tok, choice.token)
    top: list[dict[str, Any]] = []
    for token, logprob in choice.top or []:
        t = token_text(tok, token)
        top.append({"token": t, "logprob": logprob, "bytes": list(t.encode("utf-8"))})
    return {"token": text, "logprob": choice.logprob, "bytes": list(text.encode("utf-8")), "top_logprobs": top}


def completion_logprobs(tok: Tokenizer, items: list[tuple[Choice, int]]) -> dict[str, Any]:
    """``choices[i].logprobs`` for legacy completions, from (choice, text offset) pairs."""
    return {
        "tokens": [token_text(tok, c.token) for c, _ in items],
        "token_logprobs": [c.logprob for c, _ in items],
        "top_logprobs": [{token_text(tok, i): lp for i, lp in (c.top or [])} for c, _ in items],
        "text_offset": [offset for _, offset in items],
    }


def prompt_logprobs(tok: Tokenizer, ids: list[int], scores: Any) -> dict[str, Any]:
    """The prompt's part of ``choices[i].logprobs`` with ``echo``: each prompt token with its logprob given
    the ones before (None for the first, as OpenAI and vLLM give it), its top alternatives, and its offset
    in the echoed text."""
    token_lp, top_v, top_i = scores
    texts = [token_text(tok, t) for t in ids]
    offsets: list[int] = []
    at = 0
    for t in texts:
        offsets.append(at)
        at += len(t)
    tops: list[dict[str, float] | None] = [None]
    for row in range(len(ids) - 1):
        tops.append({token_text(tok, int(i)): float(v) for i, v in zip(top_i[row].tolist(), top_v[row].tolist(),
                                                                        strict=True)})
    return {"tokens": texts, "token_logprobs": [None, *(float(v) for v in token_lp.tolist())],
            "top_logprobs": tops, "text_offset": offsets}
