"""Routing across providers: ``llmaas.Router`` (see ``router.py`` and docs/router.md)."""

from .breaker import CircuitBreaker
from .router import AllDeploymentsFailedError, Attempt, Router, UsageRecord

__all__ = ["AllDeploymentsFailedError", "Attempt", "CircuitBreaker", "Router", "UsageRecord"]
