"""/v1/evals: the routes over ``EvalService`` (shared with the in-process client). An eval, its runs and their
items belong to the key that created the eval or run; an admin key sees everyone's. A run calls models as
its key may: a fine-tuned model of another key is a model that does not exist. ``python`` graders are only
those installed with the server (entry points of group ``llmaas.graders``): code in a request is never run."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Body, Query, Request

from llmaas._options import RequestOptions
from llmaas.store.evals.service import EvalService

from ..ownership import require_visible
from ._common import caller

router: APIRouter = APIRouter(prefix="/v1")
Order = Literal["asc", "desc"]


def _service(request: Request) -> tuple[EvalService, Any]:
    state, who = caller(request)

    async def check_model(model: str) -> None:
        await require_visible(state, who, model)
        await state.provider.retrieve_model(model, RequestOptions())

    return EvalService(lambda: state.store, state.evals.kick, check_model), who


def _page(rows: list[dict[str, Any]], more: bool) -> dict[str, Any]:
    return {"object": "list", "data": rows, "has_more": more, "first_id": rows[0]["id"] if rows else None,
            "last_id": rows[-1]["id"] if rows else None}


@router.post("/evals")
async def create(request: Request, body: dict[str, Any] = Body(...)) -> Any:
    service, who = _service(request)
    return await service.create(body, who.key_id)


@router.get("/evals")
async def list_evals(request: Request, limit: int = Query(20, ge=1, le=100), after: str | None = None,
                     order: Order = "asc") -> Any:
    service, who = _service(request)
    return _page(*await service.list(who.sees, limit, after, order))


@router.get("/evals/{eval_id}")
async def retrieve(eval_id: str, request: Request) -> Any:
    service, who = _service(request)
    return await service.retrieve(eval_id, who.sees)


@router.post("/evals/{eval_id}")
async def update(eval_id: str, request: Request, body: dict[str, Any] = Body(...)) -> Any:
    service, who = _service(request)
    return await service.update(eval_id, body, who.sees)


@router.delete("/evals/{eval_id}")
async def delete(eval_id: str, request: Request) -> Any:
    service, who = _service(request)
    return await service.delete(eval_id, who.sees)


@router.post("/evals/{eval_id}/runs")
async def create_run(eval_id: str, request: Request, body: dict[str, Any] = Body(...)) -> Any:
    service, who = _service(request)
    return await service.create_run(eval_id, body, who.key_id, who.sees)


@router.get("/evals/{eval_id}/runs")
async def list_runs(eval_id: str, request: Request, limit: int = Query(20, ge=1, le=100), after: str | None = None,
                    order: Order = "asc",
                    status: Literal["queued", "in_progress", "completed", "canceled", "failed"] | None = None) -> Any:
    service, who = _service(request)
    return _page(*await service.list_runs(eval_id, who.sees, limit, after, order, status))


@router.get("/evals/{eval_id}/runs/{run_id}")
async def retrieve_run(eval_id: str, run_id: str, request: Request) -> Any:
    service, who = _service(request)
    return await service.retrieve_run(eval_id, run_id, who.sees)


@router.post("/evals/{eval_id}/runs/{run_id}")
async def cancel_run(eval_id: str, run_id: str, request: Request) -> Any:
    service, who = _service(request)
    return await service.cancel_run(eval_id, run_id, who.sees)


@router.delete("/evals/{eval_id}/runs/{run_id}")
async def delete_run(eval_id: str, run_id: str, request: Request) -> Any:
    service, who = _service(request)
    return await service.delete_run(eval_id, run_id, who.sees)


@router.get("/evals/{eval_id}/runs/{run_id}/output_items")
async def list_items(eval_id: str, run_id: str, request: Request, limit: int = Query(20, ge=1, le=100),
                     after: str | None = None, order: Order = "asc",
                     status: Literal["pass", "fail", "error"] | None = None) -> Any:
    service, who = _service(request)
    return _page(*await service.list_items(eval_id, run_id, who.sees, limit, after, order, status))


@router.get("/evals/{eval_id}/runs/{run_id}/output_items/{item_id}")
async def retrieve_item(eval_id: str, run_id: str, item_id: str, request: Request) -> Any:
    service, who = _service(request)
    return await service.retrieve_item(eval_id, run_id, item_id, who.sees)
