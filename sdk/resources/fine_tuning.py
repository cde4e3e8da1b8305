"""``client.fine_tuning.jobs`` (with ``list_events``, ``cancel`` and ``checkpoints.list``)."""

from __future__ import annotations

from typing import Any

from typing_extensions import Unpack

from .._pagination import AsyncPaginator, PageResult, SyncPage
from .._provider import Capability, Provider
from .._response import APIResponse, RawView, raw, sync_raw
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
    """``client.fine_tuning.jobs.checkpoints``: the checkpoints a fine-tuning job saved."""
    def list(self, fine_tuning_job_id: str, **params: Unpack[PageParams]) -> AsyncPaginator[FineTuningJobCheckpoint]:
        """The checkpoints of job ``fine_tuning_job_id``, with their step and metrics: a page that iterates on
        through every checkpoint (on the async client, ``await`` it for the page or ``async for`` over it)."""
        fields, options = self._split(params)
        backend = self._backend()

        async def fetch(cursor: str | None) -> PageResult[FineTuningJobCheckpoint]:
            return await backend.list_fine_tuning_checkpoints(
                fine_tuning_job_id, {"limit": fields.get("limit"), "after": cursor}, options)

        return paginate(fetch, fields.get("after"))


class AsyncJobs(_FineTuningResource):
    """``client.fine_tuning.jobs``: LoRA fine-tuning jobs on a training file, run by the server's or the in-
    process job worker."""
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
        """The fine-tuning jobs of this key, newest first: a page that iterates on through every job (on the
        async client, ``await`` it for the page or ``async for`` over it)."""
        fields, options = self._split(params)
        backend = self._backend()
        metadata: dict[str, str] = fields.get("metadata") or {}
        meta = {f"metadata[{k}]": v for k, v in metadata.items()}

        async def fetch(cursor: str | None) -> PageResult[FineTuningJob]:
            return await backend.list_fine_tuning_jobs({"limit": fields.get("limit"), "after": cursor, **meta},
                                                       options)

        return paginate(fetch, fields.get("after"))

    async def retrieve(self, fine_tuning_job_id: str, **params: Unpack[RequestOptionsParams]) -> FineTuningJob:
        """Job ``fine_tuning_job_id``: status, trained tokens, ``fine_tuned_model`` once it succeeded, and the
        eval comparison when ``evals`` were given."""
        _, options = self._split(params)
        return await self._backend().retrieve_fine_tuning_job(fine_tuning_job_id, options)

    async def cancel(self, fine_tuning_job_id: str, **params: Unpack[RequestOptionsParams]) -> FineTuningJob:
        """Cancel job ``fine_tuning_job_id``; it stops at its next step. A finished job is returned unchanged."""
        _, options = self._split(params)
        return await self._backend().cancel_fine_tuning_job(fine_tuning_job_id, options)

    def list_events(self, fine_tuning_job_id: str, **params: Unpack[PageParams]) -> AsyncPaginator[FineTuningJobEvent]:
        """The events of job ``fine_tuning_job_id`` (progress with loss, status changes), newest first: a page
        that iterates on through every event (on the async client, ``await`` it for the page or ``async for``
        over it)."""
        fields, options = self._split(params)
        backend = self._backend()

        async def fetch(cursor: str | None) -> PageResult[FineTuningJobEvent]:
            return await backend.list_fine_tuning_events(
                fine_tuning_job_id, {"limit": fields.get("limit"), "after": cursor}, options)

        return paginate(fetch, fields.get("after"))

    @property
    def with_raw_response(self) -> AsyncJobsWithRawResponse:
        """The same calls, answered with the HTTP response (status, headers, request id) and ``parse()``."""
        return AsyncJobsWithRawResponse(self)


class AsyncJobsWithRawResponse(RawView[AsyncJobs]):
    async def create(self, **params: Unpack[FineTuningJobCreateParams]) -> APIResponse[FineTuningJob]:
        return await raw(self._resource.create)(**params)

    async def retrieve(self, fine_tuning_job_id: str, **params: Unpack[RequestOptionsParams]
                       ) -> APIResponse[FineTuningJob]:
        return await raw(self._resource.retrieve)(fine_tuning_job_id, **params)

    async def cancel(self, fine_tuning_job_id: str, **params: Unpack[RequestOptionsParams]) -> APIResponse[FineTuningJob]:
        return await raw(self._resource.cancel)(fine_tuning_job_id, **params)


class AsyncFineTuning(AsyncAPIResource):
    """``client.fine_tuning``: holds ``jobs``."""
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


class JobsWithRawResponse(RawView[Jobs]):
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
