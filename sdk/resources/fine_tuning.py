"""``client.fine_tuning.jobs`` (with ``list_events``, ``cancel`` and ``checkpoints.list``)."""

from __future__ import annotations

from typing import Any

from .._pagination import AsyncPage
from .._provider import Capability, Provider
from .._sync import SyncResource, sync_child, to_sync
from ..types.fine_tuning import (
    FineTuningJob,
    FineTuningJobCheckpoint,
    FineTuningJobEvent,
    FineTuningJobRequest,
)
from ._base import AsyncAPIResource, build_request, split_options


class _FineTuningResource(AsyncAPIResource):
    def _backend(self) -> Provider:
        return self._default_backend(Capability.FINE_TUNING, "fine-tuning")


class AsyncCheckpoints(_FineTuningResource):
    async def list(self, fine_tuning_job_id: str, *, limit: int | None = None, after: str | None = None,
                   **kwargs: Any) -> AsyncPage[FineTuningJobCheckpoint]:
        _, options = split_options(kwargs)
        backend = self._backend()

        async def fetch(cursor: str | None) -> Any:
            return await backend.list_fine_tuning_checkpoints(fine_tuning_job_id, {"limit": limit, "after": cursor},
                                                              options)

        return AsyncPage(await fetch(after), fetch)


class AsyncJobs(_FineTuningResource):
    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.checkpoints = AsyncCheckpoints(client)

    async def create(self, *, model: str, training_file: str, **kwargs: Any) -> FineTuningJob:
        """Start fine-tuning ``model`` on an uploaded ``training_file`` (``hyperparameters``, ``suffix``, ...)."""
        params, options = split_options(kwargs)
        backend = self._backend()
        req = build_request(FineTuningJobRequest, {**params, "model": model, "training_file": training_file})
        return await backend.create_fine_tuning_job(req, options)

    async def list(self, *, limit: int | None = None, after: str | None = None,
                   metadata: dict[str, str] | None = None, **kwargs: Any) -> AsyncPage[FineTuningJob]:
        _, options = split_options(kwargs)
        backend = self._backend()
        meta = {f"metadata[{k}]": v for k, v in (metadata or {}).items()}

        async def fetch(cursor: str | None) -> Any:
            return await backend.list_fine_tuning_jobs({"limit": limit, "after": cursor, **meta}, options)

        return AsyncPage(await fetch(after), fetch)

    async def retrieve(self, fine_tuning_job_id: str, **kwargs: Any) -> FineTuningJob:
        _, options = split_options(kwargs)
        return await self._backend().retrieve_fine_tuning_job(fine_tuning_job_id, options)

    async def cancel(self, fine_tuning_job_id: str, **kwargs: Any) -> FineTuningJob:
        _, options = split_options(kwargs)
        return await self._backend().cancel_fine_tuning_job(fine_tuning_job_id, options)

    async def list_events(self, fine_tuning_job_id: str, *, limit: int | None = None, after: str | None = None,
                          **kwargs: Any) -> AsyncPage[FineTuningJobEvent]:
        _, options = split_options(kwargs)
        backend = self._backend()

        async def fetch(cursor: str | None) -> Any:
            return await backend.list_fine_tuning_events(fine_tuning_job_id, {"limit": limit, "after": cursor},
                                                         options)

        return AsyncPage(await fetch(after), fetch)


class AsyncFineTuning(AsyncAPIResource):
    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.jobs = AsyncJobs(client)


class Checkpoints(SyncResource[AsyncCheckpoints]):
    list = to_sync(AsyncCheckpoints.list)


class Jobs(SyncResource[AsyncJobs]):
    create = to_sync(AsyncJobs.create)
    list = to_sync(AsyncJobs.list)
    retrieve = to_sync(AsyncJobs.retrieve)
    cancel = to_sync(AsyncJobs.cancel)
    list_events = to_sync(AsyncJobs.list_events)
    checkpoints = sync_child("checkpoints", Checkpoints)


class FineTuning(SyncResource[AsyncFineTuning]):
    jobs = sync_child("jobs", Jobs)
