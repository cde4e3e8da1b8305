"""Legacy text completions (OpenAPI: CreateCompletion*)."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from ._base import RequestModel, ResponseModel
from .common import CompletionUsage, ItemCap, StreamOptions, Texts, TokenIdLists, TokenIds


class CompletionRequest(RequestModel):
    """A text completion request as validated before it reaches a provider."""
    model: str
    prompt: Annotated[str | Texts | TokenIds | TokenIdLists, ItemCap]
    best_of: int | None = Field(default=None, ge=0, le=20)
    echo: bool | None = None
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    logit_bias: dict[str, float] | None = None
    logprobs: int | None = Field(default=None, ge=0, le=5)
    max_tokens: int | None = Field(default=None, ge=0)
    n: int | None = Field(default=None, ge=1, le=128)
    seed: int | None = None
    stop: str | list[str] | None = None
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    suffix: str | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    top_k: int | None = Field(default=None, ge=-1, description="llmaas and vLLM extension; -1 or 0 is off")
    ignore_eos: bool | None = Field(default=None, description="llmaas and vLLM extension: generate max_tokens")
    user: str | None = None

    @property
    def stop_list(self) -> list[str]:
        if self.stop is None:
            return []
        return [self.stop] if isinstance(self.stop, str) else list(self.stop)


class CompletionLogprobs(ResponseModel):
    """The log-probabilities of a completion's tokens (with ``echo``, of the prompt's too), and their offsets."""
    tokens: list[str] | None = None
    token_logprobs: list[float | None] | None = None
    top_logprobs: list[dict[str, float] | None] | None = None
    text_offset: list[int] | None = None


class CompletionChoice(ResponseModel):
    """One completion: its ``text``, ``index``, ``finish_reason`` and ``logprobs``."""
    keep_null: ClassVar[frozenset[str]] = frozenset({'logprobs', 'finish_reason'})
    index: int
    text: str
    finish_reason: Literal["stop", "length", "content_filter"] | None = None
    logprobs: CompletionLogprobs | None = None


class Completion(ResponseModel):
    """The answer of ``completions.create``; a streamed one arrives as several of these."""
    id: str
    object: Literal["text_completion"] = "text_completion"
    created: int
    model: str
    choices: list[CompletionChoice]
    usage: CompletionUsage | None = None
    system_fingerprint: str | None = None
