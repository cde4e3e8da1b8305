"""A deployment's circuit breaker: closed while it works; open after ``threshold`` failures in a row (no
requests for ``cooldown`` seconds); then half-open: one probe request is let through, and its outcome
closes the breaker or opens it again."""

from __future__ import annotations

import time
from collections.abc import Callable


class CircuitBreaker:
    def __init__(self, threshold: int = 3, cooldown: float = 30.0, clock: Callable[[], float] = time.monotonic) -> None:
        if threshold < 1 or cooldown < 0:
            raise ValueError("a breaker needs threshold >= 1 and cooldown >= 0")
        self.threshold = threshold
        self.cooldown = cooldown
        self._clock = clock
        self.failures = 0
        self.opened_at: float | None = None
        self._probing = False
        self.opened_count = 0

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "closed"
        return "half-open" if self._clock() - self.opened_at >= self.cooldown else "open"

    def reopens_in(self) -> float | None:
        """Seconds until an open breaker lets a probe through (0 when half-open); None while closed."""
        if self.opened_at is None:
            return None
        return max(0.0, self.opened_at + self.cooldown - self._clock())

    def allows(self) -> bool:
        """Whether a request may go to the deployment now (in half-open, only the one probe)."""
        state = self.state
        return state == "closed" or (state == "half-open" and not self._probing)

    def started(self) -> None:
        if self.state == "half-open":
            self._probing = True

    def succeeded(self) -> None:
        self.failures = 0
        self.opened_at = None
        self._probing = False

    def failed(self) -> None:
        self.failures += 1
        self._probing = False
        if self.opened_at is not None or self.failures >= self.threshold:
            if self.opened_at is None:
                self.opened_count += 1
            self.opened_at = self._clock()
