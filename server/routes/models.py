"""The models: OpenAI's ``GET /v1/models``, ``GET /v1/models/{model}`` and ``DELETE /v1/models/{model}``, and
llmaas's own: ``GET /v1/ps`` (what is loaded), ``POST /v1/models`` (register a folder or GGUF file),
``POST /v1/aliases``, ``POST /v1/models/{model}/load`` and ``/unload``. Changing the registry or what is
loaded is for admin keys: registering reads the server's disk, under the folders ``--model-dir`` names."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from llmaas._errors import PermissionDeniedError
from llmaas._json import is_object
from llmaas.types import ModelAliasRequest, ModelRegisterRequest

from ..ownership import require_visible, unknown_model
from ..state import Caller
from ._common import OPTIONS, caller, dump

router: APIRouter = APIRouter(prefix="/v1")


def _require_admin(who: Caller, what: str) -> None:
    if not who.admin:
        raise PermissionDeniedError(f"{what} needs an admin key", status_code=403, code="admin_required")


@router.get("/models")
async def list_models(request: Request) -> Any:
    state, who = caller(request)
    page = await state.provider.list_models(OPTIONS)
    owners = {r["id"]: r["owner"] for r in await state.run(state.store.query, "SELECT id, owner FROM models")}
    # models made here are their key's (an admin sees all); base and registered models are everyone's
    visible = [m for m in page.data if m.id not in owners or who.admin or owners[m.id] == who.key_id]
    return {"object": "list", "data": [_shown(m, who) for m in visible]}


def _shown(model: Any, who: Caller) -> Any:
    """The model as a caller sees it: where its files are on the server's disk is for admins only."""
    body = dump(model)
    if not who.admin and is_object(body):
        body.pop("source", None)
    return body


@router.post("/models")
async def register_model(body: ModelRegisterRequest, request: Request) -> Any:
    state, who = caller(request)
    _require_admin(who, "registering a model")
    return _shown(await state.provider.register_model(body.name, body.path, OPTIONS), who)


@router.post("/aliases")
async def alias_model(body: ModelAliasRequest, request: Request) -> Any:
    state, who = caller(request)
    _require_admin(who, "creating an alias")
    return _shown(await state.provider.alias_model(body.name, body.model, OPTIONS), who)


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


@router.post("/models/{model:path}/load")
async def load_model(model: str, request: Request) -> Any:
    state, who = caller(request)
    _require_admin(who, "loading a model")
    return dump(await state.provider.load_model(model, OPTIONS))


@router.post("/models/{model:path}/unload")
async def unload_model(model: str, request: Request) -> Any:
    state, who = caller(request)
    _require_admin(who, "unloading a model")
    return dump(await state.provider.unload_model(model, OPTIONS))


@router.get("/models/{model:path}")
async def retrieve_model(model: str, request: Request) -> Any:
    state, who = caller(request)
    await require_visible(state, who, model)
    return _shown(await state.provider.retrieve_model(model, OPTIONS), who)


@router.delete("/models/{model:path}")
async def delete_model(model: str, request: Request, force: bool = False) -> Any:
    """A fine-tuned model is its key's to delete; registered models and aliases are an admin key's."""
    state, who = caller(request)
    rows = await state.run(state.store.query, "SELECT owner FROM models WHERE id = ?", (model,))
    if rows:  # a model fine-tuned here: gone from the store, it is served no more (whatever the provider)
        if not who.admin and rows[0]["owner"] != who.key_id:
            raise unknown_model(model)

        def delete() -> None:
            with state.store.transaction() as db:
                db.execute("DELETE FROM models WHERE id = ?", (model,))

        await state.run(delete)
        return {"id": model, "object": "model", "deleted": True}
    if await state.run(state.store.query, "SELECT 1 FROM registered_models WHERE id = ?", (model,)):
        _require_admin(who, "deleting a registered model or alias")
    deleted = await state.provider.delete_model(model, OPTIONS, force=force) if force else \
        await state.provider.delete_model(model, OPTIONS)
    return dump(deleted)
