"""/v1/batches: the routes over ``BatchService`` (shared with the in-process client). A batch belongs to the key
that created it, as do its output and error files; an admin key sees everyone's."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request

from llmaas.store.batches.service import BatchService
from llmaas.types import BatchRequest

from ._common import caller

router: APIRouter = APIRouter(prefix="/v1")


def _service(state: Any) -> BatchService:
    return BatchService(lambda: state.store, state.batches.kick)


@router.post("/batches")
async def create(body: BatchRequest, request: Request) -> Any:
    state, who = caller(request)
    rows: list[Any] = await state.run(state.store.query, "SELECT max_batches, max_batch_tokens FROM api_keys WHERE "
                                      "id = ?", (who.key_id,)) if who.key_id else []
    most: int | None = rows[0]["max_batches"] if rows else None
    most_tokens: int | None = rows[0]["max_batch_tokens"] if rows else None
    return await _service(state).create(body.model_dump(exclude_none=True), who.key_id, who.sees, most, most_tokens)


@router.get("/batches")
async def list_batches(request: Request, limit: int = Query(20, ge=1, le=100), after: str | None = None) -> Any:
    state, who = caller(request)
    rows, more = await _service(state).list(who.sees, limit, after)
    return {"object": "list", "data": rows, "has_more": more, "first_id": rows[0]["id"] if rows else None,
            "last_id": rows[-1]["id"] if rows else None}


@router.get("/batches/{batch_id}")
async def retrieve(batch_id: str, request: Request) -> Any:
    state, who = caller(request)
    return await _service(state).retrieve(batch_id, who.sees)


@router.post("/batches/{batch_id}/cancel")
async def cancel(batch_id: str, request: Request) -> Any:
    state, who = caller(request)
    return await _service(state).cancel(batch_id, who.sees)
