"""``client.evals`` in process: evals and their runs in the store of ``LLMAAS_HOME`` (the one ``llmaas serve``
opens), run by a runner on the client's event loop through this provider's own models, as batch work
(interactive calls from the same client go first). The runner starts with the first evals call and stops with
the client; a run left unfinished goes on at the next start of a runner on the home (a client's or a
server's)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from llmaas._options import RequestOptions
from llmaas._pagination import PageResult
from llmaas.types import Eval, EvalDeleted, EvalRun, EvalRunDeleted, EvalRunOutputItem

if TYPE_CHECKING:
    from llmaas._provider import Provider
    from llmaas.store import Store
    from llmaas.store.evals.runner import EvalRunner
    from llmaas.store.evals.service import EvalService


def _page(params: dict[str, Any]) -> tuple[int, str | None, str]:
    return int(params.get("limit") or 20), params.get("after"), params.get("order") or "asc"


class InProcessEvals:
    def __init__(self, store: Any, provider: Provider) -> None:
        self._store_of = store  # () -> Store, opened on first use
        self._provider = provider
        self._runner: EvalRunner | None = None
        self._service: EvalService | None = None

    def _ready(self) -> EvalService:
        from llmaas import AsyncClient
        from llmaas.settings import BatchSettings
        from llmaas.store.evals.runner import EvalRunner
        from llmaas.store.evals.service import EvalService

        if self._service is None:
            store: Store = self._store_of()
            provider = self._provider

            async def check_model(model: str) -> None:
                await provider.retrieve_model(model, RequestOptions())

            self._runner = EvalRunner(store, AsyncClient(provider=provider), BatchSettings.resolve().eval_concurrency)
            self._service = EvalService(lambda: store, self._runner.kick, check_model)
        assert self._runner is not None
        self._runner.start()
        return self._service

    def start(self) -> None:
        """Work through the home's queued runs on this client's loop (a fine-tuning job's evals, say)."""
        self._ready()

    async def create(self, body: dict[str, Any]) -> Eval:
        return Eval.model_validate(await self._ready().create(body, None))

    async def retrieve(self, eval_id: str) -> Eval:
        from llmaas.store import ANYONE

        return Eval.model_validate(await self._ready().retrieve(eval_id, ANYONE))

    async def update(self, eval_id: str, body: dict[str, Any]) -> Eval:
        from llmaas.store import ANYONE

        return Eval.model_validate(await self._ready().update(eval_id, body, ANYONE))

    async def list(self, params: dict[str, Any]) -> PageResult[Eval]:
        from llmaas.store import ANYONE

        rows, more = await self._ready().list(ANYONE, *_page(params))
        return PageResult(data=[Eval.model_validate(r) for r in rows], has_more=more)

    async def delete(self, eval_id: str) -> EvalDeleted:
        from llmaas.store import ANYONE

        return EvalDeleted.model_validate(await self._ready().delete(eval_id, ANYONE))

    async def create_run(self, eval_id: str, body: dict[str, Any]) -> EvalRun:
        from llmaas.store import ANYONE

        return EvalRun.model_validate(await self._ready().create_run(eval_id, body, None, ANYONE))

    async def retrieve_run(self, eval_id: str, run_id: str) -> EvalRun:
        from llmaas.store import ANYONE

        return EvalRun.model_validate(await self._ready().retrieve_run(eval_id, run_id, ANYONE))

    async def list_runs(self, eval_id: str, params: dict[str, Any]) -> PageResult[EvalRun]:
        from llmaas.store import ANYONE

        rows, more = await self._ready().list_runs(eval_id, ANYONE, *_page(params), params.get("status"))
        return PageResult(data=[EvalRun.model_validate(r) for r in rows], has_more=more)

    async def cancel_run(self, eval_id: str, run_id: str) -> EvalRun:
        from llmaas.store import ANYONE

        return EvalRun.model_validate(await self._ready().cancel_run(eval_id, run_id, ANYONE))

    async def delete_run(self, eval_id: str, run_id: str) -> EvalRunDeleted:
        from llmaas.store import ANYONE

        return EvalRunDeleted.model_validate(await self._ready().delete_run(eval_id, run_id, ANYONE))

    async def list_items(self, eval_id: str, run_id: str, params: dict[str, Any]) -> PageResult[EvalRunOutputItem]:
        from llmaas.store import ANYONE

        rows, more = await self._ready().list_items(eval_id, run_id, ANYONE, *_page(params), params.get("status"))
        return PageResult(data=[EvalRunOutputItem.model_validate(r) for r in rows], has_more=more)

    async def retrieve_item(self, eval_id: str, run_id: str, item_id: str) -> EvalRunOutputItem:
        from llmaas.store import ANYONE

        return EvalRunOutputItem.model_validate(await self._ready().retrieve_item(eval_id, run_id, item_id, ANYONE))

    async def aclose(self) -> None:
        if self._runner is not None:
            await self._runner.stop()
