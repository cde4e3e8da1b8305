"""Request-side shapes as TypedDicts, for the editor: what ``messages``, ``tools``, ``response_format`` and
``stream_options`` accept, with the names openai-python uses. At run time the same values are validated by
the request models in this package, so a wrong key is still a ``BadRequestError`` naming it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal, TypeAlias

from pydantic import BaseModel
from typing_extensions import Required, TypedDict


class ChatCompletionContentPartTextParam(TypedDict, total=False):
    """A text part of a message's content: ``{"type": "text", "text": ...}``."""
    type: Required[Literal["text"]]
    text: Required[str]


class ImageURLParam(TypedDict, total=False):
    """An image by URL or ``data:`` URL, with the ``detail`` wanted."""
    url: Required[str]
    detail: Literal["auto", "low", "high"]


class ChatCompletionContentPartImageParam(TypedDict, total=False):
    """An image part of a user message's content."""
    type: Required[Literal["image_url"]]
    image_url: Required[ImageURLParam]


class InputAudioParam(TypedDict):
    """Base64 audio with its ``format`` (``wav`` or ``mp3``)."""
    data: str
    format: Literal["wav", "mp3"]


class ChatCompletionContentPartInputAudioParam(TypedDict):
    """An audio part of a user message's content."""
    type: Literal["input_audio"]
    input_audio: InputAudioParam


class FileParam(TypedDict, total=False):
    """A file given inline (``file_data``) or by ``file_id``."""
    file_data: str
    file_id: str
    filename: str


class ChatCompletionContentPartFileParam(TypedDict):
    """A file part of a user message's content."""
    type: Literal["file"]
    file: FileParam


class ChatCompletionContentPartRefusalParam(TypedDict):
    """A refusal part of an assistant message's content."""
    type: Literal["refusal"]
    refusal: str


ChatCompletionContentPartParam: TypeAlias = ChatCompletionContentPartTextParam | ChatCompletionContentPartImageParam | ChatCompletionContentPartInputAudioParam | ChatCompletionContentPartFileParam


class FunctionCallParam(TypedDict):
    """A function's ``name`` and its ``arguments`` as a JSON string."""
    name: str
    arguments: str


class ChatCompletionMessageToolCallParam(TypedDict):
    """A tool call an assistant message made, given back in the conversation."""
    id: str
    type: Literal["function"]
    function: FunctionCallParam


class ChatCompletionSystemMessageParam(TypedDict, total=False):
    """A system message: instructions for the model."""
    role: Required[Literal["system"]]
    content: Required[str | Iterable[ChatCompletionContentPartTextParam]]
    name: str


class ChatCompletionDeveloperMessageParam(TypedDict, total=False):
    """A developer message (the newer name of a system message)."""
    role: Required[Literal["developer"]]
    content: Required[str | Iterable[ChatCompletionContentPartTextParam]]
    name: str


class ChatCompletionUserMessageParam(TypedDict, total=False):
    """A user message: text, or a list of text, image, audio and file parts."""
    role: Required[Literal["user"]]
    content: Required[str | Iterable[ChatCompletionContentPartParam]]
    name: str


class ChatCompletionAssistantMessageParam(TypedDict, total=False):
    """An earlier answer of the model: its content, or the tool calls it made."""
    role: Required[Literal["assistant"]]
    content: str | Iterable[ChatCompletionContentPartTextParam | ChatCompletionContentPartRefusalParam] | None
    refusal: str | None
    name: str
    tool_calls: Iterable[ChatCompletionMessageToolCallParam]
    function_call: FunctionCallParam | None


class ChatCompletionToolMessageParam(TypedDict):
    """A tool's result, answering the tool call ``tool_call_id``."""
    role: Literal["tool"]
    content: str | Iterable[ChatCompletionContentPartTextParam]
    tool_call_id: str


class ChatCompletionFunctionMessageParam(TypedDict):
    """A function's result in the deprecated ``functions`` style."""
    role: Literal["function"]
    content: str | None
    name: str


ChatCompletionMessageParam: TypeAlias = ChatCompletionSystemMessageParam | ChatCompletionDeveloperMessageParam | ChatCompletionUserMessageParam | ChatCompletionAssistantMessageParam | ChatCompletionToolMessageParam | ChatCompletionFunctionMessageParam


class FunctionDefinitionParam(TypedDict, total=False):
    """A function the model may call: ``name``, ``description``, JSON-schema ``parameters`` and ``strict``."""
    name: Required[str]
    description: str
    parameters: dict[str, Any]
    strict: bool | None


class ChatCompletionToolParam(TypedDict):
    """A tool the model may call: ``{"type": "function", "function": {...}}``."""
    type: Literal["function"]
    function: FunctionDefinitionParam


class ChatCompletionNamedFunctionParam(TypedDict):
    """The function a named tool choice names."""
    name: str


class ChatCompletionNamedToolChoiceParam(TypedDict):
    """``tool_choice`` forcing one function: ``{"type": "function", "function": {"name": ...}}``."""
    type: Literal["function"]
    function: ChatCompletionNamedFunctionParam


ChatCompletionToolChoiceOptionParam: TypeAlias = Literal["none", "auto", "required"] | ChatCompletionNamedToolChoiceParam


class ResponseFormatTextParam(TypedDict):
    """``response_format`` for plain text (the default)."""
    type: Literal["text"]


class ResponseFormatJSONObjectParam(TypedDict):
    """``response_format`` for any JSON object (the engine constrains decoding to JSON)."""
    type: Literal["json_object"]


class JSONSchemaParam(TypedDict, total=False):
    """A named JSON schema for structured output, with ``strict``."""
    name: Required[str]
    description: str
    schema: dict[str, Any]
    strict: bool | None


class ResponseFormatJSONSchemaParam(TypedDict):
    """``response_format`` for JSON that matches a schema (decoding constrained by the schema's grammar)."""
    type: Literal["json_schema"]
    json_schema: JSONSchemaParam


ResponseFormatParam: TypeAlias = ResponseFormatTextParam | ResponseFormatJSONObjectParam | ResponseFormatJSONSchemaParam


class ChatCompletionStreamOptionsParam(TypedDict, total=False):
    """``stream_options``: ``include_usage`` adds a last chunk with the usage."""
    include_usage: bool
    include_obfuscation: bool


class HyperparametersParam(TypedDict, total=False):
    """Fine-tuning hyperparameters: ``n_epochs``, ``batch_size`` and ``learning_rate_multiplier``, each a number
    or ``"auto"``."""
    batch_size: Literal["auto"] | int
    learning_rate_multiplier: Literal["auto"] | float
    n_epochs: Literal["auto"] | int


class LoraParam(TypedDict, total=False):
    """LoRA settings of a local fine-tuning job (an llmaas extra; OpenAI's API has none)."""

    rank: int
    alpha: int
    target_modules: list[str]


ModerationInputParam: TypeAlias = str | Sequence[str] | Iterable[dict[str, Any]]
EmbeddingInputParam: TypeAlias = str | Sequence[str] | Iterable[int] | Iterable[Iterable[int]]
CompletionPromptParam: TypeAlias = str | Sequence[str] | Iterable[int] | Iterable[Iterable[int]]


class PydanticFunctionTool(dict[str, Any]):
    """A function tool (the dict ``tools=[...]`` takes) that remembers the pydantic model of its arguments,
    so ``parse()`` can return them as that model; made by ``llmaas.pydantic_function_tool``."""

    model: type[BaseModel]
