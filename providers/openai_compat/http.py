"""HTTP for OpenAI-style APIs: one place for retries, timeouts, error mapping, JSON and SSE decoding."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from llmaas._errors import (
    APIConnectionError,
    APIResponseValidationError,
    APITimeoutError,
    IncompleteStreamError,
    status_error,
    status_error_from_response,
)
from llmaas._json import is_object
from llmaas._options import NOT_GIVEN, RequestOptions
from llmaas._response import record
from llmaas._retry import async_retrying
from llmaas._sse import aiter_events
from llmaas._version import __version__

M = TypeVar("M", bound=BaseModel)
log: logging.Logger = logging.getLogger("llmaas.http")

DEFAULT_TIMEOUT: httpx.Timeout = httpx.Timeout(600.0, connect=5.0)
RETRY_COUNT_HEADER = "x-stainless-retry-count"


def as_timeout(value: Any) -> httpx.Timeout:
    if isinstance(value, httpx.Timeout):
        return value
    if value is None:
        return httpx.Timeout(None)
    return httpx.Timeout(float(value), connect=min(5.0, float(value)))


class HTTPTransport:
    """Sends requests to one OpenAI-style base URL with the client's retry and timeout policy."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str | None,
        timeout: Any = DEFAULT_TIMEOUT,
        max_retries: int = 2,
        default_headers: dict[str, str] | None = None,
        http_client: httpx.AsyncClient | None = None,
        retry_wait: Any = None,
        prepare: Any = None,
    ) -> None:
        self.base_url: str = base_url.rstrip("/")
        self.api_key: str | None = api_key
        self.timeout: httpx.Timeout = as_timeout(timeout)
        self.max_retries: int = max_retries
        self._retry_wait = retry_wait
        self._prepare = prepare  # awaited before each request (the local provider starts its server there)
        headers = {"User-Agent": f"llmaas/{__version__}", "Accept": "application/json"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        headers.update(default_headers or {})
        self._owns_client = http_client is None
        self._client = http_client or httpx.AsyncClient(
            timeout=self.timeout,
            limits=httpx.Limits(max_connections=1000, max_keepalive_connections=100),
        )
        self._headers = headers

    async def aclose(self) -> None:
        """Close the connection pool, unless the caller lent it (``http_client``)."""
        if self._owns_client:
            await self._client.aclose()

    def _build(self, method: str, path: str, options: RequestOptions, **kwargs: Any) -> httpx.Request:
        headers = dict(self._headers)
        headers.update(options.extra_headers or {})
        params = dict(kwargs.pop("params", None) or {})
        params.update(options.extra_query or {})
        timeout = self.timeout if options.timeout is NOT_GIVEN else as_timeout(options.timeout)
        return self._client.build_request(
            method, f"{self.base_url}/{path.lstrip('/')}", headers=headers, params=params or None,
            timeout=timeout, **kwargs,
        )

    async def _send_once(self, request: httpx.Request, stream: bool) -> httpx.Response:
        try:
            response = await self._client.send(request, stream=stream)
        except httpx.TimeoutException as exc:
            raise APITimeoutError(f"Request to {request.url} timed out ({type(exc).__name__}).", request=request) from exc
        except httpx.HTTPError as exc:
            raise APIConnectionError(f"Could not reach {request.url}: {exc or type(exc).__name__}.",
                                     request=request) from exc
        if response.status_code >= 400:
            log.debug("response: %s %s -> %s (request id %s)", request.method, request.url, response.status_code,
                      response.headers.get("x-request-id"))
            if stream:
                await response.aread()
                await response.aclose()
            raise status_error_from_response(response)
        return response

    async def send(self, method: str, path: str, options: RequestOptions, *, stream: bool = False,
                   **kwargs: Any) -> httpx.Response:
        if self._prepare is not None:
            await self._prepare()
        retries = self.max_retries if options.max_retries is None else options.max_retries
        overrides = {"wait": self._retry_wait} if self._retry_wait is not None else {}
        async for attempt in async_retrying(retries, **overrides):
            with attempt:
                request = self._build(method, path, options, **kwargs)
                # as openai-python does: servers can tell a retry from a new request
                retry = attempt.retry_state.attempt_number - 1
                request.headers[RETRY_COUNT_HEADER] = str(retry)
                if retry:
                    log.info("retrying %s %s (retry %d of %d)", method, request.url, retry, retries)
                log.debug("request: %s %s", method, request.url)
                response = await self._send_once(request, stream)
                log.debug("response: %s %s -> %s (request id %s)", method, request.url, response.status_code,
                          response.headers.get("x-request-id"))
                record(response)
                return response
        raise AssertionError("unreachable")  # pragma: no cover

    async def json(self, method: str, path: str, cast: type[M], options: RequestOptions, **kwargs: Any) -> M:
        response = await self.send(method, path, options, **kwargs)
        return parse_model(response, cast)

    async def raw(self, method: str, path: str, options: RequestOptions, **kwargs: Any) -> bytes:
        response = await self.send(method, path, options, **kwargs)
        return response.content

    async def stream(self, path: str, body: dict[str, Any], cast: type[M], options: RequestOptions,
                     terminal: frozenset[str] | None = None) -> AsyncIterator[M]:
        """Open an SSE stream (retrying only the opening) and return the iterator over its events.
        ``terminal``: the event types that end a stream with no ``data: [DONE]`` (the Responses API's)."""
        response = await self.send("POST", path, options, stream=True, json=body)
        return iter_sse(response, cast, terminal)


def parse_model(response: httpx.Response, cast: type[M]) -> M:
    try:
        data = response.json()
    except ValueError:
        snippet = " ".join(response.text.split())[:200]
        raise APIResponseValidationError(
            f"{response.request.method} {response.request.url} answered {response.status_code} with a body that "
            f"is not JSON: {snippet!r}. Is the base URL an OpenAI-style API (usually ending in /v1)?",
            response=response, body=response.text,
        ) from None
    return validate(data, cast, response)


def validate(data: Any, cast: type[M], response: httpx.Response | None = None) -> M:
    try:
        return cast.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(body)'}: {e['msg']}" for e in exc.errors()[:5]
        )
        where = f" from {response.request.url}" if response is not None else ""
        raise APIResponseValidationError(
            f"the response{where} is not a valid {cast.__name__}: {problems}", response=response, body=data
        ) from None


