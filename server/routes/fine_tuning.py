"""/v1/fine_tuning/jobs: the routes over ``FineTuningService`` (shared with the in-process client). Jobs
belong to the key that created them; an admin key sees everyone's.

Creating a job checks the request thoroughly, stores it queued and starts the home's worker process when
none is running; cancelling stops the worker's training within a step.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request

from llmaas._provider import InProcess
from llmaas.providers.huggingface.api.fine_tuning import trainable_base
from llmaas.store.jobs.service import FineTuningService
from llmaas.types import FineTuningJobRequest

from ..ownership import require_own_tuned
from ._common import caller

router: APIRouter = APIRouter(prefix="/v1/fine_tuning")


def _service(state: Any) -> FineTuningService:
    return FineTuningService(lambda: state.store, lambda: state.jobs)


def _page(rows: list[Any], more: bool) -> dict[str, Any]:
    return {"object": "list", "data": rows, "has_more": more}


@router.post("/jobs")
async def create(body: FineTuningJobRequest, request: Request) -> Any:
    state, who = caller(request)
    # a name from the server's registry, never a path; a model only a remote upstream has cannot train here
    provider = state.provider
    if body.model.startswith("ft:"):  # another key's (or no one's) fine-tuned model: unknown, not "fine-tuned"
        await require_own_tuned(state, who, body.model)

    def base(model: str) -> str:  # checked off the event loop, with the service's other store reads
        names = provider.model_names() if isinstance(provider, InProcess) else None
        return trainable_base(model, names, allow_paths=False)

    fingerprint = provider.base_fingerprint if isinstance(provider, InProcess) else None
    return await _service(state).create(body.model_dump(exclude_none=True), who.key_id, who.sees, base,
                                        fingerprint)


@router.get("/jobs")
async def list_jobs(request: Request, limit: int = Query(20, ge=1, le=100), after: str | None = None) -> Any:
    state, who = caller(request)
    return _page(*await _service(state).list(who.sees, limit, after))


@router.get("/jobs/{job_id}")
async def retrieve(job_id: str, request: Request) -> Any:
    state, who = caller(request)
    return await _service(state).retrieve(job_id, who.sees)


@router.post("/jobs/{job_id}/cancel")
async def cancel(job_id: str, request: Request) -> Any:
    state, who = caller(request)
    return await _service(state).cancel(job_id, who.sees)


@router.get("/jobs/{job_id}/events")
async def events(job_id: str, request: Request, limit: int = Query(20, ge=1, le=100), after: str | None = None) -> Any:
    state, who = caller(request)
    return _page(*await _service(state).children(job_id, who.sees, "fine_tuning_events", limit, after))


@router.get("/jobs/{job_id}/checkpoints")
async def checkpoints(job_id: str, request: Request, limit: int = Query(10, ge=1, le=100),
                      after: str | None = None) -> Any:
    state, who = caller(request)
    return _page(*await _service(state).children(job_id, who.sees, "fine_tuning_checkpoints", limit, after))
