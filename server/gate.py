"""The gate: an ASGI middleware that decides who may call before any body is read.

In order, for every HTTP request:
1. Browsers: a request from another origin (``Origin`` or ``Sec-Fetch-Site: cross-site``) is refused unless
   its origin is configured for CORS, so a web page cannot drive the server through a visitor's browser.
2. Keyless mode (no key has ever been created): only loopback clients, and only with a ``Host`` that names
   this server (so DNS rebinding cannot reach it through a browser).
3. Authentication: ``/v1`` and unknown routes need a valid key (the dashboard's static files do not) once any key exists; ``/metrics`` needs an
   admin key unless the client is on loopback or metrics are public. The requests-per-minute limit is
   counted here.
4. Body size: JSON bodies and file uploads have limits of their own; an oversize body is 413 whether it
   declares its length or arrives chunked, and nothing past the limit is buffered.

Every response carries an ``x-request-id`` (``req_...``), which is logged with the request's route and status.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
from typing import Any
from urllib.parse import urlsplit

from llmaas._errors import APIStatusError, AuthenticationError, PermissionDeniedError, RateLimitError
from llmaas.store import StoreUnavailable, hash_key

from . import errors
from .state import Caller, ServerState

log: logging.Logger = logging.getLogger("llmaas.server")

PUBLIC = frozenset({"/health", "/ready", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"})
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def is_loopback_address(host: str | None) -> bool:
    import ipaddress

    if not host:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def host_name(value: str) -> str:
    """The host part of a Host header or an origin's netloc, lower case, without port or brackets."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:].split("]", 1)[0]
    if value.count(":") == 1:
        return value.split(":", 1)[0]
    return value


class _Refused(Exception):
    def __init__(self, error: APIStatusError) -> None:
        self.error = error


