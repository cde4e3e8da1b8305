"""Per-key limits: requests per minute (a sliding window) and tokens per day, both kept in the store
(``llmaas.store.quotas``), so that front doors sharing one database grant a key its limit once between them.

Tokens per day hold under concurrency: a request reserves the most it can use (its prompt, estimated from
above, plus ``max_tokens`` for each of its ``n`` choices) when it is admitted, and the reservation is settled
to the real usage when it ends. Requests that would overrun the quota together are refused, on whichever
front doors they arrive.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from llmaas._errors import RateLimitError
from llmaas.store import Store, quotas

DAY = 86400.0
OPEN_COMPLETION_RESERVE = 16384  # held per choice for a request without max_tokens
NO_POINT_WAITING = 60.0  # past this, a retry loop would only sleep: say x-should-retry: false



@dataclass
class Reservation:
    key_id: str
    tokens: int
    hold_id: str
    settled: bool = False


class Limiter:
    def __init__(self, store: Store, default_rpm: int | None = None, default_tpd: int | None = None) -> None:
        self.store = store
        self.default_rpm = default_rpm
        self.default_tpd = default_tpd

    def tpd_of(self, tpd: int | None) -> int | None:
        return tpd if tpd is not None else self.default_tpd

    def rpm_of(self, rpm: int | None) -> int | None:
        return rpm if rpm is not None else self.default_rpm

    def check_rate(self, key_id: str, rpm: int | None) -> None:
        """Count one request against the key's requests per minute, or raise RateLimitError with the wait
        (blocking: call off the event loop)."""
        rpm = self.rpm_of(rpm)
        if rpm is None:
            return
        if rpm < 1:  # a store edited by hand: refuse clearly rather than fail
            raise _refuse(f"this key's request limit is {rpm} per minute: it may not make requests",
                          "requests_per_minute", None)
        wait = quotas.count_request(self.store, key_id, rpm)
        if wait is not None:
            raise _refuse(f"rate limit reached for this key: {rpm} requests per minute; retry in {wait:.1f} s",
                          "requests_per_minute", wait)

    def reserve(self, key_id: str, tpd: int | None, prompt: int, completion: int | None, n: int = 1
                ) -> Reservation | None:
        """Hold the most a request can use of the key's daily quota (blocking: call off the event loop).

        ``prompt`` bounds its prompt from above; ``completion`` is its max_tokens per choice, or None when it
        sent none: then it holds what remains of the quota, up to ``OPEN_COMPLETION_RESERVE`` per choice."""
        tpd = self.tpd_of(tpd)
        if tpd is None:
            return None
        limit = tpd

        def decide(standing: quotas.Standing) -> int:  # seen and held in one step, on every front door
            used, held = standing.used, standing.held
            per_choice = completion if completion is not None else \
                max(1, min((limit - used - held - prompt) // max(n, 1), OPEN_COMPLETION_RESERVE))
            tokens = prompt + per_choice * n
            if tokens > limit:
                raise _refuse(f"this request may use up to {tokens} tokens, more than this key's limit of {limit} "
                              "tokens per day: send a shorter prompt or a smaller max_tokens", "tokens_per_day", None)
            if used + held + tokens > limit:
                wait = self._wait_for(key_id, used + held + tokens - limit, time.time())
                shown = f" ({held} held by requests in flight)" if held else ""
                when = f"; enough frees up in {_human(wait)}" if wait is not None else \
                    "; retry when requests in flight finish"
                raise _refuse(f"token limit reached for this key: {used} of {limit} tokens used in the last 24 hours"
                              f"{shown}, and this request may use up to {tokens}{when}", "tokens_per_day",
                              wait if wait is not None else 1.0)
            return tokens

        hold_id, tokens = quotas.hold(self.store, key_id, time.time() - DAY, decide)
        return Reservation(key_id, tokens, hold_id)

    def release(self, reservation: Reservation | None) -> None:
        """Give a reservation back (its request's real usage is in the store by now; blocking)."""
        if reservation is None or reservation.settled:
            return
        reservation.settled = True
        quotas.release(self.store, reservation.hold_id)

    def _wait_for(self, key_id: str, excess: int, now: float) -> float | None:
        """Seconds until records leaving the 24-hour window free ``excess`` tokens; None if only requests in
        flight can free them."""
        freed = 0
        for at, tokens in self.store.token_times(key_id, now - DAY):
            freed += tokens
            if freed >= excess:
                return max(at + DAY - now, 1.0)
        return None


def _refuse(message: str, code: str, wait: float | None) -> RateLimitError:
    exc = RateLimitError(message, status_code=429, code=code, type="tokens" if "token" in code else "requests",
                         retry_after=wait)
    exc.should_retry = wait is not None and wait <= NO_POINT_WAITING
    return exc


def _human(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