async def iter_sse(response: httpx.Response, cast: type[M], terminal: frozenset[str] | None = None
                   ) -> AsyncIterator[M]:
    """Chunks from an SSE response; raises IncompleteStreamError if it ends before ``data: [DONE]`` (or,
    with ``terminal``, before an event of one of those types)."""
    seen = 0
    try:
        async for sse in aiter_events(response.aiter_text()):
            data = sse.data
            if data == "[DONE]":
                return
            if not data.strip():
                continue
            try:
                payload = json.loads(data)
            except ValueError:
                raise APIResponseValidationError(
                    f"stream event {seen + 1} is not JSON: {data[:200]!r}", response=response, body=data
                ) from None
            if sse.event == "error" or (is_object(payload) and payload.get("error")):
                raise _stream_error(payload)
            seen += 1
            yield validate(payload, cast, response)
            if terminal is not None and is_object(payload) and payload.get("type") in terminal:
                return
        raise IncompleteStreamError(
            f"the stream from {response.request.url} ended after {seen} chunks without "
            f"{'data: [DONE]' if terminal is None else 'its final event'!r}: "
            "the answer is incomplete (the server or a proxy closed it early); retry the request",
            request=response.request,
        )
    except httpx.TimeoutException as exc:
        raise APITimeoutError(f"the stream from {response.request.url} timed out after {seen} chunks",
                              request=response.request) from exc
    except httpx.HTTPError as exc:
        raise IncompleteStreamError(
            f"the connection to {response.request.url} broke after {seen} chunks ({exc or type(exc).__name__}): "
            "the answer is incomplete; retry the request",
            request=response.request,
        ) from exc
    finally:
        await response.aclose()


def _stream_error(payload: Any) -> Exception:
    err = payload.get("error") if is_object(payload) else None
    if is_object(err):
        message, code, param, kind = err.get("message"), err.get("code"), err.get("param"), err.get("type")
        status = err.get("status") or payload.get("status") or 500
    else:
        message, code, param, kind = err or payload, None, None, payload.get("error_type") if is_object(payload) else None
        status = 500
    try:
        status = int(status)
    except (TypeError, ValueError):
        status = 500
    return status_error(status, f"the server reported an error mid-stream: {message}",
                        code=str(code) if code is not None else None, param=param, type=kind, body=payload)
