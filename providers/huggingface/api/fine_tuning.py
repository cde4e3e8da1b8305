"""``client.fine_tuning`` in process: jobs in the store of ``LLMAAS_HOME`` (the one ``llmaas serve`` opens),
trained by the home's worker process, which outlives the script that created the job. As with files, the
caller is the machine's own user: new jobs belong to no key and every job in the store is visible."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from llmaas._errors import BadRequestError
from llmaas._options import RequestOptions
from llmaas._pagination import PageResult
from llmaas.providers.huggingface.management.loading import builtin_sources, resolve_source
from llmaas.resources._base import build_request
from llmaas.store import ANYONE, Store
from llmaas.types import FineTuningJob, FineTuningJobCheckpoint, FineTuningJobEvent, FineTuningJobRequest

if TYPE_CHECKING:
    from llmaas.store.jobs.service import FineTuningService


def trainable_base(model: str, extra: dict[str, str] | None, allow_paths: bool) -> str:
    """What the worker loads for base model ``model``: a local chat model's folder or GGUF file."""
    if model.startswith("ft:"):
        raise BadRequestError(f"model {model!r} is a fine-tuned model; fine-tune its base model instead",
                              status_code=400, param="model", code="model_not_trainable")
    source = resolve_source(model, extra, allow_paths)  # 404 for a model that is not here
    if source.kind != "chat":
        raise BadRequestError(f"model {model!r} is an embedding model; only chat models can be fine-tuned",
                              status_code=400, param="model", code="model_not_trainable")
    if model in builtin_sources():
        return model  # the worker finds it (and its converted copy) by name
    return str(source.path / source.gguf_file) if source.gguf_file else str(source.path)


class FineTuningJobs:
    """``client.fine_tuning.jobs`` in process: every job in the home's store, the caller being its user."""

    def __init__(self, store: Callable[[], Store], model_names: Callable[[], dict[str, str]],
                 allow_paths: bool, fingerprint: Callable[[str], str | None] | None = None) -> None:
        self._store = store
        self._fingerprint = fingerprint  # the hash of a base model's weights
        self._model_names = model_names  # names that stand for a path (the models option and the registry)
        self._allow_paths = allow_paths
        self._service: FineTuningService | None = None

    def service(self) -> FineTuningService:
        if self._service is None:
            from llmaas.store.jobs.runner import JobRunner
            from llmaas.store.jobs.service import FineTuningService

            runner = JobRunner(self._store())
            self._service = FineTuningService(self._store, lambda: runner)
        return self._service

    def _base(self, model: str) -> str:
        return trainable_base(model, self._model_names(), self._allow_paths)

    async def create(self, req: FineTuningJobRequest, options: RequestOptions) -> FineTuningJob:
        if options.extra_body:  # checked like the request's own fields (lora is one)
            req = build_request(FineTuningJobRequest, {**req.model_dump(exclude_unset=True), **options.extra_body})
        body = req.model_dump(exclude_none=True)
        job = await self.service().create(body, None, None, self._base, self._fingerprint)
        return FineTuningJob.model_validate(job)

    async def list_jobs(self, params: dict[str, Any]) -> PageResult[FineTuningJob]:
        rows, more = await self.service().list(ANYONE, int(params.get("limit") or 20), params.get("after"))
        return PageResult(data=[FineTuningJob.model_validate(r) for r in rows], has_more=more)

    async def retrieve(self, job_id: str) -> FineTuningJob:
        return FineTuningJob.model_validate(await self.service().retrieve(job_id, ANYONE))

    async def cancel(self, job_id: str) -> FineTuningJob:
        return FineTuningJob.model_validate(await self.service().cancel(job_id, ANYONE))

    async def events(self, job_id: str, params: dict[str, Any]) -> PageResult[FineTuningJobEvent]:
        rows, more = await self.service().children(job_id, ANYONE, "fine_tuning_events",
                                                   int(params.get("limit") or 20), params.get("after"))
        return PageResult(data=[FineTuningJobEvent.model_validate(r) for r in rows], has_more=more)

    async def checkpoints(self, job_id: str, params: dict[str, Any]) -> PageResult[FineTuningJobCheckpoint]:
        rows, more = await self.service().children(job_id, ANYONE, "fine_tuning_checkpoints",
                                                   int(params.get("limit") or 10), params.get("after"))
        return PageResult(data=[FineTuningJobCheckpoint.model_validate(r) for r in rows], has_more=more)
