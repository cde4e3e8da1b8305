"""The FastAPI application: the OpenAI-compatible API over any Provider, plus keys, limits, usage, metrics."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from llmaas._options import RequestOptions
from llmaas._provider import Capability, Provider

from . import errors
from .limits import Limiter
from .metrics import Metrics
from .routes import files, fine_tuning, inference, models, service
from .state import ServerConfig, ServerState
from .store import Store

log = logging.getLogger("llmaas.server")


def _engine_stat(provider: Provider, attr: str) -> float:
    engines = getattr(provider, "_engines", {})
    return float(sum(getattr(e, attr, 0) for e in engines.values()))


class BodyLimit:
    """Refuse bodies over ``limit`` bytes with 413, whether or not they declare a Content-Length."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            return await self._reject(send)
        seen = 0

        async def counting() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, counting, send)
        except _TooLarge:
            await self._reject(send)

    async def _reject(self, send: Any) -> None:
        response = errors.envelope(413, f"Request body too large: the limit is {self.limit} bytes",
                                   code="request_too_large")
        await send({"type": "http.response.start", "status": 413, "headers": response.raw_headers})
        await send({"type": "http.response.body", "body": response.body})


class _TooLarge(Exception):
    pass


def create_app(provider: Provider, store: Store, config: ServerConfig | None = None) -> FastAPI:
    config = config or ServerConfig()
    state = ServerState(
        provider=provider, store=store, config=config,
        limiter=Limiter(store, config.default_rpm, config.default_tpd),
        metrics=Metrics(lambda: _engine_stat(provider, "queue_depth"), lambda: _engine_stat(provider, "running")),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        warm = asyncio.create_task(_warm_up(state)) if config.warm_up else None
        if warm is None:
            state.ready = True
        try:
            yield
        finally:
            if warm is not None:
                warm.cancel()
            await provider.aclose()
            store.close()
            print("llmaas: engine stopped and store closed", file=sys.stderr, flush=True)

    app = FastAPI(title="llmaas", version="0.1.0", lifespan=lifespan,
                  description="OpenAI-compatible API over llmaas providers")
    app.state.llmaas = state
    errors.install(app)
    for module in (inference, models, files, fine_tuning, service):
        app.include_router(module.router)
    app.add_middleware(BodyLimit, limit=config.max_body_bytes)
    return app


async def _warm_up(state: ServerState) -> None:
    """Load the default model before the first request needs it; /ready answers 200 once it is."""
    provider, model = state.provider, state.config.default_model
    try:
        if model and Capability.CHAT in provider.capabilities and hasattr(provider, "engine"):
            engine = provider.engine(model)  # type: ignore[attr-defined]
            await asyncio.to_thread(engine.wait_ready)
        elif model:
            await provider.retrieve_model(model, RequestOptions())
    except Exception:
        log.exception("warm-up of %s failed", model)
    state.ready = True
