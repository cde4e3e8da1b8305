"""Every error leaves the server in the OpenAI envelope ``{"error": {message, type, param, code}}``."""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from llmaas._errors import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    ConfigurationError,
    LLMaaSError,
    UnsupportedFeatureError,
    error_type,
)
from llmaas.store.database import StoreUnavailable
from llmaas.types._base import invalid_param

log: logging.Logger = logging.getLogger("llmaas.server")

def envelope(status: int, message: str, *, param: str | None = None, code: str | None = None,
             type: str | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"error": {"message": message, "type": type or error_type(status), "param": param,
                      "code": code}}
    return JSONResponse(body, status_code=status, headers=headers)


PASSED_HEADERS = ("retry-after", "retry-after-ms", "x-should-retry")


def _retry_headers(exc: APIStatusError) -> dict[str, str]:
    headers: dict[str, str] = {}
    if exc.response is not None:  # an upstream's answer: its own hints, so the caller decides
        headers.update({k: v for k, v in exc.response.headers.items() if k.lower() in PASSED_HEADERS})
    if exc.retry_after:
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
    if exc.should_retry is not None:
        headers["x-should-retry"] = "true" if exc.should_retry else "false"
    return headers


def from_exception(exc: BaseException) -> JSONResponse:
    """The envelope for ``exc``; an exception no branch knows is a bug, and is logged here."""
    response = error_response(exc)
    if response.status_code == 500 and not isinstance(exc, APIStatusError):
        log.exception("unhandled error", exc_info=exc)
    return response


def error_response(exc: BaseException) -> JSONResponse:
    """The envelope for ``exc``, without logging (for a status that is only metered)."""
    if isinstance(exc, APIStatusError):
        if exc.response is not None and exc.status_code in (401, 403, 407):
            # the upstream refused this server's own credentials: not the caller's fault nor its key's (what
            # the upstream said may echo those credentials: it is logged, not sent on)
            log.warning("the upstream API refused this server's credentials: %s", exc.message[:500])
            return envelope(502, "the upstream API refused this server's credentials", code="upstream_auth_failed",
                            type="server_error")
        return envelope(exc.status_code, exc.message, param=exc.param, code=exc.code, type=exc.type,
                        headers=_retry_headers(exc) or None)
    if isinstance(exc, StoreUnavailable):
        return envelope(503, f"{exc}; retry shortly", code="store_unavailable", type="server_error",
                        headers={"Retry-After": "1"})
    if isinstance(exc, APITimeoutError):
        return envelope(504, f"the upstream API did not answer in time: {exc.message}", code="upstream_timeout",
                        type="server_error")
    if isinstance(exc, APIConnectionError):
        return envelope(502, f"the upstream API could not be reached or broke off: {exc.message}",
                        code="upstream_unavailable", type="server_error")
    if isinstance(exc, APIResponseValidationError):
        return envelope(502, f"the upstream API answered with something that is not a valid response: "
                        f"{exc.message}", code="upstream_invalid_response", type="server_error")
    if isinstance(exc, UnsupportedFeatureError):
        return envelope(400, str(exc), code="unsupported_feature")
    if isinstance(exc, ConfigurationError):
        return envelope(400, str(exc), code="invalid_configuration")
    return envelope(500, f"internal server error ({type(exc).__name__}); this is a bug in llmaas",
                    type="server_error")


def validation_param(loc: tuple[Any, ...]) -> str | None:
    # the first part says where (body, query, path); the rest is the field, which may itself be named "path"
    parts = [str(p) for p in (loc[1:] if loc and loc[0] in ("body", "query", "path", "header") else loc)]
    # discriminated unions add the tag name ("user") to the location: keep the path the client wrote
    return ".".join(parts) or None


def _detail(error: dict[str, Any]) -> str:
    if invalid_param(error):
        return str(error["ctx"]["error"])
    return f"{validation_param(error['loc']) or 'body'}: {error['msg']}"


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {"loc": (), "msg": "invalid request", "type": ""}
        if first.get("type") == "json_invalid":
            return envelope(400, f"We could not parse the JSON body of your request: {first.get('msg')}. "
                            "The body must be valid JSON.", code="invalid_json")
        details = "; ".join(_detail(e) for e in errors[:5])
        return envelope(400, f"invalid request: {details}",
                        param=invalid_param(first) or validation_param(tuple(first["loc"])), code="invalid_value")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = str(exc.detail)
        if exc.status_code == 404 and message == "Not Found":
            message = f"Unknown route: {request.method} {request.url.path}"
        return envelope(exc.status_code, message, headers=getattr(exc, "headers", None))

    @app.exception_handler(LLMaaSError)
    async def _ours(request: Request, exc: LLMaaSError) -> JSONResponse:
        return from_exception(exc)

    @app.exception_handler(Exception)
    async def _any(request: Request, exc: Exception) -> JSONResponse:  # a bug: 500, logged
        return from_exception(exc)
