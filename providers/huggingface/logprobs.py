"""Log-probabilities and usage in the OpenAI shapes."""

from __future__ import annotations

from typing import Any

from .engine import Done
from .sampling import Choice


def usage(done: Done) -> dict[str, int]:
    return {"prompt_tokens": done.prompt_tokens, "completion_tokens": done.completion_tokens,
            "total_tokens": done.prompt_tokens + done.completion_tokens}


def token_text(tok: Any, token: int) -> str:
    return tok.decode([token], skip_special_tokens=False, clean_up_tokenization_spaces=False)


def chat_logprob(tok: Any, choice: Choice) -> dict[str, Any]:
    """One entry of ``choices[i].logprobs.content`` for chat."""
    text = token_text(tok, choice.token)
    top = []
    for token, logprob in choice.top or []:
        t = token_text(tok, token)
        top.append({"token": t, "logprob": logprob, "bytes": list(t.encode("utf-8"))})
    return {"token": text, "logprob": choice.logprob, "bytes": list(text.encode("utf-8")), "top_logprobs": top}


def completion_logprobs(tok: Any, items: list[tuple[Choice, int]]) -> dict[str, Any]:
    """``choices[i].logprobs`` for legacy completions, from (choice, text offset) pairs."""
    return {
        "tokens": [token_text(tok, c.token) for c, _ in items],
        "token_logprobs": [c.logprob for c, _ in items],
        "top_logprobs": [{token_text(tok, i): lp for i, lp in (c.top or [])} for c, _ in items],
        "text_offset": [offset for _, offset in items],
    }
