"""The FastAPI application: the OpenAI-compatible API over any Provider, plus keys, limits, usage, metrics."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from llmaas import AsyncClient
from llmaas._options import RequestOptions
from llmaas._provider import Capability, InProcess, Provider
from llmaas.settings import BatchSettings
from llmaas.store import Store
from llmaas.store.evals.runner import EvalRunner
from llmaas.store.jobs.runner import JobRunner

from . import errors
from .batch_work import batch_runner
from .gate import Gate
from .guard import Guard
from .limits import Limiter
from .metrics import Metrics
from .routes import batches, dashboard, evals, files, fine_tuning, inference, models, responses, service
from .state import ServerConfig, ServerState

log: logging.Logger = logging.getLogger("llmaas.server")
JOB_POLL_SECONDS = 5.0  # how often a front door looks for fine-tuning jobs queued elsewhere


def _engine_stat(provider: Provider, which: int) -> float:
    """Sequences running (0) or requests waiting (1) in a provider's own engines; 0 for a remote one."""
    return float(provider.engine_load()[which]) if isinstance(provider, InProcess) else 0.0


def create_app(provider: Provider, store: Store, config: ServerConfig | None = None) -> FastAPI:
    config = config or ServerConfig()
    state = ServerState(
        provider=provider, store=store, config=config,
        limiter=Limiter(store, config.default_rpm, config.default_tpd),
        metrics=Metrics(lambda: _engine_stat(provider, 1), lambda: _engine_stat(provider, 0)),
        jobs=JobRunner(store),
        guard=Guard(config.guard, provider, store),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncGenerator[None, None]:
        warm = asyncio.create_task(_warm_up(state)) if config.warm_up else None
        if warm is None:
            state.ready = True
        state.jobs.recover()
        state.jobs.kick()
        polling = asyncio.create_task(_poll_jobs(state))
        state.batches.start()
        state.evals.start()
        try:
            yield
        finally:
            polling.cancel()
            await state.evals.stop()
            await state.batches.stop()
            await state.jobs.stop()
            if warm is not None:
                warm.cancel()
            await provider.aclose()
            store.close()
            print("llmaas: engine stopped and store closed", file=sys.stderr, flush=True)

    app = FastAPI(title="llmaas", version="0.1.0", lifespan=lifespan,
                  description="OpenAI-compatible API over llmaas providers")
    state.batches = batch_runner(state)
    state.evals = EvalRunner(store, AsyncClient(provider=provider), BatchSettings.resolve().eval_concurrency)
    app.state.llmaas = state
    errors.install(app)
    for module in (inference, responses, models, files, fine_tuning, batches, evals, service, dashboard):
        app.include_router(module.router)
    app.add_middleware(Gate, state=state)
    if config.cors_origins:  # outermost: it answers preflights, which carry no key
        app.add_middleware(CORSMiddleware, allow_origins=config.cors_origins, allow_methods=["*"],
                           allow_headers=["*"], expose_headers=["x-request-id", "retry-after", "x-should-retry"])
    return app


async def _poll_jobs(state: ServerState, every: float = JOB_POLL_SECONDS) -> None:
    """Start a fine-tuning worker when jobs wait that another process queued (a front door on another machine
    sharing the store, a script on this home) or that a dead worker left behind."""
    while True:
        await asyncio.sleep(every)
        try:
            await state.run(state.jobs.kick)
        except Exception:  # noqa: BLE001 - a database that blinks: the next poll tries again
            log.warning("could not look for queued fine-tuning jobs", exc_info=True)


async def _warm_up(state: ServerState) -> None:
    """Load the default model before the first request needs it; /ready answers 200 once it is."""
    provider, model = state.provider, state.config.default_model
    try:
        if model and Capability.MODELS_MANAGE in provider.capabilities:
            await provider.load_model(model, RequestOptions())  # the engine started, its model loaded
        elif model:
            await provider.retrieve_model(model, RequestOptions())
    except Exception:
        log.exception("warm-up of %s failed", model)
    state.ready = True
