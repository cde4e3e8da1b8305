"""Moderations (OpenAPI: CreateModeration*)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from ._base import RequestModel, ResponseModel
from .common import MAX_ITEMS, ItemCap, Texts

CATEGORIES = (
    "harassment", "harassment/threatening", "hate", "hate/threatening", "illicit", "illicit/violent",
    "self-harm", "self-harm/intent", "self-harm/instructions", "sexual", "sexual/minors", "violence",
    "violence/graphic",
)


class ModerationRequest(RequestModel):
    input: Annotated[str | Texts | Annotated[list[dict[str, Any]], Field(max_length=MAX_ITEMS)], ItemCap]
    model: str | None = None


class ModerationResult(ResponseModel):
    flagged: bool
    categories: dict[str, bool] = Field(description="category name (such as 'hate/threatening') -> flagged")
    category_scores: dict[str, float]
    category_applied_input_types: dict[str, list[str]] | None = None


class ModerationResponse(ResponseModel):
    id: str
    model: str
    results: list[ModerationResult]
