"""``client.evals``: define an eval (a data source config and testing criteria), run it against models
(``evals.runs``), and read each item's answer and grades (``evals.runs.output_items``), in OpenAI's shapes.
In process, runs go on in the background of the client's event loop; on a server, in the server."""

from __future__ import annotations

import time
from typing import Any

import anyio
from typing_extensions import Unpack

from .._pagination import AsyncPaginator, PageResult, SyncPage
from .._provider import Capability, Provider
from .._sync import SyncResource, sync_child
from ..types.create_params import (
    EvalCreateParams,
    EvalListParams,
    EvalRunCreateParams,
    EvalRunListParams,
    EvalUpdateParams,
    OutputItemListParams,
    RequestOptionsParams,
)
from ..types.evals import Eval, EvalDeleted, EvalRun, EvalRunDeleted, EvalRunOutputItem
from ._base import AsyncAPIResource, paginate


def _body(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None}


class _EvalsResource(AsyncAPIResource):
    def _backend(self) -> Provider:
        return self._default_backend(Capability.EVALS, "evals")


class AsyncOutputItems(_EvalsResource):
    """``client.evals.runs.output_items``: the graded items of an eval run."""
    def list(self, run_id: str, *, eval_id: str, **params: Unpack[OutputItemListParams]
             ) -> AsyncPaginator[EvalRunOutputItem]:
        """A run's graded items, in the data source's order (``status``: only ``pass``, ``fail`` or ``error``)."""
        fields, options = self._split(params)
        backend = self._backend()

        async def fetch(cursor: str | None) -> PageResult[EvalRunOutputItem]:
            return await backend.list_eval_output_items(eval_id, run_id, {
                "limit": fields.get("limit"), "after": cursor, "order": fields.get("order"),
                "status": fields.get("status")}, options)

        return paginate(fetch, fields.get("after"))

    async def retrieve(self, output_item_id: str, *, eval_id: str, run_id: str,
                       **params: Unpack[RequestOptionsParams]) -> EvalRunOutputItem:
        """Item ``output_item_id`` of run ``run_id``: the sample the model gave, each grader's result, and the
        usage."""
        _, options = self._split(params)
        return await self._backend().retrieve_eval_output_item(eval_id, run_id, output_item_id, options)


class AsyncRuns(_EvalsResource):
    """``client.evals.runs``: runs of an eval on a data source (a model and its items), graded in the background."""
    output_items: AsyncOutputItems

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.output_items = AsyncOutputItems(client)

    async def create(self, eval_id: str, **params: Unpack[EvalRunCreateParams]) -> EvalRun:
        """Run the eval on ``data_source`` (its items, and the model under test for ``completions``); the run
        is ``queued`` at once and graded in the background."""
        fields, options = self._split(params)
        return await self._backend().create_eval_run(eval_id, _body(fields), options)

    async def retrieve(self, run_id: str, *, eval_id: str, **params: Unpack[RequestOptionsParams]) -> EvalRun:
        """Run ``run_id`` of eval ``eval_id``: status, ``result_counts``, ``per_testing_criteria_results`` and
        ``per_model_usage``."""
        _, options = self._split(params)
        return await self._backend().retrieve_eval_run(eval_id, run_id, options)

    def list(self, eval_id: str, **params: Unpack[EvalRunListParams]) -> AsyncPaginator[EvalRun]:
        """The runs of eval ``eval_id``: a page that iterates on through every run (on the async client,
        ``await`` it for the page or ``async for`` over it)."""
        fields, options = self._split(params)
        backend = self._backend()

        async def fetch(cursor: str | None) -> PageResult[EvalRun]:
            return await backend.list_eval_runs(eval_id, {"limit": fields.get("limit"), "after": cursor,
                                                          "order": fields.get("order"),
                                                          "status": fields.get("status")}, options)

        return paginate(fetch, fields.get("after"))

    async def cancel(self, run_id: str, *, eval_id: str, **params: Unpack[RequestOptionsParams]) -> EvalRun:
        """Stop a queued or running run; the items graded so far stay."""
        _, options = self._split(params)
        return await self._backend().cancel_eval_run(eval_id, run_id, options)

    async def delete(self, run_id: str, *, eval_id: str, **params: Unpack[RequestOptionsParams]) -> EvalRunDeleted:
        """Delete run ``run_id`` and its graded items."""
        _, options = self._split(params)
        return await self._backend().delete_eval_run(eval_id, run_id, options)

    async def poll(self, run_id: str, *, eval_id: str, poll_interval: float = 1.0, timeout: float | None = None
                   ) -> EvalRun:
        """Wait until the run has ended (completed, canceled or failed) and return it; ``timeout`` seconds at
        most (then ``TimeoutError``)."""
        start = time.monotonic()
        while True:
            run = await self.retrieve(run_id, eval_id=eval_id)
            if run.done:
                return run
            if timeout is not None and time.monotonic() - start > timeout:
                raise TimeoutError(f"eval run {run_id} is still {run.status} after {timeout} s")
            await anyio.sleep(poll_interval)


