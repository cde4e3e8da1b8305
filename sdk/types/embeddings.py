"""Embeddings (OpenAPI: CreateEmbedding*)."""

from __future__ import annotations

import base64
import struct
from typing import Annotated, Literal

from pydantic import Field

from ._base import RequestModel, ResponseModel
from .common import ItemCap, Texts, TokenIdLists, TokenIds


class EmbeddingRequest(RequestModel):
    """An embeddings request as validated before it reaches a provider."""
    model: str
    input: Annotated[str | Texts | TokenIds | TokenIdLists, ItemCap]
    encoding_format: Literal["float", "base64"] | None = None
    dimensions: int | None = Field(default=None, ge=1)
    user: str | None = None

    @property
    def inputs(self) -> list[str] | list[list[int]]:
        """The input as a list of texts or a list of token lists."""
        x = self.input
        if isinstance(x, str):
            return [x]
        if x and all(isinstance(i, int) for i in x):
            return [x]  # type: ignore[list-item]
        return list(x)  # type: ignore[arg-type]


class Embedding(ResponseModel):
    """One input's vector (a list of floats, or base64 with ``encoding_format="base64"``) and its ``index``."""
    object: Literal["embedding"] = "embedding"
    index: int
    embedding: list[float] | str

    def vector(self) -> list[float]:
        """The embedding as floats, decoding the base64 form if the server sent that."""
        if isinstance(self.embedding, str):
            raw = base64.b64decode(self.embedding)
            return list(struct.unpack(f"<{len(raw) // 4}f", raw))
        return self.embedding


class EmbeddingUsage(ResponseModel):
    """The tokens an embeddings request used."""
    prompt_tokens: int
    total_tokens: int


class CreateEmbeddingResponse(ResponseModel):
    """The answer of ``embeddings.create``: one ``Embedding`` per input, in input order."""
    object: Literal["list"] = "list"
    data: list[Embedding]
    model: str
    usage: EmbeddingUsage
