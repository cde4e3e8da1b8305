"""Checking a batch input file (JSONL), naming the line and what is wrong with it.

Each line is one request: ``{"custom_id": "...", "method": "POST", "url": "/v1/chat/completions", "body":
{...}}``. Every line of a file goes to the same endpoint (and the same model, where its bodies name one), each
``custom_id`` is unique, and each body is one the endpoint itself would accept; streaming is refused, since a
batch's answers are whole. The limits are ``BatchSettings`` (at most OpenAI's 50,000 requests and 200 MB).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from llmaas._json import is_object

#: the endpoints a batch may call, and the request model that checks each body
ENDPOINTS: dict[str, str] = {
    "/v1/chat/completions": "ChatCompletionRequest",
    "/v1/completions": "CompletionRequest",
    "/v1/embeddings": "EmbeddingRequest",
    "/v1/moderations": "ModerationRequest",
    "/v1/responses": "ResponseCreateRequest",
}
LINE_KEYS = frozenset({"custom_id", "method", "url", "body"})
MAX_CUSTOM_ID = 512
BYTES_PER_TOKEN = 4  # an estimate of a prompt's tokens from its size, for the enqueued-token limit


class InvalidBatchFile(ValueError):
    """What is wrong with a batch file, and on which line."""

    def __init__(self, message: str, line: int | None = None, code: str = "invalid_batch_file") -> None:
        super().__init__(message)
        self.line = line
        self.code = code


@dataclass(frozen=True)
class BatchLimits:
    max_requests: int = 50_000
    max_bytes: int = 200 * 1024 * 1024


@dataclass(frozen=True)
class BatchLine:
    line: int
    custom_id: str
    body: dict[str, Any]
    tokens: int  # an estimate of what the request may use: its prompt's size, plus its output limit


@dataclass(frozen=True)
class BatchFile:
    endpoint: str
    model: str | None
    lines: list[BatchLine]

    @property
    def tokens(self) -> int:
        return sum(r.tokens for r in self.lines)


def request_model(endpoint: str) -> Any:
    import llmaas.types as types

    return getattr(types, ENDPOINTS[endpoint])


def _estimate(body: dict[str, Any], size: int) -> int:
    limit = body.get("max_completion_tokens") or body.get("max_tokens") or body.get("max_output_tokens") or 0
    return math.ceil(size / BYTES_PER_TOKEN) + (int(limit) if isinstance(limit, int) else 0)


def _explain(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "body"
    return f"body.{where}: {first['msg']}"


def parse_batch_file(content: bytes, limits: BatchLimits | None = None, endpoint: str | None = None) -> BatchFile:
    """Check a batch file (for ``endpoint`` when given); return its requests, or raise InvalidBatchFile."""
    limits = limits or BatchLimits()
    if len(content) > limits.max_bytes:
        raise InvalidBatchFile(f"the file is {len(content)} bytes; a batch file may have at most {limits.max_bytes} "
                               "(LLMAAS_BATCH_MAX_MB)", code="file_too_large")
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidBatchFile(f"batch files must be UTF-8 JSONL; byte {exc.start} is not UTF-8") from None
    if endpoint is not None and endpoint not in ENDPOINTS:
        raise InvalidBatchFile(f"endpoint {endpoint!r} cannot be batched; use one of {', '.join(ENDPOINTS)}",
                               code="invalid_endpoint")
    seen: dict[str, int] = {}
    lines: list[BatchLine] = []
    url, model, model_line = endpoint, None, 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        if len(lines) >= limits.max_requests:
            raise InvalidBatchFile(f"line {number}: the file holds more than {limits.max_requests} requests "
                                   "(LLMAAS_BATCH_MAX_REQUESTS)", number, "too_many_requests")
        try:
            row = json.loads(raw)
        except (json.JSONDecodeError, RecursionError) as exc:
            raise InvalidBatchFile(f"line {number} is not valid JSON: {getattr(exc, 'msg', exc)}", number,
                                   "invalid_json_line") from None
        if not is_object(row):
            raise InvalidBatchFile(f"line {number} is not a JSON object", number, "invalid_json_line")
        unknown = sorted(set(row) - LINE_KEYS)
        missing = sorted(LINE_KEYS - set(row))
        if unknown or missing:
            what = f"has an unknown field {unknown[0]!r}" if unknown else f"has no {missing[0]!r}"
            raise InvalidBatchFile(f"line {number} {what}; a line holds custom_id, method, url and body",
                                   number, "invalid_request")
        custom_id = row["custom_id"]
        if not isinstance(custom_id, str) or not custom_id or len(custom_id) > MAX_CUSTOM_ID:
            raise InvalidBatchFile(f"line {number}: custom_id must be a string of 1 to {MAX_CUSTOM_ID} characters",
                                   number, "invalid_custom_id")
        if custom_id in seen:
            raise InvalidBatchFile(f"line {number}: custom_id {custom_id!r} is already used on line "
                                   f"{seen[custom_id]}; each request needs its own", number, "duplicate_custom_id")
        seen[custom_id] = number
        if row["method"] != "POST":
            raise InvalidBatchFile(f"line {number}: method must be 'POST', got {row['method']!r}", number,
                                   "invalid_method")
        if not isinstance(row["url"], str) or row["url"] not in ENDPOINTS:
            raise InvalidBatchFile(f"line {number}: url {row['url']!r} cannot be batched; use one of "
                                   f"{', '.join(ENDPOINTS)}", number, "invalid_url")
        if url is None:
            url = row["url"]
        elif row["url"] != url:
            where = "the batch's endpoint" if endpoint is not None else "the url of the lines before it"
            raise InvalidBatchFile(f"line {number}: url {row['url']!r} is not {where} {url!r}; a batch calls one "
                                   "endpoint", number, "mismatched_url")
        body = row["body"]
        if not is_object(body):
            raise InvalidBatchFile(f"line {number}: body must be a JSON object", number, "invalid_request")
        if body.get("stream"):
            raise InvalidBatchFile(f"line {number}: body.stream: a batch answers whole; leave stream unset", number,
                                   "invalid_request")
        try:
            request_model(url).model_validate(body)
        except ValidationError as exc:
            raise InvalidBatchFile(f"line {number}: {_explain(exc)}", number, "invalid_request") from None
        name = body.get("model")
        if isinstance(name, str):
            if model is None:
                model, model_line = name, number
            elif name != model:
                raise InvalidBatchFile(f"line {number}: model {name!r} differs from {model!r} on line {model_line}; "
                                       "a batch uses one model", number, "mismatched_model")
        lines.append(BatchLine(number, custom_id, body, _estimate(body, len(raw))))
    if not lines:
        raise InvalidBatchFile("the file holds no requests", None, "empty_file")
    assert url is not None
    return BatchFile(url, model, lines)


def check_upload(content: bytes, limits: BatchLimits) -> None:
    """A file uploaded with purpose ``batch``: every line checked now (its endpoint is checked again when a batch
    names one); a BadRequestError names the first bad line."""
    from llmaas._errors import BadRequestError

    try:
        parse_batch_file(content, limits)
    except InvalidBatchFile as exc:
        raise BadRequestError(str(exc), status_code=400, param="file", code=exc.code) from None
