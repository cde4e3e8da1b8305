"""The server's batch runner: each batch request runs as its key's interactive requests would (its output
bound, its deadline, its guardrails screening the input), through the server's provider, as batch work."""

from __future__ import annotations

from typing import Any

from llmaas._errors import AuthenticationError
from llmaas._options import RequestOptions
from llmaas.settings import BatchSettings
from llmaas.store.batches.execute import provider_executor
from llmaas.store.batches.runner import BatchRunner
from llmaas.store.database import Record

from .bounds import bound_tokens, options_for
from .state import Caller, ServerState


def owner_of(state: ServerState, batch: Record) -> Caller:
    """The key a batch belongs to, as a caller (keyless: the machine's own user); a revoked key's batch stops."""
    key_id = batch["owner"]
    if key_id is None:
        return Caller(None, admin=True)
    rows = state.store.query("SELECT * FROM api_keys WHERE id = ?", (key_id,))
    if not rows or rows[0]["revoked_at"] is not None:
        raise AuthenticationError(f"the key {key_id} that created this batch was revoked", status_code=401,
                                  code="invalid_api_key")
    return Caller.of_key(rows[0])


def batch_runner(state: ServerState) -> BatchRunner:
    async def prepare(batch: Record, req: Any) -> Any:
        who = await state.run(owner_of, state, batch)
        req = bound_tokens(state.config.bounds, who, req)
        req, _ = await state.guard.screen_input(req, who)
        return req

    def options(batch: Record) -> RequestOptions:
        try:
            who = owner_of(state, batch)
        except AuthenticationError:
            who = Caller(None)
        return options_for(state.config.bounds, who, {})

    settings = BatchSettings.resolve()
    return BatchRunner(state.store, provider_executor(state.provider, prepare, options), settings.batch_concurrency)
