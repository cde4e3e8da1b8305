"""The Responses API's request-side shapes as TypedDicts, for the editor (openai-python's names): input
items, content parts, function tools, ``tool_choice`` and ``text``. At run time ``ResponseCreateRequest``
validates the same values, so a wrong key is still a ``BadRequestError`` naming it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal, TypeAlias

from typing_extensions import Required, TypedDict


class ResponseInputTextParam(TypedDict, total=False):
    type: Required[Literal["input_text"]]
    text: Required[str]


class ResponseOutputTextParam(TypedDict, total=False):
    type: Required[Literal["output_text"]]
    text: Required[str]
    annotations: list[dict[str, Any]]


class ResponseInputImageParam(TypedDict, total=False):
    type: Required[Literal["input_image"]]
    image_url: str
    file_id: str
    detail: Literal["auto", "low", "high"]


class ResponseInputFileParam(TypedDict, total=False):
    type: Required[Literal["input_file"]]
    file_id: str
    file_data: str
    file_url: str
    filename: str


ResponseInputContentParam: TypeAlias = (ResponseInputTextParam | ResponseOutputTextParam | ResponseInputImageParam
                                        | ResponseInputFileParam)


class EasyInputMessageParam(TypedDict, total=False):
    role: Required[Literal["user", "assistant", "system", "developer"]]
    content: Required[str | Iterable[ResponseInputContentParam]]
    type: Literal["message"]
    id: str
    status: Literal["in_progress", "completed", "incomplete"]


class ResponseFunctionToolCallParam(TypedDict, total=False):
    type: Required[Literal["function_call"]]
    call_id: Required[str]
    name: Required[str]
    arguments: Required[str]
    id: str
    status: Literal["in_progress", "completed", "incomplete"]


class FunctionCallOutputParam(TypedDict, total=False):
    type: Required[Literal["function_call_output"]]
    call_id: Required[str]
    output: Required[str | Iterable[ResponseInputContentParam]]
    id: str
    status: Literal["in_progress", "completed", "incomplete"]


class ResponseReasoningItemParam(TypedDict, total=False):
    type: Required[Literal["reasoning"]]
    id: str
    summary: list[dict[str, Any]]
    encrypted_content: str


ResponseInputItemParam: TypeAlias = (EasyInputMessageParam | ResponseFunctionToolCallParam | FunctionCallOutputParam
                                     | ResponseReasoningItemParam)


class FunctionToolParam(TypedDict, total=False):
    type: Required[Literal["function"]]
    name: Required[str]
    parameters: dict[str, Any] | None
    strict: bool | None
    description: str | None


class ToolChoiceFunctionParam(TypedDict):
    type: Literal["function"]
    name: str


ResponseToolChoiceParam: TypeAlias = Literal["none", "auto", "required"] | ToolChoiceFunctionParam


class ResponseFormatTextParam(TypedDict):
    type: Literal["text"]


class ResponseFormatJSONObjectParam(TypedDict):
    type: Literal["json_object"]


class ResponseFormatTextJSONSchemaConfigParam(TypedDict, total=False):
    type: Required[Literal["json_schema"]]
    name: Required[str]
    schema: Required[dict[str, Any]]
    description: str
    strict: bool | None


class ResponseTextConfigParam(TypedDict, total=False):
    format: ResponseFormatTextParam | ResponseFormatJSONObjectParam | ResponseFormatTextJSONSchemaConfigParam
    verbosity: Literal["low", "medium", "high"] | None
