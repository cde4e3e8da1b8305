"""Models (OpenAPI: Model, ListModelsResponse, DeleteModelResponse)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ._base import RequestModel, ResponseModel
from .common import DeletedObject


class Model(ResponseModel):
    """A model a provider serves; from llmaas, also its kind, capabilities, source, base and load state."""
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
    engine: str | None = None
    """What serves it: "compact" (the llmaas engine), "transformers" (the plain transformers path, slower, for
    architectures the compact engine does not implement) or "sentence-transformers"."""
    target: str | None = None
    """For an alias, the model it names."""
    note: str | None = None
    """On registering: which path the model takes, in words."""


class RunningModel(ResponseModel):
    """A model loaded now (``client.models.ps()``, as ``ollama ps``): an llmaas extra."""

    id: str
    object: Literal["model.running"] = "model.running"
    kind: str
    """"chat" or "embedding"."""
    memory_bytes: int
    """Its weights and, for a chat model, its KV cache."""
    running: int = 0
    """Sequences in the engine's batch now."""
    waiting: int = 0
    """Requests queued for it."""
    adapters: list[str] = []
    """Fine-tuned models served over it (their LoRA adapters, loaded)."""
    engine: str | None = None
    """"compact" (the llmaas engine), "transformers" (the slow path) or "sentence-transformers"."""


class ModelUnloaded(ResponseModel):
    """The answer to ``client.models.unload()``: an llmaas extra."""

    id: str
    object: Literal["model.unloaded"] = "model.unloaded"
    unloaded: bool
    """False when it was not loaded."""


class ModelDeleted(DeletedObject):
    """The answer to deleting a model."""
    object: str = "model"


class ModelRegisterRequest(RequestModel):
    """``POST /v1/models`` on an llmaas server: register a folder or GGUF file under a name."""

    name: str = Field(min_length=1, max_length=64)
    path: str = Field(min_length=1, max_length=4096)


class ModelAliasRequest(RequestModel):
    """``POST /v1/aliases`` on an llmaas server: another name for a model."""

    name: str = Field(min_length=1, max_length=64)
    model: str = Field(min_length=1, max_length=256)
