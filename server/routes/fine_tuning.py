"""/v1/fine_tuning/jobs: the routes and their store. Jobs belong to the key that created them.

Creating a job checks the request thoroughly, stores it queued and starts the worker process
(``server/worker.py``) when none is running; cancelling stops the worker's training within a step.
"""

from __future__ import annotations

import json
import time
from typing import Any

from fastapi import APIRouter, Query, Request

from llmaas._errors import BadRequestError, NotFoundError
from llmaas.types import FineTuningJobRequest

from ..jobs import create_job, get_job, update_job
from ..training_files import InvalidTrainingFile, check_jsonl
from ._common import OPTIONS, caller

router: APIRouter = APIRouter(prefix="/v1/fine_tuning")
MIN_TRAINING_EXAMPLES = 10  # as OpenAI


async def _job(state: Any, job_id: str, owner: str | None) -> dict[str, Any]:
    job = await state.run(get_job, state.store, job_id, owner)
    if job is None:
        raise NotFoundError(f"Could not find fine-tune: {job_id}", status_code=404, param="fine_tuning_job_id",
                            code="fine_tune_not_found")
    return job


def _page(rows: list[Any], limit: int) -> dict[str, Any]:
    data = [json.loads(r["body"]) for r in rows[:limit]]
    return {"object": "list", "data": data, "has_more": len(rows) > limit}


@router.post("/jobs")
async def create(body: FineTuningJobRequest, request: Request) -> Any:
    state, who = caller(request)
    for param, file_id in (("training_file", body.training_file), ("validation_file", body.validation_file)):
        if file_id is not None:
            await _check_file(state, who, param, file_id)
    await state.provider.retrieve_model(body.model, OPTIONS)  # 404 for an unknown base model
    job = await state.run(create_job, state.store, who.key_id, body.model_dump(exclude_none=True))
    state.jobs.kick()
    return job


async def _check_file(state: Any, who: Any, param: str, file_id: str) -> None:
    """The caller's file ``file_id`` holds a valid fine-tuning set (enough examples for training), or 400."""
    row = await state.run(state.store.get_file, file_id, who.sees)
    if row is None:  # missing, or another key's: the same answer
        raise BadRequestError(f"invalid {param}: no such file {file_id!r}", status_code=400, param=param,
                              code="invalid_file")
    if row["purpose"] != "fine-tune":
        raise BadRequestError(f"{param} {file_id!r} was uploaded with purpose {row['purpose']!r}, not "
                              "'fine-tune'", status_code=400, param=param, code="invalid_file")
    content = await state.run(state.store.blob_path(file_id).read_bytes)
    try:
        examples = await state.run(check_jsonl, content)
    except InvalidTrainingFile as exc:
        raise BadRequestError(f"{param} {file_id!r}: {exc}", status_code=400, param=param,
                              code="invalid_file") from None
    least = MIN_TRAINING_EXAMPLES if param == "training_file" else 1
    if examples < least:
        raise BadRequestError(f"{param} {file_id!r} holds {examples} examples; training needs at least {least}",
                              status_code=400, param=param, code="too_few_examples")


@router.get("/jobs")
async def list_jobs(request: Request, limit: int = Query(20, ge=1, le=100), after: str | None = None) -> Any:
    state, who = caller(request)
    sql, args = "SELECT body, created_at, id FROM fine_tuning_jobs WHERE (? = '*' OR owner IS ?)", [who.sees, who.sees]
    if after:
        anchor = await _job(state, after, who.sees)
        sql += " AND (created_at, id) < (?, ?)"
        args += [anchor["created_at"], after]
    rows = await state.run(state.store.query, sql + " ORDER BY created_at DESC, id DESC LIMIT ?", (*args, limit + 1))
    return _page(rows, limit)


@router.get("/jobs/{job_id}")
async def retrieve(job_id: str, request: Request) -> Any:
    state, who = caller(request)
    return await _job(state, job_id, who.sees)


@router.post("/jobs/{job_id}/cancel")
async def cancel(job_id: str, request: Request) -> Any:
    state, who = caller(request)
    job = await _job(state, job_id, who.sees)
    done = await state.run(lambda: update_job(state.store, job_id, event="The job was cancelled",
                                              only_if=frozenset({"validating_files", "queued", "running"}),
                                              status="cancelled", finished_at=int(time.time()),
                                              estimated_finish=None))
    if done is None:  # it had finished: that stays as it was
        raise BadRequestError(f"job {job_id} has already {job['status']}", status_code=400,
                              param="fine_tuning_job_id", code="job_not_cancellable")
    return done


async def _children(request: Request, job_id: str, table: str, order: str, limit: int, after: str | None) -> Any:
    """A page of a job's events or checkpoints, newest first, after the row with id ``after``."""
    state, who = caller(request)
    await _job(state, job_id, who.sees)
    sql, args = f"SELECT body FROM {table} WHERE job_id = ?", [job_id]
    if after:
        sql += f" AND {order} < (SELECT {order} FROM {table} WHERE id = ?)"
        args.append(after)
    rows = await state.run(state.store.query, sql + f" ORDER BY {order} DESC LIMIT ?", (*args, limit + 1))
    return _page(rows, limit)


@router.get("/jobs/{job_id}/events")
async def events(job_id: str, request: Request, limit: int = Query(20, ge=1, le=100), after: str | None = None) -> Any:
    return await _children(request, job_id, "fine_tuning_events", "seq", limit, after)


@router.get("/jobs/{job_id}/checkpoints")
async def checkpoints(job_id: str, request: Request, limit: int = Query(10, ge=1, le=100),
                      after: str | None = None) -> Any:
    return await _children(request, job_id, "fine_tuning_checkpoints", "step", limit, after)
