"""Per-key limits: requests per minute (sliding window, in memory) and tokens per day (from the store)."""

from __future__ import annotations

import time
from collections import defaultdict, deque

from llmaas._errors import RateLimitError

from .store import Store

DAY = 86400.0


class Limiter:
    def __init__(self, store: Store, default_rpm: int | None = None, default_tpd: int | None = None) -> None:
        self.store = store
        self.default_rpm = default_rpm
        self.default_tpd = default_tpd
        self._hits: dict[str, deque[float]] = defaultdict(deque)

    def check(self, key_id: str, rpm: int | None, tpd: int | None) -> None:
        """Count one request against the key, or raise RateLimitError with how long to wait."""
        now = time.time()
        rpm = rpm if rpm is not None else self.default_rpm
        tpd = tpd if tpd is not None else self.default_tpd
        if tpd is not None:
            used = self.store.tokens_since(key_id, now - DAY)
            if used >= tpd:
                raise RateLimitError(f"token limit reached for this key: {used} of {tpd} tokens used in the last "
                                     "24 hours", status_code=429, code="tokens_per_day", type="tokens",
                                     retry_after=60.0)
        if rpm is not None:
            hits = self._hits[key_id]
            while hits and hits[0] <= now - 60:
                hits.popleft()
            if len(hits) >= rpm:
                wait = 60 - (now - hits[0])
                raise RateLimitError(f"rate limit reached for this key: {rpm} requests per minute; retry in "
                                     f"{wait:.1f} s", status_code=429, code="requests_per_minute", type="requests",
                                     retry_after=max(wait, 1.0))
            hits.append(now)
