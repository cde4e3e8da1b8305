"""The Batches API: a JSONL file of requests run offline, its answers in an output file and an error file."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from ._base import RequestModel, ResponseModel

BatchStatus = Literal["validating", "failed", "in_progress", "finalizing", "completed", "expired", "cancelling",
                      "cancelled"]


class BatchRequest(RequestModel):
    """A batch create request as validated before it reaches a provider."""
    input_file_id: str
    endpoint: str
    completion_window: str = "24h"
    """OpenAI's "24h"; llmaas also takes other windows (``90s``, ``30m``, ``6h``, ``2d``, at most 7 days)."""
    metadata: dict[str, str] | None = Field(default=None, max_length=16)
    output_expires_after: dict[str, object] | None = None


class BatchError(ResponseModel):
    """A problem with a batch's input file, naming the ``line`` and the ``param`` at fault."""
    keep_null: ClassVar[frozenset[str]] = frozenset({"param", "line"})
    code: str | None = None
    message: str | None = None
    param: str | None = None
    line: int | None = None


class BatchErrors(ResponseModel):
    """The list of a batch's input errors (a batch that failed validation)."""
    object: str = "list"
    data: list[BatchError] = Field(default_factory=list[BatchError])


class BatchRequestCounts(ResponseModel):
    """How many requests of a batch completed, failed, and in all."""
    total: int
    completed: int
    failed: int


class BatchUsage(ResponseModel):
    """The tokens a batch used so far."""
    input_tokens: int = 0
    input_tokens_details: dict[str, int] | None = None
    output_tokens: int = 0
    output_tokens_details: dict[str, int] | None = None
    total_tokens: int = 0


class Batch(ResponseModel):
    """A batch: ``status`` (validating, in_progress, finalizing, completed, failed, expired, cancelling,
    cancelled), ``request_counts``, timestamps and its output and error files."""
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
