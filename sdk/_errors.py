"""The exception hierarchy, and the mapping from any server's error body to it.

    LLMaaSError
    ├── ConfigurationError            (MissingAPIKeyError, UnknownProviderError)
    ├── UnsupportedFeatureError       raised before any network call
    └── APIError
        ├── APIResponseValidationError  a body that is not what the wire format promises
        ├── APIConnectionError
        │   ├── APITimeoutError
        │   └── IncompleteStreamError   a stream that ended before ``data: [DONE]``
        └── APIStatusError              status_code, request_id, body, response
            ├── BadRequestError (400) ── ContextLengthExceededError, ContentPolicyViolationError
            ├── AuthenticationError (401), PermissionDeniedError (403), NotFoundError (404)
            ├── ConflictError (409), RequestTooLargeError (413), UnprocessableEntityError (422)
            ├── RateLimitError (429)
            └── InternalServerError (5xx)

The attribute names follow openai-python, so code written against it keeps working.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    import httpx

__all__ = [
    "LLMaaSError",
    "ConfigurationError",
    "MissingAPIKeyError",
    "UnknownProviderError",
    "UnsupportedFeatureError",
    "APIError",
    "APIResponseValidationError",
    "APIConnectionError",
    "APITimeoutError",
    "IncompleteStreamError",
    "APIStatusError",
    "BadRequestError",
    "ContextLengthExceededError",
    "ContentPolicyViolationError",
    "AuthenticationError",
    "PermissionDeniedError",
    "NotFoundError",
    "ConflictError",
    "RequestTooLargeError",
    "UnprocessableEntityError",
    "RateLimitError",
    "InternalServerError",
    "status_error_from_response",
    "status_error",
    "error_type",
]


class LLMaaSError(Exception):
    """Base class of every error llmaas raises on purpose."""


class ConfigurationError(LLMaaSError, ValueError):
    """The client or a provider was set up in a way that cannot work."""


class MissingAPIKeyError(ConfigurationError):
    """A provider that needs a key got none; ``env_var`` names the variable it reads."""

    def __init__(self, provider: str, env_var: str | None) -> None:
        hint = f"pass api_key=... or set the {env_var} environment variable" if env_var else "pass api_key=..."
        super().__init__(f"provider {provider!r} needs an API key: {hint}")
        self.provider: str = provider
        self.env_var: str | None = env_var


class UnknownProviderError(ConfigurationError):
    """A ``provider:model`` id or ``provider=`` names no provider; ``known`` lists those there are."""

    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(
            f"unknown provider {name!r}; known providers: {', '.join(sorted(known))}. "
            "Use a 'provider:model' id with one of these, or install a package that registers "
            "the provider in the 'llmaas.providers' entry-point group"
        )
        self.name: str = name
        self.known: list[str] = sorted(known)


class UnsupportedFeatureError(LLMaaSError):
    """The provider lacks the feature asked for (``feature``), refused before any request is sent."""

    def __init__(self, provider: str, feature: str) -> None:
        super().__init__(f"provider {provider!r} does not support {feature}")
        self.provider: str = provider
        self.feature: str = feature


class LengthFinishReasonError(LLMaaSError):
    """``parse()`` got an answer cut short by ``max_tokens``, so it cannot be the requested type."""

    def __init__(self, completion: Any) -> None:
        super().__init__("the answer was cut short by max_tokens (finish_reason 'length'), so it cannot be "
                         "parsed; raise max_tokens")
        self.completion: Any = completion


class StructuredOutputError(LLMaaSError):
    """``parse()`` got a whole answer that is not the requested type (a provider without constrained
    decoding can answer so); ``content`` is what came back."""

    def __init__(self, message: str, content: str | None) -> None:
        super().__init__(message)
        self.content: str | None = content


class ToolRunLimitError(LLMaaSError):
    """``run_tools()`` reached ``max_steps`` rounds of tool calls and the model still asks for more."""

    def __init__(self, steps: int, messages: list[Any]) -> None:
        super().__init__(f"the model still called tools after {steps} rounds (max_steps); raise max_steps")
        self.steps: int = steps
        self.messages: list[Any] = messages


class APIError(LLMaaSError):
    """An error that came from (or on the way to) a model service."""

    message: str
    body: object | None
    code: str | None
    param: str | None
    type: str | None

    def __init__(
        self,
        message: str,
        *,
        request: httpx.Request | None = None,
        body: object | None = None,
        code: str | None = None,
        param: str | None = None,
        type: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message: str = message
        self.request: httpx.Request | None = request
        self.body: object | None = body
        self.code: str | None = code
        self.param: str | None = param
        self.type: str | None = type


class APIResponseValidationError(APIError):
    """A service answered 2xx with a body that is not the documented shape."""

    def __init__(self, message: str, *, response: httpx.Response | None = None, body: object = None) -> None:
        super().__init__(message, request=_request_of(response), body=body)
        self.response: httpx.Response | None = response
        self.status_code: int | None = response.status_code if response is not None else None


class APIConnectionError(APIError):
    """No answer: the service could not be reached, or the connection broke."""

    def __init__(self, message: str = "Connection error.", *, request: httpx.Request | None = None) -> None:
        super().__init__(message, request=request)


class APITimeoutError(APIConnectionError):
    """No answer within the request's ``timeout`` (retried as openai-python does)."""

    def __init__(self, message: str = "Request timed out.", *, request: httpx.Request | None = None) -> None:
        super().__init__(message, request=request)


