"""What a service needs besides the API: /health, /ready, /metrics and /v1/usage."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from ..state import state_of
from ._common import caller

router = APIRouter()


@router.get("/health")
async def health() -> Any:
    return {"status": "ok"}


@router.get("/ready")
async def ready(request: Request) -> Any:
    state = state_of(request)
    if not state.ready:
        return JSONResponse({"status": "loading"}, status_code=503)
    return {"status": "ready", "provider": state.provider.name, "model": state.config.default_model}


@router.get("/metrics")
async def metrics(request: Request) -> Any:
    return Response(state_of(request).metrics.render(), media_type="text/plain; version=0.0.4")


@router.get("/v1/usage")
async def usage(request: Request, days: int = Query(30, ge=1, le=3650)) -> Any:
    """The caller's own usage, by day and model."""
    state, who = caller(request)
    rows = state.store.usage_report(who.key_id, since=time.time() - days * 86400)
    for r in rows:
        r.pop("key_id", None)
    return {"object": "list", "data": rows}
