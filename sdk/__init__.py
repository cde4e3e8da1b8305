"""llmaas: large language models as a service, from one typed client.

    import llmaas
    client = llmaas.Client()                      # the built-in models, in process, offline
    reply = client.chat.completions.create(model="smollm2-135m-instruct",
                                           messages=[{"role": "user", "content": "Hi!"}])

Importing this package loads only the error classes: the client, the types and every provider load on
first use, so ``import llmaas`` stays fast and never touches torch, transformers or fastapi.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    ContentPolicyViolationError,
    ContextLengthExceededError,
    IncompleteStreamError,
    InternalServerError,
    LengthFinishReasonError,
    LLMaaSError,
    MissingAPIKeyError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestTooLargeError,
    StructuredOutputError,
    ToolRunLimitError,
    UnknownProviderError,
    UnprocessableEntityError,
    UnsupportedFeatureError,
)
from ._version import __version__

if TYPE_CHECKING:
    from ._client import AsyncClient, Client
    from ._options import NOT_GIVEN, RequestOptions
    from ._pagination import AsyncPage, PageResult, SyncPage
    from ._provider import BaseProvider, Capability, Provider
    from ._streaming import AsyncStream, Stream
    from .discovery import register_provider
    from .guardrails import Guardrails
    from .lib.structured import function_tool, pydantic_function_tool
    from .lib.tool_runner import ToolRun
    from .router import AllDeploymentsFailedError, Router

_LAZY = {
    "register_provider": ".discovery",
    "Client": "._client",
    "AsyncClient": "._client",
    "Provider": "._provider",
    "BaseProvider": "._provider",
    "Capability": "._provider",
    "AsyncStream": "._streaming",
    "Stream": "._streaming",
    "AsyncPage": "._pagination",
    "SyncPage": "._pagination",
    "PageResult": "._pagination",
    "RequestOptions": "._options",
    "NOT_GIVEN": "._options",
    "Guardrails": ".guardrails",
    "pydantic_function_tool": ".lib.structured",
    "function_tool": ".lib.structured",
    "ToolRun": ".lib.tool_runner",
    "Router": ".router",
    "AllDeploymentsFailedError": ".router",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    if name == "types":
        import importlib

        return importlib.import_module(".types", __name__)
    raise AttributeError(f"module 'llmaas' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY, "types"])


__all__ = [
    "Guardrails",
    "__version__",
    "register_provider",
    "Client",
    "AsyncClient",
    "Provider",
    "BaseProvider",
    "Capability",
    "AsyncStream",
    "Stream",
    "AsyncPage",
    "SyncPage",
    "PageResult",
    "RequestOptions",
    "NOT_GIVEN",
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
    "LengthFinishReasonError",
    "StructuredOutputError",
    "ToolRunLimitError",
    "pydantic_function_tool",
    "function_tool",
    "ToolRun",
    "Router",
    "AllDeploymentsFailedError",
]
