"""``client.fine_tuning.jobs`` (with ``list_events``, ``cancel`` and ``checkpoints.list``)."""

from __future__ import annotations

from typing import Any

from typing_extensions import Unpack

from .._pagination import AsyncPaginator, PageResult, SyncPage
from .._provider import Capability, Provider
from .._response import APIResponse, raw, sync_raw
from .._sync import SyncResource, sync_child
from ..types.create_params import FineTuningJobCreateParams, JobListParams, PageParams, RequestOptionsParams
from ..types.fine_tuning import (
    FineTuningJob,
    FineTuningJobCheckpoint,
    FineTuningJobEvent,
    FineTuningJobRequest,
)
from ._base import AsyncAPIResource, build_request, paginate


class _FineTuningResource(AsyncAPIResource):
    def _backend(self) -> Provider:
        return self._default_backend(Capability.FINE_TUNING, "fine-tuning")


class AsyncCheckpoints(_FineTuningResource):
    def list(self, fine_tuning_job_id: str, **params: Unpack[PageParams]) -> AsyncPaginator[FineTuningJobCheckpoint]:
        fields, options = self._split(params)
        backend = self._backend()

        async def fetch(cursor: str | None) -> PageResult[FineTuningJobCheckpoint]:
            return await backend.list_fine_tuning_checkpoints(
                fine_tuning_job_id, {"limit": fields.get("limit"), "after": cursor}, options)

        return paginate(fetch, fields.get("after"))


class AsyncJobs(_FineTuningResource):
    checkpoints: AsyncCheckpoints

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.checkpoints = AsyncCheckpoints(client)

    async def create(self, **params: Unpack[FineTuningJobCreateParams]) -> FineTuningJob:
        """Start fine-tuning ``model`` on an uploaded ``training_file`` (``hyperparameters``, ``suffix``, ...)."""
        fields, options = self._split(params)
        backend = self._backend()
        return await backend.create_fine_tuning_job(build_request(FineTuningJobRequest, fields), options)

    def list(self, **params: Unpack[JobListParams]) -> AsyncPaginator[FineTuningJob]:
        fields, options = self._split(params)
        backend = self._backend()
        metadata: dict[str, str] = fields.get("metadata") or {}
        meta = {f"metadata[{k}]": v for k, v in metadata.items()}

        async def fetch(cursor: str | None) -> PageResult[FineTuningJob]:
            return await backend.list_fine_tuning_jobs({"limit": fields.get("limit"), "after": cursor, **meta},
                                                       options)

        return paginate(fetch, fields.get("after"))

    async def retrieve(self, fine_tuning_job_id: str, **params: Unpack[RequestOptionsParams]) -> FineTuningJob:
        _, options = self._split(params)
        return await self._backend().retrieve_fine_tuning_job(fine_tuning_job_id, options)

    async def cancel(self, fine_tuning_job_id: str, **params: Unpack[RequestOptionsParams]) -> FineTuningJob:
        _, options = self._split(params)
        return await self._backend().cancel_fine_tuning_job(fine_tuning_job_id, options)

    def list_events(self, fine_tuning_job_id: str, **params: Unpack[PageParams]) -> AsyncPaginator[FineTuningJobEvent]:
        fields, options = self._split(params)
        backend = self._backend()

        async def fetch(cursor: str | None) -> PageResult[FineTuningJobEvent]:
            return await backend.list_fine_tuning_events(
                fine_tuning_job_id, {"limit": fields.get("limit"), "after": cursor}, options)

        return paginate(fetch, fields.get("after"))

    @property
    def with_raw_response(self) -> AsyncJobsWithRawResponse:
        return AsyncJobsWithRawResponse(self)


class AsyncJobsWithRawResponse:
    def __init__(self, resource: AsyncJobs) -> None:
        self._resource = resource

    async def create(self, **params: Unpack[FineTuningJobCreateParams]) -> APIResponse[FineTuningJob]:
        return await raw(self._resource.create)(**params)

    async def retrieve(self, fine_tuning_job_id: str, **params: Unpack[RequestOptionsParams]
                       ) -> APIResponse[FineTuningJob]:
        return await raw(self._resource.retrieve)(fine_tuning_job_id, **params)

    async def cancel(self, fine_tuning_job_id: str, **params: Unpack[RequestOptionsParams]) -> APIResponse[FineTuningJob]:
        return await raw(self._resource.cancel)(fine_tuning_job_id, **params)


class AsyncFineTuning(AsyncAPIResource):
    jobs: AsyncJobs

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.jobs = AsyncJobs(client)


class Checkpoints(SyncResource[AsyncCheckpoints]):
    def list(self, fine_tuning_job_id: str, **params: Unpack[PageParams]) -> SyncPage[FineTuningJobCheckpoint]:
        return self._call(self._async.list(fine_tuning_job_id, **params))


class Jobs(SyncResource[AsyncJobs]):
    checkpoints: sync_child[Checkpoints] = sync_child("checkpoints", Checkpoints)

    def create(self, **params: Unpack[FineTuningJobCreateParams]) -> FineTuningJob:
        return self._call(self._async.create(**params))

    def list(self, **params: Unpack[JobListParams]) -> SyncPage[FineTuningJob]:
        return self._call(self._async.list(**params))

    def retrieve(self, fine_tuning_job_id: str, **params: Unpack[RequestOptionsParams]) -> FineTuningJob:
        return self._call(self._async.retrieve(fine_tuning_job_id, **params))

    def cancel(self, fine_tuning_job_id: str, **params: Unpack[RequestOptionsParams]) -> FineTuningJob:
        return self._call(self._async.cancel(fine_tuning_job_id, **params))

    def list_events(self, fine_tuning_job_id: str, **params: Unpack[PageParams]) -> SyncPage[FineTuningJobEvent]:
        return self._call(self._async.list_events(fine_tuning_job_id, **params))

    @property
    def with_raw_response(self) -> JobsWithRawResponse:
        return JobsWithRawResponse(self)


class JobsWithRawResponse:
    def __init__(self, resource: Jobs) -> None:
        self._resource = resource

    def create(self, **params: Unpack[FineTuningJobCreateParams]) -> APIResponse[FineTuningJob]:
        return sync_raw(self._resource.create)(**params)

    def list(self, **params: Unpack[JobListParams]) -> APIResponse[SyncPage[FineTuningJob]]:
        return sync_raw(self._resource.list)(**params)

    def retrieve(self, fine_tuning_job_id: str, **params: Unpack[RequestOptionsParams]) -> APIResponse[FineTuningJob]:
        return sync_raw(self._resource.retrieve)(fine_tuning_job_id, **params)

    def cancel(self, fine_tuning_job_id: str, **params: Unpack[RequestOptionsParams]) -> APIResponse[FineTuningJob]:
        return sync_raw(self._resource.cancel)(fine_tuning_job_id, **params)


class FineTuning(SyncResource[AsyncFineTuning]):
    jobs: sync_child[Jobs] = sync_child("jobs", Jobs)
