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


class ModelDeleted(DeletedObject):
    object: str = "model"
