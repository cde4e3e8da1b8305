"""The retry policy: small pure functions, and the tenacity objects built from them.

- retry on connection errors, timeouts, 408, 409, 429 and 5xx; never on other 4xx;
- wait what the server asks for (``retry-after-ms``, then ``Retry-After`` in seconds or as an HTTP date),
  capped at ``MAX_RETRY_AFTER``; otherwise back off exponentially with jitter.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Mapping
from typing import Any

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from ._errors import APIConnectionError, APIStatusError, IncompleteStreamError

DEFAULT_MAX_RETRIES = 2
INITIAL_BACKOFF = 0.5
MAX_BACKOFF = 8.0
MAX_RETRY_AFTER = 60.0
RETRYABLE_STATUSES = frozenset({408, 409, 429})


def is_retryable_status(status: int) -> bool:
    return status in RETRYABLE_STATUSES or status >= 500


def is_retryable(exc: BaseException) -> bool:
    """Whether a failed attempt is worth another try."""
    if isinstance(exc, IncompleteStreamError):
        return False  # tokens may already have reached the caller
    if isinstance(exc, APIConnectionError):
        return True
    if isinstance(exc, APIStatusError):
        if exc.should_retry is not None:  # an in-process provider's own verdict
            return exc.should_retry
        if exc.response is not None:
            hint = exc.response.headers.get("x-should-retry")
            if hint in ("true", "false"):
                return hint == "true"
        return is_retryable_status(exc.status_code)
    return False


def retry_after_seconds(headers: Mapping[str, str] | None, now: float | None = None) -> float | None:
    """The delay a server asked for, in seconds, or None if it asked for nothing usable."""
    if not headers:
        return None
    lower = {k.lower(): v for k, v in headers.items()}
    ms = lower.get("retry-after-ms")
    if ms is not None:
        try:
            value = float(ms) / 1000.0
        except ValueError:
            value = -1.0
        if value >= 0:
            return min(value, MAX_RETRY_AFTER)
    raw = lower.get("retry-after")
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        parsed = email.utils.parsedate_tz(raw)
        if parsed is None:
            return None
        value = email.utils.mktime_tz(parsed) - (time.time() if now is None else now)
    if value < 0:
        return None
    return min(value, MAX_RETRY_AFTER)


def backoff_seconds(attempt: int, rand: float | None = None) -> float:
    """Exponential backoff for retry number ``attempt`` (1-based), with up to 25% jitter taken off."""
    base = min(INITIAL_BACKOFF * (2 ** (attempt - 1)), MAX_BACKOFF)
    jitter = 1 - 0.25 * (random.random() if rand is None else rand)
    return base * jitter


def delay_for(exc: BaseException | None, attempt: int) -> float:
    """How long to wait before retry number ``attempt`` after ``exc``."""
    if isinstance(exc, APIStatusError):
        if exc.retry_after is not None:
            return min(exc.retry_after, MAX_RETRY_AFTER)
        if exc.response is not None:
            asked = retry_after_seconds(exc.response.headers)
            if asked is not None:
                return asked
    return backoff_seconds(attempt)


def _wait(state: RetryCallState) -> float:
    exc = state.outcome.exception() if state.outcome is not None else None
    return delay_for(exc, state.attempt_number)


def async_retrying(max_retries: int, **overrides: Any) -> AsyncRetrying:
    """A tenacity controller for one request: ``max_retries`` retries after the first attempt."""
    return AsyncRetrying(
        stop=stop_after_attempt(max_retries + 1),
        wait=overrides.pop("wait", _wait),
        retry=retry_if_exception(is_retryable),
        reraise=True,
        **overrides,
    )
