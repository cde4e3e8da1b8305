"""What every resource shares: the client it belongs to, request validation, and option plumbing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError

from .._errors import BadRequestError
from .._options import NOT_GIVEN, RequestOptions
from .._pagination import AsyncPage, AsyncPaginator, PageResult
from .._provider import Capability, Provider, require

if TYPE_CHECKING:
    from .._client import AsyncClient

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


class AsyncAPIResource:
    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    def _split(self, params: Mapping[str, Any]) -> tuple[dict[str, Any], RequestOptions]:
        return split_options(params, self._client.request_defaults)

    def _default_backend(self, capability: Capability, feature: str) -> Provider:
        """The client's default provider, refusing before any call if it lacks ``capability``."""
        backend = self._client.provider()
        require(backend, capability, feature)
        return backend


def build_request(cls: type[M], fields: dict[str, Any]) -> M:
    """Validate a request before it leaves: a wrong field is a BadRequestError naming it."""
    try:
        return cls.model_validate({k: v for k, v in fields.items() if v is not NOT_GIVEN})
    except ValidationError as exc:
        raise invalid_request(exc) from None


def invalid_request(exc: ValidationError) -> BadRequestError:
    from ..types._base import invalid_param

    errors = exc.errors()
    first = errors[0]
    param = invalid_param(first) or ".".join(
        str(p) for p in first["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    details = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors[:5])
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return BadRequestError(f"invalid request: {details}{more}", status_code=400, param=param or None,
                           code="invalid_request", type="invalid_request_error", body={"errors": errors[:5]})


OPTION_NAMES = ("extra_body", "extra_headers", "extra_query", "timeout", "max_retries")


def split_options(kwargs: Mapping[str, Any], defaults: Mapping[str, Any] | None = None
                  ) -> tuple[dict[str, Any], RequestOptions]:
    """Separate per-request options (``extra_body``, ``extra_headers``, ``extra_query``, ``timeout``,
    ``max_retries``) from the fields of the request body; ``defaults`` (a client's ``with_options``) fill in
    what the call does not give, and its headers go under the call's own."""
    fields = dict(kwargs)
    opts = {k: fields.pop(k) for k in OPTION_NAMES if k in fields}
    for key, value in (defaults or {}).items():
        if key == "extra_headers":
            opts[key] = {**value, **(opts.get(key) or {})}
        else:
            opts.setdefault(key, value)
    return fields, RequestOptions(**opts)


def paginate(fetch: Callable[[str | None], Awaitable[PageResult[T]]], after: str | None = None) -> AsyncPaginator[T]:
    """A paginator whose first page starts at ``after`` and whose next pages follow the last id seen."""

    async def first() -> AsyncPage[T]:
        return AsyncPage(await fetch(after), fetch)

    return AsyncPaginator(first)
