"""What every route shares: the provider, the store, the limiter, the metrics, and who is calling."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request

from llmaas._json import is_object
from llmaas._lanes import lane
from llmaas._provider import Provider
from llmaas.guardrails import Guardrails
from llmaas.store import ANYONE, Store
from llmaas.store.batches.runner import BatchRunner
from llmaas.store.evals.runner import EvalRunner
from llmaas.store.jobs.runner import JobRunner

from .bounds import TurnBounds
from .guard import Guard
from .limits import Limiter, Reservation
from .metrics import Metrics


@dataclass
class ServerConfig:
    default_model: str | None = None
    max_body_bytes: int = 64 * 2**20  # file uploads (multipart)
    max_json_bytes: int = 4 * 2**20  # every other body
    default_rpm: int | None = None
    default_tpd: int | None = None
    warm_up: bool = True
    bound_host: str = "127.0.0.1"
    port: int | None = None
    cors_origins: list[str] = field(default_factory=list[str])
    allowed_hosts: list[str] = field(default_factory=list[str])  # Host headers accepted in keyless mode
    public_metrics: bool = False
    guard: Guardrails = field(default_factory=Guardrails)  # guardrails on chat and completions
    bounds: TurnBounds = field(default_factory=lambda: TurnBounds())  # output tokens and seconds of one request


@dataclass
class Caller:
    key_id: str | None  # None: the server runs without keys (loopback only)
    name: str = "anonymous"
    admin: bool = False
    tpd_limit: int | None = None
    max_tokens: int | None = None  # this key's bounds on one request (None: the server's)
    max_seconds: int | None = None
    guard_sensitivity: str | None = None  # this key's guardrail sensitivity (None: the server's)

    @classmethod
    def of_key(cls, row: Any) -> Caller:
        """The caller an api_keys row stands for."""
        return cls(row["id"], row["name"], admin=row["role"] == "admin", tpd_limit=row["tpd_limit"],
                   max_tokens=row["max_tokens"], max_seconds=row["max_seconds"],
                   guard_sensitivity=row["guard_sensitivity"])

    @property
    def sees(self) -> str | None:
        """The owner filter for what this caller may read: its own rows, or everyone's for an admin."""
        return ANYONE if self.admin else self.key_id


@dataclass
class ServerState:
    provider: Provider
    store: Store
    config: ServerConfig
    limiter: Limiter
    metrics: Metrics
    jobs: JobRunner
    guard: Guard
    batches: BatchRunner = field(init=False)  # set once the state exists (it runs requests through it)
    evals: EvalRunner = field(init=False)
    ready: bool = False
    started_at: float = field(default_factory=time.time)

    async def run(self, fn: Any, *args: Any) -> Any:
        """A blocking store call, off the event loop, in the store's own lane of threads: one slow write
        must not stall every stream, and model file work never takes these threads."""
        return await lane("store").run(fn, *args)

    async def reserve(self, who: Caller, prompt: int, completion: int | None, n: int) -> Reservation | None:
        if who.key_id is None or self.limiter.tpd_of(who.tpd_limit) is None:
            return None
        return await self.run(self.limiter.reserve, who.key_id, who.tpd_limit, prompt, completion, n)

    async def meter(self, caller: Caller, endpoint: str, model: str | None, usage: Any, started: float,
                    status: int, reservation: Reservation | None = None) -> None:
        """Record a request's usage, then give back what it reserved of its key's quota."""
        prompt = _tokens(usage, "prompt_tokens")
        completion = _tokens(usage, "completion_tokens")
        latency = time.perf_counter() - started
        try:
            await self.run(self.store.record_usage, caller.key_id, endpoint, model, prompt, completion,
                           latency * 1000, status)
        finally:
            if reservation is not None:
                await self.run(self.limiter.release, reservation)
        self.metrics.requests.labels(endpoint, str(status)).inc()
        self.metrics.latency.labels(endpoint).observe(latency)
        if model and (prompt or completion) and status < 400:
            label = self.metrics.model_label(model)
            self.metrics.tokens.labels(label, "prompt").inc(prompt)
            self.metrics.tokens.labels(label, "completion").inc(completion)


def _tokens(usage: Any, name: str) -> int:
    value = usage.get(name) if is_object(usage) else getattr(usage, name, 0)
    return int(value or 0)


def state_of(request: Request) -> ServerState:
    return request.app.state.llmaas


def caller_of(request: Request) -> Caller:
    """The caller the gate authenticated before the body was read."""
    who = request.scope.get("state", {}).get("llmaas_caller")
    if who is None:  # a route outside the gate's care: never reached by /v1 requests
        raise RuntimeError("request was not authenticated by the gate")
    return who
