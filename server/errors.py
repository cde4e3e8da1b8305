"""Every error leaves the server in the OpenAI envelope ``{"error": {message, type, param, code}}``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from llmaas._errors import (
    APIStatusError,
    ConfigurationError,
    LLMaaSError,
    UnsupportedFeatureError,
    error_type,
)

log = logging.getLogger("llmaas.server")

def envelope(status: int, message: str, *, param: str | None = None, code: str | None = None,
             type: str | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"error": {"message": message, "type": type or error_type(status), "param": param,
                      "code": code}}
    return JSONResponse(body, status_code=status, headers=headers)


def from_exception(exc: BaseException) -> JSONResponse:
    if isinstance(exc, APIStatusError):
        headers = {"Retry-After": str(max(1, round(exc.retry_after)))} if exc.retry_after else None
        return envelope(exc.status_code, exc.message, param=exc.param, code=exc.code, type=exc.type, headers=headers)
    if isinstance(exc, UnsupportedFeatureError):
        return envelope(400, str(exc), code="unsupported_feature")
    if isinstance(exc, ConfigurationError):
        return envelope(400, str(exc), code="invalid_configuration")
    log.exception("unhandled error", exc_info=exc)
    return envelope(500, f"internal server error ({type(exc).__name__}); this is a bug in llmaas",
                    type="server_error")


def validation_param(loc: tuple[Any, ...]) -> str | None:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    # discriminated unions add the tag name ("user") to the location: keep the path the client wrote
    return ".".join(parts) or None


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {"loc": (), "msg": "invalid request", "type": ""}
        if first.get("type") == "json_invalid":
            return envelope(400, f"We could not parse the JSON body of your request: {first.get('msg')}. "
                            "The body must be valid JSON.", code="invalid_json")
        details = "; ".join(f"{validation_param(e['loc']) or 'body'}: {e['msg']}" for e in errors[:5])
        return envelope(400, f"invalid request: {details}", param=validation_param(tuple(first["loc"])),
                        code="invalid_value")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404 and message == "Not Found":
            message = f"Unknown route: {request.method} {request.url.path}"
        return envelope(exc.status_code, message, headers=getattr(exc, "headers", None))

    @app.exception_handler(LLMaaSError)
    async def _ours(request: Request, exc: LLMaaSError) -> JSONResponse:
        return from_exception(exc)

    @app.exception_handler(Exception)
    async def _any(request: Request, exc: Exception) -> JSONResponse:  # a bug: 500, logged
        return from_exception(exc)
