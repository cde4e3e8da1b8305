"""GET /v1/models, GET /v1/models/{model}, DELETE /v1/models/{model}."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from llmaas._errors import NotFoundError, PermissionDeniedError

from ._common import OPTIONS, caller, dump

router: APIRouter = APIRouter(prefix="/v1")


@router.get("/models")
async def list_models(request: Request) -> Any:
    state, who = caller(request)
    page = await state.provider.list_models(OPTIONS)
    owners = {r["id"]: r["owner"] for r in await state.run(state.store.query, "SELECT id, owner FROM models")}
    # models made here are their key's (an admin sees all); base models are everyone's
    visible = [m for m in page.data if m.id not in owners or who.admin or owners[m.id] == who.key_id]
    return {"object": "list", "data": [_shown(m, who) for m in visible]}


def _shown(model: Any, who: Any) -> Any:
    """The model as a caller sees it: where its files are on the server's disk is for admins only."""
    body = dump(model)
    if not who.admin and isinstance(body, dict):
        body.pop("source", None)
    return body


@router.get("/ps")
async def running(request: Request) -> Any:
    """What is loaded now (llmaas's ``ps``); an ordinary key sees fine-tuned adapters of its own only."""
    state, who = caller(request)
    loaded = await state.provider.running_models(OPTIONS)
    if not who.admin:
        owners = {r["id"]: r["owner"] for r in await state.run(state.store.query, "SELECT id, owner FROM models")}
        for m in loaded:
            m.adapters = [a for a in m.adapters if owners.get(a) == who.key_id]
    return {"object": "list", "data": [dump(m) for m in loaded]}


@router.get("/models/{model:path}")
async def retrieve_model(model: str, request: Request) -> Any:
    state, who = caller(request)
    rows = await state.run(state.store.query, "SELECT owner FROM models WHERE id = ?", (model,))
    if rows and not who.admin and rows[0]["owner"] != who.key_id:
        raise NotFoundError(f"The model '{model}' does not exist", status_code=404, param="model",
                            code="model_not_found")
    return _shown(await state.provider.retrieve_model(model, OPTIONS), who)


@router.delete("/models/{model:path}")
async def delete_model(model: str, request: Request) -> Any:
    state, who = caller(request)
    rows = await state.run(state.store.query, "SELECT * FROM models WHERE id = ?", (model,))
    if not rows or rows[0]["owner"] != who.key_id:
        await state.provider.retrieve_model(model, OPTIONS)  # 404 for a model nobody has
        if not rows:
            raise PermissionDeniedError(f"model {model!r} is a base model and cannot be deleted", status_code=403,
                                        param="model", code="model_not_deletable")
        raise NotFoundError(f"The model '{model}' does not exist", status_code=404, param="model",
                            code="model_not_found")
    def delete() -> None:
        with state.store.transaction() as db:
            db.execute("DELETE FROM models WHERE id = ?", (model,))

    await state.run(delete)
    return {"id": model, "object": "model", "deleted": True}
