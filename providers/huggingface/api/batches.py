"""``client.batches`` in process: batches in the store of ``LLMAAS_HOME`` (the one ``llmaas serve`` opens), run
by a runner on the client's event loop through this provider's own engine, as batch work (interactive calls
from the same client go first). The runner starts with the first batches call and stops with the client; a
batch left unfinished goes on at the next start of a runner on the home (a client's or a server's)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from llmaas._pagination import PageResult
from llmaas.types import Batch, BatchRequest

if TYPE_CHECKING:
    from llmaas._provider import Provider
    from llmaas.store import Store
    from llmaas.store.batches.runner import BatchRunner
    from llmaas.store.batches.service import BatchService


class InProcessBatches:
    def __init__(self, store: Any, provider: Provider) -> None:
        self._store_of = store  # () -> Store, opened on first use
        self._provider = provider
        self._runner: BatchRunner | None = None
        self._service: BatchService | None = None

    def _ready(self) -> BatchService:
        from llmaas.settings import BatchSettings
        from llmaas.store.batches.execute import provider_executor
        from llmaas.store.batches.runner import BatchRunner
        from llmaas.store.batches.service import BatchService

        if self._service is None:
            settings = BatchSettings.resolve()
            store: Store = self._store_of()
            self._runner = BatchRunner(store, provider_executor(self._provider), settings.batch_concurrency)
            self._service = BatchService(lambda: store, self._runner.kick, settings)
        assert self._runner is not None
        self._runner.start()
        return self._service

    async def create(self, req: BatchRequest) -> Batch:
        from llmaas.store import ANYONE

        body = req.model_dump(exclude_none=True)
        return Batch.model_validate(await self._ready().create(body, None, ANYONE))

    async def retrieve(self, batch_id: str) -> Batch:
        from llmaas.store import ANYONE

        return Batch.model_validate(await self._ready().retrieve(batch_id, ANYONE))

    async def list(self, params: dict[str, Any]) -> PageResult[Batch]:
        from llmaas.store import ANYONE

        rows, more = await self._ready().list(ANYONE, int(params.get("limit") or 20), params.get("after"))
        return PageResult(data=[Batch.model_validate(r) for r in rows], has_more=more)

    async def cancel(self, batch_id: str) -> Batch:
        from llmaas.store import ANYONE

        return Batch.model_validate(await self._ready().cancel(batch_id, ANYONE))

    async def aclose(self) -> None:
        if self._runner is not None:
            await self._runner.stop()
