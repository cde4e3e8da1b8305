"""Running one batch request through a provider: the body checked by the endpoint's request model, an
optional ``prepare`` step (a server's bounds and guardrails, as its interactive routes apply them), the call,
and the answer or the error in OpenAI's shape, with the tokens it used."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from llmaas._errors import APIStatusError, APITimeoutError, error_type
from llmaas._options import RequestOptions
from llmaas._provider import Provider
from llmaas.store.batch_files import request_model
from llmaas.store.database import Record

log: logging.Logger = logging.getLogger("llmaas.batches")

Prepare = Callable[[Record, Any], Awaitable[Any]]


@dataclass
class Outcome:
    status: int
    body: dict[str, Any]
    input_tokens: int = 0
    output_tokens: int = 0
    retry: bool = field(default=False)  # the engine was full or the model away: run it again later


Execute = Callable[[Record, dict[str, Any]], Awaitable[Outcome]]


def _error(status: int, message: str, param: str | None = None, code: str | None = None,
           type: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type or error_type(status), "param": param, "code": code}}


async def _call(provider: Provider, endpoint: str, req: Any, options: RequestOptions) -> Any:
    if endpoint == "/v1/chat/completions":
        return await provider.chat(req, options)
    if endpoint == "/v1/completions":
        return await provider.complete(req, options)
    if endpoint == "/v1/embeddings":
        return await provider.embed(req, options)
    if endpoint == "/v1/moderations":
        return await provider.moderate(req, options)
    return await provider.create_response(req, options)


def provider_executor(provider: Provider, prepare: Prepare | None = None,
                      options: Callable[[Record], RequestOptions] | None = None) -> Execute:
    async def execute(batch: Record, body: dict[str, Any]) -> Outcome:
        endpoint = batch["endpoint"]
        try:
            req = request_model(endpoint).model_validate(body)
            if prepare is not None:
                req = await prepare(batch, req)
            result = await _call(provider, endpoint, req, options(batch) if options else RequestOptions())
        except ValidationError as exc:
            first = exc.errors()[0]
            return Outcome(400, _error(400, first["msg"], ".".join(str(p) for p in first["loc"]) or None))
        except APIStatusError as exc:
            retry = exc.status_code == 503 or (exc.status_code == 429 and exc.code == "queue_full")
            return Outcome(exc.status_code, _error(exc.status_code, exc.message, exc.param, exc.code, exc.type),
                           retry=retry)
        except APITimeoutError as exc:
            return Outcome(504, _error(504, exc.message, code="timeout"))
        except Exception as exc:  # noqa: BLE001 - a bug: this request fails, the batch goes on
            log.exception("a batch request failed")
            return Outcome(500, _error(500, f"internal error: {type(exc).__name__}"))
        data = json.loads(result.model_dump_json())
        usage: dict[str, Any] = data.get("usage") or {}
        used_in = int(usage.get("prompt_tokens", usage.get("input_tokens", 0)) or 0)
        used_out = int(usage.get("completion_tokens", usage.get("output_tokens", 0)) or 0)
        return Outcome(200, data, used_in, used_out)

    return execute
