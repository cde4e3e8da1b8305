"""Models (OpenAPI: Model, ListModelsResponse, DeleteModelResponse)."""

from __future__ import annotations

from typing import Literal

from ._base import ResponseModel
from .common import DeletedObject


class Model(ResponseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str
    # llmaas extras (absent from other servers' answers): what the model is and whether it is loaded
    kind: str | None = None
    """"chat", "embedding", "moderation" or "fine-tuned"."""
    capabilities: list[str] | None = None
    """What it serves: "chat", "completions", "embeddings", "moderations"."""
    source: str | None = None
    """Where its files are: a folder, a GGUF file, or an adapter folder."""
    base: str | None = None
    """For a fine-tuned model, the model it was tuned from."""
    architecture: str | None = None
    parameters: int | None = None
    context_length: int | None = None
    dtype: str | None = None
    size_bytes: int | None = None
    """Its files on disk (an adapter's own files, for a fine-tuned model)."""
    loaded: bool | None = None


class ModelDeleted(DeletedObject):
    object: str = "model"
