"""What a service needs besides the API: /health, /ready, /metrics, /v1/usage and /v1/usage/series."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from llmaas._errors import PermissionDeniedError
from llmaas._lanes import all_stats
from llmaas.store import ANYONE
from llmaas.store.database import StoreUnavailable
from llmaas.store.usage_series import series

from ..state import state_of
from ._common import caller

router: APIRouter = APIRouter()


@router.get("/health")
async def health() -> Any:
    return {"status": "ok"}


@router.get("/ready")
async def ready(request: Request) -> Any:
    state = state_of(request)
    lanes = all_stats()
    if not state.ready:
        return JSONResponse({"status": "loading", "lanes": lanes}, status_code=503)
    stuck = sorted(name for name, s in lanes.items() if s["stuck"])
    if lanes.get("store", {}).get("stuck"):  # nothing stored can be read or written: not ready
        return JSONResponse({"status": "stuck", "stuck": stuck, "lanes": lanes}, status_code=503)
    try:
        await state.run(state.store.db.ping)
    except StoreUnavailable as exc:  # PostgreSQL down or restarting: not ready until it answers again
        return JSONResponse({"status": "store_unavailable", "error": str(exc), "lanes": lanes}, status_code=503,
                            headers={"Retry-After": "1"})
    return {"status": "ready", "provider": state.provider.name, "model": state.config.default_model,
            "stuck": stuck, "lanes": lanes}


@router.get("/metrics")
async def metrics(request: Request) -> Any:
    return Response(state_of(request).metrics.render(), media_type="text/plain; version=0.0.4")


@router.get("/v1/usage")
async def usage(request: Request, days: int = Query(30, ge=1, le=3650), key: str | None = None) -> Any:
    """Usage by day and model: the caller's own, or for an admin key every key's (``key`` narrows it to one).
    An ordinary key asking for another key's usage gets 403."""
    state, who = caller(request)
    since = time.time() - days * 86400
    if not who.admin:
        if key is not None and key != who.key_id:
            raise PermissionDeniedError("only an admin key can see other keys' usage", status_code=403,
                                        param="key", code="admin_required")
        rows = await state.run(state.store.usage_report, who.key_id, since)
        for r in rows:
            r.pop("key_id", None)
        return {"object": "list", "data": rows}
    rows = await state.run(state.store.usage_report, key, since)
    names = {r["id"]: r["name"] for r in await state.run(state.store.list_keys)}
    for r in rows:
        r["key_name"] = names.get(r["key_id"])
    return {"object": "list", "data": rows}


@router.get("/v1/usage/series")
async def usage_series(request: Request, window: float = Query(86400, gt=0, le=3650 * 86400),
                       bucket: float | None = Query(None, gt=0, le=3650 * 86400), key: str | None = None,
                       by_key: bool = False) -> Any:
    """Usage over the last ``window`` seconds in buckets of ``bucket`` seconds (default: about 60 buckets):
    per bucket and model, requests, prompt and completion tokens, errors and latency p50/p95, and the
    moderation flags per bucket. The caller's own usage, or for an admin key every key's (``key`` narrows
    it to one, ``by_key`` splits it by key). What the dashboard draws."""
    state, who = caller(request)
    if not who.admin:
        if key is not None and key != who.key_id:
            raise PermissionDeniedError("only an admin key can see other keys' usage", status_code=403,
                                        param="key", code="admin_required")
        return await state.run(series, state.store, who.key_id, window, bucket)
    out = await state.run(series, state.store, key if key is not None else ANYONE, window, bucket, by_key)
    if by_key:
        names = {r["id"]: r["name"] for r in await state.run(state.store.list_keys)}
        for point in out["data"]:
            point["key_name"] = names.get(point["key_id"])
    return out