class IncompleteStreamError(APIConnectionError):
    """The server closed a stream before sending ``data: [DONE]``: the answer is cut short."""


class APIStatusError(APIError):
    """The server answered with an error status (or an in-process provider refused the request)."""

    status_code: int = 500

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response | None = None,
        body: object | None = None,
        status_code: int | None = None,
        code: str | None = None,
        param: str | None = None,
        type: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, request=_request_of(response), body=body, code=code, param=param, type=type)
        self.response: httpx.Response | None = response
        if status_code is not None:
            self.status_code = status_code
        elif response is not None:
            self.status_code = response.status_code
        self.request_id: str | None = response.headers.get("x-request-id") if response is not None else None
        self.retry_after: float | None = retry_after
        #: whether retrying can help, when the error knows better than its status (a daily quota: no)
        self.should_retry: bool | None = None


class BadRequestError(APIStatusError):
    """400: the request is wrong; ``param`` names the field and ``message`` says why."""

    status_code = 400


class ContextLengthExceededError(BadRequestError):
    """400 ``context_length_exceeded``: the prompt and ``max_tokens`` do not fit the model's context."""

    def __init__(self, message: str, **kwargs: Any) -> None:
        kwargs.setdefault("code", "context_length_exceeded")
        kwargs.setdefault("param", "messages")
        super().__init__(message, **kwargs)


class ContentPolicyViolationError(BadRequestError):
    """Input or output flagged by a content policy (a guardrail, here or on a server)."""

    def __init__(self, message: str, **kwargs: Any) -> None:
        kwargs.setdefault("code", "content_policy_violation")
        kwargs.setdefault("status_code", 400)
        super().__init__(message, **kwargs)


class AuthenticationError(APIStatusError):
    """401: no key, or a key the service does not know (or revoked)."""

    status_code = 401


class PermissionDeniedError(APIStatusError):
    """403: the key may not do this (an admin route, a host not allowed)."""

    status_code = 403


class NotFoundError(APIStatusError):
    """404: no such model, file, job, batch, eval or response (or one of another key's)."""

    status_code = 404


class ConflictError(APIStatusError):
    """409: the request conflicts with what is stored (a model with jobs, a name taken)."""

    status_code = 409


class RequestTooLargeError(APIStatusError):
    """413: the body or upload is over the service's limit."""

    status_code = 413


class UnprocessableEntityError(APIStatusError):
    """422: a well-formed request the service cannot process."""

    status_code = 422


class RateLimitError(APIStatusError):
    """429: a rate limit, a quota or a full queue; ``retry_after`` says when to try again."""

    status_code = 429


