"""Files (OpenAPI: OpenAIFile, DeleteFileResponse)."""

from __future__ import annotations

from typing import Literal

from ._base import ResponseModel
from .common import DeletedObject

FilePurpose = Literal["assistants", "assistants_output", "batch", "batch_output", "fine-tune",
                      "fine-tune-results", "vision", "user_data", "evals"]


class FileObject(ResponseModel):
    """An uploaded file: ``id``, ``filename``, ``bytes``, ``purpose``, ``created_at``, ``status``."""
    id: str
    object: Literal["file"] = "file"
    bytes: int
    created_at: int
    expires_at: int | None = None
    filename: str
    purpose: str
    status: Literal["uploaded", "processed", "error"] | None = None
    status_details: str | None = None


class FileDeleted(DeletedObject):
    """The answer to deleting a file."""
    object: str = "file"
