import pytest

import llmaas._retry as retry

BASE = "https://api.test/v1"


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch):
    """Keep the exponential backoff's shape but in milliseconds, so retry tests run quickly."""
    monkeypatch.setattr(retry, "INITIAL_BACKOFF", 0.001)
    monkeypatch.setattr(retry, "MAX_BACKOFF", 0.004)


def chat_body(content="Hello!", model="m"):
    return {
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content, "refusal": None},
                     "finish_reason": "stop", "logprobs": None}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    }


def chunk(content=None, finish=None, usage=None):
    body = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "choices": [] if usage else [{"index": 0, "delta": {"content": content} if content else {},
                                          "finish_reason": finish}]}
    if usage:
        body["usage"] = usage
    return body