class InternalServerError(APIStatusError):
    """5xx: the service failed; retried by default."""

    status_code = 500


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: RequestTooLargeError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    409: "conflict_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}


def error_type(status: int) -> str:
    """The envelope's ``type`` for an error of this status when nothing more specific is known."""
    return _ERROR_TYPES.get(status, "server_error")


def _request_of(response: httpx.Response | None) -> httpx.Request | None:
    if response is None:
        return None
    try:
        return response.request
    except RuntimeError:  # a Response built by hand has no request
        return None


def _class_for(status: int, code: str | None) -> type[APIStatusError]:
    if status == 400 and code == "context_length_exceeded":
        return ContextLengthExceededError
    if status == 400 and code == "content_policy_violation":
        return ContentPolicyViolationError
    if status >= 500:
        return InternalServerError
    return _BY_STATUS.get(status, APIStatusError)


def status_error(
    status: int,
    message: str,
    *,
    code: str | None = None,
    param: str | None = None,
    type: str | None = None,
    body: object | None = None,
    response: httpx.Response | None = None,
    retry_after: float | None = None,
) -> APIStatusError:
    """The typed exception for ``status``; also used by in-process providers, which have no response."""
    cls = _class_for(status, code)
    return cls(message, response=response, body=body, status_code=status, code=code, param=param, type=type,
               retry_after=retry_after)


def parse_error_body(raw: bytes | str, content_type: str = "") -> tuple[str | None, dict[str, Any]]:
    """Read any known error shape into (message, fields).

    Understood shapes: the OpenAI envelope ``{"error": {"message", "type", "param", "code"}}``,
    TGI's ``{"error": str, "error_type": str}``, Ollama's ``{"error": str}``, FastAPI's
    ``{"detail": ...}`` and a bare ``{"message": str}``. Anything else (an HTML page from a proxy, plain
    text) gives its first few hundred characters as the message.
    """
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    data: Any
    try:
        data = json.loads(text) if text.strip() else None
    except ValueError:
        data = None
    if isinstance(data, dict):
        data = cast("dict[str, Any]", data)
        err: Any = data.get("error")
        if isinstance(err, dict):
            err = cast("dict[str, Any]", err)
            msg = err.get("message")
            return (str(msg) if msg is not None else None), {
                "type": _str_or_none(err.get("type")),
                "param": _str_or_none(err.get("param")),
                "code": _str_or_none(err.get("code")),
            }
        if isinstance(err, str):  # TGI and Ollama
            return err, {"type": _str_or_none(data.get("error_type")), "param": None, "code": None}
        if "detail" in data:
            detail: Any = data["detail"]
            return (detail if isinstance(detail, str) else json.dumps(detail)), {}
        if isinstance(data.get("message"), str):
            return data["message"], {"type": _str_or_none(data.get("type")), "code": _str_or_none(data.get("code"))}
        return None, {}
    snippet = " ".join(text.split())[:300]
    if not snippet:
        return None, {}
    kind = "HTML page" if "html" in content_type.lower() or snippet.lower().startswith(("<!doctype", "<html")) \
        else "non-JSON body"
    return f"{kind}: {snippet}", {}


def _str_or_none(value: object) -> str | None:
    return None if value is None else str(value)


def status_error_from_response(response: httpx.Response, *, retry_after: float | None = None) -> APIStatusError:
    """Turn an error response from any OpenAI-style server into the typed exception for its status."""
    try:
        raw = response.content
    except Exception:  # a streamed response whose body was never read
        raw = b""
    message, fields = parse_error_body(raw, response.headers.get("content-type", ""))
    try:
        body: object = json.loads(raw) if raw else None
    except ValueError:
        body = raw.decode("utf-8", "replace")
    status = response.status_code
    reason = response.reason_phrase or ""
    full = f"Error code: {status}" + (f" {reason}" if reason else "") + (f" - {message}" if message else "")
    return status_error(status, full, body=body, response=response, retry_after=retry_after,
                        code=fields.get("code"), param=fields.get("param"), type=fields.get("type"))
