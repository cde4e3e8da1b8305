"""Base classes: responses keep unknown fields (servers add their own), requests reject them."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar, cast

from pydantic import (
    BaseModel,
    ConfigDict,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

MAX_DEPTH = 64


class InvalidValue(ValueError):
    """A value no request may hold, wherever it is; ``param`` is its path (``messages.0.content``)."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(f"{param}: {message}")
        self.param = param


def check_values(value: Any, path: str = "", depth: int = 0) -> None:
    """Refuse NaN and infinite numbers, strings with lone surrogates (not UTF-8), and nesting deeper than
    ``MAX_DEPTH``, anywhere in a request: JSON has no NaN, and text a model reads must be text."""
    if depth > MAX_DEPTH:
        raise InvalidValue(path or "body", f"is nested more than {MAX_DEPTH} levels deep")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidValue(path or "body", f"{value} is not a finite number (NaN and Infinity are not JSON)")
    elif isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InvalidValue(path or "body", f"is not valid UTF-8 text (a lone surrogate at offset {exc.start})"
                               ) from None
    elif isinstance(value, dict):
        for key, item in cast("dict[Any, Any]", value).items():
            if isinstance(key, str):
                check_values(key, f"{path}.{key!r}" if path else repr(key), depth + 1)
            check_values(item, f"{path}.{key}" if path else str(key), depth + 1)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(cast("list[Any]", value)):
            check_values(item, f"{path}.{i}" if path else str(i), depth + 1)
    elif isinstance(value, BaseModel):
        check_values(value.model_dump(), path, depth)


def invalid_param(error: Mapping[str, Any]) -> str | None:
    """The path an InvalidValue names, from one of pydantic's error dicts."""
    context: dict[str, Any] = error.get("ctx") or {}
    cause = context.get("error")
    return getattr(cause, "param", None)


class ResponseModel(BaseModel):
    """A body a server sends. Unknown fields are kept and reachable as attributes.

    Serialized, a field that is None is left out, as the OpenAI spec has it for optional fields, except
    the fields named in ``keep_null``, which the spec requires even when they are null.
    """

    model_config: ClassVar[ConfigDict] = ConfigDict(extra="allow", populate_by_name=True, protected_namespaces=())
    keep_null: ClassVar[frozenset[str]] = frozenset()

    @model_serializer(mode="wrap")
    def _drop_nulls(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo) -> Any:
        data: Any = handler(self)
        if isinstance(data, dict):
            return {k: v for k, v in cast("dict[str, Any]", data).items() if v is not None or k in self.keep_null}
        return data

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_unset=False)

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True)


class RequestModel(BaseModel):
    """A body a client sends. Unknown fields are an error; extras go through ``extra_body`` explicitly."""

    model_config: ClassVar[ConfigDict] = ConfigDict(extra="forbid", populate_by_name=True, protected_namespaces=(), allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _representable(cls, data: Any) -> Any:
        check_values(data)
        return data

    def to_body(self, extra_body: dict[str, Any] | None = None) -> dict[str, Any]:
        """The JSON body: fields that were set, without None, plus ``extra_body`` merged on top."""
        body = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        if extra_body:
            body.update(extra_body)
        return body


class Part(BaseModel):
    """A nested object inside a request: strict like requests, but without the body helpers."""

    model_config: ClassVar[ConfigDict] = ConfigDict(extra="forbid", populate_by_name=True, protected_namespaces=(), allow_inf_nan=False)
