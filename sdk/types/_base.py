"""Base classes: responses keep unknown fields (servers add their own), requests reject them."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, SerializationInfo, SerializerFunctionWrapHandler, model_serializer


class ResponseModel(BaseModel):
    """A body a server sends. Unknown fields are kept and reachable as attributes.

    Serialized, a field that is None is left out, as the OpenAI spec has it for optional fields, except
    the fields named in ``keep_null``, which the spec requires even when they are null.
    """

    model_config = ConfigDict(extra="allow", populate_by_name=True, protected_namespaces=())
    keep_null: ClassVar[frozenset[str]] = frozenset()

    @model_serializer(mode="wrap")
    def _drop_nulls(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo) -> Any:
        data = handler(self)
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v is not None or k in self.keep_null}
        return data

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_unset=False)

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True)


class RequestModel(BaseModel):
    """A body a client sends. Unknown fields are an error; extras go through ``extra_body`` explicitly."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, protected_namespaces=())

    def to_body(self, extra_body: dict[str, Any] | None = None) -> dict[str, Any]:
        """The JSON body: fields that were set, without None, plus ``extra_body`` merged on top."""
        body = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        if extra_body:
            body.update(extra_body)
        return body


class Part(BaseModel):
    """A nested object inside a request: strict like requests, but without the body helpers."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, protected_namespaces=())
