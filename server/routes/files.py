"""/v1/files: upload, list, retrieve, delete, content. Files belong to the key that uploaded them; an admin
key sees and manages every key's files."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import Response

from llmaas._errors import BadRequestError, NotFoundError
from llmaas.settings import BatchSettings, FineTuningSettings
from llmaas.store import FILE_PURPOSES, file_object
from llmaas.store.batch_files import check_upload
from llmaas.store.evals.service import check_evals_file
from llmaas.store.training_files import InvalidTrainingFile, check_jsonl

from ._common import caller

router: APIRouter = APIRouter(prefix="/v1")

def _missing(file_id: str) -> NotFoundError:
    return NotFoundError(f"No such File object: {file_id}", status_code=404, param="id", code="file_not_found")


@router.post("/files")
async def upload(request: Request, file: UploadFile = File(...), purpose: str = Form(...)) -> Any:
    state, who = caller(request)
    if purpose not in FILE_PURPOSES:
        raise BadRequestError(f"purpose must be one of {sorted(FILE_PURPOSES)}, got {purpose!r}", status_code=400,
                              param="purpose")
    content = await file.read()
    if not content:
        raise BadRequestError("the uploaded file is empty", status_code=400, param="file")
    if purpose == "fine-tune":
        await state.run(_check_jsonl, content)
    elif purpose == "batch":
        await state.run(check_upload, content, BatchSettings.resolve().limits())
    elif purpose == "evals":
        await state.run(check_evals_file, content)
    name = file.filename or "upload"
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequestError("the file name is not valid UTF-8", status_code=400, param="file") from None
    return file_object(await state.run(state.store.add_file, who.key_id, name, purpose, content))


def _check_jsonl(content: bytes) -> None:
    try:
        check_jsonl(content, FineTuningSettings.resolve().limits())
    except InvalidTrainingFile as exc:
        raise BadRequestError(str(exc), status_code=400, param="file", code="invalid_file") from None


@router.get("/files")
async def list_files(request: Request, purpose: str | None = None, limit: int = Query(10000, ge=1, le=10000),
                     order: str = Query("desc", pattern="^(asc|desc)$"), after: str | None = None) -> Any:
    state, who = caller(request)
    if after and await state.run(state.store.get_file, after, who.sees) is None:  # as jobs?after= does
        raise NotFoundError(f"No such File object: {after}", status_code=404, param="after", code="file_not_found")
    rows, more = await state.run(state.store.list_files, who.sees, purpose, after, limit, order)
    data = [file_object(r) for r in rows]
    return {"object": "list", "data": data, "has_more": more,
            "first_id": data[0]["id"] if data else None, "last_id": data[-1]["id"] if data else None}


async def _owned(request: Request, file_id: str) -> tuple[Any, Any]:
    """The server state and the caller's file ``file_id``; 404 when it is missing or another key's."""
    state, who = caller(request)
    row = await state.run(state.store.get_file, file_id, who.sees)
    if row is None:
        raise _missing(file_id)
    return state, row


@router.get("/files/{file_id}")
async def retrieve(file_id: str, request: Request) -> Any:
    return file_object((await _owned(request, file_id))[1])


@router.delete("/files/{file_id}")
async def delete(file_id: str, request: Request) -> Any:
    state, who = caller(request)
    if not await state.run(state.store.delete_file, file_id, who.sees):
        raise _missing(file_id)
    return {"id": file_id, "object": "file", "deleted": True}


@router.get("/files/{file_id}/content")
async def content(file_id: str, request: Request) -> Any:
    state, _ = await _owned(request, file_id)
    data = await state.run(state.store.blob_path(file_id).read_bytes)
    return Response(data, media_type="application/octet-stream")
