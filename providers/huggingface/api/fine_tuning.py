"""``client.fine_tuning`` in process: jobs in the store of ``LLMAAS_HOME`` (the one ``llmaas serve`` opens),
trained by the home's worker process, which outlives the script that created the job. As with files, the
caller is the machine's own user: new jobs belong to no key and every job in the store is visible."""

from __future__ import annotations

from typing import Any

from llmaas._errors import BadRequestError
from llmaas._options import RequestOptions
from llmaas._pagination import PageResult
from llmaas.providers.huggingface.management.loading import builtin_sources, resolve_source
from llmaas.resources._base import build_request
from llmaas.types import FineTuningJob, FineTuningJobCheckpoint, FineTuningJobEvent, FineTuningJobRequest


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


class FineTuningMixin:
    """The fine-tuning methods of the Hugging Face provider (which supplies ``files``, ``extra_models`` and
    ``allow_paths``)."""

    files: Any
    extra_models: dict[str, str]
    model_names: Any  # () -> names that stand for a path (the models option and the registry)
    allow_paths: bool
    _tuning: Any = None

    def _service(self) -> Any:
        if self._tuning is None:
            from llmaas.store.jobs.runner import JobRunner
            from llmaas.store.jobs.service import FineTuningService

            runner = JobRunner(self.files.store())
            self._tuning = FineTuningService(self.files.store, lambda: runner)
        return self._tuning

    async def create_fine_tuning_job(self, req: FineTuningJobRequest, options: RequestOptions) -> FineTuningJob:
        if options.extra_body:  # checked like the request's own fields (lora is one)
            req = build_request(FineTuningJobRequest, {**req.model_dump(exclude_unset=True), **options.extra_body})
        body = req.model_dump(exclude_none=True)
        job = await self._service().create(body, None, None,
                                           lambda m: trainable_base(m, self.model_names(), self.allow_paths))
        return FineTuningJob.model_validate(job)

    async def list_fine_tuning_jobs(self, params: dict[str, Any], options: RequestOptions) -> PageResult[FineTuningJob]:
        from llmaas.store import ANYONE

        rows, more = await self._service().list(ANYONE, int(params.get("limit") or 20), params.get("after"))
        return PageResult(data=[FineTuningJob.model_validate(r) for r in rows], has_more=more)

    async def retrieve_fine_tuning_job(self, job_id: str, options: RequestOptions) -> FineTuningJob:
        from llmaas.store import ANYONE

        return FineTuningJob.model_validate(await self._service().retrieve(job_id, ANYONE))

    async def cancel_fine_tuning_job(self, job_id: str, options: RequestOptions) -> FineTuningJob:
        from llmaas.store import ANYONE

        return FineTuningJob.model_validate(await self._service().cancel(job_id, ANYONE))

    async def list_fine_tuning_events(self, job_id: str, params: dict[str, Any],
                                      options: RequestOptions) -> PageResult[FineTuningJobEvent]:
        from llmaas.store import ANYONE

        rows, more = await self._service().children(job_id, ANYONE, "fine_tuning_events",
                                                    int(params.get("limit") or 20), params.get("after"))
        return PageResult(data=[FineTuningJobEvent.model_validate(r) for r in rows], has_more=more)

    async def list_fine_tuning_checkpoints(self, job_id: str, params: dict[str, Any],
                                           options: RequestOptions) -> PageResult[FineTuningJobCheckpoint]:
        from llmaas.store import ANYONE

        rows, more = await self._service().children(job_id, ANYONE, "fine_tuning_checkpoints",
                                                    int(params.get("limit") or 10), params.get("after"))
        return PageResult(data=[FineTuningJobCheckpoint.model_validate(r) for r in rows], has_more=more)
