"""Pydantic models as strict JSON schemas (OpenAI's strict mode: every object closed, every property
required), as ``response_format``, as function tools, and answers parsed back into them."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, cast

from pydantic import BaseModel, ValidationError, create_model

from .._errors import LengthFinishReasonError, StructuredOutputError
from ..types.chat import ChatCompletion
from ..types.params import PydanticFunctionTool
from ..types.parsed import ParsedChatCompletion

T = TypeVar("T", bound=BaseModel)


def strict_schema(schema: Any) -> Any:
    """``schema`` with every object closed (``additionalProperties: false``) and all its properties
    required, at every depth, as OpenAI's strict mode requires."""
    if isinstance(schema, list):
        return [strict_schema(s) for s in cast("list[Any]", schema)]
    if not isinstance(schema, dict):
        return schema
    source = cast("dict[str, Any]", schema)
    out: dict[str, Any] = {}
    for key, value in source.items():
        if key in ("properties", "$defs", "definitions") and isinstance(value, dict):
            out[key] = {k: strict_schema(v) for k, v in cast("dict[str, Any]", value).items()}
        elif key in ("items", "anyOf", "oneOf", "allOf", "additionalProperties", "prefixItems"):
            out[key] = strict_schema(value)
        else:
            out[key] = value
    if out.get("type") == "object" or "properties" in out:
        out.setdefault("additionalProperties", False)
        out["required"] = list(cast("dict[str, Any]", out.get("properties", {})))
    return out


def response_format_for(model: type[BaseModel]) -> dict[str, Any]:
    return {"type": "json_schema", "json_schema": {"name": model.__name__, "strict": True,
                                                   "schema": strict_schema(model.model_json_schema())}}


def pydantic_function_tool(model: type[BaseModel], *, name: str | None = None,
                           description: str | None = None) -> PydanticFunctionTool:
    """A strict function tool whose arguments are ``model``."""
    tool = PydanticFunctionTool(type="function", function={
        "name": name or model.__name__, "description": description or inspect.getdoc(model) or "",
        "parameters": strict_schema(model.model_json_schema()), "strict": True})
    tool.model = model
    return tool


def function_tool(fn: Callable[..., Any], *, name: str | None = None,
                  description: str | None = None) -> PydanticFunctionTool:
    """A strict function tool for a Python function, its arguments read from its signature (annotations
    and defaults) and its description from its docstring."""
    fields: dict[str, Any] = {}
    try:  # string annotations (from __future__ import annotations) resolved in the function's module
        hints = typing.get_type_hints(fn, include_extras=True)
    except (NameError, TypeError):
        hints = {}
    for param in inspect.signature(fn).parameters.values():
        if param.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            raise TypeError(f"{fn.__name__} takes *{param.name}: a tool's arguments must be named")
        annotation = hints.get(param.name, Any if param.annotation is inspect.Parameter.empty else param.annotation)
        fields[param.name] = (annotation, ... if param.default is inspect.Parameter.empty else param.default)
    model: type[BaseModel] = create_model(f"{fn.__name__}_arguments", **fields)
    return pydantic_function_tool(model, name=name or fn.__name__, description=description or inspect.getdoc(fn))


def parse_completion(completion: ChatCompletion, response_format: type[BaseModel] | None,
                     tools: Iterable[Any] | None) -> ParsedChatCompletion[Any]:
    """``completion`` with each message's ``parsed`` and each tool call's ``parsed_arguments`` filled in.
    A choice cut short by max_tokens raises LengthFinishReasonError; an answer that is not the requested
    type raises StructuredOutputError."""
    models = {t["function"]["name"]: t.model for t in tools or [] if isinstance(t, PydanticFunctionTool)}
    data = completion.model_dump()
    for choice in data["choices"]:
        if choice.get("finish_reason") == "length":
            raise LengthFinishReasonError(completion)
        message = choice["message"]
        content = message.get("content")
        if response_format is not None and content is not None and not message.get("tool_calls"):
            message["parsed"] = _validate(response_format, content, "the answer")
        for call in cast("list[dict[str, Any]]", message.get("tool_calls") or []):
            model = models.get(call["function"]["name"])
            if model is not None:
                call["function"]["parsed_arguments"] = _validate(model, call["function"]["arguments"],
                                                                 f"the arguments of {call['function']['name']}")
    return ParsedChatCompletion[Any].model_validate(data)


def _validate(model: type[BaseModel], text: str, what: str) -> BaseModel:
    try:
        return model.model_validate_json(text)
    except ValidationError as exc:
        raise StructuredOutputError(f"{what} is not a valid {model.__name__}: {exc}", text) from None