class Gate:
    def __init__(self, app: Any, state: ServerState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        request_id = "req_" + secrets.token_hex(12)
        raw_id = request_id.encode()

        async def send_with_id(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"x-request-id", raw_id)]}
                log.info("%s %s %s -> %s", request_id, scope["method"], scope["path"], message["status"])
            await send(message)

        await self._handle(scope, receive, send_with_id)

    async def _handle(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        raw: list[tuple[bytes, bytes]] = scope.get("headers") or []  # ASGI: header names and values as bytes
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in raw}
        try:
            who = await self._admit(scope, headers)
        except _Refused as refused:
            return await _answer(scope, receive, send, errors.from_exception(refused.error))
        except StoreUnavailable as exc:  # the key cannot be checked now: 503, retry shortly
            return await _answer(scope, receive, send, errors.error_response(exc))
        scope.setdefault("state", {})["llmaas_caller"] = who
        if scope["method"] not in BODY_METHODS:
            return await self.app(scope, receive, send)
        multipart = headers.get("content-type", "").lower().startswith("multipart/")
        limit = self.state.config.max_body_bytes if multipart else self.state.config.max_json_bytes
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            return await _answer(scope, receive, send, _too_large(limit, multipart))
        if multipart:
            return await _stream_limited(self.app, scope, receive, send, limit)
        body = await _read_limited(receive, limit)
        if body is None:
            return await _answer(scope, receive, send, _too_large(limit, multipart))
        return await self.app(scope, _replay(body, receive), send)

    async def _admit(self, scope: dict[str, Any], headers: dict[str, str]) -> Caller | None:
        config, store = self.state.config, self.state.store
        client = (scope.get("client") or (None, None))[0]
        loopback = is_loopback_address(client)
        self._check_origin(headers)
        path = scope["path"]
        if path in PUBLIC or path == "/dashboard" or path.startswith("/dashboard/"):
            return None  # the dashboard's files hold no data: the page calls /v1 with the viewer's key
        keyless = not (store.keys_known_to_exist or await self.state.run(store.keys_ever_created))
        if keyless:
            if not loopback:
                raise _Refused(AuthenticationError(
                    "this server runs without API keys and answers only its own machine; create a key "
                    "('llmaas keys create NAME') to serve others", status_code=401, code="missing_api_key"))
            self._check_host(headers)
            return Caller(None, admin=True)  # one person on one machine
        if path == "/metrics" and (config.public_metrics or loopback):
            return None
        who = await self._authenticate(headers)
        if path == "/metrics" and not who.admin:
            raise _Refused(PermissionDeniedError("/metrics needs an admin key (or a loopback client)",
                                                 status_code=403, code="admin_required"))
        return who

    def _check_origin(self, headers: dict[str, str]) -> None:
        origin = headers.get("origin")
        cross_site = headers.get("sec-fetch-site") == "cross-site"
        if origin is None and not cross_site:
            return  # not a browser, or a same-origin navigation
        allowed = self.state.config.cors_origins
        if origin is not None and (origin in allowed or "*" in allowed):
            return
        if origin is not None and not cross_site:
            parts = urlsplit(origin)
            if parts.netloc and parts.netloc.lower() == headers.get("host", "").lower():
                return  # this server's own pages (/docs)
        raise _Refused(PermissionDeniedError(
            f"cross-origin browser requests are refused (origin {origin or 'cross-site'}); allow an origin with "
            "'llmaas serve --cors-origin ORIGIN'", status_code=403, code="origin_not_allowed"))

    def _check_host(self, headers: dict[str, str]) -> None:
        config = self.state.config
        name = host_name(headers.get("host", ""))
        allowed = {*LOOPBACK_NAMES, *(host_name(h) for h in config.allowed_hosts)}
        if config.bound_host not in ("0.0.0.0", "::", ""):
            allowed.add(host_name(config.bound_host))
        if name not in allowed:
            raise _Refused(PermissionDeniedError(
                f"Host {headers.get('host', '')!r} is not this server's: without keys it answers only requests "
                "addressed to a loopback name (add others with --allowed-host)", status_code=403,
                code="host_not_allowed"))

    async def _authenticate(self, headers: dict[str, str]) -> Caller:
        scheme, _, secret = headers.get("authorization", "").partition(" ")
        secret = secret.strip()
        if scheme.lower() != "bearer" or not secret:
            raise _Refused(AuthenticationError(
                "Missing API key: send it as 'Authorization: Bearer <key>'. Create one with "
                "'llmaas keys create NAME'.", status_code=401, code="missing_api_key"))
        digest = hash_key(secret)
        row = await self.state.run(self.state.store.key_by_hash, digest)
        if row is None or not hmac.compare_digest(row["hash"], digest):
            shown = secret[:10] + "..." if len(secret) > 10 else "***"
            raise _Refused(AuthenticationError(
                f"Incorrect API key provided: {shown}. Keys are listed by 'llmaas keys list'.", status_code=401,
                code="invalid_api_key"))
        if self.state.limiter.rpm_of(row["rpm_limit"]) is not None:
            try:
                await self.state.run(self.state.limiter.check_rate, row["id"], row["rpm_limit"])
            except RateLimitError as exc:
                raise _Refused(exc) from None
        return Caller.of_key(row)


def _too_large(limit: int, multipart: bool) -> Any:
    what = "file upload" if multipart else "JSON body"
    return errors.envelope(413, f"Request body too large: the limit for a {what} is {limit} bytes",
                           code="request_too_large")


async def _answer(scope: dict[str, Any], receive: Any, send: Any, response: Any) -> None:
    await response(scope, receive, send)


async def _read_limited(receive: Any, limit: int) -> bytes | None:
    """The whole body, or None as soon as it passes ``limit`` bytes."""
    chunks: list[bytes] = []
    seen = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        body = message.get("body", b"")
        seen += len(body)
        if seen > limit:
            return None
        chunks.append(body)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Any) -> Any:
    sent = False

    async def replay() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: wait for the disconnect, as the server would report it

    return replay


async def _stream_limited(app: Any, scope: dict[str, Any], receive: Any, send: Any, limit: int) -> None:
    """Pass an upload through as it arrives, counting; past ``limit`` the app sees the body end and whatever
    it answers is replaced by 413."""
    seen, over, started = 0, False, False

    async def counting() -> dict[str, Any]:
        nonlocal seen, over
        if over:
            return {"type": "http.disconnect"}
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                over = True
                return {"type": "http.disconnect"}
        return message

    async def guarded(message: dict[str, Any]) -> None:
        nonlocal started
        if over:
            return
        started = True
        await send(message)

    try:
        await app(scope, counting, guarded)
    except (asyncio.CancelledError, Exception):
        if not over:
            raise
    if over and not started:
        await _answer(scope, receive, send, _too_large(limit, True))
