"""The Responses API's request-side shapes as TypedDicts, for the editor (openai-python's names): input
items, content parts, function tools, ``tool_choice`` and ``text``. At run time ``ResponseCreateRequest``
validates the same values, so a wrong key is still a ``BadRequestError`` naming it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal, TypeAlias

from typing_extensions import Required, TypedDict


class ResponseInputTextParam(TypedDict, total=False):
    """A text part of an input message."""
    type: Required[Literal["input_text"]]
    text: Required[str]


class ResponseOutputTextParam(TypedDict, total=False):
    """A text part of an earlier output message given back as input."""
    type: Required[Literal["output_text"]]
    text: Required[str]
    annotations: list[dict[str, Any]]


class ResponseInputImageParam(TypedDict, total=False):
    """An image part of an input message."""
    type: Required[Literal["input_image"]]
    image_url: str
    file_id: str
    detail: Literal["auto", "low", "high"]


class ResponseInputFileParam(TypedDict, total=False):
    """A file part of an input message."""
    type: Required[Literal["input_file"]]
    file_id: str
    file_data: str
    file_url: str
    filename: str


ResponseInputContentParam: TypeAlias = (ResponseInputTextParam | ResponseOutputTextParam | ResponseInputImageParam
                                        | ResponseInputFileParam)


class EasyInputMessageParam(TypedDict, total=False):
    """A message as input: ``role`` and ``content`` (a string or parts)."""
    role: Required[Literal["user", "assistant", "system", "developer"]]
    content: Required[str | Iterable[ResponseInputContentParam]]
    type: Literal["message"]
    id: str
    status: Literal["in_progress", "completed", "incomplete"]


class ResponseFunctionToolCallParam(TypedDict, total=False):
    """A function call the model made, given back as input."""
    type: Required[Literal["function_call"]]
    call_id: Required[str]
    name: Required[str]
    arguments: Required[str]
    id: str
    status: Literal["in_progress", "completed", "incomplete"]


class FunctionCallOutputParam(TypedDict, total=False):
    """A function's output, answering ``call_id``."""
    type: Required[Literal["function_call_output"]]
    call_id: Required[str]
    output: Required[str | Iterable[ResponseInputContentParam]]
    id: str
    status: Literal["in_progress", "completed", "incomplete"]


class ResponseReasoningItemParam(TypedDict, total=False):
    """A reasoning item given back as input."""
    type: Required[Literal["reasoning"]]
    id: str
    summary: list[dict[str, Any]]
    encrypted_content: str


ResponseInputItemParam: TypeAlias = (EasyInputMessageParam | ResponseFunctionToolCallParam | FunctionCallOutputParam
                                     | ResponseReasoningItemParam)


class FunctionToolParam(TypedDict, total=False):
    """A function tool of ``responses.create``: ``name``, ``description``, ``parameters``, ``strict``."""
    type: Required[Literal["function"]]
    name: Required[str]
    parameters: dict[str, Any] | None
    strict: bool | None
    description: str | None


class ToolChoiceFunctionParam(TypedDict):
    """``tool_choice`` forcing one function by name."""
    type: Literal["function"]
    name: str


ResponseToolChoiceParam: TypeAlias = Literal["none", "auto", "required"] | ToolChoiceFunctionParam


class ResponseFormatTextParam(TypedDict):
    """``text.format`` for plain text."""
    type: Literal["text"]


class ResponseFormatJSONObjectParam(TypedDict):
    """``text.format`` for any JSON object."""
    type: Literal["json_object"]


class ResponseFormatTextJSONSchemaConfigParam(TypedDict, total=False):
    """``text.format`` for JSON matching a named schema."""
    type: Required[Literal["json_schema"]]
    name: Required[str]
    schema: Required[dict[str, Any]]
    description: str
    strict: bool | None


class ResponseTextConfigParam(TypedDict, total=False):
    """The ``text`` option of ``responses.create``."""
    format: ResponseFormatTextParam | ResponseFormatJSONObjectParam | ResponseFormatTextJSONSchemaConfigParam
    verbosity: Literal["low", "medium", "high"] | None
