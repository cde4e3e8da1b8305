"""Moderations (OpenAPI: CreateModeration*)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from .._moderation import MODERATION_MODELS, SENSITIVITIES, Sensitivity
from ._base import RequestModel, ResponseModel
from .common import MAX_ITEMS, ItemCap, Texts

__all__ = ["CATEGORIES", "MODERATION_MODELS", "SENSITIVITIES", "ModerationRequest", "ModerationResponse",
           "ModerationResult"]

CATEGORIES = (
    "harassment", "harassment/threatening", "hate", "hate/threatening", "illicit", "illicit/violent",
    "self-harm", "self-harm/intent", "self-harm/instructions", "sexual", "sexual/minors", "violence",
    "violence/graphic",
)



class ModerationRequest(RequestModel):
    """A moderation request as validated before it reaches a provider."""
    input: Annotated[str | Texts | Annotated[list[dict[str, Any]], Field(max_length=MAX_ITEMS)], ItemCap]
    model: str | None = None
    sensitivity: Sensitivity | None = Field(
        default=None, description="llmaas: which of the model's calibrated threshold sets decides `flagged` and "
                                  "`categories` (default balanced); the scores do not change")


class ModerationResult(ResponseModel):
    """One input's verdict: ``flagged``, and per category whether it is flagged and its score."""
    flagged: bool
    categories: dict[str, bool] = Field(description="category name (such as 'hate/threatening') -> flagged")
    category_scores: dict[str, float]
    category_applied_input_types: dict[str, list[str]] | None = None


class ModerationResponse(ResponseModel):
    """The answer of ``moderations.create``: one result per input, and the model that judged."""
    id: str
    model: str
    results: list[ModerationResult]
