"""Pieces shared by several endpoints."""

from __future__ import annotations

from ._base import Part, ResponseModel


class StreamOptions(Part):
    include_usage: bool | None = None
    include_obfuscation: bool | None = None


class PromptTokensDetails(ResponseModel):
    cached_tokens: int | None = None
    audio_tokens: int | None = None


class CompletionTokensDetails(ResponseModel):
    reasoning_tokens: int | None = None
    audio_tokens: int | None = None
    accepted_prediction_tokens: int | None = None
    rejected_prediction_tokens: int | None = None


class CompletionUsage(ResponseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_tokens_details: PromptTokensDetails | None = None
    completion_tokens_details: CompletionTokensDetails | None = None


class ErrorObject(ResponseModel):
    keep_null = frozenset({'param', 'code'})
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorResponse(ResponseModel):
    error: ErrorObject


class DeletedObject(ResponseModel):
    id: str
    object: str
    deleted: bool

