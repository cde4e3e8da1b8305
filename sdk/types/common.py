"""Pieces shared by several endpoints."""

from __future__ import annotations

from typing import Annotated, ClassVar, cast

from pydantic import BeforeValidator, Field

from ._base import Part, ResponseModel

MAX_ITEMS = 2048  # messages in a chat, texts or token lists in one embeddings or completions request
MAX_PROMPT_TOKENS = 2**20

def _at_most(limit: int, what: str) -> BeforeValidator:
    """Refuse an over-long list with one clear message, before a union tries (and lists) every branch."""

    def check(value: object) -> object:
        items = value  # narrowed below; ``value`` itself is returned as it came
        size = len(cast("list[object]", items)) if isinstance(items, list) else 0
        if size > limit:
            raise ValueError(f"may hold at most {limit} {what}, got {size}")
        return value

    return BeforeValidator(check)


ItemCap: BeforeValidator = _at_most(MAX_ITEMS, "items")
Texts = Annotated[list[str], Field(max_length=MAX_ITEMS)]
TokenIds = Annotated[list[Annotated[int, Field(ge=0)]], Field(max_length=MAX_PROMPT_TOKENS)]
TokenIdLists = Annotated[list[TokenIds], Field(max_length=MAX_ITEMS)]


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
    keep_null: ClassVar[frozenset[str]] = frozenset({'param', 'code'})
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

