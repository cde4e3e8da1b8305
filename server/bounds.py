"""Bounded turns: every generating request has a limit on its output tokens and on its generation time.

A request that gives no ``max_tokens`` (``max_completion_tokens``, ``max_output_tokens``) gets the server's
default, so an agent framework that sends none does not generate until the context is full; one that asks
for more than the maximum gets 400 naming the limit. A key's own maximum (``llmaas keys limits KEY
--max-tokens N --max-seconds S``) replaces the server's for that key. The time bound is the deadline of the
provider call (the in-process engine cancels the request and frees its slots; a remote call times out):
the request may ask for a shorter one with the ``x-llmaas-timeout`` header (seconds), never a longer one
than the maximum. A remote API's own timeout (``LLMAAS_UPSTREAM_TIMEOUT``) is never lengthened by either."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llmaas._errors import BadRequestError
from llmaas._options import RequestOptions
from llmaas.types import ChatCompletionRequest, CompletionRequest

TIMEOUT_HEADER = "x-llmaas-timeout"


@dataclass(frozen=True)
class TurnBounds:
    default_max_tokens: int | None = 1024
    max_tokens: int | None = None
    default_seconds: float | None = 600.0
    max_seconds: float | None = None
    upstream_seconds: float | None = None  # the remote API's timeout, which a turn's deadline never exceeds


def _bad(message: str, param: str) -> BadRequestError:
    return BadRequestError(message, status_code=400, param=param, code="limit_exceeded",
                           type="invalid_request_error")


def _limits(bounds: TurnBounds, who: Any) -> tuple[int | None, int | None]:
    """(the default, the maximum) of output tokens for this caller."""
    maximum = who.max_tokens if who.max_tokens is not None else bounds.max_tokens
    default = bounds.default_max_tokens
    if maximum is not None:
        default = maximum if default is None else min(default, maximum)
    return default, maximum


def bound_tokens(bounds: TurnBounds, who: Any, body: Any, param: str | None = None) -> Any:
    """``body`` with the default output limit filled in; 400 if it asks for more than the maximum.
    ``param`` names the field in the caller's own request (``max_output_tokens`` for the Responses API)."""
    default, maximum = _limits(bounds, who)
    if isinstance(body, ChatCompletionRequest):
        field = "max_completion_tokens" if body.max_completion_tokens is not None else "max_tokens"
        asked = body.token_limit
    elif isinstance(body, CompletionRequest):
        field, asked = "max_tokens", body.max_tokens
        if asked is None:  # the legacy endpoint's own default (16) stays: it is already bounded
            return body
    else:
        return body
    if asked is None:
        return body if default is None else body.model_copy(update={field: default})
    if maximum is not None and asked > maximum:
        raise _bad(f"{param or field} is {asked}, above this server's limit of {maximum} output tokens per "
                   "request", param or field)
    return body


def options_for(bounds: TurnBounds, who: Any, headers: Any) -> RequestOptions:
    """The provider call's options: its deadline, from the request's header or the server's default."""
    maximum = float(who.max_seconds) if who.max_seconds is not None else bounds.max_seconds
    seconds = bounds.default_seconds
    asked = headers.get(TIMEOUT_HEADER)
    if asked is not None:
        try:
            seconds = float(asked)
        except ValueError:
            raise _bad(f"the {TIMEOUT_HEADER} header must be a number of seconds, got {asked!r}",
                       TIMEOUT_HEADER) from None
        if not seconds > 0:
            raise _bad(f"the {TIMEOUT_HEADER} header must be more than 0 seconds, got {asked!r}", TIMEOUT_HEADER)
        if maximum is not None and seconds > maximum:
            raise _bad(f"the {TIMEOUT_HEADER} header asks for {seconds:g} s, above this server's limit of "
                       f"{maximum:g} s of generation per request", TIMEOUT_HEADER)
    elif maximum is not None:
        seconds = maximum if seconds is None else min(seconds, maximum)
    if bounds.upstream_seconds is not None:
        seconds = bounds.upstream_seconds if seconds is None else min(seconds, bounds.upstream_seconds)
    return RequestOptions(timeout=seconds) if seconds is not None else RequestOptions()
