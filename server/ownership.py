"""Who may use a model. A fine-tuned model and its checkpoints (and an alias naming one) belong to the key
that made them, and to admin keys; to every other key they do not exist, on every route, inference
included: the answer is the one an unknown model gets, word for word."""

from __future__ import annotations

from llmaas._errors import NotFoundError
from llmaas.store import Store, registry

from .state import Caller, ServerState


def unknown_model(model: str) -> NotFoundError:
    """What a model that is not here gets (the in-process provider's own words)."""
    return NotFoundError(f"The model '{model}' does not exist", status_code=404, param="model",
                         code="model_not_found")


def owner_of(store: Store, model: str) -> tuple[bool, str | None]:
    """Whether ``model`` (or the model an alias of it names) was made here, and by which key."""
    rows = store.query("SELECT owner FROM models WHERE id = ?", (registry.resolve(store, model),))
    return (True, rows[0]["owner"]) if rows else (False, None)


def may_use(who: Caller, made_here: bool, owner: str | None) -> bool:
    return who.admin or not made_here or owner == who.key_id


async def require_visible(state: ServerState, who: Caller, model: object) -> None:
    """404, as for a model that does not exist, when ``model`` is another key's."""
    if who.admin or not isinstance(model, str) or not model:
        return
    made_here, owner = await state.run(owner_of, state.store, model)
    if not may_use(who, made_here, owner):
        raise unknown_model(model)


async def require_own_tuned(state: ServerState, who: Caller, model: str) -> None:
    """A fine-tuned name the caller may not see is unknown, whether another key's or made up."""
    made_here, owner = await state.run(owner_of, state.store, model)
    if not made_here or not may_use(who, made_here, owner):
        raise unknown_model(model)
