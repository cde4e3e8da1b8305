"""The Batches API: a JSONL file of requests run offline, its answers in an output file and an error file."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from ._base import RequestModel, ResponseModel

BatchStatus = Literal["validating", "failed", "in_progress", "finalizing", "completed", "expired", "cancelling",
                      "cancelled"]


class BatchRequest(RequestModel):
    input_file_id: str
    endpoint: str
    completion_window: str = "24h"
    """OpenAI's "24h"; llmaas also takes other windows (``90s``, ``30m``, ``6h``, ``2d``, at most 7 days)."""
    metadata: dict[str, str] | None = Field(default=None, max_length=16)
    output_expires_after: dict[str, object] | None = None


class BatchError(ResponseModel):
    keep_null: ClassVar[frozenset[str]] = frozenset({"param", "line"})
    code: str | None = None
    message: str | None = None
    param: str | None = None
    line: int | None = None


class BatchErrors(ResponseModel):
    object: str = "list"
    data: list[BatchError] = Field(default_factory=list[BatchError])


class BatchRequestCounts(ResponseModel):
    total: int
    completed: int
    failed: int


class BatchUsage(ResponseModel):
    input_tokens: int = 0
    input_tokens_details: dict[str, int] | None = None
    output_tokens: int = 0
    output_tokens_details: dict[str, int] | None = None
    total_tokens: int = 0


class Batch(ResponseModel):
    keep_null: ClassVar[frozenset[str]] = frozenset({"metadata"})
    id: str
    object: Literal["batch"] = "batch"
    endpoint: str
    model: str | None = None
    errors: BatchErrors | None = None
    input_file_id: str
    completion_window: str
    status: BatchStatus
    output_file_id: str | None = None
    error_file_id: str | None = None
    created_at: int
    in_progress_at: int | None = None
    expires_at: int | None = None
    finalizing_at: int | None = None
    completed_at: int | None = None
    failed_at: int | None = None
    expired_at: int | None = None
    cancelling_at: int | None = None
    cancelled_at: int | None = None
    request_counts: BatchRequestCounts | None = None
    usage: BatchUsage | None = None
    metadata: dict[str, str] | None = None
