"""What every route shares: the provider, the store, the limiter, the metrics, and who is calling."""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request

from llmaas._errors import AuthenticationError
from llmaas._provider import Provider

from .limits import Limiter
from .metrics import Metrics
from .store import Store, hash_key


@dataclass
class ServerConfig:
    default_model: str | None = None
    max_body_bytes: int = 64 * 2**20
    default_rpm: int | None = None
    default_tpd: int | None = None
    warm_up: bool = True


@dataclass
class Caller:
    key_id: str | None  # None: the server runs without keys (loopback only)
    name: str = "anonymous"


@dataclass
class ServerState:
    provider: Provider
    store: Store
    config: ServerConfig
    limiter: Limiter
    metrics: Metrics
    ready: bool = False
    started_at: float = field(default_factory=time.time)

    def authenticate(self, request: Request) -> Caller:
        """The caller behind the request's bearer key; with no keys configured, everyone is anonymous."""
        if self.store.active_keys() == 0:
            return Caller(None)
        header = request.headers.get("authorization", "")
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise AuthenticationError("Missing API key: send it as 'Authorization: Bearer <key>'. Create one with "
                                      "'llmaas keys create NAME'.", status_code=401, code="missing_api_key")
        digest = hash_key(secret.strip())
        row = self.store.key_by_hash(digest)
        if row is None or not hmac.compare_digest(row["hash"], digest):
            shown = secret.strip()[:10] + "..." if len(secret.strip()) > 10 else "***"
            raise AuthenticationError(f"Incorrect API key provided: {shown}. Keys are listed by 'llmaas keys list'.",
                                      status_code=401, code="invalid_api_key")
        self.limiter.check(row["id"], row["rpm_limit"], row["tpd_limit"])
        return Caller(row["id"], row["name"])

    def meter(self, caller: Caller, endpoint: str, model: str | None, usage: Any, started: float,
              status: int) -> None:
        prompt = getattr(usage, "prompt_tokens", 0) or 0
        completion = getattr(usage, "completion_tokens", 0) or 0
        latency = time.perf_counter() - started
        self.store.record_usage(caller.key_id, endpoint, model, prompt, completion, latency * 1000, status)
        self.metrics.requests.labels(endpoint, str(status)).inc()
        self.metrics.latency.labels(endpoint).observe(latency)
        if model and (prompt or completion):
            self.metrics.tokens.labels(model, "prompt").inc(prompt)
            self.metrics.tokens.labels(model, "completion").inc(completion)


def state_of(request: Request) -> ServerState:
    return request.app.state.llmaas
