"""Per-request options that travel from a resource call to the provider."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class NotGiven:
    """The type of ``NOT_GIVEN``: a parameter left out, as distinct from one given as None."""

    def __repr__(self) -> str:
        return "NOT_GIVEN"

    def __bool__(self) -> bool:
        return False


NOT_GIVEN: Any = NotGiven()


@dataclass(frozen=True)
class RequestOptions:
    """What a caller may add to one request beyond its typed body.

    ``timeout`` and ``max_retries`` override the client's settings for this request only.
    ``extra_body`` is merged into the JSON body as is: the way to send fields llmaas does not model.
    """

    extra_body: dict[str, Any] | None = None
    extra_headers: dict[str, str] | None = None
    extra_query: dict[str, Any] | None = None
    timeout: Any = NOT_GIVEN
    max_retries: int | None = None
