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
    """Options of a streamed request: ``include_usage`` adds a last chunk with the token counts."""
    include_usage: bool | None = None
    include_obfuscation: bool | None = None


class PromptTokensDetails(ResponseModel):
    """A breakdown of the prompt's tokens (``cached_tokens``: served from the prefix cache)."""
    cached_tokens: int | None = None
    audio_tokens: int | None = None


class CompletionTokensDetails(ResponseModel):
    """A breakdown of the completion's tokens (reasoning, accepted and rejected prediction tokens)."""
    reasoning_tokens: int | None = None
    audio_tokens: int | None = None
    accepted_prediction_tokens: int | None = None
    rejected_prediction_tokens: int | None = None


class CompletionUsage(ResponseModel):
    """The tokens a request used: ``prompt_tokens``, ``completion_tokens`` and their ``total_tokens``."""
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_tokens_details: PromptTokensDetails | None = None
    completion_tokens_details: CompletionTokensDetails | None = None


class ErrorObject(ResponseModel):
    """An error as the API sends it: ``message``, ``type``, ``param`` (the field at fault) and ``code``."""
    keep_null: ClassVar[frozenset[str]] = frozenset({'param', 'code'})
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorResponse(ResponseModel):
    """The body of every error answer: ``{"error": {...}}``."""
    error: ErrorObject


class DeletedObject(ResponseModel):
    """The answer to a delete: the ``id``, the ``object`` kind and ``deleted``."""
    id: str
    object: str
    deleted: bool

