"""What in-process generation consumed, for callers that stop waiting before the answer is complete.

A server that gives up on a request (its client disconnected) still meters the tokens the engine spent on
it: it opens a ``tracking()`` scope around the call, the provider ``track()``s each engine request it starts
inside that scope (the scope follows the call into the tasks it creates), and ``consumed()`` sums them.
"""

from __future__ import annotations

from collections.abc import Generator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

_tracked: ContextVar[list[Any] | None] = ContextVar("llmaas_tracked_requests", default=None)


@contextmanager
def tracking() -> Generator[list[Any], None, None]:
    requests: list[Any] = []
    token = _tracked.set(requests)
    try:
        yield requests
    finally:
        _tracked.reset(token)


def track(request: Any) -> None:
    """Record an engine request (anything with ``prompt`` and ``completion_tokens``) in the current scope."""
    requests = _tracked.get()
    if requests is not None:
        requests.append(request)


def consumed(requests: list[Any]) -> dict[str, int] | None:
    if not requests:
        return None
    prompt = sum(len(r.prompt) for r in requests)
    completion = sum(r.completion_tokens for r in requests)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