class AsyncEvals(_EvalsResource):
    """``client.evals``: evaluations in OpenAI's shapes (a data source config and testing criteria), run on any
    model with ``runs.create``."""
    runs: AsyncRuns

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.runs = AsyncRuns(client)

    async def create(self, **params: Unpack[EvalCreateParams]) -> Eval:
        """Define an eval: ``data_source_config`` (``{"type": "custom", "item_schema": ...}``) and
        ``testing_criteria`` (graders), each checked against the item schema before anything is stored."""
        fields, options = self._split(params)
        return await self._backend().create_eval(_body(fields), options)

    async def retrieve(self, eval_id: str, **params: Unpack[RequestOptionsParams]) -> Eval:
        """Eval ``eval_id`` with its data source config and testing criteria."""
        _, options = self._split(params)
        return await self._backend().retrieve_eval(eval_id, options)

    async def update(self, eval_id: str, **params: Unpack[EvalUpdateParams]) -> Eval:
        """Rename an eval or replace its metadata."""
        fields, options = self._split(params)
        return await self._backend().update_eval(eval_id, _body(fields), options)

    def list(self, **params: Unpack[EvalListParams]) -> AsyncPaginator[Eval]:
        """The evals of this key: a page that iterates on through every eval (on the async client, ``await``
        it for the page or ``async for`` over it)."""
        fields, options = self._split(params)
        backend = self._backend()

        async def fetch(cursor: str | None) -> PageResult[Eval]:
            return await backend.list_evals({"limit": fields.get("limit"), "after": cursor,
                                             "order": fields.get("order")}, options)

        return paginate(fetch, fields.get("after"))

    async def delete(self, eval_id: str, **params: Unpack[RequestOptionsParams]) -> EvalDeleted:
        """Delete an eval with its runs and their results."""
        _, options = self._split(params)
        return await self._backend().delete_eval(eval_id, options)


class OutputItems(SyncResource[AsyncOutputItems]):
    def list(self, run_id: str, *, eval_id: str, **params: Unpack[OutputItemListParams]
             ) -> SyncPage[EvalRunOutputItem]:
        return self._call(self._async.list(run_id, eval_id=eval_id, **params))

    def retrieve(self, output_item_id: str, *, eval_id: str, run_id: str,
                 **params: Unpack[RequestOptionsParams]) -> EvalRunOutputItem:
        return self._call(self._async.retrieve(output_item_id, eval_id=eval_id, run_id=run_id, **params))


class Runs(SyncResource[AsyncRuns]):
    output_items: sync_child[OutputItems] = sync_child("output_items", OutputItems)

    def create(self, eval_id: str, **params: Unpack[EvalRunCreateParams]) -> EvalRun:
        return self._call(self._async.create(eval_id, **params))

    def retrieve(self, run_id: str, *, eval_id: str, **params: Unpack[RequestOptionsParams]) -> EvalRun:
        return self._call(self._async.retrieve(run_id, eval_id=eval_id, **params))

    def list(self, eval_id: str, **params: Unpack[EvalRunListParams]) -> SyncPage[EvalRun]:
        return self._call(self._async.list(eval_id, **params))

    def cancel(self, run_id: str, *, eval_id: str, **params: Unpack[RequestOptionsParams]) -> EvalRun:
        return self._call(self._async.cancel(run_id, eval_id=eval_id, **params))

    def delete(self, run_id: str, *, eval_id: str, **params: Unpack[RequestOptionsParams]) -> EvalRunDeleted:
        return self._call(self._async.delete(run_id, eval_id=eval_id, **params))

    def poll(self, run_id: str, *, eval_id: str, poll_interval: float = 1.0, timeout: float | None = None) -> EvalRun:
        return self._call(self._async.poll(run_id, eval_id=eval_id, poll_interval=poll_interval, timeout=timeout))


class Evals(SyncResource[AsyncEvals]):
    runs: sync_child[Runs] = sync_child("runs", Runs)

    def create(self, **params: Unpack[EvalCreateParams]) -> Eval:
        return self._call(self._async.create(**params))

    def retrieve(self, eval_id: str, **params: Unpack[RequestOptionsParams]) -> Eval:
        return self._call(self._async.retrieve(eval_id, **params))

    def update(self, eval_id: str, **params: Unpack[EvalUpdateParams]) -> Eval:
        return self._call(self._async.update(eval_id, **params))

    def list(self, **params: Unpack[EvalListParams]) -> SyncPage[Eval]:
        return self._call(self._async.list(**params))

    def delete(self, eval_id: str, **params: Unpack[RequestOptionsParams]) -> EvalDeleted:
        return self._call(self._async.delete(eval_id, **params))
