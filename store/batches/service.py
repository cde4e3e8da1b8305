"""Batches over the store, as both ways in use them: the in-process client (``client.batches`` with the Hugging
Face provider) and ``llmaas serve``'s routes. ``sees`` is whose batches and files a caller may see (a key id,
None for keyless, or ``ANYONE``); ``owner`` is who a new batch belongs to.

Creating a batch checks everything first (the input file's owner, purpose and every line, the endpoint, the
window, the metadata, the key's limits): a refused request stores nothing."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from llmaas._errors import BadRequestError, NotFoundError, RateLimitError
from llmaas._lanes import lane
from llmaas.settings import BatchSettings
from llmaas.store import Store
from llmaas.store.batch_files import ENDPOINTS, InvalidBatchFile, parse_batch_file
from llmaas.store.batches.records import (
    FINAL,
    UNFINISHED,
    batch_object,
    get_row,
    insert_batch,
    list_rows,
    set_status,
    window_seconds,
)

MAX_METADATA = 16


def not_found(batch_id: str) -> NotFoundError:
    return NotFoundError(f"No batch found with id '{batch_id}'", status_code=404, param="batch_id",
                         code="batch_not_found")


def _check_metadata(metadata: Any) -> None:
    if metadata is None:
        return
    if len(metadata) > MAX_METADATA:
        raise BadRequestError(f"metadata holds {len(metadata)} pairs; at most {MAX_METADATA}", status_code=400,
                              param="metadata")
    for key, value in metadata.items():
        if len(key) > 64 or len(value) > 512:
            raise BadRequestError(f"metadata key {key[:64]!r}: keys have at most 64 characters and values 512",
                                  status_code=400, param="metadata")


class BatchService:
    def __init__(self, store: Callable[[], Store], kick: Callable[[], None],
                 settings: BatchSettings | None = None) -> None:
        self._store, self._kick = store, kick
        self._settings = settings or BatchSettings.resolve()

    async def _run(self, fn: Any, *args: Any) -> Any:
        return await lane("store").run(fn, *args)

    async def create(self, body: dict[str, Any], owner: str | None, sees: str | None,
                     max_batches: int | None = None, max_tokens: int | None = None) -> dict[str, Any]:
        """``max_batches`` and ``max_tokens``: the key's own limits (None: the settings')."""
        endpoint = body["endpoint"]
        if endpoint not in ENDPOINTS:
            raise BadRequestError(f"endpoint {endpoint!r} cannot be batched; use one of {', '.join(ENDPOINTS)}",
                                  status_code=400, param="endpoint", code="invalid_endpoint")
        window = window_seconds(body.get("completion_window") or "24h")
        if window is None:
            raise BadRequestError(f"completion_window {body.get('completion_window')!r} is not a window: use '24h' "
                                  "(or a number of s, m, h or d up to 7 days)", status_code=400,
                                  param="completion_window", code="invalid_completion_window")
        body["completion_window"] = body.get("completion_window") or "24h"
        _check_metadata(body.get("metadata"))
        store = self._store()
        file_id = body["input_file_id"]
        row = await self._run(store.get_file, file_id, sees)
        if row is None:  # missing, or another key's: the same answer
            raise BadRequestError(f"invalid input_file_id: no such file {file_id!r}", status_code=400,
                                  param="input_file_id", code="invalid_file")
        if row["purpose"] != "batch":
            raise BadRequestError(f"input_file_id {file_id!r} was uploaded with purpose {row['purpose']!r}, not "
                                  "'batch'", status_code=400, param="input_file_id", code="invalid_file")
        content = await self._run(store.blob_path(file_id).read_bytes)
        try:
            parsed = await self._run(parse_batch_file, content, self._settings.limits(), endpoint)
        except InvalidBatchFile as exc:
            raise BadRequestError(f"input_file_id {file_id!r}: {exc}", status_code=400, param="input_file_id",
                                  code=exc.code) from None
        most = max_batches or self._settings.batch_max_in_flight
        most_tokens = max_tokens or self._settings.batch_max_enqueued_tokens
        if most_tokens is not None and parsed.tokens > most_tokens:
            raise BadRequestError(f"the batch holds about {parsed.tokens} tokens (prompts and output limits); this "
                                  f"key may have at most {most_tokens} enqueued", status_code=400,
                                  param="input_file_id", code="token_limit_exceeded")
        batch = await self._run(insert_batch, store, owner, body, parsed, window, most, most_tokens)
        if batch is None:
            error = RateLimitError(f"this key has as many batches in flight as it may ({most}), or too many tokens "
                                   f"enqueued ({most_tokens or 'unlimited'}); wait for one to finish or cancel one",
                                   status_code=429, code="batch_limit_reached", type="rate_limit_error")
            error.should_retry = False
            raise error
        self._kick()
        return batch

    async def retrieve(self, batch_id: str, sees: str | None) -> dict[str, Any]:
        store = self._store()
        row = await self._run(get_row, store, batch_id, sees)
        if row is None:
            raise not_found(batch_id)
        if row["status"] in UNFINISHED:
            self._kick()
        return await self._run(batch_object, store, row)

    async def list(self, sees: str | None, limit: int, after: str | None) -> tuple[list[dict[str, Any]], bool]:
        store = self._store()
        if after and await self._run(get_row, store, after, sees) is None:
            raise not_found(after)
        rows, more = await self._run(list_rows, store, sees, limit, after)
        return [await self._run(batch_object, store, r) for r in rows], more

    async def cancel(self, batch_id: str, sees: str | None) -> dict[str, Any]:
        batch = await self.retrieve(batch_id, sees)
        if batch["status"] in FINAL:
            raise BadRequestError(f"batch {batch_id} has already {batch['status']}; only a batch in progress can be "
                                  "cancelled", status_code=400, param="batch_id", code="batch_not_cancellable")
        await self._run(lambda: set_status(self._store(), batch_id, "cancelling", ("validating", "in_progress"),
                                           cancelling_at=int(time.time())))
        self._kick()
        return await self.retrieve(batch_id, sees)
